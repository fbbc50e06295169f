"""Read-only aggregate queries for staff reports and paged row iterators for exports."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jdatetime

from bot.core.jalali import tehran_today
from bot.db.engine import Reads
from bot.repo.scope_sql import county_clause
from bot.repo.users import applicants_only
from bot.rules.scope import EVERYWHERE, Scope

__all__ = [
    "APPLICANT",
    "APPLICANT_COLUMNS",
    "CHECKIN_COLUMNS",
    "DATE_COLUMNS",
    "FOLLOWUP_COLUMNS",
    "NO_STATUS",
    "STATUS",
    "STATUSES",
    "STEP_COLUMNS",
    "STILL_OPERATING",
    "SURVIVAL_MONTHS",
    "TICKET_COLUMNS",
    "TIMESTAMP_COLUMNS",
    "USERS_WITH_LATEST",
    "ReportData",
    "ReportRepo",
    "RoundCounts",
    "Survival",
    "UserCounts",
    "loan_cohort",
    "months_before",
    "survival_from",
]

#: Check-in answer statuses, in display order.
STATUSES: tuple[str, ...] = ("operating", "problems", "paused", "closed", "no_answer")
#: The "status" of someone with no check-in answer recorded yet.
NO_STATUS = "none"
#: Latest statuses that count as "the business is still operating".
STILL_OPERATING: tuple[str, ...] = ("operating", "problems")
#: Survival horizons, in months after the loan.
SURVIVAL_MONTHS: tuple[int, ...] = (3, 6, 12)
#: Rows fetched per query by the export iterators.
PAGE_SIZE = 1000

#: Export columns holding Unix seconds (shown as Jalali text plus ISO by the exporter).
TIMESTAMP_COLUMNS = frozenset(
    {
        "consent_at",
        "unreachable_at",
        "created_at",
        "updated_at",
        "next_checkin_at",
        "latest_answered_at",
        "started_at",
        "done_at",
        "help_at",
        "last_nudge_at",
        "answered_at",
        "round_due_at",
        "round_sent_at",
        "round_closed_at",
        "closed_at",
    }
)
#: Export columns holding ISO 'YYYY-MM-DD' dates.
DATE_COLUMNS = frozenset({"permit_on", "loan_on", "operating_since", "paused_until", "done_on"})

APPLICANT_COLUMNS: tuple[str, ...] = (
    "id",
    "platform",
    "user_id",
    "lang",
    "full_name",
    "mobile",
    "national_code",
    "county",
    "field",
    "stage",
    "profile_done",
    "proactive",
    "unreachable_at",
    "consent_at",
    "created_at",
    "updated_at",
    "permit_on",
    "loan_on",
    "operating_since",
    "next_checkin_at",
    "paused_until",
    "checkins_closed",
    "latest_status",
    "latest_answered_at",
)
STEP_COLUMNS: tuple[str, ...] = (
    "user_pk",
    "step_id",
    "started_at",
    "done_on",
    "done_at",
    "help_at",
    "nudges_sent",
    "last_nudge_at",
)
CHECKIN_COLUMNS: tuple[str, ...] = (
    "id",
    "user_pk",
    "round_id",
    "status",
    "detail",
    "answered_at",
    "round_status",
    "round_due_at",
    "round_sent_at",
    "round_reminders_sent",
    "round_closed_at",
)
FOLLOWUP_COLUMNS: tuple[str, ...] = (
    "id",
    "user_pk",
    "full_name",
    "mobile",
    "county",
    "kind",
    "status",
    "detail",
    "created_at",
    "closed_at",
)
TICKET_COLUMNS: tuple[str, ...] = (
    "id",
    "platform",
    "user_pk",
    "kind",
    "followup_id",
    "status",
    "created_at",
    "closed_at",
    "closed_by",
    "messages_in",
    "messages_out",
    "first_text",
)

# The id of a user's latest answer: latest answered_at, ties broken by the later insert.
# Uses the checkin_answers_user (user_pk, answered_at) index: one seek per user.
_LATEST_ANSWER_ID = (
    "(SELECT b.id FROM checkin_answers b WHERE b.user_pk = u.id"
    " ORDER BY b.answered_at DESC, b.id DESC LIMIT 1)"
)
USERS_WITH_LATEST = f"users u LEFT JOIN checkin_answers a ON a.id = {_LATEST_ANSWER_ID}"
#: SQL: the status of the latest answer joined by USERS_WITH_LATEST ('none' without one).
STATUS = f"COALESCE(a.status, '{NO_STATUS}')"
#: SQL: who is counted: applicants who agreed to the privacy notice, never staff or visitors.
APPLICANT = applicants_only("u")


@dataclass(frozen=True)
class UserCounts:
    """Head counts over all applicants (consented, not staff)."""

    total: int
    unreachable: int
    stopped: int
    checkins_closed: int


@dataclass(frozen=True)
class RoundCounts:
    """Check-in rounds by status; the response rate is answered / (answered + no_answer)."""

    answered: int
    no_answer: int
    open: int

    @property
    def closed(self) -> int:
        """Rounds that are over: answered or expired without an answer."""
        return self.answered + self.no_answer

    @property
    def rate(self) -> float | None:
        """The share of finished rounds that got an answer, or None when none finished."""
        return self.answered / self.closed if self.closed else None


@dataclass(frozen=True)
class Survival:
    """Of ``eligible`` people whose loan is ``months`` or more old, ``operating`` still operate."""

    months: int
    cutoff: dt.date
    eligible: int
    operating: int
    unknown: int

    @property
    def rate(self) -> float | None:
        """operating / eligible, or None when nobody is eligible yet."""
        return self.operating / self.eligible if self.eligible else None


@dataclass(frozen=True)
class ReportData:
    """Everything a staff report needs, gathered in one pass of aggregate queries."""

    generated_at: dt.datetime
    users: UserCounts
    by_stage: dict[str | None, int]
    by_county: dict[str | None, int]
    status_by_field: dict[str | None, dict[str, int]]
    status_by_loan_on: dict[str, dict[str, int]]
    rounds: RoundCounts
    survival: tuple[Survival, ...]


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` Gregorian calendar months earlier, clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def loan_cohort(loan_on: str | None) -> tuple[int, int] | None:
    """The Solar Hijri (year, month) of an ISO date, or None when it is missing or malformed."""
    if not loan_on:
        return None
    try:
        day = dt.date.fromisoformat(loan_on)
    except ValueError:
        return None
    j = jdatetime.date.fromgregorian(date=day)
    return (j.year, j.month)


def survival_from(
    status_by_loan_on: Mapping[str, Mapping[str, int]],
    today: dt.date,
    horizons: Iterable[int] = SURVIVAL_MONTHS,
) -> tuple[Survival, ...]:
    """Survival per horizon from counts of latest status per loan date (see ReportRepo.survival)."""
    result = []
    for months in horizons:
        cutoff = months_before(today, months)
        eligible = operating = unknown = 0
        for loan_on, counts in status_by_loan_on.items():
            try:
                day = dt.date.fromisoformat(loan_on)
            except ValueError:
                continue
            if day > cutoff:
                continue
            eligible += sum(counts.values())
            operating += sum(counts.get(s, 0) for s in STILL_OPERATING)
            unknown += counts.get(NO_STATUS, 0)
        result.append(Survival(months, cutoff, eligible, operating, unknown))
    return tuple(result)


def _nested(rows: Sequence[Any]) -> dict[Any, dict[str, int]]:
    """Rows of (key, status, n) as {key: {status: n}}."""
    out: dict[Any, dict[str, int]] = {}
    for key, status, n in rows:
        out.setdefault(key, {})[status] = int(n)
    return out


class ReportRepo:
    """Aggregate statistics and export rows; every figure is a GROUP BY in SQLite."""

    def __init__(self, db: Reads, scope: Scope = EVERYWHERE) -> None:
        """Query this database (the bot passes its read-only companion, ``Database.reader()``),
        counting and exporting only the people of ``scope``'s counties."""
        self.db, self.scope = db, scope
        self._where, self._params = county_clause(scope, "u.county")
        self._who = APPLICANT + self._where  # applicants of the scope's counties

    # ----------------------------------------------------------------- aggregates

    async def user_counts(self) -> UserCounts:
        """All applicants, unreachable ones, those who stopped messages and closed check-ins."""
        row = await self.db.fetchone(
            "SELECT COUNT(*), COUNT(u.unreachable_at), COUNT(u.proactive = 0 OR NULL),"
            f" COUNT(u.checkins_closed != 0 OR NULL) FROM users u WHERE {self._who}",
            self._params,
        )
        assert row is not None
        return UserCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def _count_by(self, column: str) -> dict[str | None, int]:
        """Applicants per value of one users column (a fixed name, never user input)."""
        rows = await self.db.fetchall(
            f"SELECT u.{column}, COUNT(*) FROM users u WHERE {self._who} GROUP BY u.{column}",
            self._params,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def by_stage(self) -> dict[str | None, int]:
        """Users per stage id (None: not given yet)."""
        return await self._count_by("stage")

    async def by_county(self) -> dict[str | None, int]:
        """Users per county id (None: not given yet)."""
        return await self._count_by("county")

    async def by_field(self) -> dict[str | None, int]:
        """Users per business field id (None: not given yet)."""
        return await self._count_by("field")

    async def latest_statuses(self) -> dict[str, int]:
        """Users per latest check-in status; 'none' for users with no answer yet."""
        rows = await self.db.fetchall(
            f"SELECT {STATUS} AS s, COUNT(*) FROM {USERS_WITH_LATEST} WHERE {self._who}"
            " GROUP BY s",
            self._params,
        )
        return {row[0]: int(row[1]) for row in rows}

    async def status_by_field(self) -> dict[str | None, dict[str, int]]:
        """{field id: {latest status: users}}, 'none' for users with no answer yet."""
        rows = await self.db.fetchall(
            f"SELECT u.field, {STATUS} AS s, COUNT(*) FROM {USERS_WITH_LATEST}"
            f" WHERE {self._who} GROUP BY u.field, s",
            self._params,
        )
        return _nested(rows)

    async def status_by_loan_on(self) -> dict[str, dict[str, int]]:
        """{ISO loan date: {latest status: users}} for users with a loan date."""
        rows = await self.db.fetchall(
            f"SELECT u.loan_on, {STATUS} AS s, COUNT(*) FROM {USERS_WITH_LATEST}"
            f" WHERE u.loan_on IS NOT NULL AND {self._who} GROUP BY u.loan_on, s",
            self._params,
        )
        return _nested(rows)

    async def status_by_loan_cohort(self) -> dict[tuple[int, int] | None, dict[str, int]]:
        """{Solar Hijri (year, month) of the loan: {latest status: users}}; None: bad date."""
        out: dict[tuple[int, int] | None, dict[str, int]] = {}
        for loan_on, counts in (await self.status_by_loan_on()).items():
            bucket = out.setdefault(loan_cohort(loan_on), {})
            for status, n in counts.items():
                bucket[status] = bucket.get(status, 0) + n
        return out

    async def round_counts(self) -> RoundCounts:
        """Check-in rounds answered, expired without an answer and still open."""
        row = await self.db.fetchone(
            "SELECT COUNT(r.status = 'answered' OR NULL),"
            " COUNT(r.status = 'no_answer' OR NULL), COUNT(r.status = 'open' OR NULL)"
            f" FROM checkin_rounds r JOIN users u ON u.id = r.user_pk WHERE {self._who}",
            self._params,
        )
        assert row is not None
        return RoundCounts(int(row[0]), int(row[1]), int(row[2]))

    async def survival(
        self, now: dt.datetime, horizons: Iterable[int] = SURVIVAL_MONTHS
    ) -> tuple[Survival, ...]:
        """Survival after the loan, per horizon of M months.

        Let *today* be the Tehran calendar date of ``now`` and *cutoff* the same day M
        Gregorian calendar months earlier (clamped to the month's end). ``eligible`` counts
        users whose ``loan_on`` is on or before the cutoff (the loan is at least M months
        old). ``operating`` counts those of them whose latest check-in answer (highest
        answered_at, then highest id) has status 'operating' or 'problems': still running,
        possibly with difficulties. Everybody else eligible counts against survival:
        latest status paused, closed or no_answer, or no answer at all (``unknown``, shown
        separately). Unreachable people and people who stopped messages stay counted.
        """
        return survival_from(await self.status_by_loan_on(), tehran_today(now), horizons)

    async def snapshot(self, now: dt.datetime) -> ReportData:
        """Run every aggregate query once and bundle the results."""
        by_loan_on = await self.status_by_loan_on()
        return ReportData(
            generated_at=now,
            users=await self.user_counts(),
            by_stage=await self.by_stage(),
            by_county=await self.by_county(),
            status_by_field=await self.status_by_field(),
            status_by_loan_on=by_loan_on,
            rounds=await self.round_counts(),
            survival=survival_from(by_loan_on, tehran_today(now)),
        )

    # ----------------------------------------------------------------- export rows

    def _owned(self, user_pk: str) -> str:
        """SQL: `` AND`` the row's person (column ``user_pk``) is in the scope; nothing when
        unscoped. One primary-key lookup per row, never a set of every id in the scope."""
        if not self._where:
            return ""
        return f" AND EXISTS (SELECT 1 FROM users u WHERE u.id = {user_pk}{self._where})"

    async def _pages(
        self, sql: str, columns: Sequence[str], key: Sequence[str], page_size: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Keyset-paged rows of ``sql`` (which takes the last key, the scope's counties and a
        limit) as dicts."""
        positions = [columns.index(k) for k in key]
        last: tuple[Any, ...] = (-1,) + ("",) * (len(key) - 1)
        while True:
            rows = await self.db.fetchall(sql, (*last, *self._params, page_size))
            for row in rows:
                yield dict(zip(columns, row, strict=True))
            if len(rows) < page_size:
                return
            last = tuple(rows[-1][i] for i in positions)

    async def applicants(self, page_size: int = PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every applicant with profile, milestones and latest check-in status, by id."""
        sql = (
            "SELECT u.id, u.platform, u.user_id, u.lang, u.full_name, u.mobile, u.national_code,"
            " u.county, u.field, u.stage, u.profile_done, u.proactive, u.unreachable_at,"
            " u.consent_at, u.created_at, u.updated_at, u.permit_on, u.loan_on,"
            " u.operating_since, u.next_checkin_at, u.paused_until, u.checkins_closed,"
            f" {STATUS} AS latest_status, a.answered_at AS latest_answered_at"
            f" FROM {USERS_WITH_LATEST} WHERE u.id > ? AND {self._who} ORDER BY u.id LIMIT ?"
        )
        async for row in self._pages(sql, APPLICANT_COLUMNS, ("id",), page_size):
            yield row

    async def step_progress(self, page_size: int = PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every step started, by user and step id."""
        sql = (
            "SELECT user_pk, step_id, started_at, done_on, done_at, help_at, nudges_sent,"
            " last_nudge_at FROM step_progress p WHERE (user_pk, step_id) > (?, ?)"
            f"{self._owned('p.user_pk')} ORDER BY user_pk, step_id LIMIT ?"
        )
        async for row in self._pages(sql, STEP_COLUMNS, ("user_pk", "step_id"), page_size):
            yield row

    async def checkins(self, page_size: int = PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every check-in answer with its round (round columns empty without one), by id."""
        sql = (
            "SELECT a.id, a.user_pk, a.round_id, a.status, a.detail, a.answered_at,"
            " r.status, r.due_at, r.sent_at, r.reminders_sent, r.closed_at"
            " FROM checkin_answers a LEFT JOIN checkin_rounds r ON r.id = a.round_id"
            f" WHERE a.id > ?{self._owned('a.user_pk')} ORDER BY a.id LIMIT ?"
        )
        async for row in self._pages(sql, CHECKIN_COLUMNS, ("id",), page_size):
            yield row

    async def followups(self, page_size: int = PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every staff follow-up with the person's name, mobile and county, by id."""
        sql = (
            "SELECT f.id, f.user_pk, u.full_name, u.mobile, u.county, f.kind, f.status,"
            " f.detail, f.created_at, f.closed_at"
            " FROM followups f LEFT JOIN users u ON u.id = f.user_pk"
            f" WHERE f.id > ?{self._where} ORDER BY f.id LIMIT ?"
        )
        async for row in self._pages(sql, FOLLOWUP_COLUMNS, ("id",), page_size):
            yield row

    async def tickets(self, page_size: int = PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every support ticket with its message counts and first question, by id."""
        sql = (
            "SELECT t.id, t.platform, t.user_pk, t.kind, t.followup_id, t.status, t.created_at,"
            " t.closed_at, t.closed_by,"
            " (SELECT COUNT(*) FROM ticket_messages m WHERE m.ticket_id = t.id"
            "  AND m.direction = 'in'),"
            " (SELECT COUNT(*) FROM ticket_messages m WHERE m.ticket_id = t.id"
            "  AND m.direction = 'out'),"
            " (SELECT m.text FROM ticket_messages m WHERE m.ticket_id = t.id"
            "  AND m.direction = 'in' ORDER BY m.id LIMIT 1)"
            f" FROM tickets t WHERE t.id > ?{self._owned('t.user_pk')} ORDER BY t.id LIMIT ?"
        )
        async for row in self._pages(sql, TICKET_COLUMNS, ("id",), page_size):
            yield row
