"""The loan list in the staff console: who may import it, the invitation status by county a
staff member may see, and the rejected rows of a dry run a page at a time (no I/O but the
repository calls)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from bot.core.i18n import I18n
from bot.repo.roster_imports import ProblemRow, RosterImportRepo
from bot.roster.importer import column_label, problem_text
from bot.rules.scope import Scope
from bot.staffdesk.roster_report import Reach

__all__ = ["CountyReach", "RejectedLine", "may_import", "reach_in_scope", "rejected_page"]

#: Problems shown on one page of a dry run (a row has at most eleven).
PROBLEMS_PAGE = 50


def may_import(scope: Scope) -> bool:
    """Whether a staff member may upload and confirm a list: only one who sees every county.
    A list is checked and written as a whole: its rows add people to any county, move people
    from one county to another (an updated row) and are matched against everyone on the list
    (a national code is one person wherever they live), so a member limited to some counties
    would act on, and see the rejected rows of, counties beyond their reach."""
    return scope.everywhere


@dataclass(frozen=True)
class CountyReach:
    """Invitation status of the people of one county (None: no county on the list)."""

    county: str | None
    reach: Reach

    @property
    def not_reached(self) -> int:
        """On the list and not (yet) joined the bot."""
        return self.reach.listed - self.reach.reached


def reach_in_scope(
    by_county: Sequence[tuple[str | None, Reach]], scope: Scope
) -> tuple[list[CountyReach], CountyReach]:
    """The counties a staff member may see, and their total (nobody else's figures in it)."""
    shown = [CountyReach(county, reach) for county, reach in by_county if scope.allows(county)]
    total = Reach(*(sum(getattr(row.reach, f.name) for row in shown) for f in fields(Reach)))
    return shown, CountyReach(None, total)


@dataclass(frozen=True)
class RejectedLine:
    """One problem of a rejected row, in words."""

    line: int
    column: str
    problem: str
    value: str | None


async def rejected_page(
    repo: RosterImportRepo, import_id: int, after: int, i18n: I18n, lang: str
) -> tuple[list[RejectedLine], int | None]:
    """Problems of the rows after ``after`` (whole rows only), in words; the line to continue
    after, or None on the last page."""
    found: list[ProblemRow] = await repo.problems(import_id, after, PROBLEMS_PAGE + 1)
    page, following = found[:PROBLEMS_PAGE], None
    if len(found) > PROBLEMS_PAGE:
        if found[PROBLEMS_PAGE].line == page[-1].line:  # the last row goes on the next page
            page = [p for p in page if p.line < page[-1].line] or page
        following = page[-1].line
    lines = [
        RejectedLine(
            p.line,
            column_label(i18n, lang, p.column),
            problem_text(i18n, lang, p.code, p.arg),
            p.value,
        )
        for p in page
    ]
    return lines, following
