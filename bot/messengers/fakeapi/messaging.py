"""Message-changing Bot API methods of the emulator: send, edit, delete, copy, forward."""

from __future__ import annotations

import copy
from typing import Any

from bot.messengers.fakeapi.model import (
    BUTTON_DATA_INVALID,
    CAPTION_TOO_LONG,
    DELETE_NOT_FOUND,
    EDIT_NOT_FOUND,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION_UTF16,
    MAX_TEXT_UTF16,
    NOT_MODIFIED,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    FakeMessage,
    FileRecord,
    OutputEvent,
    UploadedFile,
    bad_request,
    plain_text,
    utf16_len,
)
from bot.messengers.fakeapi.params import as_int, as_object

PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "copy_text",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "callback_game",
    "pay",
)
DELETE_WINDOW = 48 * 3600
NOT_CONTENT = frozenset(
    {
        "message_id", "date", "chat", "from", "sender_chat", "reply_markup", "edit_date",
        "forward_origin", "reply_to_message",
    }
)  # fmt: skip


def _content_fields(source: FakeMessage) -> dict[str, Any]:
    """Return a deep copy of the content fields of a message (what copy/forward carry)."""
    return {k: copy.deepcopy(v) for k, v in source.payload.items() if k not in NOT_CONTENT}


