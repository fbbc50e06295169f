"""Applicants for the staff console: search by mobile, national code or name under the audience
filters, pages by id (never OFFSET), exact counts from the cells, and one person's record.

How a page is read on a million applicants (bench/console_applicants.py measures each):
- a mobile or national code: the users_mobile / users_national_code indexes (a row or two);
- a name: each typed word is a prefix of the name's first, second or last word, found in the
  three name-key indexes and intersected before any applicant's row is read;
- a step: the open-step index walked newest first, each person's row checked once;
- only filters: the primary key walked newest first until a page is full; the cells say
  beforehand when nobody matches, so an empty filter reads nothing.
Every query runs on the read-only companion connection (``Database.reader()``), never on the
connection the bot writes through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.db.dialect import Dialect
from bot.db.engine import Reads
from bot.repo.audiences import _filters
from bot.repo.scope_sql import county_clause
from bot.repo.users import applicants_only
from bot.rules.applicant_search import Search, prefix_end
from bot.rules.scope import Scope

__all__ = ["PAGE_SIZE", "Filters", "Page", "PeopleRepo", "Person", "Row"]

PAGE_SIZE = 50
#: What a list row shows (the person page reads the rest).
_ROW = (
    "u.id, u.platform, u.full_name, u.mobile, u.county, u.field, u.stage, u.checkin_status,"
    " u.updated_at"
)
_COLUMNS = {
    "platform": "u.platform", "county": "u.county", "field": "u.field", "stage": "u.stage",
    "lang": "u.lang", "checkin": "u.checkin_status",
}  # fmt: skip
_CELLS = {
    "platform": "platform", "county": "county", "field": "field", "stage": "stage",
    "lang": "lang", "checkin": "checkin_status",
}  # fmt: skip
# One word of a name: the start of the name's first, second or last word (index-only reads).
_WORD = (
    "SELECT id FROM users WHERE consent_at IS NOT NULL AND name_key >= ? AND name_key < ?"
    " UNION ALL SELECT id FROM users WHERE consent_at IS NOT NULL AND name_rest >= ?"
    " AND name_rest < ?"
    " UNION ALL SELECT id FROM users WHERE consent_at IS NOT NULL AND name_last >= ?"
    " AND name_last < ?"
)

# One more word, checked on a row already found.
_ON_ROW = (
    "(u.name_key >= ? AND u.name_key < ? OR u.name_rest >= ? AND u.name_rest < ?"
    " OR u.name_last >= ? AND u.name_last < ?)"
)
#: index entries read per typed word to find the rarest; a word starting fewer names than this
#: leads the search (each of its rows is checked for the other words, which costs a row read)
PROBE = 2000


@dataclass(frozen=True)
class Filters:
    """What a list asks for: the search, the audience filters (dimension → values), an open
    step and a loan cohort as ISO days [start, end)."""

    search: Search = field(default_factory=lambda: Search(""))
    audience: Mapping[str, Sequence[str]] = field(default_factory=dict)
    step: str | None = None
    cohort: tuple[str, str] | None = None

    @property
    def only_audience(self) -> bool:
        """Whether the cells can count this list exactly (filters of the audience alone)."""
        return not self.search.kind and self.step is None and self.cohort is None


@dataclass(frozen=True)
class Row:
    """One applicant in a list."""

    id: int
    platform: str
    full_name: str | None
    mobile: str | None
    county: str | None
    field: str | None
    stage: str | None
    checkin_status: str | None
    updated_at: int


@dataclass(frozen=True)
class Page:
    """A page of applicants, newest first: ``older``/``newer`` are the ids to page from (None:
    no such page); ``count`` the matches when known without reading them (the cells, or a
    list that fits on one page); else ``more`` says there are more than this page shows."""

    rows: list[Row]
    older: int | None
    newer: int | None
    count: int | None = None
    more: bool = False


@dataclass(frozen=True)
class Person:
    """One applicant's profile as their page shows it."""

    id: int
    platform: str
    user_id: int
    lang: str
    consent_at: int
    full_name: str | None
    mobile: str | None
    mobile_verified: bool
    national_code: str | None
    county: str | None
    field: str | None
    stage: str | None
    proactive: bool
    unreachable_at: int | None
    checkin_status: str | None
    checkins_closed: bool
    next_checkin_at: int | None
    permit_on: str | None
    loan_on: str | None
    operating_since: str | None
    dates_from: str
    created_at: int
    updated_at: int


