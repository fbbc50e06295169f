"""The person's stage: moved forward by what they finish, and the steps a picked stage implies."""

from __future__ import annotations

from bot.rules.stages import forward, steps_behind
from handlers.turn import Turn


async def advance(turn: Turn, reached: str) -> str | None:
    """Move the stage forward to ``reached`` (never backward); the new stage, or None."""
    new = forward(turn.user.stage, reached)
    if new is not None:
        await turn.save(stage=new)
    return new


async def mark_behind(turn: Turn) -> int:
    """Mark done the steps the person's stage says are behind them; how many were not yet."""
    steps = turn.svc.content.steps_for(turn.user.field)
    behind = [s.id for s in steps_behind(turn.user.stage, steps)]
    return await turn.svc.steps.mark_implied(turn.user.id, behind, turn.now)


def label(turn: Turn, stage: str | None) -> str:
    """A stage as the person reads it."""
    return turn.t(f"stages.{stage}") if stage else "—"