class MessagingMixin:
    """Send/edit/delete handlers; mixed into ``BotApiEmulator`` which supplies the state."""

    platform: str
    chats: dict[int, dict[str, Any]]
    messages: dict[int, list[FakeMessage]]
    deleted: list[FakeMessage]
    events: list[OutputEvent]
    files: dict[str, FileRecord]
    reply_keyboards: dict[int, dict[str, Any] | None]

    # --- hooks supplied by the emulator -------------------------------------------------
    def _target_chat(self, params: dict[str, Any], name: str = "chat_id") -> int:
        """Return a known, unblocked chat id from ``params`` (implemented by the emulator)."""
        raise NotImplementedError

    def _admit(self, chat_id: int) -> None:
        """Apply rate limits and injected faults to a send (implemented by the emulator)."""
        raise NotImplementedError

    def _admit_edit(self, chat_id: int) -> None:
        """Apply rate limits to an edit (implemented by the emulator)."""
        raise NotImplementedError

    def _bot_json(self) -> dict[str, Any]:
        """Return the bot's User dict (implemented by the emulator)."""
        raise NotImplementedError

    def _now(self) -> int:
        """Return the clock in whole seconds (implemented by the update mixin)."""
        raise NotImplementedError

    def _new_message_id(self, chat_id: int) -> int:
        """Return the next message id of a chat (implemented by the emulator)."""
        raise NotImplementedError

    def _new_file(
        self, prefix: str, size: int, filename: str | None = None, content: bytes | None = None
    ) -> FileRecord:
        """Register a file (implemented by the update mixin)."""
        raise NotImplementedError

    # --- validation --------------------------------------------------------------------
    @staticmethod
    def _visible(params: dict[str, Any], name: str, limit: int, too_long: str) -> str | None:
        """Return the text the user would see for ``name``, enforcing Telegram's limits."""
        raw = params.get(name)
        if raw is None:
            return None
        mode = params.get("parse_mode")
        if mode and str(mode).lower() not in PARSE_MODES:
            raise bad_request("Bad Request: unsupported parse_mode")
        visible = plain_text(str(raw), mode).strip()
        if utf16_len(visible) > limit:
            raise bad_request(too_long)
        return visible

    def _text(self, params: dict[str, Any]) -> str:
        """Return the visible message text, rejecting empty or over-long texts."""
        text = self._visible(params, "text", MAX_TEXT_UTF16, TEXT_TOO_LONG)
        if not text:
            raise bad_request(TEXT_EMPTY)
        return text

    @staticmethod
    def _markup(params: dict[str, Any], inline_only: bool = False) -> dict[str, Any] | None:
        """Return the decoded reply_markup after checking it like Telegram does."""
        if params.get("reply_markup") in (None, ""):
            return None
        markup = as_object(params, "reply_markup")
        if not isinstance(markup, dict):
            raise bad_request("Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            MessagingMixin._check_inline(markup["inline_keyboard"])
        elif inline_only:
            raise bad_request("Bad Request: inline keyboard expected")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("Bad Request: keyboard must be an Array of Arrays")
        elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
            raise bad_request("Bad Request: can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_inline(rows: Any) -> None:
        """Validate inline keyboard rows: one action per button, short callback data."""
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("Bad Request: inline_keyboard must be an Array of Arrays")
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("Bad Request: can't parse inline keyboard button")
            actions = [key for key in INLINE_ACTIONS if key in button]
            if len(actions) != 1:
                raise bad_request(
                    "Bad Request: can't parse inline keyboard button: Text buttons are"
                    " unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request(BUTTON_DATA_INVALID)
            url = button.get("url")
            if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                raise bad_request("Bad Request: BUTTON_URL_INVALID")

    def _find(self, chat_id: int, message_id: int | None) -> FakeMessage | None:
        """Return the stored message ``message_id`` of a chat, if any."""
        return next((m for m in self.messages[chat_id] if m.message_id == message_id), None)

    # --- storage -----------------------------------------------------------------------
    def _record(self, kind: str, msg: FakeMessage) -> None:
        """Append an output event holding a snapshot of ``msg``."""
        self.events.append(OutputEvent(kind, msg.chat_id, copy.deepcopy(msg)))

    def _create(
        self,
        chat_id: int,
        kind: str,
        params: dict[str, Any],
        fields: dict[str, Any],
        markup: dict[str, Any] | None,
        file: dict[str, Any] | None = None,
    ) -> FakeMessage:
        """Store a new bot message, track reply keyboards and return it."""
        payload: dict[str, Any] = {
            "message_id": self._new_message_id(chat_id),
            "date": self._now(),
            "chat": dict(self.chats[chat_id]),
            "from": self._bot_json(),
            **fields,
        }
        if markup and "inline_keyboard" in markup:
            payload["reply_markup"] = markup
        raw_name = "text" if "text" in fields else "caption"
        msg = FakeMessage(
            chat_id=chat_id,
            message_id=payload["message_id"],
            from_bot=True,
            kind=kind,
            date=payload["date"],
            text=fields.get("text"),
            caption=fields.get("caption"),
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            raw_text=params.get(raw_name),
            file=file,
            payload=payload,
        )
        self.messages[chat_id].append(msg)
        if markup and "keyboard" in markup:
            self.reply_keyboards[chat_id] = markup
        elif markup and markup.get("remove_keyboard"):
            self.reply_keyboards[chat_id] = None
        self._record("new", msg)
        return msg

    # --- methods -----------------------------------------------------------------------
    def _m_sendmessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendMessage."""
        chat_id = self._target_chat(params)
        text = self._text(params)
        markup = self._markup(params)
        reply = self._reply_to(chat_id, params)
        self._admit(chat_id)
        return self._create(chat_id, "text", params, {"text": text, **reply}, markup).payload

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        """Return the reply_to_message field, or reject replies to missing messages."""
        reply = as_object(params, "reply_parameters") if params.get("reply_parameters") else {}
        target = (reply or {}).get("message_id", params.get("reply_to_message_id"))
        if target is None:
            return {}
        found = self._find(chat_id, target)
        if found is not None:
            quoted = {k: v for k, v in found.payload.items() if k != "reply_to_message"}
            return {"reply_to_message": copy.deepcopy(quoted)}
        allow = (reply or {}).get("allow_sending_without_reply")
        if allow or params.get("allow_sending_without_reply"):
            return {}
        raise bad_request("Bad Request: message to be replied not found")

    def _media(
        self, kind: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[FileRecord, dict[str, Any]]:
        """Resolve the file of a sendPhoto/sendDocument call: upload, URL or file_id."""
        value = params.get(kind)
        upload = files.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            if upload.size == 0:
                raise bad_request("Bad Request: file must be non-empty")
            record = self._new_file(kind, upload.size, upload.filename, upload.content)
            return record, {"filename": upload.filename, "size": upload.size, "uploaded": True}
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            record = self._new_file(kind, 0, value.rsplit("/", 1)[-1])
            return record, {"url": value, "size": None, "uploaded": False}
        if isinstance(value, str) and value:
            if value not in self.files:
                raise bad_request("Bad Request: wrong file identifier/HTTP URL specified")
            record = self.files[value]
            return record, {"file_id": value, "size": record.size, "uploaded": False}
        raise bad_request(f"Bad Request: there is no {kind} in the request")

    def _send_media(self, kind: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """Shared body of sendPhoto and sendDocument."""
        chat_id = self._target_chat(params)
        caption = self._visible(params, "caption", MAX_CAPTION_UTF16, CAPTION_TOO_LONG)
        markup = self._markup(params)
        reply = self._reply_to(chat_id, params)
        record, info = self._media(kind, params, files)
        self._admit(chat_id)
        ids = {"file_id": record.file_id, "file_unique_id": record.file_unique_id}
        if kind == "photo":
            media: Any = [{**ids, "width": 1280, "height": 960, "file_size": record.size}]
        else:
            media = {**ids, "file_name": record.filename or "file", "file_size": record.size}
        fields: dict[str, Any] = {kind: media, **reply}
        if caption:
            fields["caption"] = caption
        info["file_id"] = record.file_id
        return self._create(chat_id, kind, params, fields, markup, info).payload

    def _m_sendphoto(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendPhoto."""
        return self._send_media("photo", params, files)

    def _m_senddocument(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendDocument."""
        return self._send_media("document", params, files)

    def _m_sendmediagroup(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """sendMediaGroup: 2–10 photos, or 2–10 documents, as one album (one send)."""
        chat_id = self._target_chat(params)
        media = as_object(params, "media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("Bad Request: wrong number of media in an album (2-10)")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if len(kinds) != 1 or not kinds <= {"photo", "document"}:
            raise bad_request("Bad Request: an album holds only photos or only documents")
        reply = self._reply_to(chat_id, params)
        items = []
        for item in media:
            kind = str(item["type"])
            caption = self._visible(item, "caption", MAX_CAPTION_UTF16, CAPTION_TOO_LONG)
            record, info = self._media(kind, {kind: item.get("media")}, files)
            items.append((kind, caption, record, info))
        self._admit(chat_id)
        group = f"album{self._new_message_id(0)}"
        sent = []
        for kind, caption, record, info in items:
            ids = {"file_id": record.file_id, "file_unique_id": record.file_unique_id}
            if kind == "photo":
                body: Any = [{**ids, "width": 1280, "height": 960, "file_size": record.size}]
            else:
                body = {**ids, "file_name": record.filename or "file", "file_size": record.size}
            fields: dict[str, Any] = {kind: body, "media_group_id": group, **reply}
            if caption:
                fields["caption"] = caption
            info["file_id"] = record.file_id
            sent.append(self._create(chat_id, kind, {}, fields, None, info).payload)
        return sent

    def _editable(self, params: dict[str, Any]) -> FakeMessage:
        """Return the bot message an edit targets, or raise Telegram's errors."""
        chat_id = self._target_chat(params)
        message_id = as_int(params, "message_id")
        if message_id is None:
            raise bad_request("Bad Request: message identifier is not specified")
        msg = self._find(chat_id, message_id)
        if msg is None:
            raise bad_request(EDIT_NOT_FOUND)
        if not msg.from_bot:
            raise bad_request("Bad Request: message can't be edited")
        return msg

    def _apply_edit(self, msg: FakeMessage, markup: dict[str, Any] | None) -> Any:
        """Store an edit's new markup and edit_date, record it and build the answer."""
        msg.reply_markup = markup
        if markup:
            msg.payload["reply_markup"] = markup
        else:
            msg.payload.pop("reply_markup", None)
        msg.payload["edit_date"] = self._now()
        msg.edited = True
        msg.edit_count += 1
        self._record("edit", msg)
        return copy.deepcopy(msg.payload)

    def _m_editmessagetext(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """editMessageText; Bale answers a bare ``true`` instead of the message."""
        text = self._text(params)
        markup = self._markup(params, inline_only=True)
        if params.get("inline_message_id"):
            return True
        msg = self._editable(params)
        if msg.text is None:
            raise bad_request("Bad Request: there is no text in the message to edit")
        raw = str(params.get("text", "")).strip()
        old_raw = (msg.raw_text or msg.text).strip()
        if text == msg.text and raw == old_raw and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._admit_edit(msg.chat_id)
        msg.text, msg.raw_text, msg.parse_mode = text, params.get("text"), params.get("parse_mode")
        msg.payload["text"] = text
        result = self._apply_edit(msg, markup)
        return True if self.platform == "bale" else result

    def _m_editmessagecaption(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """editMessageCaption."""
        caption = self._visible(params, "caption", MAX_CAPTION_UTF16, CAPTION_TOO_LONG) or ""
        markup = self._markup(params, inline_only=True)
        if params.get("inline_message_id"):
            return True
        msg = self._editable(params)
        if msg.kind == "text":
            raise bad_request("Bad Request: there is no caption in the message to edit")
        if caption == (msg.caption or "") and markup == msg.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._admit_edit(msg.chat_id)
        msg.caption = caption or None
        msg.payload.pop("caption", None)
        if caption:
            msg.payload["caption"] = caption
        return self._apply_edit(msg, markup)

    def _m_editmessagereplymarkup(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """editMessageReplyMarkup; omitting reply_markup removes the inline keyboard."""
        markup = self._markup(params, inline_only=True)
        if params.get("inline_message_id"):
            return True
        msg = self._editable(params)
        if markup == msg.reply_markup or (not markup and not msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        self._admit_edit(msg.chat_id)
        return self._apply_edit(msg, markup)

    def _m_deletemessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """deleteMessage; messages older than 48 hours can't be deleted."""
        chat_id = self._target_chat(params)
        msg = self._find(chat_id, as_int(params, "message_id"))
        if msg is None:
            raise bad_request(DELETE_NOT_FOUND)
        if self._now() - msg.date > DELETE_WINDOW:
            raise bad_request("Bad Request: message can't be deleted")
        self.messages[chat_id].remove(msg)
        self.deleted.append(msg)
        self._record("delete", msg)
        return True

    def _source(self, params: dict[str, Any], missing: str) -> FakeMessage:
        """Return the message a copy/forward reads from."""
        source_chat = self._target_chat(params, "from_chat_id")
        msg = self._find(source_chat, as_int(params, "message_id"))
        if msg is None:
            raise bad_request(missing)
        return msg

    def _m_copymessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """copyMessage: same content without a link to the original; answers a MessageId."""
        source = self._source(params, "Bad Request: message to copy not found")
        chat_id = self._target_chat(params)
        markup = self._markup(params)
        fields = _content_fields(source)
        if "caption" in params:
            caption = self._visible(params, "caption", MAX_CAPTION_UTF16, CAPTION_TOO_LONG)
            fields.pop("caption", None)
            if caption:
                fields["caption"] = caption
        self._admit(chat_id)
        new = self._create(chat_id, source.kind, params, fields, markup, source.file)
        return {"message_id": new.message_id}

    def _m_forwardmessage(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        """forwardMessage: the copy carries a forward_origin naming the original sender."""
        source = self._source(params, "Bad Request: message to forward not found")
        chat_id = self._target_chat(params)
        fields = _content_fields(source)
        if "from" in source.payload:
            origin = {"type": "user", "sender_user": source.payload["from"]}
        else:
            origin = {
                "type": "channel",
                "chat": source.payload["chat"],
                "message_id": source.message_id,
            }
        fields["forward_origin"] = {**origin, "date": source.date}
        self._admit(chat_id)
        return self._create(chat_id, source.kind, params, fields, None, source.file).payload
