"""Milestone dates (permit issued, loan received, operating since) that time the follow-ups."""

from __future__ import annotations

import datetime as dt

from bot.followup import MILESTONE_COLUMNS, STAGE_MILESTONES, plan, policy_from
from bot.jalali import format_date, tehran_today
from bot.repo.checkins import CheckinRepo
from bot.validators import ValidationError, parse_jalali_date
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline


async def _set(turn: Turn, milestone: str, day: dt.date) -> dt.datetime | None:
    """Store one milestone date and re-plan the next check-in."""
    await turn.save(**{MILESTONE_COLUMNS[milestone]: day.isoformat()})
    policy = policy_from(turn.svc.content.schedule)
    return await plan(CheckinRepo(turn.svc.db), turn.user, policy, turn.svc.clock.now())


async def begin(turn: Turn, milestones: tuple[str, ...]) -> None:
    """Record today as the default for each milestone, then ask for the real dates."""
    if not milestones:
        return
    today = tehran_today(turn.svc.clock.now())
    for milestone in milestones:
        if getattr(turn.user, MILESTONE_COLUMNS[milestone]) is None:
            await _set(turn, milestone, today)
    await turn.detour("ms", queue=list(milestones))


async def ask(turn: Turn) -> None:
    """Ask the date of the first milestone in the queue."""
    queue = turn.user.state_data.get("queue") or []
    if not queue or queue[0] not in MILESTONE_COLUMNS:
        await _finish(turn)
        return
    milestone = queue[0]
    current = getattr(turn.user, MILESTONE_COLUMNS[milestone])
    shown = format_date(dt.date.fromisoformat(current), turn.lang) if current else "—"
    await turn.say(
        turn.t(f"milestone.ask_{milestone}", date=shown),
        inline([[(turn.t("milestone.keep"), f"ms:keep:{milestone}")]]),
    )


async def on_text(turn: Turn, text: str) -> None:
    """A typed Solar Hijri date, in any digits."""
    queue = turn.user.state_data.get("queue") or []
    if not queue:
        await _finish(turn)
        return
    try:
        day = parse_jalali_date(text, today=tehran_today(turn.svc.clock.now()))
    except ValidationError as exc:
        await turn.say(turn.t(f"validation.{exc.code}"))
        await ask(turn)
        return
    due = await _set(turn, queue[0], day)
    await turn.say(turn.t("milestone.saved", date=format_date(day, turn.lang)))
    await _next(turn, queue, due)


async def on_keep(turn: Turn, args: list[str]) -> None:
    """Keep the date shown (today by default)."""
    queue = turn.user.state_data.get("queue") or []
    if turn.user.state != "ms" or not queue or args != ["keep", queue[0]]:
        await turn.router.stale(turn)
        return
    await turn.ack()
    when = await CheckinRepo(turn.svc.db).next_at(turn.user.id)
    due = dt.datetime.fromtimestamp(when, dt.UTC) if when else None
    await _next(turn, queue, due)


async def _next(turn: Turn, queue: list[str], due: dt.datetime | None) -> None:
    """Ask the next milestone, or say when the first check-in comes and go back."""
    rest = queue[1:]
    if rest:
        await turn.set_state("ms", **{**turn.user.state_data, "queue": rest})
        await ask(turn)
        return
    if due is not None:
        await turn.say(turn.t("milestone.next_checkin", date=format_date(due, turn.lang)))
    await _finish(turn)


async def _finish(turn: Turn) -> None:
    """Return to where the person was before the dates were asked."""
    await turn.end_detour()
    await turn.router.ask_current(turn)


async def after_profile(turn: Turn) -> None:
    """A finished profile whose stage is a milestone: ask its date."""
    await begin(turn, STAGE_MILESTONES.get(turn.user.stage or "", ()))


async def after_step(turn: Turn, step: object) -> None:
    """A step with a milestone marked done: ask its date."""
    milestone = getattr(step, "milestone", None)
    if milestone in MILESTONE_COLUMNS:
        await begin(turn, (milestone,))
        await ask(turn)


async def after_help(turn: Turn, step: object) -> None:
    """ "I need help" on a step puts the person on the staff follow-up list."""
    await CheckinRepo(turn.svc.db).add_followup(
        turn.user.id, "step_help", {"step": getattr(step, "id", "")}, turn.now
    )


def register(reg: Registry) -> None:
    """Add the milestone questions and the listeners that trigger them."""
    reg.flow("ms", Flow(ask=ask, on_text=on_text))
    reg.callback("ms", on_keep)
    reg.on("stage_set", after_profile)
    reg.on("step_done", after_step)
    reg.on("step_help", after_help)
