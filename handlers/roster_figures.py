"""/roster stats (staff): the programme list's reach and survival figures, read through the
read-only companion connection; the same figures for /stats and the `homebiz` commands."""

from __future__ import annotations

import asyncio

from bot.entry.services import Services
from bot.repo.roster_figures import RosterFiguresRepo
from bot.rules.roster_survival import loan_days
from bot.staffdesk.roster_report import RosterFigures, build_roster_figures
from bot.staffdesk.roster_text import roster_stats_blocks
from handlers.registry import Registry
from handlers.turn import Turn


async def gather_roster(svc: Services, *, survival: bool = True) -> RosterFigures | None:
    """The roster's figures now, or None when the list is empty (reports then stay as before);
    without ``survival`` only who was invited, reached and linked (the console's roster page:
    one pass over the list, no check-in answers read)."""
    repo = RosterFiguresRepo(svc.db.reader())
    if not await repo.has_rows():
        return None
    now = svc.clock.now()
    # A few thousand loan days' windows, and adding up a few thousand groups: Python work of
    # tens of milliseconds each, done off the event loop so that no reply waits for it.
    calendar = await asyncio.to_thread(loan_days, await repo.loan_days(), now)
    reach = await repo.reach(calendar)
    statuses = await repo.statuses(calendar) if survival else []
    return await asyncio.to_thread(
        build_roster_figures, now, reach, statuses, svc.content, calendar.horizons
    )


async def roster_stats_messages(svc: Services, lang: str) -> list[str]:
    """/roster stats as messages: the reach, then survival by cohort, county and field."""
    figures = await gather_roster(svc)
    if figures is None:
        return [svc.i18n.t(lang, "roster_figures.empty")]
    return roster_stats_blocks(figures, svc.content, svc.i18n, lang)


async def show_roster_stats(turn: Turn) -> None:
    """/roster stats: the figures, as few messages as fit."""
    for block in await roster_stats_messages(turn.svc, turn.lang):
        await turn.say(block)


def register(reg: Registry) -> None:
    """Add the word "stats" to /roster."""
    reg.staff_subcommand("roster", "stats", show_roster_stats)
