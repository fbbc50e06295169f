"""The webhook updates acknowledged and not yet handled, and whose turn each chat is (schema 22).

Used by several `homebiz run` replicas on one PostgreSQL database (bot/messengers/update_inbox.py):
an update is stored before its 200 (a redelivered update_id is dropped here), and a chat's
updates are handled by one replica at a time, the one holding the chat's turn: a row of
``chat_turns`` taken by one atomic upsert that succeeds only when the chat is free, its lease
expired (its holder died) or the taker already holds it. Times are Unix milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.db.open import AnyDatabase

_STORE_SQL = (
    "INSERT INTO updates_inbox (platform, update_id, chat_key, body, received_at) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, update_id) DO NOTHING"
)
# Free, expired, or already ours: the upsert changes one row; held by another live replica: none.
_TAKE_SQL = (
    "INSERT INTO chat_turns (platform, chat_key, owner, lease_until) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (platform, chat_key) DO UPDATE SET owner = excluded.owner, "
    "lease_until = excluded.lease_until "
    "WHERE chat_turns.lease_until < ? OR chat_turns.owner = excluded.owner"
)
_RENEW_SQL = (
    "UPDATE chat_turns SET lease_until = ? WHERE platform = ? AND chat_key = ? AND owner = ?"
)
_RELEASE_SQL = "DELETE FROM chat_turns WHERE platform = ? AND chat_key = ? AND owner = ?"
_NEXT_SQL = (
    "SELECT update_id, body, attempts FROM updates_inbox "
    "WHERE platform = ? AND chat_key = ? AND done_at IS NULL ORDER BY update_id LIMIT 1"
)
_START_SQL = (
    "UPDATE updates_inbox SET attempts = attempts + 1 "
    "WHERE platform = ? AND update_id = ? AND done_at IS NULL"
)
# What the person sent is kept only until it is handled: the key alone drops a redelivery.
_DONE_SQL = (
    "UPDATE updates_inbox SET done_at = ?, body = '' WHERE platform = ? AND update_id = ? "
    "AND done_at IS NULL"
)
# Chats with updates to handle whose turn nobody holds, or whose holder's lease expired.
_STRANDED_SQL = (
    "SELECT DISTINCT i.chat_key FROM updates_inbox AS i LEFT JOIN chat_turns AS t "
    "ON t.platform = i.platform AND t.chat_key = i.chat_key "
    "WHERE i.platform = ? AND i.done_at IS NULL AND (t.owner IS NULL OR t.lease_until < ?) "
    "LIMIT ?"
)
_PENDING_SQL = (
    "SELECT 1 FROM updates_inbox WHERE platform = ? AND chat_key = ? AND done_at IS NULL LIMIT 1"
)
_PRUNE_SQL = "DELETE FROM updates_inbox WHERE done_at IS NOT NULL AND done_at < ?"


@dataclass(frozen=True)
class Stored:
    """One stored update still to handle: its id, its JSON text, the replicas that started it."""

    update_id: int
    body: str
    attempts: int


class UpdateInboxRepo:
    """The SQL of the update inbox and of the chats' turns, for one platform."""

    def __init__(self, db: AnyDatabase, platform: str) -> None:
        """Bind the database and the platform."""
        self.db = db
        self.platform = platform

    async def store(self, update_id: int, chat_key: int, body: str, now_ms: int) -> bool:
        """Keep an update (committed when this returns); False: it was already stored."""
        params = (self.platform, update_id, chat_key, body, now_ms)
        return await self.db.changes(_STORE_SQL, params) > 0

    async def take(self, chat_key: int, owner: str, now_ms: int, lease_ms: int) -> bool:
        """Take the chat's turn for ``owner`` until now + lease; False: another replica has it."""
        params = (self.platform, chat_key, owner, now_ms + lease_ms, now_ms)
        return await self.db.changes(_TAKE_SQL, params) > 0

    async def renew(self, chat_key: int, owner: str, now_ms: int, lease_ms: int) -> bool:
        """Extend ``owner``'s turn of the chat; False: it is no longer theirs."""
        params = (now_ms + lease_ms, self.platform, chat_key, owner)
        return await self.db.changes(_RENEW_SQL, params) > 0

    async def release(self, chat_key: int, owner: str) -> None:
        """Give the chat's turn back (nothing happens if ``owner`` no longer holds it)."""
        await self.db.changes(_RELEASE_SQL, (self.platform, chat_key, owner))

    async def next_pending(self, chat_key: int) -> Stored | None:
        """The chat's oldest update still to handle."""
        row: Any = await self.db.fetchone(_NEXT_SQL, (self.platform, chat_key))
        if row is None:
            return None
        return Stored(int(row[0]), str(row[1]), int(row[2]))

    async def started(self, update_id: int) -> None:
        """Count one more replica starting this update."""
        await self.db.changes(_START_SQL, (self.platform, update_id))

    async def done(self, update_id: int, now_ms: int) -> None:
        """The update was handled (or given up): what it said is forgotten, its id kept."""
        await self.db.changes(_DONE_SQL, (now_ms, self.platform, update_id))

    async def has_pending(self, chat_key: int) -> bool:
        """Whether the chat has an update still to handle."""
        return await self.db.fetchone(_PENDING_SQL, (self.platform, chat_key)) is not None

    async def stranded(self, now_ms: int, limit: int = 100) -> list[int]:
        """Chats with updates to handle and nobody (alive) holding their turn."""
        rows = await self.db.fetchall(_STRANDED_SQL, (self.platform, now_ms, limit))
        return [int(r[0]) for r in rows]

    async def prune(self, before_ms: int) -> int:
        """Forget the updates handled before ``before_ms``; how many."""
        return await self.db.changes(_PRUNE_SQL, (before_ms,))