class PeopleRepo:
    """Read-only SQL for the console's applicants pages (give it ``db.reader()``)."""

    def __init__(self, db: Reads) -> None:
        """Read through one connection."""
        self.db = db

    # --- lists ------------------------------------------------------------------------------
    async def page(
        self,
        filters: Filters,
        scope: Scope,
        *,
        after: int | None = None,
        before: int | None = None,
        size: int = PAGE_SIZE,
    ) -> Page:
        """A page of applicants: newest first, older than ``after`` or newer than ``before``."""
        if filters.search.kind in ("partial", "short"):
            return Page([], None, None, 0)
        counted = await self.cell_count(filters, scope) if filters.only_audience else None
        if counted == 0:
            return Page([], None, None, 0)
        if filters.search.kind == "name" and len(filters.search.words) > 1:
            words, fewest = await self.rarest_first(filters.search.words)
            led = replace(filters.search, words=words, led=fewest < PROBE)
            filters = replace(filters, search=led)
        backwards = before is not None and after is None
        sql, params = _page_sql(
            filters, scope, backwards, after if not backwards else before, self.db.dialect
        )
        found = [Row(*r) for r in await self.db.fetchall(sql, [*params, size + 1])]
        more = len(found) > size
        rows = found[:size]
        if backwards:
            rows.reverse()
            older = rows[-1].id if rows else None
            newer = rows[0].id if more and rows else None
        else:
            older = rows[-1].id if more else None
            newer = rows[0].id if after is not None and rows else None
        if counted is None and newer is None and older is None:
            counted = len(rows)  # the whole list is on this page
        return Page(rows, older, newer, counted, more=counted is None and older is not None)

    async def rarest_first(self, words: tuple[str, ...]) -> tuple[tuple[str, ...], int]:
        """The typed words, the one that starts the fewest names first, and its count of index
        entries (a name whose second word is also its last counts twice; each word counted
        only up to PROBE)."""
        counts = []
        for word in words:
            row = await self.db.fetchone(
                f"SELECT COUNT(*) FROM (SELECT id FROM ({_WORD}) AS w LIMIT {PROBE}) AS p",
                (word, prefix_end(word)) * 3,
            )
            counts.append(int(row[0]) if row else 0)
        order = sorted(range(len(words)), key=lambda i: (counts[i], i))
        return tuple(words[i] for i in order), counts[order[0]]

    async def cell_count(self, filters: Filters, scope: Scope) -> int:
        """How many applicants the audience filters hold, from the cells (staff taken out)."""
        clauses, params = _filters(dict(filters.audience), _CELLS)
        where = " AND ".join(clauses) or "TRUE"
        in_scope, county_params = county_clause(scope, "county")
        row = await self.db.fetchone(
            f"SELECT COALESCE(SUM(people), 0) FROM applicant_cells WHERE {where}{in_scope}",
            [*params, *county_params],
        )
        staff_clauses, staff_params = _filters(dict(filters.audience), _COLUMNS)
        staff_where = " AND ".join(["u.consent_at IS NOT NULL", *staff_clauses])
        staff_scope, staff_county = county_clause(scope, "u.county")
        staff = await self.db.fetchone(
            f"SELECT COUNT(*) FROM staff AS s {self.db.dialect.cross_join} users AS u"
            " ON u.platform = s.platform"
            f" AND u.user_id = s.user_id WHERE {staff_where}{staff_scope}",
            [*staff_params, *staff_county],
        )
        return max(0, int(row[0] if row else 0) - int(staff[0] if staff else 0))

    # --- one person -------------------------------------------------------------------------
    async def person(self, pk: int, scope: Scope) -> Person | None:
        """The applicant with this id, if they are one and within ``scope`` (else None, the
        same as an id no one has)."""
        in_scope, params = county_clause(scope, "u.county")
        row = await self.db.fetchone(
            "SELECT u.id, u.platform, u.user_id, u.lang, u.consent_at, u.full_name, u.mobile,"
            " u.mobile_verified, u.national_code, u.county, u.field, u.stage, u.proactive,"
            " u.unreachable_at, u.checkin_status, u.checkins_closed, u.next_checkin_at,"
            " u.permit_on, u.loan_on, u.operating_since, u.dates_from, u.created_at,"
            f" u.updated_at FROM users AS u WHERE u.id = ? AND {applicants_only('u')}{in_scope}",
            [pk, *params],
        )
        if row is None:
            return None
        values = list(row)
        for i in (7, 12, 15):  # mobile_verified, proactive, checkins_closed
            values[i] = bool(values[i])
        return Person(*values)

    async def steps(self, pk: int) -> dict[str, dict[str, Any]]:
        """The person's steps by id: started_at, done_at, done_on, help_at."""
        rows = await self.db.fetchall(
            "SELECT step_id, started_at, done_at, done_on, help_at FROM step_progress"
            " WHERE user_pk = ?",
            (pk,),
        )
        return {r[0]: dict(zip(("started_at", "done_at", "done_on", "help_at"), r[1:], strict=True))
                for r in rows}  # fmt: skip

    async def checkins(self, pk: int, limit: int = 50) -> list[dict[str, Any]]:
        """Check-in rounds (sent, status) with their answers, and answers given outside a
        round, newest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM (SELECT r.sent_at AS sent_at, r.status AS round_status,"
            " a.status AS answer, a.answered_at AS answered_at, a.detail AS detail"
            " FROM checkin_rounds AS r LEFT JOIN checkin_answers AS a"
            " ON a.user_pk = r.user_pk AND a.round_id = r.id WHERE r.user_pk = ?"
            " UNION ALL SELECT NULL, NULL, a.status, a.answered_at, a.detail"
            " FROM checkin_answers AS a WHERE a.user_pk = ? AND a.round_id IS NULL) AS h"
            " ORDER BY COALESCE(answered_at, sent_at) DESC LIMIT ?",
            (pk, pk, limit),
        )
        return [{**dict(r), "detail": _json(r["detail"])} for r in rows]

    async def tickets(self, pk: int, limit: int = 50) -> list[dict[str, Any]]:
        """The person's questions to the staff, newest first."""
        rows = await self.db.fetchall(
            "SELECT id, kind, status, created_at, closed_at FROM tickets WHERE user_pk = ?"
            " ORDER BY id DESC LIMIT ?",
            (pk, limit),
        )
        return [dict(r) for r in rows]

    async def followups(self, pk: int, limit: int = 50) -> list[dict[str, Any]]:
        """The staff's follow-ups about the person, newest first."""
        rows = await self.db.fetchall(
            "SELECT id, kind, status, created_at, closed_at FROM followups WHERE user_pk = ?"
            " ORDER BY id DESC LIMIT ?",
            (pk, limit),
        )
        return [dict(r) for r in rows]

    async def messages(self, pk: int, limit: int = 50) -> list[dict[str, Any]]:
        """What the bot sent the person (kind, status, when; never a body), newest first."""
        rows = await self.db.fetchall(
            "SELECT id, kind, status, created_at, sent_at, broadcast_id FROM outbox"
            " WHERE user_pk = ? ORDER BY id DESC LIMIT ?",
            (pk, limit),
        )
        return [dict(r) for r in rows]

    async def roster(self, pk: int) -> dict[str, Any] | None:
        """The programme list's row linked to the person, if any."""
        row = await self.db.fetchone(
            "SELECT id, permit_on, loan_on, loan_amount, bank, linked_at, linked_via,"
            " do_not_contact FROM roster WHERE user_pk = ?",
            (pk,),
        )
        return dict(row) if row else None


