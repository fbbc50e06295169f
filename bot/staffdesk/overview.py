"""The console overview's figures for one county scope, added up from the repository's groups
(bot.repo.overview): survival at 3/6/12 months by loan cohort, county and field (over the roster
once a list exists), check-in response, the step funnel and the monthly trend (the follow-ups
waiting are read live: bot.repo.followups). Pure: no I/O, no clock (``now`` comes in)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jdatetime

from bot.content.model import Content
from bot.core.jalali import TEHRAN, tehran_today
from bot.repo.overview import (
    TEHRAN_OFFSET,
    AnswerCell,
    ApplicantCell,
    JoinedCell,
    RoundCell,
    StepCell,
)
from bot.repo.reports import NO_STATUS, STILL_OPERATING, SURVIVAL_MONTHS, RoundCounts, months_before
from bot.repo.roster_figures import ReachCell, StatusCell
from bot.rules.roster_survival import cohort_key, cohort_of, cohort_start
from bot.rules.scope import Scope
from bot.staffdesk.roster_report import Survival as ListSurvival
from bot.staffdesk.roster_report import build_roster_figures

__all__ = [
    "TREND_MONTHS",
    "Horizon",
    "Month",
    "MonthRow",
    "Overview",
    "OverviewData",
    "Rate",
    "RosterCells",
    "StepRow",
    "build_overview",
    "cohort_starts",
    "solar_months",
    "survival_cutoffs",
]

#: Solar Hijri months in the trend, the current one last.
TREND_MONTHS = 12


@dataclass(frozen=True)
class Month:
    """One Solar Hijri month of the trend and the Unix second it starts (00:00 Tehran)."""

    year: int
    month: int
    start: int

    @property
    def first_day(self) -> dt.date:
        """Its first day, Gregorian."""
        return jdatetime.date(self.year, self.month, 1).togregorian()


@dataclass(frozen=True)
class RosterCells:
    """The roster's groups (bot.repo.roster_figures) at the horizons they were read for."""

    horizons: tuple[int, ...]
    reach: tuple[ReachCell, ...]
    statuses: tuple[StatusCell, ...]


@dataclass(frozen=True)
class OverviewData:
    """Every group the overview needs, for every county: read once, shared by all scopes."""

    generated_at: dt.datetime
    horizons: tuple[int, ...]
    applicants: tuple[ApplicantCell, ...]
    rounds: tuple[RoundCell, ...]
    steps: tuple[StepCell, ...]
    months: tuple[Month, ...]
    joined: tuple[JoinedCell, ...]
    answers: tuple[AnswerCell, ...]
    roster: RosterCells | None = None


@dataclass(frozen=True)
class Rate:
    """Of ``base`` people counted at a horizon, ``operating`` still operate (with or without
    problems) and ``silent`` gave no answer that says."""

    base: int = 0
    operating: int = 0
    silent: int = 0

    @property
    def rate(self) -> float | None:
        """operating / base, or None when nobody is counted."""
        return self.operating / self.base if self.base else None


@dataclass(frozen=True)
class Horizon:
    """Survival at one horizon: in total and per cohort (oldest first), county and field."""

    months: int
    total: Rate
    by_cohort: tuple[tuple[int, Rate], ...]
    by_county: tuple[tuple[str | None, Rate], ...]
    by_field: tuple[tuple[str | None, Rate], ...]


@dataclass(frozen=True)
class StepRow:
    """People at a step now (started, not done) and how many days they have been there."""

    step_id: str
    track: str
    people: int
    median_days: int | None
    oldest_days: int | None


@dataclass(frozen=True)
class MonthRow:
    """One month: applicants who joined, and check-in answers by status."""

    month: Month
    joined: int
    answers: Mapping[str, int]

    @property
    def answered(self) -> int:
        """All answers of the month."""
        return sum(self.answers.values())


@dataclass(frozen=True)
class Overview:
    """The overview of one scope."""

    generated_at: dt.datetime
    applicants: int
    unreachable: int
    stopped: int
    rounds: RoundCounts
    rounds_by_county: tuple[tuple[str | None, RoundCounts], ...]
    status_by_county: tuple[tuple[str | None, Mapping[str, int]], ...]
    survival_over_roster: bool
    survival: tuple[Horizon, ...]
    undated: int
    steps: tuple[StepRow, ...]
    months: tuple[MonthRow, ...]
    counties: tuple[str | None, ...] = field(default=())


