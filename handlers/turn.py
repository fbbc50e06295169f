"""One person's turn: the update, their stored record, and how to answer them.

What a turn says is held back until the turn ends (or something must go out first) and
consecutive texts are joined into one message wherever they fit: one message per turn is what a
person on a phone prefers and what the platforms' per-chat flood limits reward. Two texts join
when together they fit in one message and at most one of them carries a keyboard; a reply
keyboard the person already has on screen does not count, so "done" + "choose from the menu"
is one message. If the turn fails, what it had not sent yet is dropped: the error handler tells
the person something went wrong instead of half an answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.core.text import truncate, utf16_len
from bot.entry.services import Services
from bot.repo.users import User

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
MAX_TEXT = 4096
JOINER = "\n\n"


class Navigator(Protocol):
    """What a handler may ask of the dispatcher (handlers.router.Router) through its turn."""

    async def ask_current(self, turn: Turn) -> None:
        """Ask the person's current question again, or show where they are."""

    async def stale(self, turn: Turn) -> None:
        """Answer a button that no longer means anything, then ask the current question."""


@dataclass
class Outgoing:
    """A message the turn decided to send and has not sent yet."""

    text: str
    markup: Markup


def keyboard_key(markup: Markup) -> str | None:
    """What reply keyboard a message leaves on screen ("" none), or None if it leaves it be."""
    if isinstance(markup, ReplyKeyboardRemove):
        return ""
    if not isinstance(markup, ReplyKeyboardMarkup):
        return None
    labels = [[getattr(b, "text", b) for b in row] for row in markup.keyboard]
    digest = hashlib.blake2b(json.dumps(labels, ensure_ascii=False).encode(), digest_size=8)
    return digest.hexdigest()


def join(first: Outgoing, text: str, markup: Markup, shown: str | None) -> Outgoing | None:
    """One message saying both, or None when they cannot share one."""
    if utf16_len(first.text) + utf16_len(JOINER) + utf16_len(text) > MAX_TEXT:
        return None
    keys = (keyboard_key(first.markup), keyboard_key(markup))
    if keys[0] is not None and keys[0] == keys[1]:
        return Outgoing(first.text + JOINER + text, first.markup)  # the same keyboard twice
    marks = [m for m in (first.markup, markup) if m is not None and keyboard_key(m) != shown]
    if len(marks) > 1:
        return None
    kept = marks[0] if marks else (first.markup or markup)
    return Outgoing(first.text + JOINER + text, kept)


