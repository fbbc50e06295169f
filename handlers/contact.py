"""The programme's contact as one text, shown on the contact page and wherever staff are named."""

from __future__ import annotations

from bot.core.text import localize_digits
from handlers.turn import Turn


def contact_text(turn: Turn) -> str:
    """Who answers and how to reach them, from the content (shown wherever help is offered)."""
    content, lang = turn.svc.content, turn.lang
    contact = content.contact
    lines = [
        turn.t("contact.title"),
        turn.t("contact.secretariat", name=content.programme.secretariat.get(lang)),
        contact.office.get(lang),
        turn.t("contact.phone", phone=localize_digits(contact.phone, lang)),
    ]
    if contact.hours is not None:
        lines.append(turn.t("contact.hours", hours=contact.hours.get(lang)))
    if contact.note is not None:
        lines.append(contact.note.get(lang))
    return "\n".join(lines)


def contact_page(turn: Turn) -> str:
    """The contact page: the contact, then the web portals applicants use, each with its note."""
    portals = turn.svc.content.portals
    lines = [contact_text(turn), ""] if portals else [contact_text(turn)]
    for portal in portals:
        lines.append(turn.t("contact.portal", name=portal.name.get(turn.lang), url=portal.url))
        if portal.note is not None:
            lines.append(portal.note.get(turn.lang))
    return "\n".join(lines)
