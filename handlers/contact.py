"""The programme's contact as one text, shown on the contact page and wherever staff are named."""

from __future__ import annotations

from bot.core.text import localize_digits
from handlers.turn import Turn


def contact_text(turn: Turn) -> str:
    """The programme's contact from the content."""
    contact = turn.svc.content.contact
    lines = [
        turn.t("contact.title"),
        contact.office.get(turn.lang),
        turn.t("contact.phone", phone=localize_digits(contact.phone, turn.lang)),
    ]
    if contact.note is not None:
        lines.append(contact.note.get(turn.lang))
    return "\n".join(lines)
