"""A chat-like driver: one user talking to a real PTB Application through the emulator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.model import CallbackRecord, FakeMessage


def _label(button: Any) -> str:
    """Return the text of a keyboard button given as a dict or a plain string."""
    return button.get("text", "") if isinstance(button, dict) else str(button)


def render(msg: FakeMessage) -> str:
    """Render a message for the console: text, media, numbered inline buttons, keyboard."""
    lines: list[str] = []
    if msg.kind not in ("text",):
        name = (msg.file or {}).get("filename") or ""
        lines.append(f"[{msg.kind}{': ' + name if name else ''}]")
    if msg.content:
        lines.append(msg.content + ("  (edited)" if msg.edited else ""))
    buttons = [_label(b) for b in msg.inline_buttons()]
    if buttons:
        lines.append("  ".join(f"[{i}] {label}" for i, label in enumerate(buttons, 1)))
    keyboard = (msg.reply_markup or {}).get("keyboard")
    if keyboard:
        for row in keyboard:
            lines.append("⌨ " + " | ".join(_label(b) for b in row))
    return "\n".join(lines)


class _ErrorTrap(logging.Handler):
    """Collects exceptions PTB only logs (handler errors when no error handler exists)."""

    def __init__(self) -> None:
        """Start with no captured errors."""
        super().__init__(level=logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the exception attached to an error record, if any."""
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