def _json(text: str | None) -> dict[str, Any]:
    """A stored JSON object (anything else: empty)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _where(filters: Filters, scope: Scope) -> tuple[str, list[Any]]:
    """The WHERE condition over ``users AS u`` of everything but the step, and its parameters."""
    clauses = [applicants_only("u")]
    params: list[Any] = []
    search = filters.search
    if search.exact:
        found = []
        if search.mobile:
            found.append("u.mobile = ?")
            params.append(search.mobile)
        if search.code:
            found.append("u.national_code = ?")
            params.append(search.code)
        clauses.append("(" + " OR ".join(found) + ")")
    elif search.kind == "name" and search.led:
        # the first word starts few names (PeopleRepo.page counted): its index ranges give the
        # candidates and every other word is checked on those rows, so a common word is never
        # read whole
        driver, *others = search.words
        clauses.append(f"u.id IN (SELECT id FROM ({_WORD}) AS w)")
        params.extend((driver, prefix_end(driver)) * 3)
        for word in others:
            clauses.append(_ON_ROW)
            params.extend((word, prefix_end(word)) * 3)
    elif search.kind == "name":
        # every word common: their index ranges intersected (index entries only, no row read)
        words = " INTERSECT ".join(f"SELECT * FROM ({_WORD}) AS w" for _ in search.words)
        clauses.append(f"u.id IN ({words})")
        for word in search.words:
            params.extend((word, prefix_end(word)) * 3)
    audience, values = _filters(dict(filters.audience), _COLUMNS)
    clauses.extend(audience)
    params.extend(values)
    if filters.cohort is not None:
        clauses.append("u.loan_on >= ? AND u.loan_on < ?")
        params.extend(filters.cohort)
    in_scope, county_params = county_clause(scope, "u.county")
    return " AND ".join(clauses) + in_scope, [*params, *county_params]


def _page_sql(
    filters: Filters, scope: Scope, backwards: bool, cursor: int | None, d: Dialect
) -> tuple[str, list[Any]]:
    """A page's query (its LIMIT the last parameter): from ``cursor`` on, in id order."""
    where, params = _where(filters, scope)
    sign, order = (">", "ASC") if backwards else ("<", "DESC")
    key = "u.id"
    if filters.step is not None and filters.search.kind != "name" and not filters.search.exact:
        # the open-step index drives: walked in user order, each person's row read once
        source = f"step_progress AS sp {d.cross_join} users AS u ON u.id = sp.user_pk"
        where = f"sp.step_id = ? AND sp.done_at IS NULL AND {where}"
        params = [filters.step, *params]
        key = "sp.user_pk"
    else:
        source = "users AS u"
        if filters.step is not None:
            where += (
                " AND EXISTS (SELECT 1 FROM step_progress AS sp WHERE sp.user_pk = u.id"
                " AND sp.step_id = ? AND sp.done_at IS NULL)"
            )
            params.append(filters.step)
    if cursor is not None:
        where += f" AND {key} {sign} ?"
        params.append(cursor)
    return f"SELECT {_ROW} FROM {source} WHERE {where} ORDER BY {key} {order} LIMIT ?", params
