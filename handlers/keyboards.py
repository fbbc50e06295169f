"""The reply keyboard a person has: the main menu's, unless a question brings its own."""

from __future__ import annotations

import weakref

from telegram import ReplyKeyboardMarkup

from bot.core.i18n import I18n
from bot.core.text import pair_rows
from handlers.turn import Turn, keyboard_key, reply_keyboard

# The main menu in order; two to a row where both labels are short (bot.core.text.pair_rows).
MENU_ENTRIES = (
    "menu.steps",
    "menu.progress",
    "menu.eligibility",
    "menu.loans",
    "menu.faq",
    "menu.ask",
    "menu.settings",
    "menu.help",
)


_KEYBOARDS: weakref.WeakKeyDictionary[I18n, dict[str, ReplyKeyboardMarkup]] = (
    weakref.WeakKeyDictionary()
)


def main_keyboard(turn: Turn) -> ReplyKeyboardMarkup:
    """The reply keyboard that stays on screen (built once per language: it is immutable)."""
    built = _KEYBOARDS.setdefault(turn.svc.i18n, {})
    if turn.lang not in built:
        built[turn.lang] = reply_keyboard(menu_rows(turn.svc.i18n, turn.lang))
    return built[turn.lang]


def menu_rows(i18n: I18n, lang: str) -> list[list[str]]:
    """The main menu's labels in one language, as rows that fit a phone."""
    return pair_rows([i18n.t(lang, key) for key in MENU_ENTRIES])



def question_keyboard_shown(turn: Turn) -> bool:
    """Whether the keyboard on screen is a question's (not the main menu's, not none)."""
    shown = turn.user.keyboard
    return bool(shown) and shown != keyboard_key(main_keyboard(turn))


async def leave_question(turn: Turn) -> None:
    """Leaving a question that brought its own keyboard for something that brings none (inline
    buttons, a page): say the question was left and give the main keyboard back."""
    if turn.user.consent_at is not None and question_keyboard_shown(turn):
        await turn.say(turn.t("menu.cancelled"), main_keyboard(turn))
