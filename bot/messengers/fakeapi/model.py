"""Data types, error descriptions and text helpers shared by the fake Bot API."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

NOT_FOUND = "Not Found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BLOCKED = "Forbidden: bot was blocked by the user"
BAD_GATEWAY = "Bad Gateway"

MAX_TEXT_UTF16 = 4096
MAX_CAPTION_UTF16 = 1024
MAX_CALLBACK_DATA_BYTES = 64
CALLBACK_QUERY_TTL = 15 * 60

# Common HTML tags Telegram rejects; unknown-but-plausible tags (future formatting) pass.
UNSUPPORTED_HTML_TAGS = frozenset(
    {
        "br",
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "tr",
        "td",
        "th",
        "img",
        "font",
        "hr",
        "html",
        "body",
        "head",
        "script",
        "style",
        "center",
        "small",
        "big",
        "sup",
        "sub",
        "mark",
        "label",
        "section",
        "article",
    }
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>")
_MD_LINK_RE = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\((?:\\.|[^)\\])*\)")
_MD_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_MD_MARKUP_RE = re.compile(r"(?<!\\)(\|\||\*|__|_|~|```|`)")


class ApiError(Exception):
    """An error answer of the Bot API, raised inside method handlers."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        """Remember the HTTP status, description and optional flood-wait seconds."""
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """Return the JSON body Telegram answers with for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(description: str) -> ApiError:
    """Build a 400 error; ``description`` must already start with "Bad Request: "."""
    return ApiError(400, description)


@dataclass
class FakeMessage:
    """One message in a chat as the emulator currently stores it."""

    chat_id: int
    message_id: int
    from_bot: bool
    kind: str
    date: int
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None
    raw_text: str | None = None
    file: dict[str, Any] | None = None
    edited: bool = False
    edit_count: int = 0
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> str:
        """Return the text, or the caption, or an empty string."""
        return self.text if self.text is not None else (self.caption or "")

    def inline_buttons(self) -> list[dict[str, Any]]:
        """Return the inline keyboard buttons of this message, row by row flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]


@dataclass(frozen=True)
class OutputEvent:
    """A change the bot made to a chat: a new message, an edit or a deletion."""

    kind: str
    chat_id: int
    message: FakeMessage


@dataclass
class CallbackRecord:
    """A callback query the emulator issued, with its answer state."""

    query_id: str
    user_id: int
    chat_id: int | None
    message_id: int | None
    data: str
    created_at: float
    answered: bool = False
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileRecord:
    """A file known to the emulator: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    file_path: str
    size: int
    filename: str | None = None
    content: bytes | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as far as the emulator cares."""

    filename: str | None
    size: int
    content: bytes | None = None


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def plain_text(text: str, parse_mode: str | None) -> str:
    """Strip HTML or Markdown markup so the result is the text a user would see."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        for match in _TAG_RE.finditer(text):
            name = match.group(2).lower()
            if name in UNSUPPORTED_HTML_TAGS:
                kind = "end" if match.group(1) else "start"
                offset = len(text[: match.start()].encode("utf-8"))
                raise bad_request(
                    f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}"'
                    f" at byte offset {offset}"
                )
        return html.unescape(_TAG_RE.sub("", text))
    if mode in ("markdownv2", "markdown"):
        text = _MD_LINK_RE.sub(lambda m: m.group(1), text)
        text = _MD_MARKUP_RE.sub("", text)
        return _MD_ESCAPE_RE.sub(r"\1", text)
    return text


def decode_json_field(value: Any) -> Any:
    """Decode ``value`` if it is a JSON object or array sent as a string."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
