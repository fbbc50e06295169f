"""The durable outbox: every proactive message is a row here until it is sent, failed or cancelled.

Statuses: ``pending`` (waiting for ``not_before``), ``sending`` (claimed by a sender; its network
call may be under way), ``sent``, ``failed`` (permanent error, forbidden chat or too many
attempts) and ``cancelled`` (broadcast cancelled, or the person is unreachable or stopped).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from bot.db import Database

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
PRIORITY_NORMAL = 10
PRIORITY_BROADCAST = 50

_COLUMNS = (
    "id, platform, chat_id, user_pk, kind, priority, payload, dedupe_key, broadcast_id, "
    "status, attempts, not_before, created_at, sent_at, message_id, error"
)
_INSERT_SQL = (
    "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key, "
    "broadcast_id, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
# Walks the partial index outbox_due (platform, priority, not_before, id) WHERE status='pending'
# in order; the users join is by primary key.
CLAIM_SQL = (
    "SELECT o.id, o.platform, o.chat_id, o.user_pk, o.kind, o.priority, o.payload, "
    "o.dedupe_key, o.broadcast_id, o.status, o.attempts, o.not_before, o.created_at, "
    "o.sent_at, o.message_id, o.error, u.unreachable_at AS u_unreachable, "
    "u.proactive AS u_proactive "
    "FROM outbox AS o LEFT JOIN users AS u ON u.id = o.user_pk "
    "WHERE o.status = 'pending' AND o.platform = ? AND o.not_before <= ? "
    "ORDER BY o.priority, o.not_before, o.id LIMIT ?"
)


class Payload(TypedDict):
    """The JSON stored in ``outbox.payload``; photo/document use ``text`` as the caption."""

    text: str
    buttons: list[list[list[str]]] | None
    photo: str | None
    document: str | None


def make_payload(
    text: str,
    *,
    buttons: Sequence[Sequence[tuple[str, str] | Sequence[str]]] | None = None,
    photo: str | None = None,
    document: str | None = None,
) -> Payload:
    """Build a payload: rows of (label, callback_data) buttons, an optional photo/document id."""
    rows = [[[str(label), str(data)] for label, data in row] for row in buttons or ()]
    return Payload(text=text, buttons=rows or None, photo=photo, document=document)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One row to enqueue with ``OutboxRepo.enqueue_many``."""

    platform: str
    chat_id: int
    user_pk: int | None
    kind: str
    payload: Mapping[str, Any]
    not_before: int
    priority: int = PRIORITY_NORMAL
    dedupe_key: str | None = None
    broadcast_id: int | None = None


@dataclass(slots=True)
class OutboxRow:
    """One outbox row as stored (``payload_json`` is decoded lazily by ``payload``)."""

    id: int
    platform: str
    chat_id: int
    user_pk: int | None
    kind: str
    priority: int
    payload_json: str
    dedupe_key: str | None
    broadcast_id: int | None
    status: str
    attempts: int
    not_before: int
    created_at: int
    sent_at: int | None
    message_id: int | None
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        """Build from a database row selected with the outbox columns in table order."""
        return cls(*(row[i] for i in range(16)))

    @property
    def payload(self) -> dict[str, Any]:
        """The decoded payload (raises ValueError on malformed JSON)."""
        value = json.loads(self.payload_json)
        if not isinstance(value, dict):
            raise ValueError(f"outbox payload is not an object: {self.payload_json[:80]!r}")
        return value


