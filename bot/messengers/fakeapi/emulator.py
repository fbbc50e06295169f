"""In-memory fake of the Telegram/Bale Bot API: method name and params in, JSON answer out."""

from __future__ import annotations

import asyncio
import copy
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from bot.messengers.fakeapi.flood import FloodControl, FloodRules
from bot.messengers.fakeapi.messaging import MessagingMixin
from bot.messengers.fakeapi.model import (
    BAD_GATEWAY,
    BLOCKED,
    CALLBACK_QUERY_TTL,
    CHAT_NOT_FOUND,
    NOT_FOUND,
    QUERY_TOO_OLD,
    ApiError,
    CallbackRecord,
    FakeMessage,
    FileRecord,
    OutputEvent,
    UploadedFile,
    bad_request,
)
from bot.messengers.fakeapi.params import as_int, as_object, decode_params, require
from bot.messengers.fakeapi.updates import UserActionsMixin

RATE_LIMITED = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage"}
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile's limit for bots
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
METHOD_NOT_FOUND = "Not Found: method not found"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active;"
    " use deleteWebhook to delete the webhook first"
)


class BotApiEmulator(UserActionsMixin, MessagingMixin):
    """In-memory Bot API state with Telegram's validation, faults and a call log."""

    def __init__(
        self,
        *,
        bot_id: int = 1000001,
        username: str = "homebiz_test_bot",
        platform: str = "telegram",
        clock: Callable[[], float] = time.time,
        first_name: str = "HomeBiz Test Bot",
        seed: int = 0,
    ) -> None:
        """Create an empty world; ``platform`` is "telegram" or "bale"."""
        if platform not in ("telegram", "bale"):
            raise ValueError(f"unknown platform {platform!r}")
        self.bot_id, self.username, self.first_name = bot_id, username, first_name
        self.platform = platform
        self.clock = clock
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, list[FakeMessage]] = defaultdict(list)
        self.deleted: list[FakeMessage] = []
        self.events: list[OutputEvent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[tuple[str, int, str]] = []
        self.files: dict[str, FileRecord] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.delivered: Counter[int] = Counter()
        self.attempts: Counter[int] = Counter()
        # Faults the caller may set at any time.
        self.blocked: set[int] = set()
        self.global_rate: float | None = None
        self.per_chat_rate: float | None = None
        self.rate_burst: float | None = None
        self.flood_rules: FloodRules | None = None  # set: these rules instead of the rates above
        # Every positive chat id is someone who started the bot (registered on first message):
        # a million recipients without a million users held in memory up front.
        self.open_chats = False
        self.rate_limited: Counter[int] = Counter()
        self.error_rate: float = 0.0
        self.rng = random.Random(seed)
        self.unsupported_methods: set[str] = {"setmycommands"} if platform == "bale" else set()
        self.webhook_url = ""
        self.next_update_id = 1
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._waiters: set[asyncio.Event] = set()
        self._message_seq: dict[int, int] = {}
        self._callback_seq = 0
        self._file_seq = 0
        self._flood_control: FloodControl | None = None
        self._methods = {
            name.removeprefix("_m_"): getattr(self, name)
            for name in dir(self)
            if name.startswith("_m_")
        }

    # --- transport-free entry point --------------------------------------------------
    def handle(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call with ``(HTTP status, JSON body)`` like Telegram."""
        decoded = decode_params(dict(params or {}))
        uploads = dict(files or {})
        recorded = dict(decoded)
        for name, upload in uploads.items():
            key = next((k for k, v in decoded.items() if v == f"attach://{name}"), name)
            recorded[key] = {"filename": upload.filename, "size": upload.size}
        self.calls.append((method, recorded))
        key = method.lower()
        handler = self._methods.get(key)
        try:
            if key in self.unsupported_methods:
                raise ApiError(404, METHOD_NOT_FOUND)
            if handler is None:
                raise ApiError(404, NOT_FOUND)
            result = handler(decoded, uploads)
        except ApiError as exc:
            self.errors.append((method, exc.status, exc.description))
            return exc.status, exc.body()
        return 200, {"ok": True, "result": result}

    # --- state helpers used by the mixins ---------------------------------------------
    def _new_message_id(self, chat_id: int) -> int:
        """Return the next message id; ids are counted per chat like in private chats."""
        self._message_seq[chat_id] = self._message_seq.get(chat_id, 0) + 1
        return self._message_seq[chat_id]

    def _message_json(self, msg: FakeMessage) -> dict[str, Any]:
        """Return a copy of the Bot API JSON of a stored message."""
        return copy.deepcopy(msg.payload)

    def _bot_json(self) -> dict[str, Any]:
        """Return the bot's User dict."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _on_update_queued(self) -> None:
        """Wake every long-polling waiter."""
        for waiter in self._waiters:
            waiter.set()

    def _chat_id(self, params: dict[str, Any], name: str = "chat_id") -> int:
        """Resolve ``chat_id`` (int, numeric string or @username) to a known chat id."""
        raw = require(params, name)
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            for chat_id, chat in self.chats.items():
                if str(chat.get("username", "")).lower() == wanted:
                    return chat_id
            raise bad_request(CHAT_NOT_FOUND)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise bad_request(CHAT_NOT_FOUND)
        return raw

    def _target_chat(self, params: dict[str, Any], name: str = "chat_id") -> int:
        """Return a known chat id that has not blocked the bot."""
        chat_id = self._chat_id(params, name)
        if chat_id in self.blocked:
            raise ApiError(403, BLOCKED)
        if chat_id not in self.chats:
            if not (self.open_chats and chat_id > 0):
                raise bad_request(CHAT_NOT_FOUND)
            self.add_user(chat_id, first_name=f"Applicant {chat_id}")
        return chat_id

    def _flood(self) -> FloodControl | None:
        """The flood control for the current settings (rebuilt, empty, when they change)."""
        rules = self.flood_rules or FloodRules.from_rates(
            self.global_rate, self.per_chat_rate, self.rate_burst
        )
        if not rules.active:
            return None
        if self._flood_control is None or self._flood_control.rules != rules:
            self._flood_control = FloodControl(rules)
        return self._flood_control

    def _check_flood(self, chat_id: int, *, edit: bool = False) -> None:
        """Refuse a send (or, when edits count, an edit) over a flood limit with 429."""
        flood = self._flood()
        if flood is None or (edit and not flood.rules.count_edits):
            return
        wait = flood.admit(chat_id, self.clock())
        if wait:
            self.rate_limited[chat_id] += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _admit(self, chat_id: int) -> None:
        """Apply flood limits (429) and injected gateway errors (502) to one send."""
        self.attempts[chat_id] += 1
        self._check_flood(chat_id)
        if self.error_rate and self.rng.random() < self.error_rate:
            raise ApiError(502, BAD_GATEWAY)
        self.delivered[chat_id] += 1

    def _admit_edit(self, chat_id: int) -> None:
        """Apply flood limits to an edit (only when the rules count edits)."""
        self._check_flood(chat_id, edit=True)

    # --- queries for tests ------------------------------------------------------------
    def sent_count(self, chat_id: int) -> int:
        """Return how many send* calls to ``chat_id`` succeeded."""
        return self.delivered[chat_id]

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        """Return the bot's current (not deleted) messages in a chat."""
        return [m for m in self.messages[chat_id] if m.from_bot]

    def last_bot_message(self, chat_id: int) -> FakeMessage | None:
        """Return the bot's most recent message in a chat, if any."""
        sent = self.bot_messages(chat_id)
        return sent[-1] if sent else None

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """Return the reply keyboard markup currently shown in a chat, if any."""
        return self.reply_keyboards.get(chat_id)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Return the params of every recorded call to ``method`` (case-insensitive)."""
        return [p for m, p in self.calls if m.lower() == method.lower()]

    def unanswered_callbacks(self) -> list[CallbackRecord]:
        """Return callback queries the bot never answered."""
        return [c for c in self.callbacks.values() if not c.answered]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Return the queued updates not yet confirmed by getUpdates."""
        return list(self._updates)

    def file_content(self, file_path: str) -> bytes | None:
        """Return the bytes behind a getFile ``file_path``, if the emulator has them."""
        for record in self.files.values():
            if record.file_path == file_path:
                return record.content if record.content is not None else b"\0" * record.size
        return None

    async def wait_for_updates(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until an update is queued; True if any is."""
        if self._updates or timeout <= 0:
            return bool(self._updates)
        event = asyncio.Event()
        self._waiters.add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(event)
        return bool(self._updates)

    def confirm_updates(self, below: int) -> None:
        """Drop queued updates with ids below ``below`` (delivered by webhook)."""
        self._updates = [u for u in self._updates if u["update_id"] >= below]

    # --- non-message methods ----------------------------------------------------------
    def _m_getme(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getMe."""
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getupdates(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getUpdates: confirm updates below ``offset`` and return up to ``limit``."""
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = as_int(params, "offset", 0) or 0
        limit = min(max(as_int(params, "limit", 100) or 100, 1), 100)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = as_object(params, "allowed_updates") or None
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if self._allowed_updates:
            allowed = set(self._allowed_updates)
            self._updates = [u for u in self._updates if allowed & set(u) - {"update_id"}]
        return copy.deepcopy(self._updates[:limit])

    def _m_setwebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """setWebhook: only https URLs are accepted."""
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise bad_request("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_deletewebhook(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """deleteWebhook."""
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getWebhookInfo."""
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_logout(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """logOut."""
        return True

    def _m_close(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """close."""
        return True

    def _m_sendchataction(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """sendChatAction."""
        chat_id = self._target_chat(params)
        action = str(params.get("action") or "")
        if action not in CHAT_ACTIONS:
            raise bad_request("Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

    def _m_answercallbackquery(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """answerCallbackQuery: each query can be answered once, within 15 minutes."""
        query_id = str(params.get("callback_query_id") or "")
        record = self.callbacks.get(query_id)
        if (
            record is None
            or record.answered
            or self.clock() - record.created_at > CALLBACK_QUERY_TTL
        ):
            raise bad_request(QUERY_TOO_OLD)
        record.answered = True
        record.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    def _scope_key(self, params: dict[str, Any]) -> tuple[str, str]:
        """Return the storage key of a commands scope and language."""
        scope = as_object(params, "scope") if params.get("scope") else {"type": "default"}
        return repr(sorted((scope or {}).items())), str(params.get("language_code") or "")

    def _m_setmycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """setMyCommands (Bale answers 404 instead)."""
        commands = as_object(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("Bad Request: can't parse commands JSON object")
        for command in commands:
            if not COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = commands
        return True

    def _m_getmycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getMyCommands."""
        return copy.deepcopy(self.commands.get(self._scope_key(params), []))

    def _m_deletemycommands(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """deleteMyCommands."""
        self.commands.pop(self._scope_key(params), None)
        return True

    def _m_getchat(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getChat: a ChatFullInfo of a known chat."""
        chat_id = self._chat_id(params)
        if chat_id not in self.chats:
            raise bad_request(CHAT_NOT_FOUND)
        gifts = (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        )
        return {
            **self.chats[chat_id],
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, False),
        }

    def _m_getfile(self, params: dict[str, Any], files: dict[str, Any]) -> Any:
        """getFile: a fake file_path that ``file_content`` can serve (bots may download files
        of at most 20 MB; a bigger one is refused as the Bot API does)."""
        record = self.files.get(str(params.get("file_id") or ""))
        if record is None:
            raise bad_request("Bad Request: invalid file_id")
        if record.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("Bad Request: file is too big")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": record.file_path,
        }


__all__ = ["BotApiEmulator", "FakeMessage", "UploadedFile"]
