"""What an invitation through Safir says and where its buttons lead (pure: no I/O).

The message names no one and holds nothing from the list: a wrong number on the list must not
learn whose loan it is. Its buttons are links (Safir documents no other kind that opens a
chat): the person's own start link, which the bot turns into a confirmed link to their row,
and a "do not contact me" link that only marks the row and is answered politely.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.messengers.safir import message_data
from bot.repo.invitations import CHECKIN, INVITE, REMINDER

#: A start payload of this prefix and a personal token means "do not contact me".
STOP_PREFIX = "nc-"
BALE_LINK = "https://ble.ir/{username}?start={payload}"
_TEXT = {INVITE: "invite.text", REMINDER: "invite.reminder", CHECKIN: "invite.checkin"}
_OPEN = {INVITE: "invite.open", REMINDER: "invite.open", CHECKIN: "invite.answer"}


class Texts(Protocol):
    """The translations (bot.core.i18n.I18n)."""

    def t(self, lang: str, key: str, **values: Any) -> str:
        """A text in one language."""
        ...


def bale_link(username: str, token: str) -> str:
    """The person's own link into the Bale bot (``/start <token>``)."""
    return BALE_LINK.format(username=username, payload=token)


def stop_link(username: str, token: str) -> str:
    """The "do not contact me" link (``/start nc-<token>``)."""
    return BALE_LINK.format(username=username, payload=STOP_PREFIX + token)


def stop_token(payload: str) -> str | None:
    """The personal token of a "do not contact me" start payload, else None."""
    if payload.startswith(STOP_PREFIX) and len(payload) > len(STOP_PREFIX):
        return payload[len(STOP_PREFIX) :]
    return None


def safir_message(
    texts: Texts, lang: str, kind: str, *, username: str, token: str
) -> dict[str, Any]:
    """Safir's ``message_data`` for an invitation, its reminder or a first check-in."""
    return message_data(
        texts.t(lang, _TEXT[kind]),
        [
            [(texts.t(lang, _OPEN[kind]), bale_link(username, token))],
            [(texts.t(lang, "invite.stop"), stop_link(username, token))],
        ],
    )
