"""Broadcasts: the records, their queueing and their figures.

A broadcast is queued in chunks of users by id
(``fill``): each chunk is one INSERT … SELECT in a short transaction of its own that also moves
the broadcast's cursor, so the database is released between chunks, no list of recipients is
ever held in Python, and a restart continues where the queueing stopped. Each broadcast's figures
(sent, failed, …) are kept in its row by triggers on its outbox rows, whatever changes them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.db.engine import Database, Transaction
from bot.repo.audiences import AudienceRepo, audience_sql
from bot.repo.outbox import PRIORITY_BROADCAST, Payload, make_payload

SCHEDULED, QUEUEING, QUEUED, DONE, CANCELLED = (
    "scheduled", "queueing", "queued", "done", "cancelled",
)  # fmt: skip
RUNNING = (SCHEDULED, QUEUEING, QUEUED)
KIND = "broadcast"
CHUNK_IDS = 4000  # user ids in the first queueing chunk; later ones aim at CHUNK_SECONDS
CHUNK_SECONDS = 0.03  # how long one chunk should hold the database
CHUNK_RANGE = (500, 50_000)  # user ids per chunk, at least and at most
CANCEL_ROWS = 2000  # outbox rows in the first cancelling chunk; later ones aim at CHUNK_SECONDS
CANCEL_RANGE = (500, 20_000)  # outbox rows per cancelling chunk, at least and at most

_COLUMNS = (
    "SELECT b.id, b.platform, b.created_by, b.created_at, b.content, b.audience, b.send_at, "
    "b.status, b.total, b.status_chat_id, b.status_message_id, b.finished_at, "
    "COALESCE(u.lang, 'fa') AS staff_lang, b.queued, b.queue_after, b.queue_upto, "
    "b.outbox_rows, b.sent, b.failed, b.unreachable, b.stopped, b.cancelled, "
    "b.remaining"
)
_FROM = (
    " FROM broadcasts AS b "
    "LEFT JOIN users AS u ON u.platform = b.platform AND u.user_id = b.created_by"
)
_SELECT = _COLUMNS + _FROM
_SELECT_NAMED = _COLUMNS + ", u.full_name" + _FROM  # with the author's name
# The figures counted from the outbox rows themselves: what the triggers keep in the row.
_RECOUNT = (
    "SELECT COUNT(*), "
    "COUNT(status = 'sent' OR NULL), "
    "COUNT(status = 'failed' AND COALESCE(error, '') NOT LIKE 'forbidden%' OR NULL), "
    "COUNT((status = 'failed' AND error LIKE 'forbidden%') "
    "OR (status = 'cancelled' AND error = 'unreachable') OR NULL), "
    "COUNT(status = 'cancelled' AND error = 'stopped' OR NULL), "
    "COUNT(status = 'cancelled' AND COALESCE(error, '') NOT IN "
    "('unreachable', 'stopped') OR NULL), "
    "COUNT(status IN ('pending', 'sending') OR NULL) "
    "FROM outbox WHERE broadcast_id = ?"
)
_INSERT_ROWS = (
    "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key, "
    "broadcast_id, not_before, created_at) "
    "SELECT u.platform, u.chat_id, u.id, ?, ?, {payload}, 'bc:' || ? || ':' || u.id, ?, ?, ? "
    "FROM users AS u WHERE u.id > ? AND u.id <= ? AND {where} "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)


@dataclass(frozen=True)
class Figures:
    """Where a broadcast's outbox rows stand."""

    rows: int
    sent: int
    failed: int
    unreachable: int
    stopped: int
    cancelled: int
    remaining: int

    @property
    def finished(self) -> int:
        """Rows that reached an end state."""
        return self.rows - self.remaining


@dataclass(frozen=True)
class Broadcast:
    """One stored broadcast, with the language of the staff member who made it."""

    id: int
    platform: str
    created_by: int
    created_at: int
    content: dict[str, Any]
    audience: dict[str, list[str]]
    send_at: int
    status: str
    total: int  # the audience at launch; once queued, the rows queued
    status_chat_id: int | None
    status_message_id: int | None
    finished_at: int | None
    staff_lang: str
    queued: int = 0  # rows the queueing added so far
    queue_after: int = 0  # users up to this id are queued
    queue_upto: int | None = None  # the last user id to queue (None: queueing not begun)
    figures: Figures = Figures(0, 0, 0, 0, 0, 0, 0)  # the outbox rows, kept by triggers

    @classmethod
    def from_row(cls, row: Any) -> Broadcast:
        """Build from a row selected with ``_SELECT``."""
        return cls(
            row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]),
            row[6], row[7], row[8], row[9], row[10], row[11], row[12], row[13], row[14],
            row[15], Figures(*(int(v) for v in row[16:23])),
        )  # fmt: skip

    @property
    def fully_queued(self) -> bool:
        """Whether every recipient's row is in the outbox."""
        return self.queue_upto is not None and self.queue_after >= self.queue_upto

    @property
    def unqueued(self) -> int:
        """Recipients counted at launch whose rows are not in the outbox yet."""
        return 0 if self.fully_queued else max(0, self.total - self.queued)

    @property
    def outlook(self) -> Figures:
        """The figures as staff read them: recipients not queued yet are still to go."""
        f, more = self.figures, self.unqueued
        return replace(f, rows=f.rows + more, remaining=f.remaining + more)


