"""Table-driven tests for bot.rules.schedule, in the style of arq's tests/test_cron.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import jdatetime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.schedule import (
    TEHRAN,
    SchedulePolicy,
    allowed_send_time,
    checkin_anchor,
    first_checkin_due,
    in_quiet_hours,
    next_checkin_due,
    no_answer_at,
    nudge_due,
    reminder_due,
    reminder_times,
    round_action,
    round_expired,
)

DEFAULT = SchedulePolicy()
THU_FRI = SchedulePolicy(quiet_weekdays=frozenset({3, 4}))
FAST = SchedulePolicy(first_checkin_days=10, checkin_every_days=30)
WIDE = SchedulePolicy(quiet_start=time(8, 0), quiet_end=time(21, 30))
NEW_YORK = timezone(timedelta(hours=-5))

# Reference week (1403 Khordad): Mon 2024-06-10 .. Thu 13, Fri 14, Sat 15, Sun 16; +03:30.
# Historic DST (1400): +04:30 from 2021-03-22 00:00 until 2021-09-22 00:00 (back to 23:00).


def teh(*args: int, fold: int = 0) -> datetime:
    """Return an aware Asia/Tehran datetime from datetime() positional fields."""
    return datetime(*args, tzinfo=TEHRAN, fold=fold)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    """Return an aware UTC datetime from datetime() positional fields."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_reference_dates() -> None:
    """The calendar facts the tables below rely on hold."""
    assert teh(2024, 6, 14).weekday() == 4
    assert jdatetime.date.fromgregorian(date=date(2021, 7, 1)) == jdatetime.date(1400, 4, 10)
    assert teh(2021, 7, 1, 12).utcoffset() == timedelta(hours=4, minutes=30)
    assert teh(2024, 7, 1, 12).utcoffset() == timedelta(hours=3, minutes=30)