class Turn:
    """Wraps one update for one known person."""

    def __init__(self, update: Update, context: ContextTypes.DEFAULT_TYPE, user: User) -> None:
        """Bind the update, its context and the stored user."""
        self.update = update
        self.context = context
        self.user = user
        self.svc: Services = context.application.bot_data["services"]
        self.platform: str = context.application.bot_data["platform"]
        self.now = self.svc.clock.timestamp()
        self._pending: Outgoing | None = None

    async def __aenter__(self) -> Turn:
        """The turn begins; what it says goes out when it ends."""
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        """Send what the turn said, unless it failed."""
        if exc_type is None:
            await self.flush()
        else:
            self.drop()

    @property
    def router(self) -> Navigator:
        """The dispatcher, to ask the current question again or answer a stale button."""
        return self.context.application.bot_data["router"]

    @property
    def lang(self) -> str:
        """The person's language."""
        return self.user.lang

    def t(self, key: str, **values: Any) -> str:
        """A text in the person's language."""
        return self.svc.i18n.t(self.lang, key, **values)

    async def say(self, text: str, markup: Markup = None) -> None:
        """Say something to the person: joined to what the turn says next, sent at its end."""
        text = truncate(text, MAX_TEXT)
        if self._pending is not None:
            joined = join(self._pending, text, markup, self.user.keyboard)
            if joined is not None:
                self._pending = joined
                return
            await self.flush()
        self._pending = Outgoing(text, markup)

    async def send(self, text: str, markup: Markup = None) -> int:
        """Say something now (joined to what is pending); the id of the message it became."""
        await self.say(text, markup)
        sent = await self.flush()
        assert sent is not None
        return sent

    async def send_alone(self, text: str, markup: Markup = None) -> int:
        """Send this as a message of its own (a preview), after what is pending; its id."""
        await self.flush()
        self._pending = Outgoing(truncate(text, MAX_TEXT), markup)
        sent = await self.flush()
        assert sent is not None
        return sent

    async def flush(self) -> int | None:
        """Send what the turn has said and not sent yet; the new message's id."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        sent = await self._call(
            "sendMessage", text=pending.text, reply_markup=pending.markup
        )
        key = keyboard_key(pending.markup)
        if key is not None and key != self.user.keyboard:
            if self.user.stored:
                await self.save(keyboard=key)
            else:
                self.user.keyboard = key  # a visitor's screen is not worth a row
        return int(sent["message_id"])

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        """A Bot API call in this chat whose answer is kept as JSON: nothing reads the Message
        object PTB would build from it, and building one costs more than the call itself."""
        params = {k: v for k, v in params.items() if v is not None}
        result = await self.context.bot.do_api_request(
            method, api_kwargs={"chat_id": self.user.chat_id, **params}
        )
        return result if isinstance(result, dict) else {}

    def drop(self) -> None:
        """Forget what was not sent (the turn failed)."""
        self._pending = None

    async def edit_or_say(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Edit the message whose button was pressed, or say it anew."""
        query = self.update.callback_query
        if query is not None and query.message is not None:
            try:
                await self._call(
                    "editMessageText",
                    message_id=query.message.message_id,
                    text=truncate(text, MAX_TEXT),
                    reply_markup=markup,
                )
                return
            except BadRequest as exc:
                if "not modified" in str(exc).lower():
                    return
                log.info("edit failed, sending anew: %s", exc)
        await self.say(text, markup)

    async def send_photo(self, photo: str | bytes, caption: str | None = None) -> int:
        """A photo (a file id, or PNG bytes) after everything said so far; its message id."""
        await self.flush()
        media = InputFile(photo, filename="image.png") if isinstance(photo, bytes) else photo
        sent = await self._call("sendPhoto", photo=media, caption=caption)
        return int(sent["message_id"])

    async def send_document(self, document: str, caption: str | None = None) -> int:
        """A document by file id after everything said so far; its message id."""
        await self.flush()
        sent = await self._call("sendDocument", document=document, caption=caption)
        return int(sent["message_id"])

    async def ack(self, text: str | None = None, *, alert: bool = False) -> None:
        """Answer a pressed button (stops its spinner); harmless when too late."""
        query = self.update.callback_query
        if query is None:
            return
        try:
            await query.answer(text=text, show_alert=alert)
        except BadRequest as exc:
            log.info("callback answer refused: %s", exc)

    async def set_state(self, state: str, **data: Any) -> None:
        """Store where the person is now (a visitor at the start needs no row for that)."""
        if not self.user.stored and not data and state in ("", "start:lang"):
            self.user.state, self.user.state_data = state, {}
            return
        await self.svc.users.set_state(self.user, state, data, self.now)

    async def detour(self, state: str, **data: Any) -> None:
        """Enter a short side conversation, remembering where the person was."""
        await self.set_state(state, **data, back=self.user.state, back_data=self.user.state_data)

    async def end_detour(self) -> None:
        """Return to the conversation a detour interrupted."""
        data = self.user.state_data
        await self.set_state(str(data.get("back", "")), **dict(data.get("back_data") or {}))

    async def clear_state(self) -> None:
        """The person is at the main menu."""
        if self.user.state or self.user.state_data:
            await self.svc.users.set_state(self.user, "", {}, self.now)

    async def save(self, **values: Any) -> None:
        """Store profile or settings values."""
        await self.svc.users.update(self.user, self.now, **values)


def inline(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def reply_keyboard(rows: list[list[str]], *, contact: str | None = None) -> ReplyKeyboardMarkup:
    """A reply keyboard from rows of labels, optionally led by a share-contact button."""
    buttons = [[KeyboardButton(label) for label in row] for row in rows]
    if contact:
        buttons.insert(0, [KeyboardButton(contact, request_contact=True)])
    return ReplyKeyboardMarkup(buttons, resize_keyboard=True, is_persistent=True)
