"""SQL for the roster's rows: add, look up, link to a bot user, and mark do-not-contact."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
            before = tx.total_changes
            await tx.executemany(_INSERT, rows)
            return tx.total_changes - before

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
            "do_not_contact = MAX(do_not_contact, ?), updated_at = ? WHERE id = ?",
            (int(do_not_contact), now, entry_id),
        )

    async def revoke_token(self, entry_id: int, now: int) -> str:
        """Replace a row's personal link token (the old link stops working); the new token."""
        token = new_link_token()
        await self.db.execute(
            "UPDATE roster SET link_token = ?, updated_at = ? WHERE id = ?", (token, now, entry_id)
        )
        return token
