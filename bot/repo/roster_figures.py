"""Read-only SQL for the roster's figures: reach per cohort, county and field; each linked
person's check-in status at 3/6/12 months after the loan; the roster export sheet's rows.

Every figure is a GROUP BY in SQLite over the ``roster_figures`` covering index, read in
(loan_on, county, field) order without touching the table or sorting a million rows; the loan
days' cohorts and windows come in as one JSON parameter (bot.rules.roster_survival.loan_days),
so no calendar arithmetic runs per row. Python only adds up the groups that come back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.dialect import Dialect
from bot.db.engine import Reads
from bot.repo.reports import NO_STATUS, PAGE_SIZE
from bot.repo.scope_sql import county_clause
from bot.roster.model import COLUMNS
from bot.rules.roster_survival import ANSWERED, NOT_ANSWERED, LoanCalendar
from bot.rules.scope import EVERYWHERE, Scope

__all__ = [
    "ROSTER_COLUMNS",
    "ROSTER_TIMESTAMP_COLUMNS",
    "ReachCell",
    "RosterFiguresRepo",
    "StatusCell",
]

#: Export columns of the roster sheet, in order (link_status: contact|link|import|none).
ROSTER_COLUMNS: tuple[str, ...] = (
    "id",
    *COLUMNS,  # the programme's facts, in the template's order
    "link_status",
    "linked_at",
    "user_pk",
    "invited_via",
    "invited_at",
    "reminded_at",
    "on_bale",
    "do_not_contact",
    "latest_status",
    "latest_answered_at",
)
#: Roster sheet columns holding Unix seconds.
ROSTER_TIMESTAMP_COLUMNS = frozenset({"linked_at", "invited_at", "reminded_at"})


@dataclass(frozen=True)
class ReachCell:
    """What happened to the people of one (cohort, county, field) group of the list;
    ``eligible[i]`` counts those whose window for horizon i has closed."""

    cohort: int | None
    county: str | None
    field: str | None
    listed: int
    invited: int
    invited_safir: int
    invited_link: int
    reached: int
    linked_contact: int
    linked_link: int
    linked_import: int
    not_on_bale: int
    declined: int
    eligible: tuple[int, ...]


@dataclass(frozen=True)
class StatusCell:
    """The linked people of one (cohort, county, field) group, per horizon: how many of them
    count there (their window has closed) and how many of those said operating, problems,
    paused and closed (everyone else counted: no answer in the window)."""

    cohort: int
    county: str | None
    field: str | None
    counts: tuple[tuple[int, int, int, int, int], ...]  # (counted, operating, …, closed)


def _five(values: Sequence[Any]) -> tuple[int, int, int, int, int]:
    """One horizon's counts of a StatusCell."""
    counted, operating, problems, paused, closed = (int(v) for v in values)
    return counted, operating, problems, paused, closed


def _days_cte(width: int, d: Dialect) -> str:
    """SQL: ``WITH d(day, k, since, u0…)`` read from the JSON parameter ?1 (LoanDay rows)."""
    names = "".join(f", u{i}" for i in range(width))
    values = "".join(f", {d.json_item('value', 3 + i)}" for i in range(width))
    return (
        f"WITH d(day, k, since{names}) AS (SELECT {d.json_item('value', 0, 'text')},"
        f" {d.json_item('value', 1)}, {d.json_item('value', 2)}{values}"
        f" FROM {d.json_rows('?1')}) "
    )


def _status_sql(i: int) -> str:
    """SQL: a linked row's status at horizon i: its latest answer in [d.since, d.u<i>)."""
    latest = (
        "(SELECT a.status FROM checkin_answers a WHERE a.user_pk = r.user_pk"
        f" AND a.answered_at >= d.since AND a.answered_at < d.u{i}"
        " ORDER BY a.answered_at DESC, a.id DESC LIMIT 1)"
    )
    return f"CASE WHEN d.u{i} IS NULL THEN NULL ELSE COALESCE({latest}, '{NOT_ANSWERED}') END"


