"""Milestone dates (permit issued, loan received, operating since): asked, kept and corrected.

A date given here is the date of its step too (StepRepo.record_milestone writes both), times
the check-ins and moves the stage forward. The question ("ms" state, a detour) has its own
keyboard: «📅 امروز», and when correcting from Settings «بدون تغییر» or «رد شدن».
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.jalali import format_date, tehran_today
from bot.core.validators import ValidationError, parse_jalali_date
from bot.repo.checkins import CheckinRepo
from bot.roster.linking import official_columns
from bot.rules.followup import MILESTONE_COLUMNS, plan, policy_from
from bot.rules.stages import MILESTONE_STAGES, STAGE_MILESTONES
from handlers import roster_link, stage, steps
from handlers.keyboards import main_keyboard
from handlers.registry import Flow, Registry
from handlers.turn import Turn, reply_keyboard

ASK, CORRECT = "ask", "correct"


def _date_of(turn: Turn, milestone: str) -> str | None:
    """The stored ISO date of a milestone, or None."""
    return getattr(turn.user, MILESTONE_COLUMNS[milestone])


async def record(turn: Turn, milestone: str, day: dt.date) -> tuple[dt.datetime | None, str | None]:
    """Store a milestone date (and its step's day), move the stage, re-plan the check-ins;
    the next check-in time and the new stage (None: unchanged)."""
    column = MILESTONE_COLUMNS[milestone]
    step = turn.svc.content.milestone_step(milestone)
    await turn.svc.steps.record_milestone(
        turn.user.id, column, day.isoformat(), step.id if step else None, turn.now
    )
    setattr(turn.user, column, day.isoformat())
    moved = await stage.advance(turn, MILESTONE_STAGES[milestone])
    policy = policy_from(turn.svc.content.schedule)
    due = await plan(CheckinRepo(turn.svc.db), turn.user, policy, turn.svc.clock.now())
    return due, moved


async def begin(
    turn: Turn, milestones: tuple[str, ...], *, mode: str = ASK, step: str | None = None
) -> bool:
    """Open the date questions (a detour; the caller asks); False when none is left to ask. In
    "ask" mode each date is kept at once (the one already stored, else today) so nothing is
    lost if the person walks away. Dates the programme's list gave are never asked: when
    correcting, the person is told they are the list's and how to say one is wrong."""
    official = await official_columns(turn.svc.db, turn.user.id) if milestones else frozenset()
    mine = tuple(m for m in milestones if MILESTONE_COLUMNS[m] not in official)
    if mode == CORRECT and len(mine) < len(milestones):
        await roster_link.official_note(turn, official)
    milestones = mine
    if not milestones:
        return False
    data: dict[str, Any] = {"queue": list(milestones), "mode": mode}
    if mode == ASK:
        today = tehran_today(turn.svc.clock.now())
        for milestone in milestones:
            stored = _date_of(turn, milestone)
            day = dt.date.fromisoformat(stored) if stored else today
            _, moved = await record(turn, milestone, day)
            if moved is not None:
                data["moved"] = moved  # said with the answer
    if step is not None:
        data["step"] = step
    if turn.user.state == "ms":  # already answering dates: keep where they came from
        await turn.set_state("ms", **{**turn.user.state_data, **data})
    else:
        await turn.detour("ms", **data)
    return True


def _queue(turn: Turn) -> list[str]:
    """The milestones still to ask, checked."""
    queue = turn.user.state_data.get("queue") or []
    return [m for m in queue if m in MILESTONE_COLUMNS]


def _mode(turn: Turn) -> str:
    """Asking after a step or a stage, or correcting from Settings."""
    return str(turn.user.state_data.get("mode", ASK))


def keyboard(turn: Turn, milestone: str) -> list[list[str]]:
    """The question's buttons: today, and when correcting, keep (or skip when none is stored)."""
    rows = [[turn.t("milestone.today")]]
    if _mode(turn) == CORRECT:
        rows.append(
            [turn.t("milestone.keep") if _date_of(turn, milestone) else turn.t("buttons.skip")]
        )
    return rows


async def ask(turn: Turn) -> None:
    """Ask the date of the first milestone in the queue ("when was it?")."""
    queue = _queue(turn)
    if not queue:
        await _finish(turn, [])
        return
    milestone = queue[0]
    text = turn.t(f"milestone.ask_{milestone}")
    stored = _date_of(turn, milestone)
    if _mode(turn) == CORRECT and stored:
        shown = format_date(dt.date.fromisoformat(stored), turn.lang)
        text += "\n" + turn.t("milestone.recorded", date=shown)
    await turn.say(text, reply_keyboard(keyboard(turn, milestone)))


async def on_text(turn: Turn, text: str) -> None:
    """«امروز», keep/skip when correcting, or a typed Solar Hijri date in any digits."""
    queue = _queue(turn)
    if not queue:
        await _finish(turn, [])
        return
    milestone = queue[0]
    variants = turn.svc.i18n.variants
    today = tehran_today(turn.svc.clock.now())
    if _mode(turn) == CORRECT and (
        text in variants("milestone.keep") or text in variants("buttons.skip")
    ):
        await _next(turn, queue, [])
        return
    if text in variants("milestone.today"):
        day = today
    else:
        try:
            day = parse_jalali_date(text, today=today)
        except ValidationError as exc:
            await turn.say(turn.t(f"validation.{exc.code}"))
            await ask(turn)
            return
    _, moved = await record(turn, milestone, day)
    moved = moved or turn.user.state_data.get("moved")
    lines = [_saved(turn, milestone, day)]
    if moved:
        lines.append(turn.t("milestone.stage_moved", stage=stage.label(turn, str(moved))))
    await turn.set_state("ms", **{**turn.user.state_data, "changed": True, "moved": None})
    await _next(turn, queue, lines)


def _saved(turn: Turn, milestone: str, day: dt.date) -> str:
    """What was recorded: the step done on that day, or the operating date."""
    step = turn.svc.content.milestone_step(milestone)
    date = format_date(day, turn.lang)
    if step is None:
        return turn.t("milestone.saved", date=date)
    return turn.t("milestone.saved_step", title=step.title.get(turn.lang), date=date)


async def on_keep(turn: Turn, args: list[str]) -> None:
    """The inline «keep» button of questions sent before the date keyboard existed."""
    queue = _queue(turn)
    if turn.user.state != "ms" or not queue or args != ["keep", queue[0]]:
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _next(turn, queue, [])


async def _next(turn: Turn, queue: list[str], lines: list[str]) -> None:
    """Ask the next milestone, or go back to where the person was."""
    rest = queue[1:]
    if rest:
        await turn.set_state("ms", **{**turn.user.state_data, "queue": rest})
        if lines:
            await turn.say("\n".join(lines))
        await ask(turn)
        return
    if turn.user.state_data.get("changed"):
        when = await CheckinRepo(turn.svc.db).next_at(turn.user.id)
        if when is not None:
            due = dt.datetime.fromtimestamp(when, dt.UTC)
            lines.append(turn.t("milestone.next_checkin", date=format_date(due, turn.lang)))
    await _finish(turn, lines)


async def _finish(turn: Turn, lines: list[str]) -> None:
    """Back where the person was: their open question, the steps (the next step's card, after
    the main keyboard comes back), or the menu."""
    came_from_step = turn.user.state_data.get("step")
    await turn.end_detour()
    text = "\n".join(lines)
    if not turn.user.state and came_from_step and turn.user.profile_done:
        await turn.say(text or turn.t("milestone.unchanged"), main_keyboard(turn))
        await steps.show_next(turn)
        return
    if text:
        await turn.say(text)
    await turn.router.ask_current(turn)


async def after_profile(turn: Turn, moved_forward: bool) -> None:
    """A stage picked in the profile: when it moved forward, ask its milestone's date."""
    if moved_forward:
        await begin(turn, STAGE_MILESTONES.get(turn.user.stage or "", ()))


async def after_step(turn: Turn, step: object) -> None:
    """A step with a milestone marked done: ask when it was, before the next step's card."""
    milestone = getattr(step, "milestone", None)
    if milestone not in MILESTONE_COLUMNS:
        return
    if await begin(turn, (milestone,), step=getattr(step, "id", None)):
        await ask(turn)
    else:  # the list's date: nothing to ask, on to the next step's card
        await steps.show_next(turn)


async def after_undo(turn: Turn, step: object) -> None:
    """A milestone step marked not done while its date is being asked: stop asking it."""
    milestone = getattr(step, "milestone", None)
    queue = _queue(turn)
    if turn.user.state != "ms" or milestone not in queue:
        return
    rest = [m for m in queue if m != milestone]
    if rest:
        await turn.set_state("ms", **{**turn.user.state_data, "queue": rest})
        await ask(turn)
    else:
        await turn.set_state("ms", **{**turn.user.state_data, "queue": [], "step": None})
        await _finish(turn, [])


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
    reg.on("step_undone", after_undo)
    reg.on("step_help", after_help)