@pytest.mark.parametrize(
    "due,expected,policy",
    [
        # window edges, same day
        (teh(2024, 6, 10, 9, 0), teh(2024, 6, 10, 9, 0), DEFAULT),
        (teh(2024, 6, 10, 8, 59, 59), teh(2024, 6, 10, 9, 0), DEFAULT),
        (teh(2024, 6, 10, 19, 59, 59, 999_999), teh(2024, 6, 10, 19, 59, 59, 999_999), DEFAULT),
        (teh(2024, 6, 10, 19, 59), teh(2024, 6, 10, 19, 59), DEFAULT),
        (teh(2024, 6, 10, 20, 0), teh(2024, 6, 11, 9, 0), DEFAULT),
        (teh(2024, 6, 10, 12, 34, 56), teh(2024, 6, 10, 12, 34, 56), DEFAULT),
        # night and early morning
        (teh(2024, 6, 10, 23, 0), teh(2024, 6, 11, 9, 0), DEFAULT),
        (teh(2024, 6, 10, 23, 59, 59, 999_999), teh(2024, 6, 11, 9, 0), DEFAULT),
        (teh(2024, 6, 11, 0, 0), teh(2024, 6, 11, 9, 0), DEFAULT),
        (teh(2024, 6, 11, 5, 0), teh(2024, 6, 11, 9, 0), DEFAULT),
        # Thursday is a sending day; Thursday night and all of Friday roll to Saturday
        (teh(2024, 6, 13, 19, 0), teh(2024, 6, 13, 19, 0), DEFAULT),
        (teh(2024, 6, 13, 20, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 13, 21, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 14, 0, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 14, 10, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 14, 23, 59), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 15, 8, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (teh(2024, 6, 15, 9, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        # UTC inputs: the window and the weekday are Tehran's, not UTC's
        (utc(2024, 6, 10, 5, 30), utc(2024, 6, 10, 5, 30), DEFAULT),
        (utc(2024, 6, 10, 5, 29), utc(2024, 6, 10, 5, 30), DEFAULT),
        (utc(2024, 6, 10, 16, 29), utc(2024, 6, 10, 16, 29), DEFAULT),
        (utc(2024, 6, 10, 16, 30), utc(2024, 6, 11, 5, 30), DEFAULT),
        (utc(2024, 6, 13, 19, 0), utc(2024, 6, 15, 5, 30), DEFAULT),  # Thu 22:30 Tehran
        (utc(2024, 6, 13, 20, 30), utc(2024, 6, 15, 5, 30), DEFAULT),  # UTC Thu, Tehran Fri 00:00
        (utc(2024, 6, 14, 21, 0), utc(2024, 6, 15, 5, 30), DEFAULT),  # UTC Fri, Tehran Sat 00:30
        (utc(2024, 6, 15, 4, 0), utc(2024, 6, 15, 5, 30), DEFAULT),
        (datetime(2024, 6, 10, 1, 0, tzinfo=NEW_YORK), teh(2024, 6, 10, 9, 30), DEFAULT),
        # quiet weekdays configured as Thursday + Friday
        (teh(2024, 6, 12, 19, 0), teh(2024, 6, 12, 19, 0), THU_FRI),
        (teh(2024, 6, 12, 20, 0), teh(2024, 6, 15, 9, 0), THU_FRI),
        (teh(2024, 6, 13, 10, 0), teh(2024, 6, 15, 9, 0), THU_FRI),
        (teh(2024, 6, 14, 10, 0), teh(2024, 6, 15, 9, 0), THU_FRI),
        # a configured window 08:00-21:30
        (teh(2024, 6, 10, 8, 0), teh(2024, 6, 10, 8, 0), WIDE),
        (teh(2024, 6, 10, 7, 59), teh(2024, 6, 10, 8, 0), WIDE),
        (teh(2024, 6, 10, 21, 0), teh(2024, 6, 10, 21, 0), WIDE),
        (teh(2024, 6, 10, 21, 30), teh(2024, 6, 11, 8, 0), WIDE),
        # historic DST, summer 1400 (+04:30): 09:00 local is 04:30 UTC, not 05:30
        (teh(2021, 7, 1, 8, 0), utc(2021, 7, 1, 4, 30), DEFAULT),
        (teh(2021, 7, 1, 20, 0), utc(2021, 7, 3, 4, 30), DEFAULT),  # Thu night -> Sat
        (utc(2021, 7, 1, 15, 29), utc(2021, 7, 1, 15, 29), DEFAULT),  # 19:59 +04:30
        (utc(2021, 7, 1, 15, 30), utc(2021, 7, 3, 4, 30), DEFAULT),  # 20:00 +04:30
        # the night DST began (Sun 1400-01-01 -> Mon): the offset changes overnight
        (teh(2021, 3, 21, 23, 30), utc(2021, 3, 22, 4, 30), DEFAULT),
        # the night DST ended (Tue -> Wed): 23:00-24:00 happened twice, both roll to 09:00 +03:30
        (teh(2021, 9, 21, 21, 0), utc(2021, 9, 22, 5, 30), DEFAULT),
        (teh(2021, 9, 21, 23, 30, fold=0), utc(2021, 9, 22, 5, 30), DEFAULT),
        (teh(2021, 9, 21, 23, 30, fold=1), utc(2021, 9, 22, 5, 30), DEFAULT),
    ],
)
def test_allowed_send_time(due: datetime, expected: datetime, policy: SchedulePolicy) -> None:
    """allowed_send_time moves a due instant to the next sendable instant, in UTC."""
    result = allowed_send_time(due, policy=policy)
    assert result == expected
    assert result.tzinfo is UTC
    assert result >= due
    assert allowed_send_time(result, policy=policy) == result


@pytest.mark.parametrize(
    "now,expected,policy",
    [
        (teh(2024, 6, 10, 8, 59, 59), True, DEFAULT),
        (teh(2024, 6, 10, 9, 0), False, DEFAULT),
        (teh(2024, 6, 10, 14, 0), False, DEFAULT),
        (teh(2024, 6, 10, 19, 59, 59), False, DEFAULT),
        (teh(2024, 6, 10, 20, 0), True, DEFAULT),
        (teh(2024, 6, 10, 23, 0), True, DEFAULT),
        (teh(2024, 6, 11, 3, 0), True, DEFAULT),
        (teh(2024, 6, 13, 12, 0), False, DEFAULT),
        (teh(2024, 6, 13, 12, 0), True, THU_FRI),
        (teh(2024, 6, 14, 12, 0), True, DEFAULT),
        (utc(2024, 6, 10, 5, 30), False, DEFAULT),
        (utc(2024, 6, 10, 16, 30), True, DEFAULT),
        (utc(2024, 6, 13, 21, 0), True, DEFAULT),  # Friday 00:30 in Tehran
        (teh(2024, 6, 10, 21, 0), False, WIDE),
        (utc(2021, 7, 1, 4, 30), False, DEFAULT),  # 09:00 +04:30
        (utc(2021, 7, 1, 4, 29), True, DEFAULT),
    ],
)
def test_in_quiet_hours(now: datetime, expected: bool, policy: SchedulePolicy) -> None:
    """in_quiet_hours covers both the night window and the quiet weekdays."""
    assert in_quiet_hours(now, policy=policy) is expected


@pytest.mark.parametrize(
    "permit_on,loan_on,operating_since,expected",
    [
        (date(2024, 1, 10), date(2024, 3, 1), date(2023, 6, 1), date(2024, 3, 1)),
        (date(2024, 1, 10), date(2023, 12, 1), None, date(2023, 12, 1)),  # loan before permit
        (None, date(2024, 3, 1), None, date(2024, 3, 1)),
        (date(2024, 1, 10), None, None, date(2024, 1, 10)),
        (date(2024, 1, 10), None, date(2023, 6, 1), date(2024, 1, 10)),
        (None, None, date(2023, 6, 1), date(2023, 6, 1)),
        (None, None, None, None),  # idea/application stage: no check-ins
    ],
)
def test_checkin_anchor(
    permit_on: date | None,
    loan_on: date | None,
    operating_since: date | None,
    expected: date | None,
) -> None:
    """The loan wins, then the permit, then operating_since."""
    result = checkin_anchor(permit_on=permit_on, loan_on=loan_on, operating_since=operating_since)
    assert result == expected


@pytest.mark.parametrize(
    "anchor,expected,policy",
    [
        (date(2024, 5, 11), teh(2024, 6, 10, 10, 0), DEFAULT),
        (date(2024, 5, 15), teh(2024, 6, 15, 9, 0), DEFAULT),  # lands on a Friday
        (date(2024, 5, 14), teh(2024, 6, 13, 10, 0), DEFAULT),  # Thursday is fine ...
        (date(2024, 5, 14), teh(2024, 6, 15, 9, 0), THU_FRI),  # ... unless configured quiet
        (date(2024, 5, 31), teh(2024, 6, 10, 10, 0), FAST),  # first after 10 days
        (date(2024, 6, 10), teh(2024, 6, 10, 10, 0), SchedulePolicy(first_checkin_days=0)),
        (date(2024, 5, 11), teh(2024, 6, 10, 11, 0), SchedulePolicy(quiet_start=time(11, 0))),
        (date(2021, 6, 1), utc(2021, 7, 1, 5, 30), DEFAULT),  # 10:00 +04:30 (1400 summer)
        (date(2021, 2, 20), utc(2021, 3, 22, 5, 30), DEFAULT),  # first DST day, 10:00 +04:30
        (date(2021, 8, 23), utc(2021, 9, 22, 6, 30), DEFAULT),  # first day back on +03:30
    ],
)
def test_first_checkin_due(anchor: date, expected: datetime, policy: SchedulePolicy) -> None:
    """The first check-in is anchor + first_checkin_days at 10:00 local, in the window."""
    result = first_checkin_due(anchor=anchor, policy=policy)
    assert result == expected
    assert result.tzinfo is UTC


A = date(2024, 5, 11)  # first check-in due Mon 2024-06-10 10:00
THU_FRI_31 = SchedulePolicy(quiet_weekdays=frozenset({3, 4}), checkin_every_days=31)


@pytest.mark.parametrize(
    "anchor,last_round_due,paused_until,now,expected,policy",
    [
        # no round yet: the first check-in
        (A, None, None, teh(2024, 5, 20, 12), teh(2024, 6, 10, 10), DEFAULT),
        (A, None, None, teh(2024, 6, 10, 10), teh(2024, 6, 10, 10), DEFAULT),
        (A, None, None, utc(2024, 5, 20, 12), teh(2024, 6, 10, 10), DEFAULT),
        # long outage / loan date entered long ago: due now (once), in the window
        (A, None, None, teh(2024, 7, 1, 15, 23), teh(2024, 7, 1, 15, 23), DEFAULT),
        (A, None, None, teh(2024, 7, 1, 23, 0), teh(2024, 7, 2, 9, 0), DEFAULT),
        (date(2020, 1, 1), None, None, teh(2024, 6, 13, 21, 0), teh(2024, 6, 15, 9, 0), DEFAULT),
        (A, teh(2024, 6, 10, 10), None, teh(2024, 12, 1, 20, 0), teh(2024, 12, 2, 9), DEFAULT),
        # cadence: last round's local day + 90 days, 10:00 local
        (A, teh(2024, 6, 10, 10), None, teh(2024, 6, 10, 11), teh(2024, 9, 8, 10), DEFAULT),
        (A, teh(2024, 6, 10, 19, 59), None, teh(2024, 6, 11), teh(2024, 9, 8, 10), DEFAULT),
        (A, teh(2024, 6, 15, 9), None, teh(2024, 6, 16), teh(2024, 9, 14, 9), DEFAULT),  # Fri
        (A, utc(2024, 6, 9, 21, 0), None, teh(2024, 6, 11), teh(2024, 9, 8, 10), DEFAULT),
        # configurable cadence
        (A, teh(2024, 6, 10, 10), None, teh(2024, 6, 11), teh(2024, 7, 10, 10), FAST),
        (A, teh(2024, 6, 10, 10), None, teh(2024, 6, 11), teh(2024, 7, 13, 9), THU_FRI_31),
        # pause with a future restart date: ask again on that date (earlier or later than cadence)
        (A, teh(2024, 6, 10, 10), date(2024, 7, 1), teh(2024, 6, 20, 12), teh(2024, 7, 1, 10),
         DEFAULT),
        (A, teh(2024, 6, 10, 10), date(2024, 12, 1), teh(2024, 6, 20, 12), teh(2024, 12, 1, 10),
         DEFAULT),
        (A, teh(2024, 6, 10, 10), date(2024, 7, 5), teh(2024, 6, 20, 12), teh(2024, 7, 6, 9),
         DEFAULT),  # restart on a Friday
        (A, None, date(2024, 6, 1), teh(2024, 5, 20, 12), teh(2024, 6, 1, 10), DEFAULT),
        # pause with a restart date in the past: now, then the window
        (A, teh(2024, 6, 10, 10), date(2024, 6, 20), teh(2024, 6, 25, 12), teh(2024, 6, 25, 12),
         DEFAULT),
        (A, teh(2024, 6, 10, 10), date(2024, 6, 20), teh(2024, 6, 25, 22), teh(2024, 6, 26, 9),
         DEFAULT),
        (A, teh(2024, 6, 10, 10), date(2024, 6, 25), teh(2024, 6, 25, 10), teh(2024, 6, 25, 10),
         DEFAULT),
        # stale pause: a round was already due at/after the restart, the cadence resumes
        (A, teh(2024, 7, 1, 10), date(2024, 7, 1), teh(2024, 7, 2, 12), teh(2024, 9, 29, 10),
         DEFAULT),
        (A, teh(2024, 7, 3, 15, 7), date(2024, 7, 1), teh(2024, 7, 4), teh(2024, 10, 1, 10),
         DEFAULT),
        # historic DST: 2021-03-20 (+03:30) + 90 days = Fri 2021-06-18 -> Sat 09:00 +04:30
        (A, teh(2021, 3, 20, 10), None, teh(2021, 3, 21), utc(2021, 6, 19, 4, 30), DEFAULT),
    ],
)
def test_next_checkin_due(
    anchor: date,
    last_round_due: datetime | None,
    paused_until: date | None,
    now: datetime,
    expected: datetime,
    policy: SchedulePolicy,
) -> None:
    """next_checkin_due follows the cadence, honours pauses, never precedes now."""
    result = next_checkin_due(
        anchor=anchor, last_round_due=last_round_due, paused_until=paused_until, now=now,
        policy=policy,
    )
    assert result == expected
    assert result.tzinfo is UTC
    assert result >= now
    assert not in_quiet_hours(result, policy=policy)


def test_outage_gives_one_checkin_not_a_burst() -> None:
    """After a long outage only one round is due now; the next one is a full cadence later."""
    now = teh(2025, 3, 3, 11, 0)  # three missed 90-day rounds since 2024-06-10
    first = next_checkin_due(
        anchor=A, last_round_due=teh(2024, 6, 10, 10), paused_until=None, now=now, policy=DEFAULT
    )
    assert first == now
    later = now + timedelta(minutes=1)
    second = next_checkin_due(
        anchor=A, last_round_due=first, paused_until=None, now=later, policy=DEFAULT
    )
    assert second == teh(2025, 6, 1, 10)


@pytest.mark.parametrize(
    "sent_at,expected,policy",
    [
        (teh(2024, 6, 10, 12), [teh(2024, 6, 13, 12), teh(2024, 6, 17, 12)], DEFAULT),
        # sent just before the window closes: same wall time later is still allowed
        (teh(2024, 6, 9, 19, 59), [teh(2024, 6, 12, 19, 59), teh(2024, 6, 16, 19, 59)], DEFAULT),
        (utc(2024, 6, 9, 16, 29, 59), [teh(2024, 6, 12, 19, 59, 59), teh(2024, 6, 16, 19, 59, 59)],
         DEFAULT),
        # a send that started at 19:59:59 and was recorded at 16:30:00Z lands exactly on 20:00
        (utc(2024, 6, 9, 16, 30), [teh(2024, 6, 13, 9), teh(2024, 6, 17, 9)], DEFAULT),
        (teh(2024, 6, 10, 20, 0), [teh(2024, 6, 15, 9), teh(2024, 6, 18, 9)], DEFAULT),  # Thu night
        # +3 days lands on Friday
        (teh(2024, 6, 11, 10), [teh(2024, 6, 15, 9), teh(2024, 6, 18, 10)], DEFAULT),
        (teh(2024, 6, 10, 10), [teh(2024, 6, 15, 9), teh(2024, 6, 17, 10)], THU_FRI),
        (teh(2024, 6, 10, 10), [teh(2024, 6, 11, 10)], SchedulePolicy(reminder_days=(1,))),
        (teh(2024, 6, 10, 10), [], SchedulePolicy(reminder_days=())),
        # wall-clock days across DST: sent 19:59 +03:30 the day before DST began; a naive
        # +72h would be 20:59 +04:30 (quiet), the wall clock keeps 19:59
        (teh(2021, 3, 20, 19, 59), [utc(2021, 3, 23, 15, 29), utc(2021, 3, 27, 15, 29)], DEFAULT),
        # sent 19:30 +04:30 the day before DST ended; a naive +72h would be 18:30 +03:30
        (teh(2021, 9, 20, 19, 30), [utc(2021, 9, 23, 16, 0), utc(2021, 9, 27, 16, 0)], DEFAULT),
    ],
)
def test_reminder_times(
    sent_at: datetime, expected: list[datetime], policy: SchedulePolicy
) -> None:
    """Reminders are sent_at + reminder_days on the local wall clock, then into the window."""
    result = reminder_times(sent_at=sent_at, policy=policy)
    assert result == expected
    assert all(r.tzinfo is UTC for r in result)


SENT = teh(2024, 6, 10, 12)  # reminders Thu 2024-06-13 12:00 and Mon 2024-06-17 12:00


@pytest.mark.parametrize(
    "sent_at,reminders_sent,now,expected,policy",
    [
        (SENT, 0, teh(2024, 6, 10, 12), False, DEFAULT),
        (SENT, 0, teh(2024, 6, 13, 11, 59, 59), False, DEFAULT),
        (SENT, 0, teh(2024, 6, 13, 12), True, DEFAULT),  # after 3 days
        (SENT, 0, utc(2024, 6, 13, 8, 30), True, DEFAULT),
        (SENT, 0, teh(2024, 6, 20), True, DEFAULT),  # overdue first reminder is still due
        (SENT, 1, teh(2024, 6, 13, 12), False, DEFAULT),
        (SENT, 1, teh(2024, 6, 17, 11, 59), False, DEFAULT),
        (SENT, 1, teh(2024, 6, 17, 12), True, DEFAULT),  # after 7 days
        (SENT, 2, teh(2024, 6, 17, 12), False, DEFAULT),  # none after the second
        (SENT, 2, teh(2024, 7, 30), False, DEFAULT),
        (SENT, 5, teh(2024, 7, 30), False, DEFAULT),
        (teh(2024, 6, 11, 10), 0, teh(2024, 6, 14, 10), False, DEFAULT),  # Friday: wait
        (teh(2024, 6, 11, 10), 0, teh(2024, 6, 15, 9), True, DEFAULT),
        (SENT, 0, teh(2024, 6, 11, 12), True, SchedulePolicy(reminder_days=(1,))),
        (SENT, 0, teh(2024, 7, 30), False, SchedulePolicy(reminder_days=())),
    ],
)
def test_reminder_due(
    sent_at: datetime, reminders_sent: int, now: datetime, expected: bool, policy: SchedulePolicy
) -> None:
    """The next reminder is due once its time has come; there is none past the last."""
    result = reminder_due(sent_at=sent_at, reminders_sent=reminders_sent, now=now, policy=policy)
    assert result is expected


@pytest.mark.parametrize(
    "sent_at,expected,policy",
    [
        (teh(2024, 6, 10, 12), teh(2024, 6, 24, 12), DEFAULT),
        (teh(2024, 6, 13, 19, 59, 59), teh(2024, 6, 27, 19, 59, 59), DEFAULT),
        (utc(2024, 6, 10, 16, 35), utc(2024, 6, 24, 16, 35), DEFAULT),  # 20:05: no window
        (teh(2024, 6, 10, 12), teh(2024, 7, 1, 12), SchedulePolicy(no_answer_after_days=21)),
        # wall-clock days across the end of DST: 12:00 +04:30 -> 12:00 +03:30
        (teh(2021, 9, 11, 12), utc(2021, 9, 25, 8, 30), DEFAULT),
    ],
)
def test_no_answer_at(sent_at: datetime, expected: datetime, policy: SchedulePolicy) -> None:
    """A round closes no_answer_after_days after it was sent, quiet hours or not."""
    result = no_answer_at(sent_at=sent_at, policy=policy)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "now,expected",
    [
        (teh(2024, 6, 17, 12), False),
        (teh(2024, 6, 24, 11, 59, 59), False),
        (teh(2024, 6, 24, 12), True),
        (utc(2024, 6, 24, 8, 30), True),
        (teh(2024, 6, 24, 23), True),  # bookkeeping ignores quiet hours
    ],
)
def test_round_expired(now: datetime, expected: bool) -> None:
    """round_expired flips exactly at no_answer_at."""
    assert round_expired(sent_at=SENT, now=now, policy=DEFAULT) is expected


STEP = teh(2024, 6, 1, 12)  # Saturday


@pytest.mark.parametrize(
    "nudges_sent,last_nudge_at,now,expected,policy",
    [
        (0, None, teh(2024, 6, 3, 12), False, DEFAULT),
        (0, None, teh(2024, 6, 8, 11, 59), False, DEFAULT),  # not before 7 days
        (0, None, teh(2024, 6, 8, 12), False, DEFAULT),  # "more than" 7 days
        (0, None, teh(2024, 6, 8, 12, 0, 1), True, DEFAULT),
        (0, None, teh(2024, 6, 10, 12), True, DEFAULT),
        (0, None, utc(2024, 6, 10, 16, 29), True, DEFAULT),  # 19:59 Tehran
        (0, None, utc(2024, 6, 10, 16, 30), False, DEFAULT),  # 20:00 Tehran
        (0, None, teh(2024, 6, 10, 23), False, DEFAULT),  # not at night
        (0, None, teh(2024, 6, 11, 8, 59), False, DEFAULT),
        (0, None, teh(2024, 6, 11, 9, 0), True, DEFAULT),  # the morning sweep sends it
        (0, None, teh(2024, 6, 14, 12), False, DEFAULT),  # Friday
        (0, None, teh(2024, 6, 13, 12), False, THU_FRI),
        (1, teh(2024, 6, 10, 12), teh(2024, 6, 15, 12), False, DEFAULT),  # within 7d of last
        (1, teh(2024, 6, 10, 12), teh(2024, 6, 17, 12), False, DEFAULT),
        (1, teh(2024, 6, 10, 12), teh(2024, 6, 17, 12, 0, 1), True, DEFAULT),
        (2, teh(2024, 6, 17, 12), teh(2024, 6, 25, 12), True, DEFAULT),
        (3, teh(2024, 6, 25, 12), teh(2024, 7, 30, 12), False, DEFAULT),  # not more than 3
        (4, teh(2024, 6, 25, 12), teh(2024, 7, 30, 12), False, DEFAULT),
        (1, teh(2024, 6, 10, 12), teh(2024, 7, 30, 12), False, SchedulePolicy(nudge_max=1)),
        (0, None, teh(2024, 7, 30, 12), False, SchedulePolicy(nudge_max=0)),
        (0, None, teh(2024, 6, 4, 12, 1), True, SchedulePolicy(nudge_after_days=3)),
    ],
)
def test_nudge_due(
    nudges_sent: int,
    last_nudge_at: datetime | None,
    now: datetime,
    expected: bool,
    policy: SchedulePolicy,
) -> None:
    """Nudges wait nudge_after_days since the step and the last nudge, cap out, respect quiet."""
    result = nudge_due(
        step_started_at=STEP, nudges_sent=nudges_sent, last_nudge_at=last_nudge_at, now=now,
        policy=policy,
    )
    assert result is expected


NAIVE = datetime(2024, 6, 10, 12)
AWARE = teh(2024, 6, 10, 12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: allowed_send_time(NAIVE, policy=DEFAULT),
        lambda: in_quiet_hours(NAIVE, policy=DEFAULT),
        lambda: next_checkin_due(
            anchor=A, last_round_due=None, paused_until=None, now=NAIVE, policy=DEFAULT
        ),
        lambda: next_checkin_due(
            anchor=A, last_round_due=NAIVE, paused_until=None, now=AWARE, policy=DEFAULT
        ),
        lambda: reminder_times(sent_at=NAIVE, policy=DEFAULT),
        lambda: reminder_due(sent_at=NAIVE, reminders_sent=0, now=AWARE, policy=DEFAULT),
        lambda: reminder_due(sent_at=AWARE, reminders_sent=0, now=NAIVE, policy=DEFAULT),
        lambda: reminder_due(sent_at=AWARE, reminders_sent=-1, now=AWARE, policy=DEFAULT),
        lambda: no_answer_at(sent_at=NAIVE, policy=DEFAULT),
        lambda: round_expired(sent_at=AWARE, now=NAIVE, policy=DEFAULT),
        lambda: round_action(sent_at=NAIVE, reminders_sent=0, now=AWARE, policy=DEFAULT),
        lambda: round_action(sent_at=AWARE, reminders_sent=0, now=NAIVE, policy=DEFAULT),
        lambda: round_action(sent_at=AWARE, reminders_sent=-1, now=AWARE, policy=DEFAULT),
        lambda: nudge_due(
            step_started_at=NAIVE, nudges_sent=0, last_nudge_at=None, now=AWARE, policy=DEFAULT
        ),
        lambda: nudge_due(
            step_started_at=AWARE, nudges_sent=0, last_nudge_at=NAIVE, now=AWARE, policy=DEFAULT
        ),
        lambda: nudge_due(
            step_started_at=AWARE, nudges_sent=0, last_nudge_at=None, now=NAIVE, policy=DEFAULT
        ),
        lambda: nudge_due(
            step_started_at=AWARE, nudges_sent=-1, last_nudge_at=None, now=AWARE, policy=DEFAULT
        ),
    ],
)
def test_invalid_arguments(call: Callable[[], Any]) -> None:
    """Naive datetimes and negative counters are rejected."""
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_checkin_days": -1},
        {"checkin_every_days": 0},
        {"no_answer_after_days": 0},
        {"reminder_days": (7, 3)},
        {"reminder_days": (3, 3)},
        {"reminder_days": (0, 3)},
        {"reminder_days": (3, 14)},
        {"nudge_after_days": 0},
        {"nudge_max": -1},
        {"quiet_start": time(20, 0), "quiet_end": time(9, 0)},
        {"quiet_start": time(9, 0), "quiet_end": time(9, 0)},
        {"quiet_start": time(9, 0, tzinfo=UTC)},
        {"quiet_weekdays": frozenset({7})},
        {"quiet_weekdays": frozenset(range(7))},
    ],
)
def test_invalid_policy(kwargs: dict[str, Any]) -> None:
    """Policies that would make the maths meaningless or non-terminating are rejected."""
    with pytest.raises(ValueError):
        SchedulePolicy(**kwargs)


