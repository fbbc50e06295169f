"""The durable outbox: every proactive message is a row here until it is sent, failed or cancelled.

Statuses: ``pending`` (waiting for ``not_before``), ``sending`` (claimed by a sender; its network
call may be under way), ``sent``, ``failed`` (permanent error, forbidden chat, too many attempts
or flood waits) and ``cancelled`` (broadcast cancelled, or the person is unreachable or stopped).

A ``sending`` row belongs to one sender (``lease_owner``) until ``lease_until``; the owner renews
the lease while it holds the row (bot/repo/senders.py) and only the owner records a retry or a
failure. A claim takes over rows whose lease has expired, so no row waits for a restart.
On PostgreSQL a claim locks the rows it takes and skips rows another replica's claim holds
(FOR UPDATE SKIP LOCKED): concurrent claims never take the same row nor wait for each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from bot.db.engine import Database, Transaction

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
PRIORITY_NORMAL = 10
PRIORITY_BROADCAST = 50

_COLUMNS = (
    "id, platform, chat_id, user_pk, kind, priority, payload, dedupe_key, broadcast_id, "
    "status, attempts, not_before, created_at, sent_at, message_id, error, lease_owner, "
    "lease_until, flood_waits"
)
_INSERT_SQL = (
    "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key, "
    "broadcast_id, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)
_SELECT_CLAIM = (
    "SELECT o.id, o.platform, o.chat_id, o.user_pk, o.kind, o.priority, o.payload, "
    "o.dedupe_key, o.broadcast_id, o.status, o.attempts, o.not_before, o.created_at, "
    "o.sent_at, o.message_id, o.error, o.lease_owner, o.lease_until, o.flood_waits, "
    "u.unreachable_at AS u_unreachable, u.proactive AS u_proactive, b.status AS b_status "
    "FROM outbox AS o LEFT JOIN users AS u ON u.id = o.user_pk "
    "LEFT JOIN broadcasts AS b ON b.id = o.broadcast_id "
)
# Rounds of CLAIM_SQL per claim: rows it cancels instead of taking (stopped or unreachable
# people, a cancelled broadcast's rows not tidied yet) are made up for, but only so often, so
# one claim never walks a whole cancelled broadcast.
CLAIM_ROUNDS = 4
# Walks the partial index outbox_due (platform, priority, not_before, id) WHERE status='pending'
# in order; the users join is by primary key.
CLAIM_SQL = (
    _SELECT_CLAIM + "WHERE o.status = 'pending' AND o.platform = ? AND o.not_before <= ? "
    "ORDER BY o.priority, o.not_before, o.id LIMIT ?"
)
# Rows another sender claimed and stopped renewing (it died, or could not write for a whole
# lease): a range scan of the partial index outbox_lease (platform, lease_until) WHERE
# status='sending', oldest lease first. The claiming sender's own rows are never taken over:
# it still holds them (a success not yet committed must not be sent twice by its own sender).
TAKEOVER_SQL = (
    _SELECT_CLAIM + "WHERE o.status = 'sending' AND o.platform = ? AND o.lease_until < ? "
    "AND o.lease_owner IS DISTINCT FROM ? ORDER BY o.lease_until, o.id LIMIT ?"
)
_TAKE_SQL = (
    "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_owner = ?, "
    "lease_until = ? WHERE id = ?"
)
_MINE = "status = 'sending' AND lease_owner = ?"
_REFUNDED = "CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"  # an attempt given back


class Payload(TypedDict):
    """The JSON stored in ``outbox.payload``; photo/document use ``text`` as the caption.

    ``reply_to``: sent as a reply to that message of the chat (if it is still there);
    ``edit``: not a new message but new text (and buttons) for that message of the bot's.
    """

    text: str
    buttons: list[list[list[str]]] | None
    photo: str | None
    document: str | None
    reply_to: NotRequired[int]
    edit: NotRequired[int]


def make_payload(
    text: str,
    *,
    buttons: Sequence[Sequence[tuple[str, str] | Sequence[str]]] | None = None,
    photo: str | None = None,
    document: str | None = None,
    reply_to: int | None = None,
    edit: int | None = None,
) -> Payload:
    """Build a payload: rows of (label, callback_data) buttons, an optional photo/document id,
    the message it answers or the message it edits."""
    rows = [[[str(label), str(data)] for label, data in row] for row in buttons or ()]
    payload = Payload(text=text, buttons=rows or None, photo=photo, document=document)
    if reply_to is not None:
        payload["reply_to"] = reply_to
    if edit is not None:
        payload["edit"] = edit
    return payload


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
    lease_owner: str | None = None
    lease_until: int | None = None
    flood_waits: int = 0
    taken_over: bool = False  # claimed from a sender whose lease had expired (not a column)

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        """Build from a database row selected with the outbox columns in table order."""
        return cls(*(row[i] for i in range(19)))

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
            cur = await conn.execute(_INSERT_SQL + " RETURNING id", params)
            return int(cur.rows[0][0]) if cur.rows else None

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
            return (await conn.executemany(_INSERT_SQL, params())).rowcount

    # --- the sender's side --------------------------------------------------------------
    async def claim(
        self, platform: str, now: int, limit: int, *, owner: str, lease_until: int
    ) -> list[OutboxRow]:
        """Lease up to ``limit`` rows to ``owner`` until ``lease_until`` (attempts + 1).

        First rows whose lease expired under another owner (``taken_over``), then due pending
        rows, best priority first. Rows of unreachable or stopped people are cancelled instead,
        in the same transaction, and so are rows of a cancelled broadcast.
        """
        chosen: list[OutboxRow] = []
        lock = self.db.dialect.skip_locked("o")  # PostgreSQL: replicas skip each other's rows
        async with self.db.transaction() as conn:
            take = (owner, lease_until)
            rows, _ = await _take(conn, TAKEOVER_SQL + lock, (platform, now, owner, limit), take)
            for row in rows:
                row.taken_over = True
            chosen.extend(rows)
            for _ in range(CLAIM_ROUNDS):
                want = limit - len(chosen)
                if want <= 0:
                    break
                rows, found = await _take(conn, CLAIM_SQL + lock, (platform, now, want), take)
                chosen.extend(rows)
                if found < want:
                    break
        return chosen

    async def mark_sent(
        self, ids_and_message_ids: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        """Mark rows sent with their Bot API message ids, in one transaction.

        Whoever holds the row now: the message was delivered, so ``sent`` is the truth (and it
        keeps a sender that took the row over meanwhile from sending it again, if not too late).
        """
        if not ids_and_message_ids:
            return
        await self.db.executemany(
            "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, error = NULL "
            "WHERE id = ?",
            [(now, message_id, row_id) for row_id, message_id in ids_and_message_ids],
        )

    async def mark_retry(self, row_id: int, not_before: int, error: str, *, owner: str) -> None:
        """Put ``owner``'s row back to pending until ``not_before`` (its attempt counts)."""
        await self.db.execute(
            f"UPDATE outbox SET status = 'pending', not_before = ?, error = ? "
            f"WHERE id = ? AND {_MINE}",
            (not_before, error, row_id, owner),
        )

    async def mark_flood_wait(
        self, row_id: int, not_before: int, error: str, *, owner: str, give_up: bool = False
    ) -> None:
        """Count a flood wait (not an attempt: refunded); the row goes back pending, or fails."""
        await self.db.execute(
            "UPDATE outbox SET status = CASE WHEN ? THEN 'failed' ELSE 'pending' END, "
            "not_before = ?, error = ?, flood_waits = flood_waits + 1, "
            f"attempts = {_REFUNDED} WHERE id = ? AND {_MINE}",
            (give_up, not_before, error, row_id, owner),
        )

    async def release(self, ids: Sequence[int], *, owner: str) -> None:
        """Give ``owner``'s claimed rows that were never tried back to pending, attempt refunded."""
        if not ids:
            return
        await self.db.executemany(
            f"UPDATE outbox SET status = 'pending', attempts = {_REFUNDED} "
            f"WHERE id = ? AND {_MINE}",
            [(row_id, owner) for row_id in ids],
        )

    async def mark_failed(self, row_id: int, error: str, now: int, *, owner: str) -> None:
        """Fail ``owner``'s row for good with the reason (``now`` unused: no failed_at)."""
        del now  # kept for a uniform mark_* signature; the outbox has no failed_at column
        await self.db.execute(
            f"UPDATE outbox SET status = 'failed', error = ? WHERE id = ? AND {_MINE}",
            (error, row_id, owner),
        )

    async def mark_forbidden(self, row_id: int, error: str, now: int, *, owner: str) -> int:
        """Fail a row the chat refused, mark its person unreachable, cancel their pending rows.

        Returns how many other pending rows were cancelled. One transaction.
        """
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                f"UPDATE outbox SET status = 'failed', error = ? WHERE id = ? AND {_MINE} "
                "RETURNING platform, chat_id, user_pk",
                (error, row_id, owner),
            )
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

    async def failed_by_flood_waits(self) -> int:
        """How many rows failed because flood waits reached their cap."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND error LIKE 'flood_wait:%'"
        )
        return int(row[0]) if row else 0

    async def pending_count(self, platform: str) -> int:
        """How many rows of a platform wait in ``pending`` (due or not)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND platform = ?", (platform,)
        )
        return int(row[0]) if row else 0


async def _take(
    conn: Transaction, sql: str, params: tuple[Any, ...], lease: tuple[str, int]
) -> tuple[list[OutboxRow], int]:
    """Lease the rows ``sql`` finds, cancelling unreachable or stopped people's and those of a
    cancelled broadcast; (rows, found)."""
    found = (await conn.execute(sql, params)).rows
    take: list[OutboxRow] = []
    skipped: list[tuple[str, int]] = []
    for row in found:
        if row["u_unreachable"] is not None:
            skipped.append(("unreachable", row["id"]))
        elif row["u_proactive"] is not None and not row["u_proactive"]:
            skipped.append(("stopped", row["id"]))
        elif row["b_status"] == "cancelled":
            skipped.append(("cancelled", row["id"]))
        else:
            take.append(OutboxRow.from_row(row))
    if skipped:
        await conn.executemany(
            "UPDATE outbox SET status = 'cancelled', error = ? WHERE id = ?", skipped
        )
    if take:
        await conn.executemany(_TAKE_SQL, [(*lease, r.id) for r in take])
    owner, until = lease
    for r in take:
        r.status, r.attempts, r.lease_owner, r.lease_until = SENDING, r.attempts + 1, owner, until
    return take, len(found)