@dataclass(frozen=True)
class Draft:
    """A composed broadcast ready to be queued."""

    platform: str
    created_by: int
    content: dict[str, Any]
    audience: dict[str, list[str]]
    send_at: int


@dataclass(frozen=True)
class Cancellation:
    """A cancelled broadcast: how many messages will not go out, and its figures then."""

    count: int
    figures: Figures


def payload_for(content: Mapping[str, Any], lang: str) -> Payload:
    """The message a person of ``lang`` gets: their language's text, else the Persian one, else
    the only one written."""
    texts: Mapping[str, str] = content["texts"]
    text = texts.get(lang) or texts.get("fa") or next(t for t in texts.values() if t)
    return make_payload(text, photo=content.get("photo"), document=content.get("document"))


def _dump(value: Any) -> str:
    """Compact JSON keeping Persian readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class BroadcastRepo:
    """SQL for broadcasts and their share of the outbox."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    # --- records ------------------------------------------------------------------------
    async def launch(self, draft: Draft, now: int) -> tuple[int, int] | None:
        """Store a broadcast to queue (now, or when its time comes); (id, audience) or None
        when no one matches. Its rows are added by ``fill``, chunk by chunk."""
        count = await AudienceRepo(self.db).count(draft.platform, draft.audience)
        if not count:
            return None
        status = SCHEDULED if draft.send_at > now else QUEUEING
        bid = await self.db.execute(
            "INSERT INTO broadcasts (platform, created_by, created_at, content, audience, "
            "send_at, status, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                draft.platform, draft.created_by, now, _dump(draft.content),
                _dump(draft.audience), draft.send_at, status, count,
            ),
        )  # fmt: skip
        return bid, count

    async def queue(self, draft: Draft, now: int) -> tuple[int, int] | None:
        """Launch a broadcast and queue all its rows at once (due at ``send_at``); (id, rows)
        or None if no one matches. For callers that need the rows before they go on."""
        launched = await self.launch(draft, now)
        if launched is None:
            return None
        bid, _ = launched
        return bid, await self.fill(bid, now)

    async def fill(
        self, bid: int, now: int, *, on_chunk: Callable[[int], None] | None = None
    ) -> int:
        """Queue a broadcast's rows (created ``now``, due at its time) chunk after chunk until
        all are in or it is cancelled; how many rows this call added. ``on_chunk(rows)`` follows
        each chunk's commit.

        Each chunk is sized so that it holds the database about CHUNK_SECONDS, and the
        connection is free for everyone else between two chunks.
        """
        span, added = CHUNK_IDS, 0
        while True:
            began = time.perf_counter()
            chunk = await self._queue_chunk(bid, span, now)
            if chunk is None:
                return added
            rows, done = chunk
            added += rows
            if on_chunk is not None and rows:
                on_chunk(rows)
            if done:
                return added
            span = _resize(span, time.perf_counter() - began, CHUNK_RANGE)
            await asyncio.sleep(0)  # let whoever waits for the connection have it

    async def _queue_chunk(self, bid: int, span: int, now: int) -> tuple[int, bool] | None:
        """Queue the rows of the next ``span`` user ids; (rows added, all queued) or None
        when the broadcast no longer queues (cancelled, done, gone)."""
        async with self.db.transaction(slow=True) as tx:
            found = await _fetch(
                tx,
                "SELECT platform, content, audience, send_at, queue_after, queue_upto, status "
                "FROM broadcasts WHERE id = ?",
                (bid,),
            )
            if found is None or found["status"] not in (SCHEDULED, QUEUEING):
                return None
            upto = found["queue_upto"]
            if upto is None:
                last = await _fetch(tx, "SELECT COALESCE(MAX(id), 0) FROM users")
                upto = int(last[0]) if last else 0
            after = int(found["queue_after"])
            end = min(after + span, upto)
            rows = 0
            if end > after:
                rows = await _insert_rows(tx, bid, found, (after, end), now)
            done = end >= upto
            await tx.execute(
                "UPDATE broadcasts SET queue_after = ?, queue_upto = ?, queued = queued + ?, "
                "total = CASE WHEN ? THEN queued + ? ELSE total END, "
                "status = CASE WHEN ? AND status = 'queueing' THEN 'queued' ELSE status END "
                "WHERE id = ?",
                (max(end, after), upto, rows, done, rows, done, bid),
            )
        return rows, done

    async def get(self, bid: int) -> Broadcast | None:
        """One broadcast by id."""
        row = await self.db.fetchone(f"{_SELECT} WHERE b.id = ?", (bid,))
        return Broadcast.from_row(row) if row else None

    async def sent_by_messenger(self, bid: int) -> dict[str, tuple[int, int]]:
        """(sent, rows) of a broadcast per messenger: once, for its final report (reads every
        row of the broadcast, through the read-only connection)."""
        rows = await self.db.reader().fetchall(
            "SELECT platform, COUNT(status = 'sent' OR NULL), COUNT(*) FROM outbox "
            "WHERE broadcast_id = ? GROUP BY platform",
            (bid,),
        )
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}

    async def page(
        self, counties: frozenset[str] | None, before: int | None, limit: int = 50
    ) -> list[tuple[Broadcast, str | None]]:
        """A page of every messenger's broadcasts, newest first, below id ``before``, each with
        its author's name; with ``counties``, only those whose audience is limited to them
        (bot.staffdesk.broadcasts.visible_to)."""
        where, params = "b.id < ?", [before if before is not None else 2**62]
        if counties is not None:
            marks = ", ".join("?" for _ in counties)
            d = self.db.dialect
            where += (
                f" AND {d.json_list_length('b.audience', 'county')} > 0 AND NOT EXISTS "
                f"(SELECT 1 FROM {d.json_list('b.audience', 'county')}"
                f" WHERE value NOT IN ({marks}))"
            )
            params.extend(sorted(counties))
        rows = await self.db.fetchall(
            f"{_SELECT_NAMED} WHERE {where} "
            "ORDER BY b.id DESC LIMIT ?",
            (*params, limit),
        )
        return [(Broadcast.from_row(r), r["full_name"]) for r in rows]

    async def list_recent(self, platform: str, limit: int = 10) -> list[Broadcast]:
        """The newest broadcasts of a platform, newest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE b.platform = ? ORDER BY b.id DESC LIMIT ?", (platform, limit)
        )
        return [Broadcast.from_row(r) for r in rows]

    async def running(self, platform: str) -> list[Broadcast]:
        """Scheduled, queueing and queued broadcasts of a platform, oldest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE b.platform = ? AND b.status IN (?, ?, ?) ORDER BY b.id",
            (platform, *RUNNING),
        )
        return [Broadcast.from_row(r) for r in rows]

    async def queueing(self, platform: str) -> list[int]:
        """Ids of the broadcasts of a platform whose rows are being queued, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id FROM broadcasts WHERE platform = ? AND status = ? ORDER BY id",
            (platform, QUEUEING),
        )
        return [int(r[0]) for r in rows]

    async def set_status_message(self, bid: int, chat_id: int, message_id: int) -> None:
        """Remember the staff message that shows a broadcast's progress."""
        await self.db.execute(
            "UPDATE broadcasts SET status_chat_id = ?, status_message_id = ? WHERE id = ?",
            (chat_id, message_id, bid),
        )

    async def start(self, bid: int) -> bool:
        """A scheduled broadcast's time came: it queues now; False if it was not scheduled."""
        changed = await self.db.execute(
            "UPDATE broadcasts SET status = 'queueing' WHERE id = ? AND status = 'scheduled'",
            (bid,),
        )
        return changed > 0

    async def finish(self, bid: int, now: int) -> bool:
        """Mark a queued broadcast done; False if it was not queued (cancelled, done)."""
        changed = await self.db.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ? "
            "WHERE id = ? AND status = 'queued'",
            (now, bid),
        )
        return changed > 0

    async def cancel(self, bid: int, now: int, *, wait: bool = True) -> Cancellation | None:
        """Cancel a running broadcast: its queueing stops and its pending rows will not go out;
        None if it was not running. With ``wait`` its pending rows are cancelled (in chunks)
        before this returns; without, ``cancel_rows`` does it later (the monitor, in the
        background) and the outbox's claim skips them meanwhile."""
        async with self.db.transaction() as tx:
            before = await _fetch(tx, f"{_SELECT} WHERE b.id = ?", (bid,))
            changed = await tx.execute(
                "UPDATE broadcasts SET status = 'cancelled', finished_at = ? "
                "WHERE id = ? AND status IN (?, ?, ?)",
                (now, bid, *RUNNING),
            )
            if before is None or not changed.rowcount:
                return None
            sending = await _fetch(
                tx,
                "SELECT COUNT(*) FROM outbox WHERE broadcast_id = ? AND status = 'sending'",
                (bid,),
            )
        if wait:
            await self._cancel_rows_of(bid)
        b = Broadcast.from_row(before)
        f = b.figures
        pending = f.remaining - int(sending[0] if sending else 0)
        count = pending + b.unqueued
        figures = replace(
            f,
            rows=f.rows + b.unqueued,
            cancelled=f.cancelled + count,
            remaining=f.remaining - pending,
        )
        return Cancellation(count, figures)

    async def cancel_rows(self, platform: str) -> int:
        """Cancel the pending rows of a platform's cancelled broadcasts, a few thousand per
        transaction; how many. Until then the outbox's claim skips them (it cancels a row whose
        broadcast is cancelled), so none goes out meanwhile, nor after a restart."""
        found = await self.db.fetchall(
            "SELECT id FROM broadcasts WHERE platform = ? AND status = 'cancelled' "
            "AND remaining > 0 ORDER BY id",
            (platform,),
        )
        return sum([await self._cancel_rows_of(int(r[0])) for r in found])

    async def _cancel_rows_of(self, bid: int) -> int:
        """Cancel one broadcast's pending rows, a chunk per transaction; how many."""
        total, size = 0, CANCEL_ROWS
        while True:
            began = time.perf_counter()
            changed = await self.db.changes(
                "UPDATE outbox SET status = 'cancelled', error = 'cancelled' WHERE id IN "
                "(SELECT id FROM outbox WHERE broadcast_id = ? AND status = 'pending' LIMIT ?)",
                (bid, size),
                slow=True,
            )
            total += changed
            if changed < size:
                return total
            size = _resize(size, time.perf_counter() - began, CANCEL_RANGE)
            await asyncio.sleep(0)  # let whoever waits for the connection have it

    async def figures(self, bid: int) -> Figures:
        """Sent, failed, unreachable, stopped, cancelled and remaining rows of a broadcast, as
        the triggers keep them in its row."""
        b = await self.get(bid)
        return b.figures if b else Figures(0, 0, 0, 0, 0, 0, 0)

    async def recount(self, bid: int) -> Figures:
        """The same figures counted from the broadcast's outbox rows (a reference for checks and
        benchmarks: it reads every row of the broadcast)."""
        row = await self.db.fetchone(_RECOUNT, (bid,), slow=True)
        values = [int(v) for v in row] if row else [0] * 7
        return Figures(*values)


