"""SQL for the roster's rows: add, look up, link to a bot user (with what the list says about
them), staff tasks about a row, and mark do-not-contact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from bot.db.engine import Database
from bot.roster.model import COLUMNS, RosterEntry, RosterRecord, new_link_token

_SELECT = (
    "SELECT id, " + ", ".join(COLUMNS) + ", user_pk, linked_at, linked_via, link_token, "
    "do_not_contact, on_bale, invited_at, invited_via, reminded_at FROM roster "
)
_INSERT = (
    "INSERT INTO roster (" + ", ".join(COLUMNS) + ", link_token, created_at, updated_at) "
    "VALUES (" + ", ".join("?" * (len(COLUMNS) + 3)) + ") ON CONFLICT (national_code) DO NOTHING"
)
#: The users columns linking may set (the only names it interpolates into SQL).
_LINK_COLUMNS = frozenset(
    {"permit_on", "loan_on", "dates_from", "stage", "full_name", "mobile", "county", "field"}
)


def _entry(row: Sequence[Any]) -> RosterEntry:
    """A stored row as a RosterEntry."""
    n = len(COLUMNS)
    record = RosterRecord(*row[1 : n + 1])
    rest = row[n + 1 :]
    return RosterEntry(
        id=int(row[0]),
        record=record,
        user_pk=rest[0],
        linked_at=rest[1],
        linked_via=rest[2],
        link_token=str(rest[3]),
        do_not_contact=bool(rest[4]),
        on_bale=None if rest[5] is None else bool(rest[5]),
        invited_at=rest[6],
        invited_via=rest[7],
        reminded_at=rest[8],
    )


class RosterRepo:
    """The roster table's rows, one person each."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def add_many(self, records: Iterable[RosterRecord], now: int) -> int:
        """Add people not on the list yet (each with a fresh link token); how many were added."""
        rows = [(*r.values(), new_link_token(), now, now) for r in records]
        async with self.db.transaction(slow=len(rows) > 500) as tx:
            return (await tx.executemany(_INSERT, rows)).rowcount

    async def get(self, entry_id: int) -> RosterEntry | None:
        """One row by its id."""
        row = await self.db.fetchone(_SELECT + "WHERE id = ?", (entry_id,))
        return _entry(row) if row else None

    async def by_national_code(self, code: str) -> RosterEntry | None:
        """The row of this national code, if it is on the list."""
        row = await self.db.fetchone(_SELECT + "WHERE national_code = ?", (code,))
        return _entry(row) if row else None

    async def by_token(self, token: str) -> RosterEntry | None:
        """The row whose personal link carries this token."""
        row = await self.db.fetchone(_SELECT + "WHERE link_token = ?", (token,))
        return _entry(row) if row else None

    async def by_mobile(self, mobile: str) -> list[RosterEntry]:
        """Rows with this stored (+989…) mobile; more than one means it cannot link by itself."""
        rows = await self.db.fetchall(_SELECT + "WHERE mobile = ? ORDER BY id", (mobile,))
        return [_entry(r) for r in rows]

    async def by_user(self, user_pk: int) -> RosterEntry | None:
        """The row linked to this bot user, if any."""
        row = await self.db.fetchone(_SELECT + "WHERE user_pk = ?", (user_pk,))
        return _entry(row) if row else None

    async def link(self, entry_id: int, user_pk: int, via: str, now: int) -> bool:
        """Link a row to a bot user (neither linked yet); False when either already was."""
        changed = await self.db.execute(
            "UPDATE roster SET user_pk = ?, linked_at = ?, linked_via = ?, updated_at = ? "
            "WHERE id = ? AND user_pk IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM roster WHERE user_pk = ?)",
            (user_pk, now, via, now, entry_id, user_pk),
        )
        return changed > 0

    async def unlink(self, entry_id: int, now: int, *, do_not_contact: bool = False) -> None:
        """Unlink a row from its bot user (and, when asked, never contact that person again)."""
        await self.db.execute(
            "UPDATE roster SET user_pk = NULL, linked_at = NULL, linked_via = NULL, "
            f"do_not_contact = {self.db.dialect.greatest('do_not_contact', '?')}, "
            "updated_at = ? WHERE id = ?",
            (int(do_not_contact), now, entry_id),
        )

    async def revoke_token(self, entry_id: int, now: int) -> str:
        """Replace a row's personal link token (the old link stops working); the new token."""
        token = new_link_token()
        await self.db.execute(
            "UPDATE roster SET link_token = ?, updated_at = ? WHERE id = ?", (token, now, entry_id)
        )
        return token

    async def link_person(
        self,
        entry_id: int,
        user_pk: int,
        via: str,
        now: int,
        *,
        values: Mapping[str, Any],
        own_dates: Mapping[str, str],
        dated_steps: Sequence[tuple[str, str]],
        implied_steps: Sequence[str],
    ) -> bool:
        """Link a row to a bot user and, in the same transaction, give the user what the list
        says: ``values`` (milestone dates, their source, stage, profile answers), the person's
        own dates the list replaced (kept in users.own_dates), the milestone steps done on the
        list's days and the steps the stage implies. False (nothing written) when the row or the
        user was linked already."""
        bad = set(values) - _LINK_COLUMNS
        if bad:
            raise ValueError(f"not set by linking: {sorted(bad)}")
        async with self.db.transaction() as tx:
            linked = await tx.execute(
                "UPDATE roster SET user_pk = ?, linked_at = ?, linked_via = ?, updated_at = ? "
                "WHERE id = ? AND user_pk IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM roster WHERE user_pk = ?)",
                (user_pk, now, via, now, entry_id, user_pk),
            )
            if linked.rowcount == 0:
                return False
            sets = "".join(f"{column} = ?, " for column in values)
            merged = self.db.dialect.json_merge("COALESCE(own_dates, '{}')")
            await tx.execute(
                f"UPDATE users SET {sets}own_dates = CASE WHEN ? = '{{}}' THEN own_dates "
                f"ELSE {merged} END, "
                "updated_at = ? WHERE id = ?",
                (*values.values(), *[json.dumps(dict(own_dates))] * 2, now, user_pk),
            )
            await tx.executemany(
                "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO UPDATE SET"
                " done_at = COALESCE(step_progress.done_at, excluded.done_at),"
                " done_on = excluded.done_on, nudge_at = NULL",
                [(user_pk, step_id, now, now, day) for step_id, day in dated_steps],
            )
            await tx.executemany(
                "INSERT INTO step_progress (user_pk, step_id, started_at, done_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO UPDATE SET"
                " done_at = excluded.done_at, done_on = NULL, nudge_at = NULL"
                " WHERE step_progress.done_at IS NULL",
                [(user_pk, step_id, now, now) for step_id in implied_steps],
            )
        return True

    async def verified_matches(self) -> list[tuple[int, int]]:
        """(row id, user id) pairs an import may link: an unlinked row whose mobile is on no
        other row, and the one consenting user who shared that mobile as their own contact
        (two such users, say one on each messenger, leave it to the person) and is not linked."""
        rows = await self.db.fetchall(
            "WITH v AS (SELECT mobile, MIN(id) AS user_pk, COUNT(*) AS n FROM users "
            "WHERE mobile_verified = 1 AND consent_at IS NOT NULL AND mobile IS NOT NULL "
            "GROUP BY mobile) "
            # CROSS JOIN keeps v outside and `+r.user_pk` keeps the planner off the user_pk
            # index: rows are looked up by mobile (0.15 ms, not a 0.3 s walk of 200,000 rows)
            f"SELECT r.id, v.user_pk FROM v {self.db.dialect.cross_join} roster AS r "
            "ON r.mobile = v.mobile "
            "WHERE v.n = 1 AND +r.user_pk IS NULL "
            "AND (SELECT COUNT(*) FROM roster o WHERE o.mobile = r.mobile) = 1 "
            "AND NOT EXISTS (SELECT 1 FROM roster l WHERE l.user_pk = v.user_pk) "
            "ORDER BY r.id",
            slow=True,
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    async def to_invite(
        self, county: str | None = None, *, page_size: int = 1000
    ) -> AsyncIterator[list[RosterEntry]]:
        """Rows a personal link may go to: not linked, not marked do-not-contact (one county's,
        or all), in pages by id, so a list of any size is never held at once."""
        where = "WHERE user_pk IS NULL AND do_not_contact = 0 AND id > ?"
        if county is not None:
            where += " AND county = ?"
        after = 0
        while True:
            params = (after, county, page_size) if county is not None else (after, page_size)
            rows = await self.db.fetchall(
                _SELECT + where + " ORDER BY id LIMIT ?", params, slow=True
            )
            if not rows:
                return
            page = [_entry(r) for r in rows]
            yield page
            after = page[-1].id

    async def add_task(
        self, user_pk: int, kind: str, entry_id: int, now: int, **detail: Any
    ) -> bool:
        """Put a staff task about a roster row on the follow-up list, unless this person has an
        open one of that kind about that row already; whether it was added."""
        payload = json.dumps({"roster": entry_id, **detail}, ensure_ascii=False)
        about = self.db.dialect.json_field("detail", "roster", "bigint")
        added = await self.db.changes(
            "INSERT INTO followups (user_pk, kind, detail, created_at) SELECT ?, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM followups WHERE user_pk = ? AND kind = ? "
            f"AND status = 'open' AND {about} = ?)",
            (user_pk, kind, payload, now, user_pk, kind, entry_id),
        )
        return added > 0
