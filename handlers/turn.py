"""One person's turn: the update, their stored record, and how to answer them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.repo.users import User
from bot.services import Services
from bot.text import truncate

if TYPE_CHECKING:
    from handlers.router import Router

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
MAX_TEXT = 4096


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

    @property
    def router(self) -> Router:
        """The dispatcher, to ask the current question again or answer a stale button."""
        return self.context.application.bot_data["router"]

    @property
    def lang(self) -> str:
        """The person's language."""
        return self.user.lang

    def t(self, key: str, **values: Any) -> str:
        """A text in the person's language."""
        return self.svc.i18n.t(self.lang, key, **values)

    async def say(self, text: str, markup: Markup = None) -> Message:
        """Send plain text to the person's private chat."""
        return await self.context.bot.send_message(
            chat_id=self.user.chat_id, text=truncate(text, MAX_TEXT), reply_markup=markup
        )

    async def edit_or_say(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Edit the message whose button was pressed, or send a new one."""
        query = self.update.callback_query
        if query is not None and query.message is not None:
            try:
                await self.context.bot.edit_message_text(
                    chat_id=self.user.chat_id,
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
        """Store where the person is now."""
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


def chunk(items: list[str], size: int) -> list[list[str]]:
    """Split labels into rows of a given size."""
    return [items[i : i + size] for i in range(0, len(items), size)]