def _dump(payload: Mapping[str, Any]) -> str:
    """Serialise a payload compactly, keeping Persian text readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class OutboxRepo:
    """SQL for the outbox table."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    # --- enqueueing ---------------------------------------------------------------------
    async def enqueue(
        self,
        *,
        platform: str,
        chat_id: int,
        user_pk: int | None,
        kind: str,
        payload: Mapping[str, Any],
        priority: int = PRIORITY_NORMAL,
        not_before: int,
        now: int,
        dedupe_key: str | None = None,
        broadcast_id: int | None = None,
    ) -> int | None:
        """Add one message; return its id, or None when ``dedupe_key`` already exists."""
        params = (
            platform, chat_id, user_pk, kind, priority, _dump(payload), dedupe_key,
            broadcast_id, not_before, now,
        )  # fmt: skip
        async with self.db.transaction() as conn:
            cur = await conn.execute(_INSERT_SQL, params)
            return cur.lastrowid if cur.rowcount > 0 else None

    async def enqueue_many(self, rows: Iterable[NewMessage], *, now: int) -> int:
        """Add many messages in one transaction (prepared once); return how many were new."""
        last_payload: Mapping[str, Any] | None = None
        last_json = ""

        def params() -> Iterable[tuple[Any, ...]]:
            """Yield insert parameters, serialising a payload shared by many rows once."""
            nonlocal last_payload, last_json
            for r in rows:
                if r.payload is not last_payload:
                    last_payload, last_json = r.payload, _dump(r.payload)
                yield (
                    r.platform, r.chat_id, r.user_pk, r.kind, r.priority, last_json,
                    r.dedupe_key, r.broadcast_id, r.not_before, now,
                )  # fmt: skip

        async with self.db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(_INSERT_SQL, params())
            return conn.total_changes - before

    # --- the sender's side --------------------------------------------------------------
    async def claim(self, platform: str, now: int, limit: int) -> list[OutboxRow]:
        """Mark up to ``limit`` due rows ``sending`` (attempts + 1), best priority first.

        Rows of unreachable or stopped people are cancelled instead, in the same transaction.
        """
        chosen: list[OutboxRow] = []
        async with self.db.transaction() as conn:
            while len(chosen) < limit:
                want = limit - len(chosen)
                async with conn.execute(CLAIM_SQL, (platform, now, want)) as cur:
                    found = list(await cur.fetchall())
                take: list[OutboxRow] = []
                skipped: list[tuple[str, int]] = []
                for row in found:
                    if row["u_unreachable"] is not None:
                        skipped.append(("unreachable", row["id"]))
                    elif row["u_proactive"] is not None and not row["u_proactive"]:
                        skipped.append(("stopped", row["id"]))
                    else:
                        take.append(OutboxRow.from_row(row))
                if skipped:
                    await conn.executemany(
                        "UPDATE outbox SET status = 'cancelled', error = ? WHERE id = ?", skipped
                    )
                if take:
                    await conn.executemany(
                        "UPDATE outbox SET status = 'sending', attempts = attempts + 1 "
                        "WHERE id = ?",
                        [(r.id,) for r in take],
                    )
                for r in take:
                    r.status, r.attempts = SENDING, r.attempts + 1
                chosen.extend(take)
                if len(found) < want:
                    break
        return chosen

    async def mark_sent(
        self, ids_and_message_ids: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        """Mark rows sent with their Bot API message ids, in one transaction."""
        if not ids_and_message_ids:
            return
        await self.db.executemany(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL "
            "WHERE id = ?",
            [(now, message_id, row_id) for row_id, message_id in ids_and_message_ids],
        )

    async def mark_retry(
        self, row_id: int, not_before: int, error: str, *, refund: bool = False
    ) -> None:
        """Put a ``sending`` row back to pending; ``refund`` takes back its attempt."""
        await self.db.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, error = ?, "
            "attempts = MAX(attempts - ?, 0) WHERE id = ? AND status = 'sending'",
            (not_before, error, 1 if refund else 0, row_id),
        )

    async def release(self, ids: Sequence[int]) -> None:
        """Give claimed rows that were never tried back to pending, refunding their attempt."""
        if not ids:
            return
        await self.db.executemany(
            "UPDATE outbox SET status = 'pending', attempts = MAX(attempts - 1, 0) "
            "WHERE id = ? AND status = 'sending'",
            [(row_id,) for row_id in ids],
        )

    async def mark_failed(self, row_id: int, error: str, now: int) -> None:
        """Mark a row failed for good with the reason (``sent_at`` stays NULL; ``now`` unused)."""
        del now  # kept for a uniform mark_* signature; the outbox has no failed_at column
        await self.db.execute(
            "UPDATE outbox SET status = 'failed', error = ? WHERE id = ? AND status = 'sending'",
            (error, row_id),
        )

    async def mark_forbidden(self, row_id: int, error: str, now: int) -> int:
        """Fail a row the chat refused, mark its person unreachable, cancel their pending rows.

        Returns how many other pending rows were cancelled. One transaction.
        """
        async with self.db.transaction() as conn:
            async with conn.execute(
                "UPDATE outbox SET status = 'failed', error = ? WHERE id = ? "
                "RETURNING platform, chat_id, user_pk",
                (error, row_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return 0
            platform, chat_id, user_pk = row
            if user_pk is not None:
                await conn.execute(
                    "UPDATE users SET unreachable_at = ?, updated_at = ? "
                    "WHERE id = ? AND unreachable_at IS NULL",
                    (now, now, user_pk),
                )
            cur = await conn.execute(
                "UPDATE outbox SET status = 'cancelled', error = 'unreachable' "
                "WHERE status = 'pending' AND platform = ? AND (chat_id = ? OR user_pk = ?)",
                (platform, chat_id, user_pk),
            )
            return cur.rowcount

    async def recover(self, platform: str) -> int:
        """At start-up, put rows a dead process left ``sending`` back to pending; how many."""
        return await self.db.execute(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending' AND platform = ?",
            (platform,),
        )

    async def cancel_broadcast(self, broadcast_id: int) -> int:
        """Cancel a broadcast's rows not yet claimed; return how many."""
        return await self.db.execute(
            "UPDATE outbox SET status = 'cancelled', error = 'cancelled' "
            "WHERE broadcast_id = ? AND status = 'pending'",
            (broadcast_id,),
        )

    # --- reading ------------------------------------------------------------------------
    async def get(self, row_id: int) -> OutboxRow | None:
        """One row by id."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (row_id,))
        return OutboxRow.from_row(row) if row else None

    async def by_status(self, status: str, *, limit: int = 1000) -> list[OutboxRow]:
        """Rows in one status, oldest first (for status pages and tests)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM outbox WHERE status = ? ORDER BY id LIMIT ?", (status, limit)
        )
        return [OutboxRow.from_row(r) for r in rows]

    async def counts(self) -> dict[tuple[str, str], int]:
        """How many rows per (kind, status)."""
        rows = await self.db.fetchall(
            "SELECT kind, status, COUNT(*) FROM outbox GROUP BY kind, status"
        )
        return {(r[0], r[1]): r[2] for r in rows}

    async def counts_for_broadcast(self, broadcast_id: int) -> dict[str, int]:
        """How many rows of one broadcast per status."""
        rows = await self.db.fetchall(
            "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        )
        return {r[0]: r[1] for r in rows}

    async def pending_count(self, platform: str) -> int:
        """How many rows of a platform wait in ``pending`` (due or not)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND platform = ?", (platform,)
        )
        return int(row[0]) if row else 0
