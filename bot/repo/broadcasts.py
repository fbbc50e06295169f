"""Broadcasts: who is in an audience, the broadcast records and their delivery figures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.db import Database
from bot.repo.outbox import PRIORITY_BROADCAST, NewMessage, OutboxRepo, Payload, make_payload

SCHEDULED, QUEUED, DONE, CANCELLED = "scheduled", "queued", "done", "cancelled"
RUNNING = (SCHEDULED, QUEUED)
DIMENSIONS = ("county", "field", "stage", "checkin", "lang")
CHECKIN_VALUES = ("operating", "problems", "paused", "closed", "no_answer", "none")
LANG_VALUES = ("fa", "en")
MAX_VALUES = 100  # per dimension; far above any real list, well below SQLite's variable limit
KIND = "broadcast"

Audience = Mapping[str, Sequence[str]]
Recipient = tuple[int, int, str]

# Column names come from this table only; chosen values always travel as parameters.
_COLUMNS = {"county": "u.county", "field": "u.field", "stage": "u.stage", "lang": "u.lang"}
_LATEST_CHECKIN = (
    " LEFT JOIN (SELECT user_pk, MAX(id) AS last_id FROM checkin_answers GROUP BY user_pk)"
    " AS latest ON latest.user_pk = u.id"
    " LEFT JOIN checkin_answers AS ca ON ca.id = latest.last_id"
)
_REACHABLE = (
    "u.platform = ? AND u.consent_at IS NOT NULL AND u.proactive = 1 AND u.unreachable_at IS NULL"
)
_SELECT = (
    "SELECT b.id, b.platform, b.created_by, b.created_at, b.content, b.audience, b.send_at, "
    "b.status, b.total, b.status_chat_id, b.status_message_id, b.finished_at, "
    "COALESCE(u.lang, 'fa') AS staff_lang FROM broadcasts AS b "
    "LEFT JOIN users AS u ON u.platform = b.platform AND u.user_id = b.created_by"
)
_FIGURES = (
    "SELECT COUNT(*), "
    "COALESCE(SUM(status = 'sent'), 0), "
    "COALESCE(SUM(status = 'failed' AND COALESCE(error, '') NOT LIKE 'forbidden%'), 0), "
    "COALESCE(SUM((status = 'failed' AND error LIKE 'forbidden%') "
    "OR (status = 'cancelled' AND error = 'unreachable')), 0), "
    "COALESCE(SUM(status = 'cancelled' AND error = 'stopped'), 0), "
    "COALESCE(SUM(status = 'cancelled' AND COALESCE(error, '') NOT IN "
    "('unreachable', 'stopped')), 0), "
    "COALESCE(SUM(status IN ('pending', 'sending')), 0) "
    "FROM outbox WHERE broadcast_id = ?"
)


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
    total: int
    status_chat_id: int | None
    status_message_id: int | None
    finished_at: int | None
    staff_lang: str

    @classmethod
    def from_row(cls, row: Any) -> Broadcast:
        """Build from a row selected with ``_SELECT``."""
        return cls(
            row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]),
            row[6], row[7], row[8], row[9], row[10], row[11], row[12],
        )  # fmt: skip


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
class Draft:
    """A composed broadcast ready to be queued."""

    platform: str
    created_by: int
    content: dict[str, Any]
    audience: dict[str, list[str]]
    send_at: int


def payload_for(content: Mapping[str, Any], lang: str) -> Payload:
    """The message a person of ``lang`` gets: their language's text, else the Persian one."""
    texts: Mapping[str, str] = content["texts"]
    text = texts.get(lang) or texts["fa"]
    return make_payload(text, photo=content.get("photo"), document=content.get("document"))


