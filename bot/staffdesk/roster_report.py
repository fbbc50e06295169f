"""The roster's figures, added up from the repository's groups: who on the list was invited,
reached and linked (per county and field), and survival at 3/6/12 months after the loan with the
whole list as the denominator (per loan cohort, county and field)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from bot.content.model import Content
from bot.repo.roster_figures import ReachCell, StatusCell
from bot.rules.roster_survival import HORIZONS

__all__ = [
    "Reach",
    "RosterFigures",
    "Survival",
    "SurvivalTable",
    "build_roster_figures",
]


@dataclass(frozen=True)
class Reach:
    """What happened to a group of people on the list (each count is people)."""

    listed: int = 0
    invited: int = 0
    invited_safir: int = 0
    invited_link: int = 0
    reached: int = 0  # joined the bot: linked to a bot user
    linked_contact: int = 0
    linked_link: int = 0
    linked_import: int = 0
    not_on_bale: int = 0
    declined: int = 0  # do not contact


@dataclass(frozen=True)
class Survival:
    """One group at one horizon: everyone on the list whose window there has closed, and what
    their latest answer inside it said (bot.rules.roster_survival.status_at)."""

    listed: int = 0
    reached: int = 0
    operating: int = 0
    problems: int = 0
    paused: int = 0
    closed: int = 0

    @property
    def answered(self) -> int:
        """People whose latest answer in the window says how the business is."""
        return self.operating + self.problems + self.paused + self.closed

    @property
    def no_answer(self) -> int:
        """Everyone else on the list: never reached, reached and silent, or the round expired."""
        return self.listed - self.answered

    @property
    def still_operating(self) -> int:
        """Operating, with or without problems (as /stats counts survival)."""
        return self.operating + self.problems

    @property
    def rate_answered(self) -> float | None:
        """Operating among those who answered (None: nobody answered)."""
        return self.still_operating / self.answered if self.answered else None

    @property
    def rate_listed(self) -> float | None:
        """Operating at least, over everyone on the list: silence is not survival."""
        return self.still_operating / self.listed if self.listed else None


@dataclass(frozen=True)
class SurvivalTable:
    """Survival at one horizon, in total and per cohort (oldest first), county and field."""

    months: int
    total: Survival
    by_cohort: tuple[tuple[int, Survival], ...]
    by_county: tuple[tuple[str | None, Survival], ...]
    by_field: tuple[tuple[str | None, Survival], ...]


@dataclass(frozen=True)
class RosterFigures:
    """Everything /roster stats shows; keys are content ids (None: not on the list)."""

    generated_at: dt.datetime
    reach: Reach
    reach_by_county: tuple[tuple[str | None, Reach], ...]
    reach_by_field: tuple[tuple[str | None, Reach], ...]
    undated: int  # on the list without a (well-formed) loan date: in no survival figure
    survival: tuple[SurvivalTable, ...]


def _order(keys: Iterable[str | None], known: Sequence[str]) -> list[str | None]:
    """Content ids in content order, then other ids sorted, then None."""
    present = set(keys)
    out: list[str | None] = [k for k in known if k in present]
    out += sorted(k for k in present if k is not None and k not in known)
    if None in present:
        out.append(None)
    return out


Counts = tuple[int, ...]
Key = tuple[int | None, str | None, str | None]


def _sum_by(items: Iterable[tuple[Any, Counts]]) -> dict[Any, list[int]]:
    """Tuples of counts added up per key (plain ints: thousands of groups stay cheap)."""
    out: dict[Any, list[int]] = {}
    for key, counts in items:
        total = out.get(key)
        if total is None:
            out[key] = list(counts)
        else:
            for i, n in enumerate(counts):
                total[i] += n
    return out


def _survival_parts(
    i: int, reach: Sequence[ReachCell], statuses: Sequence[StatusCell]
) -> list[tuple[Key, Counts]]:
    """(cohort, county, field) → Survival's counts at horizon i, one per repository group."""
    parts: list[tuple[Key, Counts]] = [
        ((c.cohort, c.county, c.field), (c.eligible[i], 0, 0, 0, 0, 0))
        for c in reach
        if c.cohort is not None and c.eligible[i]
    ]
    parts += [
        ((s.cohort, s.county, s.field), (0, *s.counts[i])) for s in statuses if s.counts[i][0]
    ]
    return parts


def _table(
    months: int,
    parts: list[tuple[Key, Counts]],
    order: Callable[[int, Iterable[Any]], list[Any]],
) -> SurvivalTable:
    """One horizon's table from its groups."""
    by = [_sum_by((key[j], counts) for key, counts in parts) for j in range(3)]
    total = _sum_by((None, counts) for _, counts in parts).get(None, [0] * 6)
    return SurvivalTable(
        months=months,
        total=Survival(*total),
        by_cohort=tuple((k, Survival(*by[0][k])) for k in sorted(by[0])),
        by_county=tuple((k, Survival(*by[1][k])) for k in order(1, by[1])),
        by_field=tuple((k, Survival(*by[2][k])) for k in order(2, by[2])),
    )


def build_roster_figures(
    now: dt.datetime,
    reach: Sequence[ReachCell],
    statuses: Sequence[StatusCell],
    content: Content,
    horizons: Sequence[int] = HORIZONS,
) -> RosterFigures:
    """Add the repository's groups up per county, field and cohort; counties and fields in
    the content's order. A cohort, county or field with nobody counted at a horizon is left
    out of that horizon's table."""
    known = {1: [c.id for c in content.counties], 2: [f.id for f in content.fields]}

    def order(j: int, keys: Iterable[Any]) -> list[Any]:
        """County (j=1) or field (j=2) keys in content order."""
        return _order(keys, known[j])

    names = [f.name for f in fields(Reach)]
    people = [(c, tuple(getattr(c, name) for name in names)) for c in reach]
    by_county = _sum_by((c.county, counts) for c, counts in people)
    by_field = _sum_by((c.field, counts) for c, counts in people)
    total = _sum_by((None, counts) for _, counts in people).get(None, [0] * len(names))
    return RosterFigures(
        generated_at=now,
        reach=Reach(*total),
        reach_by_county=tuple((k, Reach(*by_county[k])) for k in order(1, by_county)),
        reach_by_field=tuple((k, Reach(*by_field[k])) for k in order(2, by_field)),
        undated=sum(c.listed for c in reach if c.cohort is None),
        survival=tuple(
            _table(months, _survival_parts(i, reach, statuses), order)
            for i, months in enumerate(horizons)
        ),
    )