class RosterFiguresRepo:
    """Aggregates over the roster and its linked people's answers, for reports and exports."""

    def __init__(self, db: Reads) -> None:
        """Query this database (the bot passes its read-only companion, ``Database.reader()``)."""
        self.db = db

    async def has_rows(self) -> bool:
        """Whether the list holds anyone (without a roster the reports stay as they were)."""
        row = await self.db.fetchone("SELECT EXISTS (SELECT 1 FROM roster)")
        return bool(row and row[0])

    async def loan_days(self) -> list[str]:
        """The distinct loan days on the list (ISO text), read from the index's first column."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT loan_on FROM roster INDEXED BY roster_figures"
            " WHERE loan_on IS NOT NULL ORDER BY loan_on"
        )
        return [str(r[0]) for r in rows]

    async def reach(self, calendar: LoanCalendar) -> list[ReachCell]:
        """Head counts per (cohort, county, field), in one pass over the list: grouped by loan
        day in the index's order, then the days' groups by cohort (one range of the ISO days
        each, as the import validates them; people without a loan day under cohort None)."""
        starts = calendar.cohort_starts()
        cutoffs = calendar.cutoffs()
        cohort = "".join(
            f" WHEN g.loan_on >= ?{i + 1} THEN {int(key)}" for i, (_, key) in enumerate(starts)
        )
        first = len(starts) + 1
        eligible = "".join(
            f", COALESCE(SUM(CASE WHEN g.loan_on <= ?{first + i} THEN g.n ELSE 0 END), 0)"
            for i in range(len(cutoffs))
        )
        rows = await self.db.fetchall(
            f"SELECT CASE WHEN g.loan_on IS NULL THEN NULL{cohort} ELSE NULL END AS k,"
            " g.county, g.field, SUM(g.n), SUM(g.invited), SUM(g.safir), SUM(g.link),"
            " SUM(g.reached), SUM(g.by_contact), SUM(g.by_link), SUM(g.by_import),"
            f" SUM(g.not_on_bale), SUM(g.declined){eligible}"
            " FROM (SELECT loan_on, county, field, COUNT(*) AS n, COUNT(invited_at) AS invited,"
            " COUNT(invited_via = 'safir' OR NULL) AS safir,"
            " COUNT(invited_via = 'link' OR NULL) AS link, COUNT(user_pk) AS reached,"
            " COUNT(linked_via = 'contact' OR NULL) AS by_contact,"
            " COUNT(linked_via = 'link' OR NULL) AS by_link,"
            " COUNT(linked_via = 'import' OR NULL) AS by_import,"
            " COUNT(on_bale = 0 OR NULL) AS not_on_bale,"
            " COUNT(do_not_contact != 0 OR NULL) AS declined"
            " FROM roster INDEXED BY roster_figures GROUP BY loan_on, county, field) AS g"
            " GROUP BY k, g.county, g.field",
            (*(day for day, _ in starts), *cutoffs),
        )
        width = len(cutoffs)
        return [
            ReachCell(
                r[0],
                r[1],
                r[2],
                *(int(v) for v in r[3:13]),
                eligible=tuple(int(v) for v in r[13 : 13 + width]),
            )
            for r in rows
        ]

    async def statuses(self, calendar: LoanCalendar) -> list[StatusCell]:
        """Linked people per (cohort, county, field), counted by status at each horizon (see
        bot.rules.roster_survival.status_at) in SQL, for the loan days with a closed window: the
        days come in as JSON and each day's linked people are one range of the index (LIMIT -1
        keeps the inner query whole, so each status is looked up once, not again for the sort)."""
        width = len(calendar.horizons)
        days = [d for d in calendar.days if any(u is not None for u in d.until)]
        if not width or not days:
            return []
        columns = ", ".join(f"{_status_sql(i)} AS s{i}" for i in range(width))
        counts = "".join(
            f", COUNT(s{i})" + "".join(f", COUNT(s{i} = '{s}' OR NULL)" for s in ANSWERED)
            for i in range(width)
        )
        rows = await self.db.fetchall(
            _days_cte(width, self.db.dialect) + f"SELECT k, county, field{counts} FROM ("
            f"SELECT d.k, r.county, r.field, {columns}"
            " FROM d CROSS JOIN roster r INDEXED BY roster_figures"
            " WHERE r.loan_on = d.day AND r.user_pk IS NOT NULL LIMIT -1) AS s"
            " GROUP BY k, county, field",
            (json.dumps([d.row() for d in days], separators=(",", ":")),),
        )
        step = 1 + len(ANSWERED)
        return [
            StatusCell(
                int(r[0]),
                r[1],
                r[2],
                tuple(_five(r[3 + i * step : 3 + (i + 1) * step]) for i in range(width)),
            )
            for r in rows
        ]

    async def sheet(
        self, page_size: int = PAGE_SIZE, scope: Scope = EVERYWHERE
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row of the list (of ``scope``'s counties) with its link, invitation and the
        linked person's latest check-in answer (latest answered_at, then id), by id, in keyset
        pages."""
        where, params = county_clause(scope, "r.county")
        sql = (
            "SELECT r.id, r.national_code, r.full_name, r.mobile, r.county, r.field,"
            " r.permit_on, r.loan_on, r.loan_amount, r.bank, r.case_no,"
            " CASE WHEN r.user_pk IS NULL THEN 'none' ELSE r.linked_via END,"
            " r.linked_at, r.user_pk, r.invited_via, r.invited_at, r.reminded_at, r.on_bale,"
            " r.do_not_contact,"
            f" CASE WHEN r.user_pk IS NULL THEN NULL ELSE COALESCE(a.status, '{NO_STATUS}') END,"
            " a.answered_at"
            " FROM roster r LEFT JOIN checkin_answers a ON a.id = (SELECT b.id"
            " FROM checkin_answers b WHERE b.user_pk = r.user_pk"
            " ORDER BY b.answered_at DESC, b.id DESC LIMIT 1)"
            f" WHERE r.id > ?{where} ORDER BY r.id LIMIT ?"
        )
        last = -1
        while True:
            rows = await self.db.fetchall(sql, (last, *params, page_size))
            for row in rows:
                yield dict(zip(ROSTER_COLUMNS, row, strict=True))
            if len(rows) < page_size:
                return
            last = int(rows[-1][0])
