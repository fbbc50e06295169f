"""Pure rules of the survival figures over the roster: loan cohorts, the window after a loan in
which a check-in answer counts, and a person's status at 3/6/12 months (no I/O, no clock)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import jdatetime

from bot.core.jalali import TEHRAN

__all__ = [
    "ANSWERED",
    "HORIZONS",
    "NOT_ANSWERED",
    "LoanCalendar",
    "LoanDay",
    "cohort_key",
    "cohort_of",
    "cohort_start",
    "loan_days",
    "months_after",
    "status_at",
    "window",
]

#: Months after the loan at which survival is measured.
HORIZONS: tuple[int, ...] = (3, 6, 12)
#: Statuses that are an answer from the person (the others say nothing about the business).
ANSWERED: tuple[str, ...] = ("operating", "problems", "paused", "closed")
#: A person's status when their window holds no answer (the round expired, or none was sent).
NOT_ANSWERED = "none"


@lru_cache(maxsize=512)
def _halves(year: int) -> tuple[dt.date, dt.date]:
    """1 Farvardin and 1 Mehr of the Solar Hijri year that starts in Gregorian ``year``."""
    return (
        jdatetime.date(year - 621, 1, 1).togregorian(),
        jdatetime.date(year - 621, 7, 1).togregorian(),
    )


def cohort_of(day: dt.date) -> tuple[int, int]:
    """The loan cohort of a loan day: (Solar Hijri year, half), half 1 = Farvardin–Shahrivar,
    2 = Mehr–Esfand. Half-years, not years: a year's cohort would mix loans twelve months apart,
    so its 12-month figure would be half made of people not there yet."""
    nowruz, mehr = _halves(day.year)
    if day < nowruz:
        return (day.year - 622, 2)
    return (day.year - 621, 1 if day < mehr else 2)


def cohort_key(cohort: tuple[int, int]) -> int:
    """A cohort as one sortable number: 14031 for (1403, 1)."""
    return cohort[0] * 10 + cohort[1]


def cohort_start(key: int) -> dt.date:
    """The first Gregorian day of a cohort given as cohort_key."""
    year, half = divmod(key, 10)
    return jdatetime.date(year, 1 if half == 1 else 7, 1).togregorian()


def months_after(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later, clamped to the end of a shorter month
    (31 August + 6 months is the last day of February)."""
    year, month = divmod(day.year * 12 + (day.month - 1) + months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _midnight(day: dt.date) -> int:
    """Unix seconds of 00:00 Asia/Tehran on ``day``."""
    return int(dt.datetime.combine(day, dt.time(), TEHRAN).timestamp())


def window(loan_on: dt.date, months: int) -> tuple[int, int]:
    """The answers that say how someone was doing ``months`` after their loan: those answered
    from 00:00 Tehran on the loan day up to the end of the day ``months`` calendar months later
    (months_after), as Unix seconds [start, end)."""
    return _midnight(loan_on), _midnight(months_after(loan_on, months) + dt.timedelta(days=1))


def status_at(answers: Iterable[tuple[str, int, int]], loan_on: dt.date, months: int) -> str:
    """A person's status ``months`` after their loan, from their check-in answers as
    (status, answered_at, id): the status of the latest answer inside ``window`` (latest
    answered_at, then highest id), or NOT_ANSWERED when the window holds none.

    An expired round is recorded as an answer with status 'no_answer', so silence after an
    earlier answer is silence, not the earlier answer: nobody is counted as operating on the
    strength of a reply older than their latest unanswered question.
    """
    start, end = window(loan_on, months)
    inside = [(at, ident, status) for status, at, ident in answers if start <= at < end]
    return max(inside)[2] if inside else NOT_ANSWERED


@dataclass(frozen=True)
class LoanDay:
    """One loan day of the list: its cohort, when its windows open, and when each closes
    (None while that horizon's window is still open: nobody of this day is counted there)."""

    day: str
    cohort: int
    since: int
    until: tuple[int | None, ...]

    def row(self) -> list[object]:
        """As a JSON array for the repository: [day, cohort, since, until…]."""
        return [self.day, self.cohort, self.since, *self.until]


@lru_cache(maxsize=16_384)
def _day_windows(text: str, horizons: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]] | None:
    """A loan day's cohort key, window start and window ends (None: not an ISO date); kept,
    since the same few thousand days come back at every report."""
    try:
        day = dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    ends = tuple(window(day, months)[1] for months in horizons)
    return cohort_key(cohort_of(day)), _midnight(day), ends


@dataclass(frozen=True)
class LoanCalendar:
    """The loan days of the list at one moment, for the repository's queries."""

    horizons: tuple[int, ...]
    days: tuple[LoanDay, ...]

    def cohort_starts(self) -> list[tuple[str, int]]:
        """(first ISO day, cohort key) of each cohort the days fall in, newest first."""
        keys = sorted({d.cohort for d in self.days}, reverse=True)
        return [(cohort_start(k).isoformat(), k) for k in keys]

    def cutoffs(self) -> tuple[str | None, ...]:
        """Per horizon, the latest loan day whose window has closed (None: no day yet). Windows
        end later for later days, so "window closed" is "loan day on or before the cutoff"."""
        return tuple(
            max((d.day for d in self.days if d.until[i] is not None), default=None)
            for i in range(len(self.horizons))
        )


def loan_days(
    days: Iterable[str], now: dt.datetime, horizons: Sequence[int] = HORIZONS
) -> LoanCalendar:
    """The windows of each ISO loan day at ``now``: a horizon counts a day only once its window
    has closed (its end is not after ``now``), so a figure never changes after the fact.
    Malformed days are left out (their people stay in the head counts, under no cohort)."""
    stamp = now.timestamp()
    out = []
    for text in days:
        known = _day_windows(text, tuple(horizons))
        if known is None:
            continue
        cohort, since, ends = known
        until = tuple(end if end <= stamp else None for end in ends)
        out.append(LoanDay(text, cohort, since, until))
    return LoanCalendar(tuple(horizons), tuple(out))