def _dump(value: Any) -> str:
    """Compact JSON keeping Persian readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def audience_sql(platform: str, audience: Audience) -> tuple[str, list[Any]]:
    """FROM/WHERE of an audience over ``users AS u``; raises ValueError on unknown filters."""
    joins = ""
    clauses = [_REACHABLE]
    params: list[Any] = [platform]
    for dim in DIMENSIONS:
        chosen = [str(v) for v in audience.get(dim, ())]
        if not chosen:
            continue
        if len(chosen) > MAX_VALUES:
            raise ValueError(f"too many values for {dim}")
        marks = ", ".join("?" * len(chosen))
        if dim == "checkin":
            if set(chosen) - set(CHECKIN_VALUES):
                raise ValueError(f"unknown check-in status in {chosen}")
            joins = _LATEST_CHECKIN
            known = [v for v in chosen if v != "none"]
            parts = [f"ca.status IN ({', '.join('?' * len(known))})"] if known else []
            if "none" in chosen:
                parts.append("ca.id IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")")
            params.extend(known)
        else:
            clauses.append(f"{_COLUMNS[dim]} IN ({marks})")
            params.extend(chosen)
    unknown = set(audience) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown audience filters {sorted(unknown)}")
    return f"FROM users AS u{joins} WHERE " + " AND ".join(clauses), params


class BroadcastRepo:
    """SQL for broadcasts and their share of the outbox."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    # --- audiences ----------------------------------------------------------------------
    async def audience_count(self, platform: str, audience: Audience) -> int:
        """How many reachable, consenting people an audience holds."""
        where, params = audience_sql(platform, audience)
        row = await self.db.fetchone(f"SELECT COUNT(*) {where}", params)
        return int(row[0]) if row else 0

    async def audience_languages(self, platform: str, audience: Audience) -> dict[str, int]:
        """How many reachable, consenting people an audience holds, per language."""
        where, params = audience_sql(platform, audience)
        rows = await self.db.fetchall(f"SELECT u.lang, COUNT(*) {where} GROUP BY u.lang", params)
        return {str(r[0]): int(r[1]) for r in rows if r[1]}

    async def recipients(self, platform: str, audience: Audience) -> list[Recipient]:
        """(user_pk, chat_id, lang) of everyone in an audience, by user id."""
        where, params = audience_sql(platform, audience)
        rows = await self.db.fetchall(
            f"SELECT u.id, u.chat_id, u.lang {where} ORDER BY u.id", params
        )
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    # --- records ------------------------------------------------------------------------
    async def create(self, draft: Draft, *, total: int, status: str, now: int) -> int:
        """Store a broadcast; return its id."""
        return await self.db.execute(
            "INSERT INTO broadcasts (platform, created_by, created_at, content, audience, "
            "send_at, status, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                draft.platform, draft.created_by, now, _dump(draft.content),
                _dump(draft.audience), draft.send_at, status, total,
            ),
        )  # fmt: skip

    async def queue(self, draft: Draft, now: int) -> tuple[int, int] | None:
        """Create the broadcast and one outbox row per recipient; (id, rows) or None if empty.

        The rows go in with ``enqueue_many`` (one transaction); the monitor finishes a
        broadcast only once all ``total`` rows exist, so the gap between the two is harmless.
        """
        people = await self.recipients(draft.platform, draft.audience)
        if not people:
            return None
        status = SCHEDULED if draft.send_at > now else QUEUED
        bid = await self.create(draft, total=len(people), status=status, now=now)
        payloads: dict[str, Payload] = {}  # one object per language: serialised once
        rows = []
        for user_pk, chat_id, lang in people:
            if lang not in payloads:
                payloads[lang] = payload_for(draft.content, lang)
            payload = payloads[lang]
            rows.append(
                NewMessage(
                    draft.platform, chat_id, user_pk, KIND, payload, max(draft.send_at, now),
                    PRIORITY_BROADCAST, f"bc:{bid}:{user_pk}", bid,
                )
            )  # fmt: skip
        added = await OutboxRepo(self.db).enqueue_many(rows, now=now)
        return bid, added

    async def get(self, bid: int) -> Broadcast | None:
        """One broadcast by id."""
        row = await self.db.fetchone(f"{_SELECT} WHERE b.id = ?", (bid,))
        return Broadcast.from_row(row) if row else None

    async def list_recent(self, platform: str, limit: int = 10) -> list[Broadcast]:
        """The newest broadcasts of a platform, newest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE b.platform = ? ORDER BY b.id DESC LIMIT ?", (platform, limit)
        )
        return [Broadcast.from_row(r) for r in rows]

    async def running(self, platform: str) -> list[Broadcast]:
        """Scheduled and queued broadcasts of a platform, oldest first."""
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE b.platform = ? AND b.status IN (?, ?) ORDER BY b.id",
            (platform, *RUNNING),
        )
        return [Broadcast.from_row(r) for r in rows]

    async def set_status_message(self, bid: int, chat_id: int, message_id: int) -> None:
        """Remember the staff message that shows a broadcast's progress."""
        await self.db.execute(
            "UPDATE broadcasts SET status_chat_id = ?, status_message_id = ? WHERE id = ?",
            (chat_id, message_id, bid),
        )

    async def start(self, bid: int) -> bool:
        """A scheduled broadcast's time came: it is queued now; False if it was not scheduled."""
        changed = await self.db.execute(
            "UPDATE broadcasts SET status = 'queued' WHERE id = ? AND status = 'scheduled'", (bid,)
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

    async def cancel(self, bid: int, now: int) -> int | None:
        """Cancel a scheduled or queued broadcast and its pending rows; how many, or None."""
        changed = await self.db.execute(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? "
            "WHERE id = ? AND status IN (?, ?)",
            (now, bid, *RUNNING),
        )
        if not changed:
            return None
        return await OutboxRepo(self.db).cancel_broadcast(bid)

    async def figures(self, bid: int) -> Figures:
        """Sent, failed, unreachable, stopped, cancelled and remaining rows of a broadcast."""
        row = await self.db.fetchone(_FIGURES, (bid,))
        values = [int(v) for v in row] if row else [0] * 7
        return Figures(*values)
