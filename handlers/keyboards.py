"""The reply keyboard a person has: the main menu's, unless a question brings its own."""

from __future__ import annotations

from handlers.menu import main_keyboard
from handlers.turn import Turn, keyboard_key


def question_keyboard_shown(turn: Turn) -> bool:
    """Whether the keyboard on screen is a question's (not the main menu's, not none)."""
    shown = turn.user.keyboard
    return bool(shown) and shown != keyboard_key(main_keyboard(turn))


async def leave_question(turn: Turn) -> None:
    """Leaving a question that brought its own keyboard for something that brings none (inline
    buttons, a page): say the question was left and give the main keyboard back."""
    if turn.user.consent_at is not None and question_keyboard_shown(turn):
        await turn.say(turn.t("menu.cancelled"), main_keyboard(turn))
