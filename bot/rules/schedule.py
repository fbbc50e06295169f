"""Pure follow-up schedule maths: when to ask, remind, close and nudge (no I/O, no clock reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = (
    "CHECKIN_TIME",
    "TEHRAN",
    "SchedulePolicy",
    "allowed_send_time",
    "checkin_anchor",
    "first_checkin_due",
    "in_quiet_hours",
    "next_checkin_due",
    "no_answer_at",
    "nudge_due",
    "reminder_due",
    "reminder_times",
    "round_action",
    "round_expired",
)

#: The default policy time zone; Iran has observed no DST since September 2022.
TEHRAN = ZoneInfo("Asia/Tehran")

#: Local wall-clock time at which a check-in is nominally due, before the sending window applies.
CHECKIN_TIME = time(10, 0)

# A valid policy leaves at least one sendable day a week, so a week and a day always suffices.
_MAX_WINDOW_STEPS = 9


@dataclass(frozen=True)
class SchedulePolicy:
    """Follow-up cadence, reminder, give-up and nudge settings plus the local sending window."""

    first_checkin_days: int = 30
    checkin_every_days: int = 90
    reminder_days: tuple[int, ...] = (3, 7)
    no_answer_after_days: int = 14
    quiet_start: time = time(9, 0)
    quiet_end: time = time(20, 0)
    quiet_weekdays: frozenset[int] = frozenset({4})
    nudge_after_days: int = 7
    nudge_max: int = 3
    tz: ZoneInfo = TEHRAN

    def __post_init__(self) -> None:
        """Reject settings under which the schedule maths would be meaningless or not terminate."""
        if self.first_checkin_days < 0:
            raise ValueError("first_checkin_days must be >= 0")
        if self.checkin_every_days < 1:
            raise ValueError("checkin_every_days must be >= 1")
        if self.no_answer_after_days < 1:
            raise ValueError("no_answer_after_days must be >= 1")
        if any(d < 1 for d in self.reminder_days) or list(self.reminder_days) != sorted(
            set(self.reminder_days)
        ):
            raise ValueError("reminder_days must be positive and strictly increasing")
        if self.reminder_days and self.reminder_days[-1] >= self.no_answer_after_days:
            raise ValueError("every reminder must come before no_answer_after_days")
        if self.nudge_after_days < 1:
            raise ValueError("nudge_after_days must be >= 1")
        if self.nudge_max < 0:
            raise ValueError("nudge_max must be >= 0")
        if self.quiet_start.tzinfo is not None or self.quiet_end.tzinfo is not None:
            raise ValueError("quiet_start/quiet_end are local wall-clock times and must be naive")
        if not self.quiet_start < self.quiet_end:
            raise ValueError("quiet_start must be earlier than quiet_end (same-day window)")
        if not set(self.quiet_weekdays) <= set(range(7)):
            raise ValueError("quiet_weekdays must be Python weekday numbers 0..6")
        if len(self.quiet_weekdays) >= 7:
            raise ValueError("quiet_weekdays must leave at least one day for sending")
        if not isinstance(self.tz, tzinfo):
            raise ValueError("tz must be a tzinfo (e.g. ZoneInfo('Asia/Tehran'))")


def _require_aware(value: datetime, name: str) -> None:
    """Raise ValueError unless value is a timezone-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


def _to_utc(value: datetime) -> datetime:
    """Return the same instant with tzinfo=UTC."""
    return value.astimezone(UTC)


def _localize(day: date, wall: time, tz: tzinfo) -> datetime:
    """Return the instant showing wall-clock `wall` on `day` in tz (gaps resolve forward)."""
    # fold=0 picks the first occurrence of an ambiguous time; the round trip through UTC
    # turns a non-existent (DST gap) wall time into the real wall time of that instant.
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _add_local_days(start: datetime, days: int, tz: tzinfo) -> datetime:
    """Add whole days on the local wall clock of tz (not 24h multiples), returning UTC."""
    local = start.astimezone(tz)
    return _to_utc(_localize(local.date() + timedelta(days=days), local.time(), tz))


def _sendable_local(local: datetime, policy: SchedulePolicy) -> bool:
    """Return True if the local datetime is on a sending day and inside the sending window."""
    if local.weekday() in policy.quiet_weekdays:
        return False
    return policy.quiet_start <= local.time() < policy.quiet_end


def in_quiet_hours(now: datetime, *, policy: SchedulePolicy) -> bool:
    """Return True if no message may be sent at now: outside the window or on a quiet weekday."""
    _require_aware(now, "now")
    return not _sendable_local(now.astimezone(policy.tz), policy)


def allowed_send_time(due: datetime, *, policy: SchedulePolicy) -> datetime:
    """Return the earliest instant >= due inside the sending window, in UTC."""
    _require_aware(due, "due")
    local = due.astimezone(policy.tz)
    for _ in range(_MAX_WINDOW_STEPS):
        if _sendable_local(local, policy):
            return _to_utc(local)
        if local.weekday() not in policy.quiet_weekdays and local.time() < policy.quiet_start:
            target = local.date()
        else:
            target = local.date() + timedelta(days=1)
        local = _localize(target, policy.quiet_start, policy.tz)
    raise ValueError(f"no sending window found after {due!r}")  # pragma: no cover - policy guards