def survival_cutoffs(now: dt.datetime, horizons: Iterable[int] = SURVIVAL_MONTHS) -> list[str]:
    """Per horizon the latest loan day counted there, as /stats counts (months_before)."""
    today = tehran_today(now)
    return [months_before(today, months).isoformat() for months in horizons]


def cohort_starts(span: tuple[str, str] | None) -> list[tuple[str, int]]:
    """(first ISO day, cohort key) of every loan cohort from the first loan day's to the
    last's, oldest first (none without loans or with a malformed day)."""
    if span is None:
        return []
    try:
        first, last = (dt.date.fromisoformat(day) for day in span)
    except ValueError:
        return []
    year, half = cohort_of(first)
    end = cohort_key(cohort_of(last))
    out = []
    while cohort_key((year, half)) <= end:
        key = cohort_key((year, half))
        out.append((cohort_start(key).isoformat(), key))
        year, half = (year, 2) if half == 1 else (year + 1, 1)
    return out


def solar_months(now: dt.datetime, count: int = TREND_MONTHS) -> tuple[Month, ...]:
    """The last ``count`` Solar Hijri months, the current one last, with their starts."""
    today = jdatetime.date.fromgregorian(date=tehran_today(now))
    index = today.year * 12 + today.month - 1
    out = []
    for i in range(index - count + 1, index + 1):
        year, month = divmod(i, 12)
        first = jdatetime.date(year, month + 1, 1).togregorian()
        start = int(dt.datetime.combine(first, dt.time(), TEHRAN).timestamp())
        out.append(Month(year, month + 1, start))
    return tuple(out)


def _order(keys: Iterable[str | None], known: Sequence[str]) -> list[str | None]:
    """Content ids in content order, then other ids sorted, then None."""
    present = set(keys)
    out: list[str | None] = [k for k in known if k in present]
    out += sorted(k for k in present if k is not None and k not in known)
    if None in present:
        out.append(None)
    return out


def _add(total: dict[Any, list[int]], key: Any, values: Sequence[int]) -> None:
    """Add values to a key's running sums."""
    sums = total.setdefault(key, [0] * len(values))
    for i, v in enumerate(values):
        sums[i] += v


def _applicant_survival(
    cells: Sequence[ApplicantCell], horizons: Sequence[int], content: Content
) -> tuple[Horizon, ...]:
    """Survival over the applicants, as /stats counts it (bot.repo.reports.survival_from):
    those with a loan on or before the cutoff, operating by their latest answer."""
    counties = [c.id for c in content.counties]
    fields = [f.id for f in content.fields]
    out = []
    for i, months in enumerate(horizons):
        by: list[dict[Any, list[int]]] = [{}, {}, {}, {}]
        for c in cells:
            n = c.eligible[i]
            if not n:
                continue
            values = (n, n if c.status in STILL_OPERATING else 0, n if c.status == NO_STATUS else 0)
            for j, key in enumerate((None, c.cohort, c.county, c.field)):
                if j == 1 and key is None:
                    continue
                _add(by[j], key, values)
        out.append(
            Horizon(
                months,
                Rate(*by[0].get(None, [0, 0, 0])),
                tuple((int(k), Rate(*v)) for k, v in sorted(by[1].items())),
                tuple((k, Rate(*by[2][k])) for k in _order(by[2], counties)),
                tuple((k, Rate(*by[3][k])) for k in _order(by[3], fields)),
            )
        )
    return tuple(out)


def _roster_survival(
    roster: RosterCells, scope: Scope, content: Content, now: dt.datetime
) -> tuple[tuple[Horizon, ...], int]:
    """Survival over the whole list (bot.staffdesk.roster_report), in the scope's counties;
    and how many on the list have no loan day."""
    figures = build_roster_figures(
        now,
        [c for c in roster.reach if scope.allows(c.county)],
        [c for c in roster.statuses if scope.allows(c.county)],
        content,
        roster.horizons,
    )

    def rate(s: ListSurvival) -> Rate:
        """A roster group's survival as a Rate over everyone on the list."""
        return Rate(s.listed, s.still_operating, s.no_answer)

    tables = tuple(
        Horizon(
            t.months,
            rate(t.total),
            tuple((k, rate(s)) for k, s in t.by_cohort),
            tuple((k, rate(s)) for k, s in t.by_county),
            tuple((k, rate(s)) for k, s in t.by_field),
        )
        for t in figures.survival
    )
    return tables, figures.undated