POLICIES = [DEFAULT, THU_FRI, WIDE, FAST]
aware_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2040, 1, 1),
    timezones=st.sampled_from([UTC, TEHRAN, NEW_YORK, timezone(timedelta(hours=14))]),
)


@settings(max_examples=500, database=None, deadline=None)
@given(due=aware_datetimes, policy=st.sampled_from(POLICIES))
def test_allowed_send_time_properties(due: datetime, policy: SchedulePolicy) -> None:
    """The result is not earlier, idempotent, sendable and at most 3 days away."""
    result = allowed_send_time(due, policy=policy)
    assert result >= due
    assert allowed_send_time(result, policy=policy) == result
    assert not in_quiet_hours(result, policy=policy)
    local = result.astimezone(policy.tz)
    assert local.weekday() not in policy.quiet_weekdays
    assert policy.quiet_start <= local.time() < policy.quiet_end
    assert result - due <= timedelta(days=3)


@settings(max_examples=300, database=None, deadline=None)
@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2039, 1, 1)),
    last_round_due=st.none() | aware_datetimes,
    paused_until=st.none() | st.dates(min_value=date(2000, 1, 1), max_value=date(2039, 1, 1)),
    now=aware_datetimes,
    policy=st.sampled_from(POLICIES),
)
def test_next_checkin_due_properties(
    anchor: date,
    last_round_due: datetime | None,
    paused_until: date | None,
    now: datetime,
    policy: SchedulePolicy,
) -> None:
    """The next check-in is never before now and always sendable."""
    result = next_checkin_due(
        anchor=anchor, last_round_due=last_round_due, paused_until=paused_until, now=now,
        policy=policy,
    )
    assert result >= now
    assert not in_quiet_hours(result, policy=policy)


