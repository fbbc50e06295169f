"""Typed text at the main menu: the closest FAQ answers, and one tap to send it to the staff.

What the person typed is kept in their conversation state ("typed", {"text": …}), so the tap
sends exactly that text, after a restart too; more typed messages before the tap join it. The
tap files it as a question (handlers.inbox) and the state ends: a later "ممنون" is answered
kindly and filed nowhere unless the person taps again. Greetings and thanks alone get a kind
word, not an offer.
"""

from __future__ import annotations

from bot.content import faq_match
from handlers.inbox import MAX_QUESTION, file_question
from handlers.keyboards import main_keyboard
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline

STATE = "typed"


def send_button(turn: Turn, where: str = "offer") -> tuple[str, str]:
    """The one tap that sends the kept text to the staff (on the offer, or under an answer)."""
    return (turn.t("inbox.typed_send"), f"typed:send:{where}")


async def on_menu_text(turn: Turn, text: str) -> None:
    """Free text at the menu (or more of it while the offer waits)."""
    if not faq_match.content_words(text):
        if faq_match.says_thanks(text):
            key = "inbox.typed_thanks"
        elif faq_match.greets(text):
            key = "inbox.typed_hello"
        else:
            key = "menu.not_understood"
        await turn.say(turn.t(key), main_keyboard(turn))
        return
    kept = str(turn.user.state_data.get("text", "")) if turn.user.state == STATE else ""
    joined = f"{kept}\n{text}" if kept else text
    if len(joined) > MAX_QUESTION:
        await turn.say(turn.t("errors.too_long", limit=MAX_QUESTION))
        if kept:
            await offer(turn)
        return
    await turn.set_state(STATE, text=joined)
    await offer(turn)


async def offer(turn: Turn) -> None:
    """The closest FAQ entries (if any) and the button that sends the kept text to the staff."""
    text = str(turn.user.state_data.get("text", ""))
    if not text:
        await turn.clear_state()
        await turn.router.ask_current(turn)
        return
    matches = faq_match.best_matches(turn.svc.content.faq, text)
    rows = [[(item.q.get(turn.lang), f"faq:{item.id}")] for item in matches]
    rows.append([send_button(turn)])
    key = "inbox.typed_offer_faq" if matches else "inbox.typed_offer"
    await turn.say(turn.t(key), inline(rows))


async def on_send(turn: Turn, args: list[str]) -> None:
    """The tap: file the kept text as a question, say so where the offer was, end the state."""
    text = str(turn.user.state_data.get("text", "")) if turn.user.state == STATE else ""
    if args not in (["send", "offer"], ["send", "faq"]) or not text:
        await turn.router.stale(turn)
        return
    await turn.ack()
    ticket = await file_question(turn, "text", text, copy=False)
    await turn.clear_state()
    done = turn.t("inbox.sent", id=ticket.id)
    if args[1] == "offer":
        await turn.edit_or_say(done)  # the offer becomes the receipt: no button left to tap
    else:
        await turn.say(done, main_keyboard(turn))  # the FAQ answer above stays readable


def register(reg: Registry) -> None:
    """Add the kept-text state and its button."""
    reg.flow(STATE, Flow(ask=offer, on_text=on_menu_text))
    reg.callback(STATE, on_send)
