"""SQL for invitations through Bale Safir: who may be invited, reminded or asked, and the outbox
rows (platform ``safir``, ``chat_id`` = the roster row's id) that carry those messages.

A roster person is reachable while they are not linked to a bot user, have not said "do not
contact me" and Safir has not reported their number off Bale. Each message is one outbox row
with a stable dedupe key per person and kind, so queueing twice queues once; the roster row
records the message when Safir took it, in the same transaction as the row's ``sent``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.db.engine import Database
from bot.repo.outbox import PRIORITY_BROADCAST, PRIORITY_NORMAL, OutboxRepo

SAFIR = "safir"  # the outbox platform of Safir rows
INVITE, REMINDER, CHECKIN = "safir_invite", "safir_reminder", "safir_checkin"
KINDS = (INVITE, REMINDER, CHECKIN)
_KEY = {INVITE: "safir:invite:", REMINDER: "safir:remind:", CHECKIN: "safir:checkin:"}
# Where each kind is recorded on the roster row once Safir took it.
_RECORDED = {INVITE: "invited_at", REMINDER: "reminded_at", CHECKIN: "safir_checkin_at"}
_REACHABLE = "r.user_pk IS NULL AND r.do_not_contact = 0 AND r.on_bale IS DISTINCT FROM 0"
_NOT_QUEUED = "NOT EXISTS (SELECT 1 FROM outbox AS o WHERE o.dedupe_key = '{prefix}' || r.id)"
# ?1 kind, ?2 priority, ?3 payload, ?4 key prefix, ?5 not_before, ?6 now, ?7 limit; the
# ``where`` of each kind numbers its own parameters from ?8 on. ``index`` names the walk: left
# to itself SQLite takes the unique index on user_pk (IS NULL matches every unlinked person)
# and sorts them all, a whole-list scan on every sweep.
_INDEX = {
    INVITE: "NOT INDEXED",  # the id range (rowid) in order
    REMINDER: "INDEXED BY roster_safir_remind",
    CHECKIN: "INDEXED BY roster_safir_checkin",
}
_INSERT = (
    "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key, "
    "not_before, created_at) SELECT '" + SAFIR + "', r.id, NULL, ?1, ?2, ?3, ?4 || r.id, ?5, ?6 "
    "FROM roster AS r {index} WHERE {where} ORDER BY {order} LIMIT ?7 "
    "ON CONFLICT (dedupe_key) DO NOTHING "
    "RETURNING chat_id"
)
_MINE = "status = 'sending' AND lease_owner = ?"


def dedupe_key(kind: str, roster_id: int) -> str:
    """The stable key of one person's message of one kind (its outbox row's dedupe_key)."""
    return f"{_KEY[kind]}{roster_id}"


@dataclass(frozen=True)
class InviteCounts:
    """Where the list stands for invitations (one county, or all)."""

    total: int = 0
    linked: int = 0  # joined the bot and linked to their row
    declined: int = 0  # said "do not contact me" (or erased their data)
    not_on_bale: int = 0  # Safir said the number has no Bale account
    invited: int = 0  # an invitation went out (any channel)
    queued: int = 0  # reachable, an invitation is waiting in the outbox
    eligible: int = 0  # reachable, never invited, nothing queued: `invite` would queue these


@dataclass(frozen=True)
class Target:
    """Whom a Safir row goes to, read when it is sent: the number and the personal token."""

    roster_id: int
    mobile: str
    link_token: str


class InvitationRepo:
    """Who may get which Safir message, and queueing them."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def counts(self, county: str | None = None) -> InviteCounts:
        """Counts for the staff's confirmation and the CLI, over one county or the whole list."""
        queued = _NOT_QUEUED.format(prefix=_KEY[INVITE])
        row = await self.db.reader().fetchone(  # a whole-list scan: off the writer's turn
            "SELECT COUNT(*), COUNT(r.user_pk IS NOT NULL OR NULL), "
            "COUNT(r.user_pk IS NULL AND r.do_not_contact = 1 OR NULL), "
            "COUNT(r.user_pk IS NULL AND r.do_not_contact = 0 AND r.on_bale = 0 OR NULL), "
            "COUNT(r.invited_at IS NOT NULL OR NULL), "
            f"COUNT({_REACHABLE} AND r.invited_at IS NULL AND NOT {queued} OR NULL), "
            f"COUNT({_REACHABLE} AND r.invited_at IS NULL AND {queued} OR NULL) "
            "FROM roster AS r WHERE CAST(?1 AS TEXT) IS NULL OR r.county = ?1",
            (county,),
        )
        if row is None:
            return InviteCounts()
        total, linked, declined, not_on_bale, invited, queued_n, eligible = (int(v) for v in row)
        return InviteCounts(total, linked, declined, not_on_bale, invited, queued_n, eligible)

    async def queue_invitations(
        self,
        *,
        county: str | None,
        after: int = 0,
        limit: int,
        lang: str,
        not_before: int,
        now: int,
    ) -> list[int]:
        """Queue invitations for up to ``limit`` reachable people never invited whose roster id
        is above ``after`` (in id order), in one county or all; the roster ids queued."""
        where = (
            f"r.id > ?9 AND {_REACHABLE} AND r.invited_at IS NULL "
            "AND (CAST(?8 AS TEXT) IS NULL OR r.county = ?8) AND "
            + _NOT_QUEUED.format(prefix=_KEY[INVITE])
        )
        return await self._queue(
            INVITE, where, "r.id", (county, after), limit, lang, not_before, now
        )

    async def queue_reminders(
        self, *, invited_before: int, limit: int, lang: str, not_before: int, now: int
    ) -> int:
        """Queue the one reminder of people Safir invited before ``invited_before`` who have not
        joined; how many."""
        where = (
            "r.invited_via = 'safir' AND r.user_pk IS NULL AND r.reminded_at IS NULL "
            f"AND r.invited_at <= ?8 AND {_REACHABLE} AND "
            + _NOT_QUEUED.format(prefix=_KEY[REMINDER])
        )
        ids = await self._queue(
            REMINDER, where, "r.invited_at, r.id", (invited_before,), limit, lang, not_before, now
        )
        return len(ids)

    async def queue_checkins(
        self,
        *,
        reminded_before: int,
        anchor_on_or_before: str,
        limit: int,
        lang: str,
        not_before: int,
        now: int,
    ) -> int:
        """Queue the first check-in of people who never joined after their invitation and its
        reminder (sent before ``reminded_before``), whose loan (else permit) date is on or
        before ``anchor_on_or_before`` (ISO); how many."""
        where = (
            "r.invited_via = 'safir' AND r.user_pk IS NULL AND r.safir_checkin_at IS NULL "
            "AND r.reminded_at <= ?8 AND COALESCE(r.loan_on, r.permit_on) <= ?9 AND "
            f"{_REACHABLE} AND " + _NOT_QUEUED.format(prefix=_KEY[CHECKIN])
        )
        ids = await self._queue(
            CHECKIN,
            where,
            "r.reminded_at, r.id",
            (reminded_before, anchor_on_or_before),
            limit,
            lang,
            not_before,
            now,
        )
        return len(ids)

    async def _queue(
        self,
        kind: str,
        where: str,
        order: str,
        params: Sequence[object],
        limit: int,
        lang: str,
        not_before: int,
        now: int,
    ) -> list[int]:
        """One INSERT … SELECT of ``kind`` rows for the people ``where`` finds (its ``?8``,
        ``?9`` are ``params``); the roster ids of the rows that were new."""
        sql = _INSERT.format(index=_INDEX[kind], where=where, order=order)
        priority = PRIORITY_BROADCAST if kind == INVITE else PRIORITY_NORMAL
        payload = json.dumps({"lang": lang})
        values = (kind, priority, payload, _KEY[kind], not_before, now, limit, *params)
        async with self.db.transaction(slow=kind == INVITE) as tx:  # a chunk: in the worker
            return [int(r[0]) for r in (await tx.execute(sql, values)).rows]

    async def waiting(self, kind: str) -> int:
        """How many rows of one kind wait to be sent (the partial index of pending rows)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND platform = ? AND kind = ?",
            (SAFIR, kind),
        )
        return int(row[0]) if row else 0

    async def target(self, roster_id: int, kind: str) -> Target | None:
        """The person a Safir row goes to, if still reachable (a reminder or check-in also needs
        their invitation to have gone through Safir); None: cancel the row."""
        extra = "" if kind == INVITE else " AND r.invited_via = 'safir'"
        row = await self.db.fetchone(
            f"SELECT r.id, r.mobile, r.link_token FROM roster AS r WHERE r.id = ? AND {_REACHABLE}"
            + extra,
            (roster_id,),
        )
        return Target(int(row[0]), str(row[1]), str(row[2])) if row else None

    async def decline(self, token: str, now: int) -> bool:
        """Mark "do not contact me" from a personal token: never invited again, nothing
        queued left; False when no row has this token (revoked, or never was)."""
        async with self.db.transaction() as tx:
            found = await (
                await tx.execute(
                    "UPDATE roster SET do_not_contact = 1, updated_at = ?2 WHERE link_token = ?1 "
                    "RETURNING id",
                    (token, now),
                )
            ).fetchone()
            if found is None:
                return False
            await tx.execute(
                "UPDATE outbox SET status = 'cancelled', error = 'declined' "
                "WHERE platform = ? AND chat_id = ? AND status = 'pending'",
                (SAFIR, found[0]),
            )
            return True


class SafirOutboxRepo(OutboxRepo):
    """The outbox as the Safir sender writes it: a ``sent`` row is recorded on its roster row."""

    async def mark_sent(
        self, ids_and_message_ids: Sequence[tuple[int, int | None]], now: int
    ) -> None:
        """Mark rows sent and record each on its roster row (first time only), in one
        transaction; Safir took the number, so it is on Bale."""
        if not ids_and_message_ids:
            return
        ids = [(row_id,) for row_id, _ in ids_and_message_ids]
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE outbox SET status = 'sent', sent_at = ?1, error = NULL WHERE id = ?2",
                [(now, row_id) for (row_id,) in ids],
            )
            for kind, column in _RECORDED.items():
                via = ", invited_via = COALESCE(invited_via, 'safir')" if kind == INVITE else ""
                await tx.executemany(
                    f"UPDATE roster SET {column} = COALESCE({column}, ?1), on_bale = 1, "
                    f"updated_at = ?1{via} WHERE id = (SELECT chat_id FROM outbox "
                    f"WHERE id = ?2 AND platform = '{SAFIR}' AND kind = '{kind}')",
                    [(now, row_id) for (row_id,) in ids],
                )

    async def mark_not_on_bale(self, row_id: int, error: str, now: int, *, owner: str) -> int:
        """Fail ``owner``'s row: the number has no Bale account. The roster row is marked
        (counted, never queued again) and the person's other pending Safir rows are cancelled;
        returns how many. One transaction."""
        async with self.db.transaction() as tx:
            row = await (
                await tx.execute(
                    f"UPDATE outbox SET status = 'failed', error = ? WHERE id = ? AND {_MINE} "
                    "RETURNING chat_id",
                    (error, row_id, owner),
                )
            ).fetchone()
            if row is None:
                return 0
            await tx.execute(
                "UPDATE roster SET on_bale = 0, updated_at = ? WHERE id = ?", (now, row[0])
            )
            cur = await tx.execute(
                "UPDATE outbox SET status = 'cancelled', error = 'not on Bale' "
                "WHERE platform = ? AND chat_id = ? AND status = 'pending'",
                (SAFIR, row[0]),
            )
            return max(cur.rowcount, 0)

    async def mark_cancelled(self, row_id: int, reason: str, now: int, *, owner: str) -> None:
        """Cancel ``owner``'s row: its person is no longer reachable (``now`` unused)."""
        del now  # the uniform mark_* signature; cancelling keeps no time
        await self.db.execute(
            f"UPDATE outbox SET status = 'cancelled', error = ? WHERE id = ? AND {_MINE}",
            (reason, row_id, owner),
        )