@settings(max_examples=500, database=None, deadline=None)
@given(
    sent_at=aware_datetimes,
    minutes=st.integers(min_value=0, max_value=20 * 24 * 60),
    reminders_sent=st.integers(min_value=0, max_value=3),
    policy=st.sampled_from(POLICIES),
)
def test_round_action_is_the_separate_rules_in_one(
    sent_at: datetime, minutes: int, reminders_sent: int, policy: SchedulePolicy
) -> None:
    """round_action expires exactly when round_expired, reminds exactly when reminder_due
    (then looks again at the next reminder, else the no-answer time) and otherwise waits for
    the next reminder or the no-answer time, always later than now."""
    now = sent_at + timedelta(minutes=minutes)
    action, when = round_action(
        sent_at=sent_at, reminders_sent=reminders_sent, now=now, policy=policy
    )
    times = reminder_times(sent_at=sent_at, policy=policy)
    close = no_answer_at(sent_at=sent_at, policy=policy)
    later = [*times[reminders_sent:], close]
    if round_expired(sent_at=sent_at, now=now, policy=policy):
        assert (action, when) == ("expire", close)
    elif reminder_due(sent_at=sent_at, reminders_sent=reminders_sent, now=now, policy=policy):
        assert (action, when) == ("remind", later[1])
    else:
        assert (action, when) == ("wait", later[0])
        assert when > now
