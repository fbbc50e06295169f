"""Each applicant's progress through the permit steps."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database


@dataclass(frozen=True)
class StepProgress:
    """When one person started, finished or asked for help on one step."""

    step_id: str
    started_at: int
    done_at: int | None
    help_at: int | None


class StepRepo:
    """SQL for the step_progress table."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def progress(self, user_pk: int) -> dict[str, StepProgress]:
        """Every step the person has touched, by step id."""
        rows = await self.db.fetchall(
            "SELECT step_id, started_at, done_at, help_at FROM step_progress WHERE user_pk = ?",
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

    async def mark_done(self, user_pk: int, step_id: str, now: int) -> bool:
        """Mark a step done in one upsert; False when it was already done."""
        changed = await self.db.changes(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_pk, step_id) DO UPDATE SET done_at = excluded.done_at, "
            "nudge_at = NULL WHERE step_progress.done_at IS NULL",
            (user_pk, step_id, now, now),
        )
        return changed > 0

    async def undo(self, user_pk: int, step_id: str, now: int) -> None:
        """Mark a step not done again (the sweep looks at it for nudges from now on)."""
        await self.db.execute(
            "UPDATE step_progress SET done_at = NULL, nudge_at = ? "
            "WHERE user_pk = ? AND step_id = ?",
            (now, user_pk, step_id),
        )

    async def mark_help(self, user_pk: int, step_id: str, now: int) -> None:
        """Record that the person asked for help on a step, in one upsert."""
        await self.db.execute(
            "INSERT INTO step_progress (user_pk, step_id, started_at, help_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_pk, step_id) DO UPDATE SET help_at = excluded.help_at",
            (user_pk, step_id, now, now),
        )
