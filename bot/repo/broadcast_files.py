"""Files uploaded in the console for a broadcast: their bytes until each messenger has them, and
the file id each messenger gave, so a file is uploaded once per messenger and then sent by id.

A broadcast's content names such a file as ``stored:<id>`` in place of a messenger's file id;
the outbox sender resolves it (scheduler/stored_files.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.engine import Database
from bot.rules.broadcast_files import Attachment

REF = "stored:"
DRAFT_TTL = 24 * 3600  # an upload no broadcast took is dropped after a day


@dataclass(frozen=True)
class StoredFile:
    """One uploaded file, without its bytes."""

    id: int
    platform: str
    created_by: int
    created_at: int
    kind: str
    name: str
    mime: str
    size: int
    broadcast_id: int | None

    @property
    def ref(self) -> str:
        """What a broadcast's content holds in place of a file id."""
        return f"{REF}{self.id}"


def stored_id(value: object) -> int | None:
    """The id of a ``stored:<id>`` reference, or None for anything else (a messenger file id)."""
    if not isinstance(value, str) or not value.startswith(REF):
        return None
    digits = value[len(REF) :]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None


_COLUMNS = "id, platform, created_by, created_at, kind, name, mime, size, broadcast_id"


class BroadcastFileRepo:
    """SQL for uploaded broadcast files."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def add(
        self, platform: str, user_id: int, attachment: Attachment, data: bytes, now: int
    ) -> StoredFile:
        """Keep an upload (drafts older than a day go at the same time); the stored file."""
        await self.db.execute(
            "DELETE FROM broadcast_files WHERE broadcast_id IS NULL AND created_at < ?",
            (now - DRAFT_TTL,),
            slow=True,
        )
        pk = await self.db.execute(
            "INSERT INTO broadcast_files (platform, created_by, created_at, kind, name, mime, "
            "size, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                platform, user_id, now, attachment.kind, attachment.name, attachment.mime,
                attachment.size, data,
            ),
            slow=True,
        )  # fmt: skip
        found = await self.get(pk)
        assert found is not None
        return found

    async def get(self, pk: int) -> StoredFile | None:
        """One file's description."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM broadcast_files WHERE id = ?", (pk,))
        return StoredFile(*row) if row else None

    async def data(self, pk: int) -> bytes | None:
        """One file's bytes (read off the event loop: a file may be megabytes)."""
        row = await self.db.fetchone(
            "SELECT data FROM broadcast_files WHERE id = ?", (pk,), slow=True
        )
        return bytes(row[0]) if row else None

    async def attach(self, pk: int, broadcast_id: int) -> None:
        """A broadcast took the file: it stays as long as the broadcast."""
        await self.db.execute(
            "UPDATE broadcast_files SET broadcast_id = ? WHERE id = ?", (broadcast_id, pk)
        )

    async def file_id(self, pk: int, platform: str) -> str | None:
        """The id a messenger gave the file when it was first uploaded there."""
        row = await self.db.fetchone(
            "SELECT file_id FROM broadcast_file_ids WHERE file_pk = ? AND platform = ?",
            (pk, platform),
        )
        return str(row[0]) if row else None

    async def remember(self, pk: int, platform: str, file_id: str) -> None:
        """Keep the id a messenger gave the file."""
        await self.db.execute(
            "INSERT INTO broadcast_file_ids (file_pk, platform, file_id) VALUES (?, ?, ?) "
            "ON CONFLICT (file_pk, platform) DO UPDATE SET file_id = excluded.file_id",
            (pk, platform, file_id),
        )
