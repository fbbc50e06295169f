"""The staff follow-up list at a desk: who waits for a human, since when, and who handled whom."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database
from bot.repo.scope_sql import county_clause
from bot.rules.scope import Scope

#: The follow-up list's groups, in the order staff see them, and the kinds each holds.
FOLLOWUP_GROUPS: dict[str, tuple[str, ...]] = {
    "problems": ("problems",),
    "closed": ("closed",),
    "no_answer": ("no_answer",),
    "step_help": ("step_help",),
    "roster": ("roster_claim", "roster_dispute", "roster_denied"),
}
GROUP_OF = {kind: group for group, kinds in FOLLOWUP_GROUPS.items() for kind in kinds}
PAGE = 50


@dataclass(frozen=True)
class Waiting:
    """How many follow-ups of a group wait for a human, and since when the oldest does."""

    group: str
    count: int
    oldest_at: int | None

    def oldest_age(self, now: int) -> int | None:
        """Seconds the oldest one has waited (None: nobody waits)."""
        return None if self.oldest_at is None else max(0, now - self.oldest_at)


@dataclass(frozen=True)
class Followup:
    """One follow-up with its person, its ticket (if posted) and who handled it."""

    id: int
    user_pk: int
    kind: str
    detail: dict[str, Any]
    created_at: int
    status: str
    closed_at: int | None
    handled_platform: str | None
    handled_by: int | None
    handled_note: str | None
    full_name: str | None
    county: str | None
    ticket_id: int | None
    ticket_status: str | None

    @property
    def handled(self) -> bool:
        """Whether a staff member has handled it."""
        return self.status == "closed"


_SELECT = (
    "SELECT f.id, f.user_pk, f.kind, f.detail, f.created_at, f.status, f.closed_at,"
    " f.handled_platform, f.handled_by, f.handled_note, u.full_name, u.county, t.id, t.status"
    " FROM followups f JOIN users u ON u.id = f.user_pk"
    " LEFT JOIN tickets t ON t.id = (SELECT MAX(x.id) FROM tickets x WHERE x.followup_id = f.id)"
)


def _row(r: Any) -> Followup:
    """A Followup from a row of _SELECT."""
    detail = json.loads(r[3]) if r[3] else {}
    return Followup(r[0], r[1], r[2], detail if isinstance(detail, dict) else {}, *r[4:])


def _kinds(group: str | None) -> tuple[str, tuple[str, ...]]:
    """The SQL condition on f.kind for a group (all groups when None) and its parameters."""
    kinds = FOLLOWUP_GROUPS.get(group or "", ())
    if not kinds:
        return "", ()
    return f" AND f.kind IN ({', '.join('?' for _ in kinds)})", kinds


class FollowupRepo:
    """SQL for the follow-up list as the console shows it."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def waiting(self, scope: Scope) -> dict[str, Waiting]:
        """Per group, how many follow-ups within ``scope`` wait for a human and when the oldest
        was filed (the overview's "waiting" figures): every group, zero when none waits."""
        where, params = county_clause(scope, "u.county")
        # Every county: an index-only count per kind. A scoped member's: the waiting ones in
        # person order, so the users rows are read in rowid order (the planner would take the
        # per-kind index and look people up at random, seven times slower on 180,000 rows).
        source = (
            "followups f INDEXED BY followups_waiting_user JOIN users u ON u.id = f.user_pk"
            if where
            else "followups f"
        )
        rows = await self.db.reader().fetchall(
            f"SELECT f.kind, COUNT(*), MIN(f.created_at) FROM {source}"
            f" WHERE f.status = 'open'{where} GROUP BY f.kind",
            params,
        )
        found: dict[str, tuple[int, int | None]] = {}
        for kind, count, oldest in rows:
            group = GROUP_OF.get(str(kind))
            if group is None:
                continue
            had, since = found.get(group, (0, None))
            found[group] = (had + int(count), oldest if since is None else min(since, oldest))
        return {group: Waiting(group, *found.get(group, (0, None))) for group in FOLLOWUP_GROUPS}

    async def waiting_page(
        self, scope: Scope, group: str | None, after: tuple[int, int] | None = None
    ) -> list[Followup]:
        """Follow-ups waiting for a human, oldest first, after (created_at, id) ``after``."""
        where, params = county_clause(scope, "u.county")
        kinds, kind_params = _kinds(group)
        cursor, cursor_params = (
            ("", ()) if after is None else (" AND (f.created_at, f.id) > (?, ?)", after)
        )
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE f.status = 'open'{kinds}{cursor}{where}"
            " ORDER BY f.created_at, f.id LIMIT ?",
            (*kind_params, *cursor_params, *params, PAGE),
        )
        return [_row(r) for r in rows]

    async def handled_page(
        self, scope: Scope, group: str | None, before: tuple[int, int] | None = None
    ) -> list[Followup]:
        """Handled follow-ups, latest handled first, before (closed_at, id) ``before``."""
        where, params = county_clause(scope, "u.county")
        kinds, kind_params = _kinds(group)
        cursor, cursor_params = (
            ("", ()) if before is None else (" AND (f.closed_at, f.id) < (?, ?)", before)
        )
        rows = await self.db.fetchall(
            f"{_SELECT} WHERE f.status = 'closed'{kinds}{cursor}{where}"
            " ORDER BY f.closed_at DESC, f.id DESC LIMIT ?",
            (*kind_params, *cursor_params, *params, PAGE),
        )
        return [_row(r) for r in rows]

    async def get(self, followup_id: int) -> Followup | None:
        """One follow-up by id."""
        row = await self.db.fetchone(f"{_SELECT} WHERE f.id = ?", (followup_id,))
        return _row(row) if row else None

    async def handle(
        self, followup_id: int, platform: str, by: int, note: str | None, now: int
    ) -> bool:
        """A staff member handled a waiting follow-up (with a note); False when it was not
        waiting."""
        changed = await self.db.execute(
            "UPDATE followups SET status = 'closed', closed_at = ?, handled_platform = ?,"
            " handled_by = ?, handled_note = ? WHERE id = ? AND status = 'open'",
            (now, platform, by, note, followup_id),
        )
        return changed > 0

    async def reopen(self, followup_id: int) -> bool:
        """Put a handled follow-up back on the waiting list; False when it was not handled."""
        changed = await self.db.execute(
            "UPDATE followups SET status = 'open', closed_at = NULL, handled_platform = NULL,"
            " handled_by = NULL, handled_note = NULL WHERE id = ? AND status = 'closed'",
            (followup_id,),
        )
        return changed > 0

    async def handled_with_ticket(self, followup_id: int, platform: str, by: int, now: int) -> bool:
        """Closing a follow-up's ticket handles the follow-up (if nobody had yet)."""
        return await self.handle(followup_id, platform, by, None, now)