def checkin_anchor(
    *, permit_on: date | None, loan_on: date | None, operating_since: date | None
) -> date | None:
    """Return the milestone check-ins follow: loan, else permit, else operating_since, else None."""
    for milestone in (loan_on, permit_on, operating_since):
        if milestone is not None:
            return milestone
    return None


def _checkin_on(day: date, policy: SchedulePolicy) -> datetime:
    """Return CHECKIN_TIME local on day as an aware datetime in policy.tz."""
    return _localize(day, CHECKIN_TIME, policy.tz)


def first_checkin_due(*, anchor: date, policy: SchedulePolicy) -> datetime:
    """Return when the first check-in goes out: anchor + first_checkin_days, 10:00 local, UTC."""
    due = _checkin_on(anchor + timedelta(days=policy.first_checkin_days), policy)
    return allowed_send_time(due, policy=policy)


def next_checkin_due(
    *,
    anchor: date,
    last_round_due: datetime | None,
    paused_until: date | None,
    now: datetime,
    policy: SchedulePolicy,
) -> datetime:
    """Return when the next check-in round goes out (never before now, always sendable), in UTC."""
    _require_aware(now, "now")
    if last_round_due is not None:
        _require_aware(last_round_due, "last_round_due")
    # A pause date replaces the cadence ("ask again on that date") until a round has been due
    # at or after it; after that it is stale and the cadence resumes, so a pause the caller
    # forgot to clear cannot make every sweep return "now". A past due (outage, a loan date
    # entered long ago) collapses to now: one check-in, not a burst of missed ones.
    restart = _checkin_on(paused_until, policy) if paused_until is not None else None
    if restart is not None and (last_round_due is None or last_round_due < restart):
        due = restart
    elif last_round_due is None:
        due = first_checkin_due(anchor=anchor, policy=policy)
    else:
        last_day = last_round_due.astimezone(policy.tz).date()
        due = _checkin_on(last_day + timedelta(days=policy.checkin_every_days), policy)
    return allowed_send_time(max(due, now), policy=policy)


def reminder_times(*, sent_at: datetime, policy: SchedulePolicy) -> list[datetime]:
    """Return the reminder instants (UTC): sent_at + each reminder_days, shifted into the window."""
    _require_aware(sent_at, "sent_at")
    return [
        allowed_send_time(_add_local_days(sent_at, days, policy.tz), policy=policy)
        for days in policy.reminder_days
    ]


def reminder_due(
    *, sent_at: datetime, reminders_sent: int, now: datetime, policy: SchedulePolicy
) -> bool:
    """Return True if reminder number reminders_sent exists and its time is <= now."""
    _require_aware(now, "now")
    if reminders_sent < 0:
        raise ValueError("reminders_sent must be >= 0")
    times = reminder_times(sent_at=sent_at, policy=policy)
    return reminders_sent < len(times) and times[reminders_sent] <= now


def no_answer_at(*, sent_at: datetime, policy: SchedulePolicy) -> datetime:
    """Return when an unanswered round closes: sent_at + no_answer_after_days (no window), UTC."""
    _require_aware(sent_at, "sent_at")
    return _add_local_days(sent_at, policy.no_answer_after_days, policy.tz)


def round_expired(*, sent_at: datetime, now: datetime, policy: SchedulePolicy) -> bool:
    """Return True once now has reached the round's no-answer time."""
    _require_aware(now, "now")
    return now >= no_answer_at(sent_at=sent_at, policy=policy)


def round_action(
    *, sent_at: datetime, reminders_sent: int, now: datetime, policy: SchedulePolicy
) -> tuple[str, datetime]:
    """Return what an open round needs at now and when to look at it next, in UTC: ("expire",
    its no-answer time) once round_expired; ("remind", the next reminder's time, else the
    no-answer time) when reminder_due; else ("wait", its next reminder's time, else the
    no-answer time). One reminder_times and one no_answer_at for all three answers."""
    _require_aware(now, "now")
    if reminders_sent < 0:
        raise ValueError("reminders_sent must be >= 0")
    close = no_answer_at(sent_at=sent_at, policy=policy)
    if now >= close:
        return "expire", close
    times = reminder_times(sent_at=sent_at, policy=policy)
    upcoming = [*times[reminders_sent:], close]
    if reminders_sent < len(times) and times[reminders_sent] <= now:
        return "remind", upcoming[1]
    return "wait", upcoming[0]


def nudge_due(
    *,
    step_started_at: datetime,
    nudges_sent: int,
    last_nudge_at: datetime | None,
    now: datetime,
    policy: SchedulePolicy,
) -> bool:
    """Return True if a stuck-on-a-permit-step nudge should be sent at now."""
    _require_aware(step_started_at, "step_started_at")
    _require_aware(now, "now")
    if last_nudge_at is not None:
        _require_aware(last_nudge_at, "last_nudge_at")
    if nudges_sent < 0:
        raise ValueError("nudges_sent must be >= 0")
    if nudges_sent >= policy.nudge_max or in_quiet_hours(now, policy=policy):
        return False
    waits = (since for since in (step_started_at, last_nudge_at) if since is not None)
    return all(now > _add_local_days(since, policy.nudge_after_days, policy.tz) for since in waits)