class ChatClient:
    """Drives an initialized Application as one private-chat user would."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        emulator: BotApiEmulator,
        user_id: int,
        *,
        first_name: str = "Test",
        language_code: str | None = "fa",
        username: str | None = None,
        phone: str = "+989120000000",
        raise_errors: bool = True,
    ) -> None:
        """Register the user; ``raise_errors`` re-raises handler errors PTB only logs."""
        self.app = app
        self.raise_errors = raise_errors
        self.errors: list[BaseException] = []
        self.emulator = emulator
        self.user_id = user_id
        self.chat_id = user_id
        self.phone = phone
        self.history: list[FakeMessage] = []
        self.last_query: CallbackRecord | None = None
        if user_id not in emulator.users:
            emulator.add_user(
                user_id, first_name=first_name, language_code=language_code, username=username
            )

    async def _run(self, update: dict[str, Any]) -> list[FakeMessage]:
        """Feed one update to the Application; return the bot's new messages and edits."""
        mark = len(self.emulator.events)
        trap = _ErrorTrap()
        logger = logging.getLogger()  # the app's own error handler logs under its module
        logger.addHandler(trap)
        try:
            await self.app.process_update(Update.de_json(update, self.app.bot))
            for _ in range(3):  # let handlers registered with block=False take their first step
                await asyncio.sleep(0)
        finally:
            logger.removeHandler(trap)
        self.errors.extend(trap.errors)
        if trap.errors and self.raise_errors:
            raise trap.errors[0]
        outputs = [
            event.message
            for event in self.emulator.events[mark:]
            if event.chat_id == self.chat_id and event.kind in ("new", "edit")
        ]
        self.history.extend(outputs)
        return outputs

    # --- actions --------------------------------------------------------------------
    async def send(self, text: str) -> list[FakeMessage]:
        """Send a text (a "/command" gets its bot_command entity)."""
        return await self._run(self.emulator.user_text(self.user_id, text, enqueue=False))

    async def press(self, label_or_data: str | int) -> list[FakeMessage]:
        """Press an inline button (by label, callback_data or 1-based number) or a reply key."""
        msg = self._inline_message()
        buttons = msg.inline_buttons() if msg else []
        button = self._match(buttons, label_or_data)
        if msg is not None and button is not None:
            if "callback_data" not in button:
                raise AssertionError(f"button {_label(button)!r} has no callback_data: {button}")
            return await self.press_data(button["callback_data"], msg.message_id)
        key = self._match(self._reply_buttons(), label_or_data, by_data=False)
        if key is not None:
            if isinstance(key, dict) and key.get("request_contact"):
                return await self.share_contact()
            if isinstance(key, dict) and key.get("request_location"):
                return await self.send_location()
            return await self.send(_label(key))
        raise AssertionError(
            f"no button {label_or_data!r}; inline buttons: {self.buttons},"
            f" reply keyboard: {self.reply_keyboard}"
        )

    async def press_data(
        self, callback_data: str, message_id: int | None = None
    ) -> list[FakeMessage]:
        """Press a button with arbitrary (possibly forged or stale) ``callback_data``."""
        if message_id is None:
            msg = self._inline_message() or self.emulator.last_bot_message(self.chat_id)
            message_id = msg.message_id if msg else None
        update = self.emulator.user_press(self.user_id, message_id, callback_data, enqueue=False)
        self.last_query = self.emulator.callbacks[update["callback_query"]["id"]]
        return await self._run(update)

    async def share_contact(self, phone: str | None = None, own: bool = True) -> list[FakeMessage]:
        """Share a phone number; ``own`` marks it as the user's own contact."""
        update = self.emulator.user_contact(
            self.user_id, phone or self.phone, self.user_id if own else None, enqueue=False
        )
        return await self._run(update)

    async def send_sticker(self) -> list[FakeMessage]:
        """Send a sticker."""
        return await self._run(self.emulator.user_sticker(self.user_id, enqueue=False))

    async def send_photo(self, caption: str | None = None) -> list[FakeMessage]:
        """Send a photo, optionally captioned."""
        return await self._run(self.emulator.user_photo(self.user_id, caption, enqueue=False))

    async def send_voice(self) -> list[FakeMessage]:
        """Send a voice note."""
        return await self._run(self.emulator.user_voice(self.user_id, enqueue=False))

    async def send_document(
        self,
        file_name: str = "document.pdf",
        content: bytes = b"%PDF-1.4 fake",
        *,
        size: int | None = None,
    ) -> list[FakeMessage]:
        """Send a document (``size``: the size the messenger reports, if not the content's)."""
        update = self.emulator.user_document(
            self.user_id, file_name, content, size=size, enqueue=False
        )
        return await self._run(update)

    async def send_location(
        self, latitude: float = 35.6892, longitude: float = 51.3890
    ) -> list[FakeMessage]:
        """Share a location."""
        update = self.emulator.user_location(self.user_id, latitude, longitude, enqueue=False)
        return await self._run(update)

    async def edit(self, message_id: int, text: str) -> list[FakeMessage]:
        """Edit one of the user's earlier messages."""
        return await self._run(
            self.emulator.user_edit(self.user_id, message_id, text, enqueue=False)
        )

    # --- inspection -----------------------------------------------------------------
    def _inline_message(self) -> FakeMessage | None:
        """Return the most recent bot message in this chat that has an inline keyboard."""
        for msg in reversed(self.emulator.bot_messages(self.chat_id)):
            if msg.inline_buttons():
                return msg
        return None

    def _reply_buttons(self) -> list[Any]:
        """Return the buttons of the reply keyboard currently shown, flattened."""
        markup = self.emulator.reply_keyboard(self.chat_id) or {}
        return [button for row in markup.get("keyboard", []) for button in row]

    @staticmethod
    def _match(buttons: list[Any], wanted: str | int, by_data: bool = True) -> Any:
        """Find a button by number, exact label, callback_data, then unique substring."""
        if isinstance(wanted, int):
            return buttons[wanted - 1] if 1 <= wanted <= len(buttons) else None
        for button in buttons:
            if _label(button) == wanted:
                return button
        if by_data:
            for button in buttons:
                if isinstance(button, dict) and button.get("callback_data") == wanted:
                    return button
        partial = [b for b in buttons if wanted and wanted in _label(b)]
        if len(partial) > 1:
            raise AssertionError(
                f"{wanted!r} matches several buttons: {[_label(b) for b in partial]}"
            )
        return partial[0] if partial else None

    @property
    def messages(self) -> list[FakeMessage]:
        """The bot's current messages in this chat."""
        return self.emulator.bot_messages(self.chat_id)

    @property
    def last(self) -> str:
        """Text (or caption) of the bot's most recent message, or "" if none."""
        msg = self.emulator.last_bot_message(self.chat_id)
        return msg.content if msg else ""

    @property
    def last_message(self) -> FakeMessage | None:
        """The bot's most recent message in this chat."""
        return self.emulator.last_bot_message(self.chat_id)

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline buttons of the latest bot message that has some."""
        msg = self._inline_message()
        return [_label(b) for b in msg.inline_buttons()] if msg else []

    @property
    def reply_keyboard(self) -> list[str]:
        """Labels of the reply keyboard currently shown (empty once removed)."""
        return [_label(b) for b in self._reply_buttons()]