def _resize(size: int, spent: float, bounds: tuple[int, int]) -> int:
    """The next chunk's size, so that it holds the database about CHUNK_SECONDS: in proportion
    to how long this one took, at most halved at once, within ``bounds``."""
    low, high = bounds
    wanted = size * CHUNK_SECONDS / max(spent, 1e-4)
    return int(min(high, max(low, wanted, size // 2)))


async def _fetch(tx: Transaction, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first row of a query inside a transaction, or None."""
    return await (await tx.execute(sql, params)).fetchone()


async def _insert_rows(
    tx: Transaction, bid: int, found: Any, ids: tuple[int, int], now: int
) -> int:
    """One INSERT … SELECT of the broadcast's rows for the users whose id is in the range
    ``ids`` (after, last], each person's payload chosen in SQL by their language; how many
    were added."""
    content = json.loads(found["content"])
    where, params = audience_sql(found["platform"], json.loads(found["audience"]))
    languages = [lang for lang in content["texts"] if lang != "fa"]
    payload = "?"
    payloads = [_dump(payload_for(content, "fa"))]
    if languages:
        whens = " ".join("WHEN ? THEN ?" for _ in languages)
        payload = f"CASE u.lang {whens} ELSE ? END"
        payloads = [v for lang in languages for v in (lang, _dump(payload_for(content, lang)))]
        payloads.append(_dump(payload_for(content, "fa")))
    sql = _INSERT_ROWS.format(payload=payload, where=where)
    send_at = int(found["send_at"])
    result = await tx.execute(
        sql, (KIND, PRIORITY_BROADCAST, *payloads, bid, bid, send_at, now, *ids, *params)
    )
    return max(result.rowcount, 0)