def _days(today: int, histogram: Mapping[int, int]) -> tuple[int, int | None, int | None]:
    """People, median and longest days since the start days of a histogram {day: people}."""
    people = sum(histogram.values())
    if not people:
        return 0, None, None
    days = sorted(histogram)
    middle, seen, median = (people + 1) // 2, 0, days[0]
    for day in reversed(days):  # newest first: the middle person's wait
        seen += histogram[day]
        if seen >= middle:
            median = day
            break
    return people, max(0, today - median), max(0, today - days[0])


def _steps(data: OverviewData, scope: Scope, content: Content) -> tuple[StepRow, ...]:
    """The funnel: every step in the content's order (then unknown ids), people there now."""
    today = (int(data.generated_at.timestamp()) + TEHRAN_OFFSET) // 86400
    per_step: dict[str, dict[int, int]] = {}
    for c in data.steps:
        if scope.allows(c.county):
            days = per_step.setdefault(c.step_id, {})
            days[c.day] = days.get(c.day, 0) + c.people
    tracks = {s.id: s.track for s in content.steps}
    ids = [s.id for s in content.steps] + sorted(k for k in per_step if k not in tracks)
    return tuple(
        StepRow(step, tracks.get(step, ""), *_days(today, per_step.get(step, {}))) for step in ids
    )


def _months(data: OverviewData, scope: Scope) -> tuple[MonthRow, ...]:
    """Per month of the trend: joined and answers by status."""
    joined = [0] * len(data.months)
    answers: list[dict[str, int]] = [{} for _ in data.months]
    for c in data.joined:
        if scope.allows(c.county):
            joined[c.month] += c.people
    for a in data.answers:
        if scope.allows(a.county):
            answers[a.month][a.status] = answers[a.month].get(a.status, 0) + a.answers
    return tuple(MonthRow(m, joined[i], answers[i]) for i, m in enumerate(data.months))


def build_overview(data: OverviewData, scope: Scope, content: Content) -> Overview:
    """The overview of the people in ``scope``'s counties, from every county's groups."""
    cells = [c for c in data.applicants if scope.allows(c.county)]
    counties = [c.id for c in content.counties]
    heads = [0, 0, 0]
    status: dict[str | None, dict[str, int]] = {}
    for c in cells:
        heads[0] += c.people
        heads[1] += c.unreachable
        heads[2] += c.stopped
        bucket = status.setdefault(c.county, {})
        bucket[c.status] = bucket.get(c.status, 0) + c.people
    rounds: dict[Any, list[int]] = {}
    for r in data.rounds:
        if scope.allows(r.county):
            _add(rounds, r.county, (r.answered, r.no_answer, r.open))
            _add(rounds, "*", (r.answered, r.no_answer, r.open))
    if data.roster is not None:
        survival, undated = _roster_survival(data.roster, scope, content, data.generated_at)
    else:
        survival, undated = _applicant_survival(cells, data.horizons, content), 0
    shown = _order(set(status) | {k for k in rounds if k != "*"}, counties)
    if scope.counties is not None:
        shown = [k for k in counties if k in scope.counties] + [
            k for k in shown if k not in counties
        ]
    return Overview(
        generated_at=data.generated_at,
        applicants=heads[0],
        unreachable=heads[1],
        stopped=heads[2],
        rounds=RoundCounts(*rounds.get("*", [0, 0, 0])),
        rounds_by_county=tuple(
            (k, RoundCounts(*rounds[k])) for k in _order(rounds, counties) if k != "*"
        ),
        status_by_county=tuple((k, status.get(k, {})) for k in shown),
        survival_over_roster=data.roster is not None,
        survival=survival,
        undated=undated,
        steps=_steps(data, scope, content),
        months=_months(data, scope),
        counties=tuple(shown),
    )
