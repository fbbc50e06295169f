"""User-side actions of the fake Bot API: they build Update dicts and queue them."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable
from typing import Any

from bot.messengers.fakeapi.model import CallbackRecord, FakeMessage, FileRecord, utf16_len


def chat_instance(chat_id: int) -> str:
    """Return a stable chat_instance string for a chat, as Telegram sends in callbacks."""
    return str(int(hashlib.sha1(f"chat{chat_id}".encode()).hexdigest()[:15], 16))


class UserActionsMixin:
    """Methods that simulate what users do; mixed into ``BotApiEmulator``."""

    clock: Callable[[], float]
    users: dict[int, dict[str, Any]]
    chats: dict[int, dict[str, Any]]
    messages: dict[int, list[FakeMessage]]
    files: dict[str, FileRecord]
    callbacks: dict[str, CallbackRecord]
    next_update_id: int
    _updates: list[dict[str, Any]]
    _callback_seq: int
    _file_seq: int

    def _now(self) -> int:
        """Return the clock as whole Unix seconds."""
        return int(self.clock())

    def _new_message_id(self, chat_id: int) -> int:
        """Return the next message id of a chat (implemented by the emulator)."""
        raise NotImplementedError

    def _message_json(self, msg: FakeMessage) -> dict[str, Any]:
        """Return the Bot API JSON of a stored message (implemented by the emulator)."""
        raise NotImplementedError

    def _push(self, payload: dict[str, Any], enqueue: bool) -> dict[str, Any]:
        """Wrap ``payload`` in an Update with a fresh update_id and queue it."""
        update = {"update_id": self.next_update_id, **payload}
        self.next_update_id += 1
        if enqueue:
            self._updates.append(update)
            self._on_update_queued()
        return update

    def _on_update_queued(self) -> None:
        """Hook called after an update is queued (wakes long-polling waiters)."""

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        language_code: str | None = "fa",
        username: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Register a user and their private chat; return the User dict."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self.chats[user_id] = chat
        return user

    def _user(self, user_id: int) -> dict[str, Any]:
        """Return a known user, registering an unknown one with default fields."""
        if user_id not in self.users:
            self.add_user(user_id)
        return self.users[user_id]

    def _user_message(
        self, chat_id: int, user_id: int | None, kind: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Create, store and return the JSON of a message a user (or channel) sent."""
        chat = self.chats[chat_id]
        message: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": self._now(),
            "chat": dict(chat),
        }
        if user_id is not None:
            message["from"] = dict(self._user(user_id))
        elif chat["type"] == "channel":
            message["sender_chat"] = dict(chat)
        message.update(fields)
        self.messages[chat_id].append(
            FakeMessage(
                chat_id=chat_id,
                message_id=message["message_id"],
                from_bot=False,
                kind=kind,
                date=message["date"],
                text=fields.get("text"),
                caption=fields.get("caption"),
                payload=message,
            )
        )
        return message

    @staticmethod
    def _text_fields(text: str) -> dict[str, Any]:
        """Return ``text`` plus a bot_command entity when it starts with a command."""
        fields: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1 and not text[1].isspace():
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return fields

    def _new_file(
        self, prefix: str, size: int, filename: str | None = None, content: bytes | None = None
    ) -> FileRecord:
        """Register a user-sent file so getFile can find it."""
        self._file_seq += 1
        number = self._file_seq
        unique = hashlib.sha1(f"{prefix}{number}".encode()).hexdigest()[:16]
        record = FileRecord(
            file_id=f"{prefix}-{number}-{unique}",
            file_unique_id=unique,
            file_path=f"{prefix}s/file_{number}",
            size=size,
            filename=filename,
            content=content,
        )
        self.files[record.file_id] = record
        return record

    def user_text(self, user_id: int, text: str, *, enqueue: bool = True) -> dict[str, Any]:
        """A user sends ``text`` in their private chat; "/cmd" gets a bot_command entity."""
        self._user(user_id)
        message = self._user_message(user_id, user_id, "text", self._text_fields(text))
        return self._push({"message": message}, enqueue)

    def user_press(
        self,
        user_id: int,
        message_id: int | None,
        callback_data: str,
        *,
        chat_id: int | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """A user presses an inline button carrying ``callback_data`` under a message."""
        user = self._user(user_id)
        self._callback_seq += 1
        query_id = f"{self._callback_seq}{abs(user_id) % 10**9:09d}"
        chat_id = user_id if chat_id is None else chat_id
        query: dict[str, Any] = {
            "id": query_id,
            "from": dict(user),
            "chat_instance": chat_instance(chat_id),
            "data": callback_data,
        }
        if message_id is not None:
            msg = next((m for m in self.messages[chat_id] if m.message_id == message_id), None)
            if msg is None:
                chat = self.chats[chat_id]
                query["message"] = {"chat": dict(chat), "message_id": message_id, "date": 0}
            else:
                query["message"] = self._message_json(msg)
        self.callbacks[query_id] = CallbackRecord(
            query_id=query_id,
            user_id=user_id,
            chat_id=chat_id,
            message_id=message_id,
            data=callback_data,
            created_at=self.clock(),
        )
        return self._push({"callback_query": query}, enqueue)

    def user_contact(
        self,
        user_id: int,
        phone_number: str,
        contact_user_id: int | None = None,
        *,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """A user shares a contact; pass ``contact_user_id=user_id`` for their own number."""
        user = self._user(user_id)
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user["first_name"]}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        message = self._user_message(user_id, user_id, "contact", {"contact": contact})
        return self._push({"message": message}, enqueue)

    def user_sticker(
        self, user_id: int, emoji: str = "👍", *, enqueue: bool = True
    ) -> dict[str, Any]:
        """A user sends a regular sticker."""
        self._user(user_id)
        record = self._new_file("sticker", 20_000)
        sticker = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": record.size,
        }
        message = self._user_message(user_id, user_id, "sticker", {"sticker": sticker})
        return self._push({"message": message}, enqueue)

    def user_photo(
        self, user_id: int, caption: str | None = None, *, enqueue: bool = True
    ) -> dict[str, Any]:
        """A user sends a photo (two sizes), optionally with a caption."""
        self._user(user_id)
        small = self._new_file("photo", 1_500, content=b"\xff\xd8small")
        large = self._new_file("photo", 60_000, content=b"\xff\xd8large")
        sizes = [
            {
                "file_id": r.file_id,
                "file_unique_id": r.file_unique_id,
                "width": w,
                "height": w * 3 // 4,
                "file_size": r.size,
            }
            for r, w in ((small, 90), (large, 800))
        ]
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        message = self._user_message(user_id, user_id, "photo", fields)
        return self._push({"message": message}, enqueue)

    def user_voice(
        self, user_id: int, duration: int = 3, *, enqueue: bool = True
    ) -> dict[str, Any]:
        """A user sends a voice note."""
        self._user(user_id)
        record = self._new_file("voice", 8_000 * duration, content=b"OggS")
        voice = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": record.size,
        }
        message = self._user_message(user_id, user_id, "voice", {"voice": voice})
        return self._push({"message": message}, enqueue)

    def user_document(
        self,
        user_id: int,
        file_name: str = "document.pdf",
        content: bytes = b"%PDF-1.4 fake",
        caption: str | None = None,
        *,
        size: int | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """A user sends a document with the given name and bytes (``size``: the size the
        messenger reports, for a file too big to hold here; getFile then refuses it)."""
        self._user(user_id)
        size = len(content) if size is None else size
        record = self._new_file("document", size, filename=file_name, content=content)
        document = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_name": file_name,
            "mime_type": mimetypes.guess_type(file_name)[0] or "application/octet-stream",
            "file_size": record.size,
        }
        fields: dict[str, Any] = {"document": document}
        if caption is not None:
            fields["caption"] = caption
        message = self._user_message(user_id, user_id, "document", fields)
        return self._push({"message": message}, enqueue)

    def user_location(
        self,
        user_id: int,
        latitude: float = 35.6892,
        longitude: float = 51.3890,
        *,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """A user shares a location (Tehran by default)."""
        self._user(user_id)
        location = {"latitude": latitude, "longitude": longitude}
        message = self._user_message(user_id, user_id, "location", {"location": location})
        return self._push({"message": message}, enqueue)

    def user_edit(
        self, user_id: int, message_id: int, new_text: str, *, enqueue: bool = True
    ) -> dict[str, Any]:
        """A user edits one of their earlier text messages (an edited_message update)."""
        msg = next(
            (m for m in self.messages[user_id] if m.message_id == message_id and not m.from_bot),
            None,
        )
        if msg is None or msg.kind != "text":
            raise KeyError(f"user {user_id} has no text message {message_id}")
        msg.text = new_text
        msg.edited = True
        msg.edit_count += 1
        payload = {k: v for k, v in msg.payload.items() if k != "entities"}
        payload.update(self._text_fields(new_text))
        payload["edit_date"] = self._now()
        msg.payload = payload
        return self._push({"edited_message": dict(payload)}, enqueue)

    def add_group(self, chat_id: int, *, title: str = "Test group") -> dict[str, Any]:
        """Register a group chat (negative ``chat_id``) the bot is in; return the Chat dict."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        return self.chats.setdefault(chat_id, {"id": chat_id, "type": "group", "title": title})

    def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        title: str = "Test group",
        reply_to: int | None = None,
        enqueue: bool = True,
    ) -> dict[str, Any]:
        """A user writes ``text`` in a group chat (negative ``chat_id``), maybe as a reply."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.chats.setdefault(chat_id, {"id": chat_id, "type": "group", "title": title})
        fields = self._text_fields(text)
        if reply_to is not None:
            target = next(m for m in self.messages[chat_id] if m.message_id == reply_to)
            fields["reply_to_message"] = {
                k: v for k, v in target.payload.items() if k != "reply_to_message"
            }
        message = self._user_message(chat_id, user_id, "text", fields)
        return self._push({"message": message}, enqueue)

    def channel_post(
        self, chat_id: int, text: str, *, title: str = "Test channel", enqueue: bool = True
    ) -> dict[str, Any]:
        """A post appears in a channel where the bot is an admin."""
        self.chats.setdefault(chat_id, {"id": chat_id, "type": "channel", "title": title})
        message = self._user_message(chat_id, None, "text", self._text_fields(text))
        return self._push({"channel_post": message}, enqueue)
