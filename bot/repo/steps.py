"""Each applicant's progress through the permit and loan steps, and the milestone dates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.db.engine import Database

#: The users columns holding milestone dates (ISO days); the only names interpolated into SQL.
MILESTONE_DATE_COLUMNS = frozenset({"permit_on", "loan_on", "operating_since"})


@dataclass(frozen=True)
class StepProgress:
    """When one person started, finished or asked for help on one step.

    ``done_at`` is the moment it was recorded; ``done_on`` the day it was done as the person
    told us (ISO), None when it is done but its day is not known (a stage implied it).
    """

    step_id: str
    started_at: int
    done_at: int | None
    help_at: int | None
    done_on: str | None = None

    @property
    def done(self) -> bool:
        """Whether the step is done."""
        return self.done_at is not None


def _column(name: str) -> str:
    """A milestone date column, checked against the fixed set."""
    if name not in MILESTONE_DATE_COLUMNS:
        raise ValueError(f"not a milestone date column: {name!r}")
    return name


class StepRepo:
    """SQL for the step_progress table and the milestone dates that go with it."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def progress(self, user_pk: int) -> dict[str, StepProgress]:
        """Every step the person has touched, by step id."""
        rows = await self.db.fetchall(
            "SELECT step_id, started_at, done_at, help_at, done_on FROM step_progress"
            " WHERE user_pk = ?",
            (user_pk,),
        )
        return {r["step_id"]: StepProgress(*r) for r in rows}

    async def start(self, user_pk: int, step_id: str, now: int) -> None:
        """Record that the person reached a step (first time only); it becomes the one to nudge."""
        inserted = await self.db.changes(
            "INSERT INTO step_progress (user_pk, step_id, started_at, nudge_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO NOTHING",
            (user_pk, step_id, now, now),
        )
        if inserted:
            await self.db.execute(
                "UPDATE step_progress SET nudge_at = NULL "
                "WHERE user_pk = ? AND step_id != ? AND nudge_at IS NOT NULL",
                (user_pk, step_id),
            )

    async def mark_done(
        self, user_pk: int, step_id: str, now: int, day: str | None = None
    ) -> bool:
        """Mark a step done on a day (None: not known) in one upsert; False if it was done."""
        changed = await self.db.changes(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO UPDATE SET"
            " done_at = excluded.done_at, done_on = excluded.done_on, nudge_at = NULL"
            " WHERE step_progress.done_at IS NULL",
            (user_pk, step_id, now, now, day),
        )
        return changed > 0

    async def mark_implied(self, user_pk: int, step_ids: Sequence[str], now: int) -> int:
        """Mark steps a stage implies done, their day not known; how many were not done yet."""
        if not step_ids:
            return 0
        async with self.db.transaction() as tx:
            result = await tx.executemany(
                "INSERT INTO step_progress (user_pk, step_id, started_at, done_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO UPDATE SET"
                " done_at = excluded.done_at, done_on = NULL, nudge_at = NULL"
                " WHERE step_progress.done_at IS NULL",
                [(user_pk, step_id, now, now) for step_id in step_ids],
            )
            return result.rowcount

    async def undo(
        self, user_pk: int, step_id: str, now: int, milestone_column: str | None = None
    ) -> None:
        """Mark a step not done again (the sweep looks at it for nudges from now on); a
        milestone step loses its milestone date with it, in the same transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE step_progress SET done_at = NULL, done_on = NULL, nudge_at = ? "
                "WHERE user_pk = ? AND step_id = ?",
                (now, user_pk, step_id),
            )
            if milestone_column is not None:
                await tx.execute(
                    f"UPDATE users SET {_column(milestone_column)} = NULL, updated_at = ?"
                    " WHERE id = ?",
                    (now, user_pk),
                )

    async def record_milestone(
        self, user_pk: int, column: str, day: str, step_id: str | None, now: int
    ) -> None:
        """The one writer of a milestone date: the users column and, for a milestone with a
        step, that step done on the same day, in one transaction."""
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE users SET {_column(column)} = ?, updated_at = ? WHERE id = ?",
                (day, now, user_pk),
            )
            if step_id is not None:
                await tx.execute(
                    "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_pk, step_id) DO UPDATE SET"
                    " done_at = COALESCE(step_progress.done_at, excluded.done_at),"
                    " done_on = excluded.done_on, nudge_at = NULL",
                    (user_pk, step_id, now, now, day),
                )

    async def mark_help(self, user_pk: int, step_id: str, now: int) -> None:
        """Record that the person asked for help on a step, in one upsert."""
        await self.db.execute(
            "INSERT INTO step_progress (user_pk, step_id, started_at, help_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_pk, step_id) DO UPDATE SET help_at = excluded.help_at",
            (user_pk, step_id, now, now),
        )
