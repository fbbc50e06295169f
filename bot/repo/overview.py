"""Read-only SQL for the staff console's overview: every figure as groups that carry their
county, so that one pass over the data serves every staff member's county scope (Python adds up
the groups of the counties a scope allows; bot.staffdesk.overview).

Each method is one GROUP BY over the applicants (never staff or visitors: bot.repo.reports
APPLICANT), run on the read-only companion connection; the applicants' latest check-in answer
is found as /stats finds it (bot.repo.reports USERS_WITH_LATEST).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.db.engine import Reads
from bot.repo.reports import APPLICANT, STATUS, USERS_WITH_LATEST

__all__ = [
    "AnswerCell",
    "ApplicantCell",
    "JoinedCell",
    "OverviewRepo",
    "RoundCell",
    "StepCell",
]

#: Tehran's offset from UTC in seconds (+03:30 all year since 2022): the day a step started.
TEHRAN_OFFSET = 12_600


@dataclass(frozen=True)
class ApplicantCell:
    """Applicants sharing county, field, stage, loan cohort and latest check-in status;
    ``eligible[i]`` counts those whose loan is on or before survival cutoff i."""

    county: str | None
    field: str | None
    stage: str | None
    cohort: int | None
    status: str
    people: int
    unreachable: int
    stopped: int
    eligible: tuple[int, ...]


@dataclass(frozen=True)
class RoundCell:
    """Check-in rounds of one county's applicants: answered, expired unanswered, still open."""

    county: str | None
    answered: int
    no_answer: int
    open: int


@dataclass(frozen=True)
class StepCell:
    """Steps started and not done, per step, county and the Tehran day number they started."""

    step_id: str
    county: str | None
    day: int
    people: int


@dataclass(frozen=True)
class JoinedCell:
    """Applicants of one county who agreed to the privacy notice in month ``month``."""

    county: str | None
    month: int
    people: int


@dataclass(frozen=True)
class AnswerCell:
    """Check-in answers of one county's applicants in month ``month``, with one status."""

    county: str | None
    month: int
    status: str
    answers: int


def _ranges(column: str, first: int, bounds: Sequence[object]) -> str:
    """SQL: the index of the last bound ``column`` reaches (bounds ascending, parameters
    ?first…), NULL below the first one: one CASE evaluated per row, newest bound first."""
    if not bounds:
        return "NULL"
    whens = "".join(
        f" WHEN {column} >= ?{first + i} THEN {i}" for i in reversed(range(len(bounds)))
    )
    return f"CASE{whens} ELSE NULL END"


class OverviewRepo:
    """The overview's groups, each carrying its county."""

    def __init__(self, db: Reads) -> None:
        """Query this database (the console passes the read-only companion)."""
        self.db = db

    async def loan_span(self) -> tuple[str, str] | None:
        """The first and last loan day (ISO text) of any applicant; None without loans."""
        row = await self.db.fetchone(
            f"SELECT MIN(u.loan_on), MAX(u.loan_on) FROM users u"
            f" WHERE u.loan_on IS NOT NULL AND {APPLICANT}"
        )
        return (str(row[0]), str(row[1])) if row and row[0] is not None else None

    async def applicants(
        self, cohort_starts: Sequence[tuple[str, int]], cutoffs: Sequence[str]
    ) -> list[ApplicantCell]:
        """One pass over the applicants with their latest answer: head counts per county,
        field, stage, latest status and loan cohort (``cohort_starts``: (first ISO day, key),
        oldest first), and per survival cutoff how many have a loan on or before it."""
        keys = [key for _, key in cohort_starts]
        cohort = _ranges("u.loan_on", 1, cohort_starts)
        first = len(cohort_starts) + 1
        eligible = "".join(
            f", COUNT(u.loan_on <= ?{first + i} OR NULL)" for i in range(len(cutoffs))
        )
        rows = await self.db.fetchall(
            f"SELECT u.county, u.field, u.stage, {cohort} AS k, {STATUS} AS s, COUNT(*),"
            " COUNT(u.unreachable_at), COUNT(u.proactive = 0 OR NULL)"
            f"{eligible} FROM {USERS_WITH_LATEST} WHERE {APPLICANT}"
            " GROUP BY u.county, u.field, u.stage, k, s",
            (*(day for day, _ in cohort_starts), *cutoffs),
        )
        return [
            ApplicantCell(
                r[0],
                r[1],
                r[2],
                None if r[3] is None else keys[int(r[3])],
                str(r[4]),
                int(r[5]),
                int(r[6]),
                int(r[7]),
                tuple(int(v) for v in r[8:]),
            )
            for r in rows
        ]

    async def rounds(self) -> list[RoundCell]:
        """Check-in rounds per county: answered, expired without an answer, still open."""
        rows = await self.db.fetchall(
            "SELECT u.county, COUNT(r.status = 'answered' OR NULL),"
            " COUNT(r.status = 'no_answer' OR NULL), COUNT(r.status = 'open' OR NULL)"
            f" FROM checkin_rounds r JOIN users u ON u.id = r.user_pk WHERE {APPLICANT}"
            " GROUP BY u.county"
        )
        return [RoundCell(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def open_steps(self) -> list[StepCell]:
        """Steps started and not done, per step, county and Tehran day they started."""
        rows = await self.db.fetchall(
            f"SELECT p.step_id, u.county, (p.started_at + {TEHRAN_OFFSET}) / 86400 AS d,"
            " COUNT(*) FROM step_progress p JOIN users u ON u.id = p.user_pk"
            f" WHERE p.done_at IS NULL AND {APPLICANT} GROUP BY p.step_id, u.county, d"
        )
        return [StepCell(str(r[0]), r[1], int(r[2]), int(r[3])) for r in rows]

    async def joined(self, month_starts: Sequence[int]) -> list[JoinedCell]:
        """Applicants per county and month (index into ``month_starts``, Unix seconds, oldest
        first) they agreed to the privacy notice, from the first month on."""
        month = _ranges("u.consent_at", 1, month_starts)
        rows = await self.db.fetchall(
            f"SELECT u.county, {month} AS m, COUNT(*) FROM users u"
            f" WHERE u.consent_at >= ?1 AND {APPLICANT} GROUP BY u.county, m",
            tuple(month_starts),
        )
        return [JoinedCell(r[0], int(r[1]), int(r[2])) for r in rows]

    async def answers(self, month_starts: Sequence[int]) -> list[AnswerCell]:
        """Check-in answers per county, month (as in ``joined``) and status."""
        month = _ranges("a.answered_at", 1, month_starts)
        rows = await self.db.fetchall(
            f"SELECT u.county, {month} AS m, a.status, COUNT(*)"
            " FROM checkin_answers a JOIN users u ON u.id = a.user_pk"
            f" WHERE a.answered_at >= ?1 AND {APPLICANT} GROUP BY u.county, m, a.status",
            tuple(month_starts),
        )
        return [AnswerCell(r[0], int(r[1]), str(r[2]), int(r[3])) for r in rows]
