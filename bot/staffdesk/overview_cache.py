"""The overview's groups, read in the background on the read-only connection and kept for a
short while: a page is answered from what is kept (a staff member sees when it was read), and
a stale copy is served while a fresh one is read. One read serves every county scope."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.db.engine import Reads
from bot.entry.services import Services
from bot.repo.overview import OverviewRepo
from bot.repo.reports import SURVIVAL_MONTHS
from bot.repo.roster_figures import RosterFiguresRepo
from bot.rules.roster_survival import loan_days
from bot.rules.scope import Scope
from bot.staffdesk.overview import (
    Overview,
    OverviewData,
    RosterCells,
    build_overview,
    cohort_starts,
    solar_months,
    survival_cutoffs,
)

__all__ = ["FRESH_FOR", "OverviewCache", "gather_overview"]

log = logging.getLogger(__name__)
#: Seconds the figures are served as they are; after that a page starts a fresh read.
FRESH_FOR = 300.0
#: How long a page waits for a first read before saying the figures are on their way.
FIRST_WAIT = 0.5
#: Scopes whose built overview is kept per read (staff share a handful of scopes).
MAX_SCOPES = 64


async def gather_overview(db: Reads, svc: Services) -> OverviewData:
    """Every county's groups, now: a handful of GROUP BY passes on ``db`` (the reader)."""
    now = svc.clock.now()
    repo = OverviewRepo(db)
    starts = cohort_starts(await repo.loan_span())
    applicants = await repo.applicants(starts, survival_cutoffs(now, SURVIVAL_MONTHS))
    months = solar_months(now)
    bounds = [m.start for m in months]
    roster = None
    lists = RosterFiguresRepo(db)
    if await lists.has_rows():
        calendar = await asyncio.to_thread(loan_days, await lists.loan_days(), now)
        reach = tuple(await lists.reach(calendar))
        statuses = tuple(await lists.statuses(calendar))
        roster = RosterCells(calendar.horizons, reach, statuses)
    return OverviewData(
        generated_at=now,
        horizons=SURVIVAL_MONTHS,
        applicants=tuple(applicants),
        rounds=tuple(await repo.rounds()),
        steps=tuple(await repo.open_steps()),
        months=months,
        joined=tuple(await repo.joined(bounds)),
        answers=tuple(await repo.answers(bounds)),
        roster=roster,
    )


class OverviewCache:
    """The latest groups, when they were read, and the read under way (at most one)."""

    def __init__(
        self, svc: Services, fresh_for: float = FRESH_FOR, first_wait: float = FIRST_WAIT
    ) -> None:
        """Nothing read yet."""
        self.svc, self.fresh_for, self.first_wait = svc, fresh_for, first_wait
        self.data: OverviewData | None = None
        self._read_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._built: dict[Scope, Overview] = {}

    @property
    def stale(self) -> bool:
        """Whether the kept groups are missing or older than ``fresh_for``."""
        return self.data is None or time.monotonic() - self._read_at >= self.fresh_for

    def refresh(self) -> asyncio.Task[None]:
        """Start a read unless one is under way; the task reading."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._read(), name="overview-read")
        return self._task

    async def _read(self) -> None:
        """Read every group and keep them; a failure keeps what was there (logged once)."""
        try:
            data = await gather_overview(self.svc.db.reader(), self.svc)
        except Exception as exc:  # the page says the figures are not ready; the next retries
            log.error("overview: reading the figures failed: %s", type(exc).__name__)
            return
        self.data, self._read_at, self._built = data, time.monotonic(), {}

    def forget(self) -> None:
        """Drop what is kept (the next page reads again)."""
        self.data, self._built = None, {}

    async def overview(self, scope: Scope) -> Overview | None:
        """The overview of ``scope`` from the kept groups (starting a fresh read when they are
        stale); None while the first read takes longer than ``first_wait``."""
        if self.stale:
            task = self.refresh()
            if self.data is None:
                await asyncio.wait({task}, timeout=self.first_wait)
        data = self.data
        if data is None:
            return None
        built = self._built.get(scope)
        if built is None:
            built = await asyncio.to_thread(build_overview, data, scope, self.svc.content)
            if self.data is data:
                if len(self._built) >= MAX_SCOPES:
                    self._built.clear()
                self._built[scope] = built
        return built

    async def close(self) -> None:
        """Stop a read under way."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
