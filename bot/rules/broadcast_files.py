"""Which uploaded files a broadcast may carry: a JPEG or PNG photo, or a PDF or Office file,
each checked by its first bytes as well as its name, within the messengers' size limits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MB = 1024 * 1024
PHOTO_MAX = 10 * MB  # Telegram's limit for a photo a bot uploads
DOCUMENT_MAX = 20 * MB  # well under Telegram's 50 MB, and what Bale accepts from bots
# suffix → (kind, media type, the bytes such a file starts with)
_OFFICE = b"PK\x03\x04"
TYPES: dict[str, tuple[str, str, bytes]] = {
    ".jpg": ("photo", "image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": ("photo", "image/jpeg", b"\xff\xd8\xff"),
    ".png": ("photo", "image/png", b"\x89PNG\r\n\x1a\n"),
    ".pdf": ("document", "application/pdf", b"%PDF-"),
    ".docx": (
        "document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _OFFICE,
    ),
    ".xlsx": (
        "document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _OFFICE,
    ),
    ".pptx": (
        "document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _OFFICE,
    ),
}
MAX_NAME = 100
_JOINERS = "\u200c\u200d"  # the Persian half-space and its twin stay; other controls go


class FileRefused(ValueError):
    """An upload a broadcast cannot carry; ``code`` names why (a locale key's last part)."""

    def __init__(self, code: str, **values: object) -> None:
        """Say why, with the values its message needs."""
        super().__init__(code)
        self.code, self.values = code, values


@dataclass(frozen=True)
class Attachment:
    """An accepted upload: photo or document, its cleaned name, media type and size."""

    kind: str
    name: str
    mime: str
    size: int


def clean_name(filename: str) -> str:
    """The file's own name without folders, control or direction characters, at most
    MAX_NAME characters (its suffix kept)."""
    base = re.split(r"[\\/]", filename or "")[-1]
    kept = "".join(ch for ch in base if ch in _JOINERS or unicodedata.category(ch)[0] != "C")
    kept = kept.strip(" .")
    if len(kept) > MAX_NAME:
        stem, dot, suffix = kept.rpartition(".")
        kept = (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix) if dot else kept[:MAX_NAME]
    return kept or "file"


def check_upload(filename: str, data: bytes) -> Attachment:
    """The attachment an upload makes, or FileRefused: empty, of a type not taken, not what its
    name says, or too large for its kind."""
    name = clean_name(filename)
    suffix = "." + name.rpartition(".")[2].lower() if "." in name else ""
    if not data:
        raise FileRefused("empty")
    if suffix not in TYPES:
        raise FileRefused("type")
    kind, mime, magic = TYPES[suffix]
    if not data.startswith(magic):
        raise FileRefused("content")
    limit = PHOTO_MAX if kind == "photo" else DOCUMENT_MAX
    if len(data) > limit:
        raise FileRefused("too_big", limit=limit // MB)
    return Attachment(kind, name, mime, len(data))
