"""Follow-up rules that use the database: when someone's next check-in is, from their milestones."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.content.model import ScheduleSettings
from bot.repo.checkins import CheckinRepo
from bot.repo.users import User
from bot.rules.schedule import SchedulePolicy, checkin_anchor, next_checkin_due
from bot.rules.stages import STAGE_MILESTONES

__all__ = [
    "MILESTONE_COLUMNS",
    "STAGE_MILESTONES",
    "anchor_column",
    "anchor_of",
    "plan",
    "policy_from",
]

MILESTONE_COLUMNS = {
    "permit_issued": "permit_on",
    "loan_received": "loan_on",
    "operating": "operating_since",
}


def policy_from(settings: ScheduleSettings) -> SchedulePolicy:
    """The schedule policy the content file configures."""
    return SchedulePolicy(
        first_checkin_days=settings.first_checkin_days,
        checkin_every_days=settings.checkin_every_days,
        reminder_days=tuple(settings.reminder_days),
        no_answer_after_days=settings.no_answer_after_days,
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        quiet_weekdays=frozenset(settings.quiet_weekdays),
        nudge_after_days=settings.nudge_after_days,
        nudge_max=settings.nudge_max,
        tz=ZoneInfo(settings.timezone),
    )


def _date(value: str | None) -> dt.date | None:
    """An ISO date column as a date."""
    return dt.date.fromisoformat(value) if value else None


def anchor_column(
    permit_on: str | None, loan_on: str | None, operating_since: str | None
) -> str | None:
    """The users column check-ins are timed from (the one ``anchor_of`` reads), or None."""
    anchor = anchor_of(permit_on, loan_on, operating_since)
    if anchor is None:
        return None
    given = {"loan_on": loan_on, "permit_on": permit_on, "operating_since": operating_since}
    return next(column for column, value in given.items() if _date(value) == anchor)


def anchor_of(
    permit_on: str | None, loan_on: str | None, operating_since: str | None
) -> dt.date | None:
    """The milestone check-ins are timed from."""
    return checkin_anchor(
        permit_on=_date(permit_on), loan_on=_date(loan_on), operating_since=_date(operating_since)
    )


async def plan(
    repo: CheckinRepo,
    user: User,
    policy: SchedulePolicy,
    now: dt.datetime,
    *,
    last_round_due: dt.datetime | None = None,
    paused_until: dt.date | None = None,
) -> dt.datetime | None:
    """Store and return someone's next check-in time (None: nothing to follow yet)."""
    anchor = anchor_of(user.permit_on, user.loan_on, user.operating_since)
    if anchor is None:
        await repo.set_next(user.id, None)
        return None
    if last_round_due is None:
        latest = await repo.latest_round(user.id)
        if latest is not None and latest.status == "open":
            return None  # its answer or its expiry plans the next one
        if latest is not None:
            last_round_due = dt.datetime.fromtimestamp(latest.due_at, dt.UTC)
    due = next_checkin_due(
        anchor=anchor,
        last_round_due=last_round_due,
        paused_until=paused_until,
        now=now,
        policy=policy,
    )
    await repo.set_next(
        user.id,
        int(due.timestamp()),
        paused_until=paused_until.isoformat() if paused_until else None,
    )
    return due
