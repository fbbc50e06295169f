"""The staff figures and exports for one staff member's county scope, read through the
read-only companion connection: what /stats, /roster stats, /export and the console share."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.core.jalali import format_date
from bot.entry.services import Services
from bot.repo.reports import ReportRepo
from bot.repo.roster_figures import RosterFiguresRepo
from bot.rules.roster_survival import loan_days
from bot.rules.scope import EVERYWHERE, Scope
from bot.staffdesk.charts import render_status_chart
from bot.staffdesk.export import export_paths, write_export
from bot.staffdesk.export_sheets import SHEET_NAMES
from bot.staffdesk.reports import Stats, build_stats, format_stats, scope_line
from bot.staffdesk.roster_report import RosterFigures, build_roster_figures
from bot.staffdesk.roster_text import format_survival, survival_panel

__all__ = ["export_base_name", "export_files", "gather_roster", "gather_stats", "stats_report"]


def export_base_name(now: dt.datetime) -> str:
    """An export's file name without its ending: "homebiz-1405-09-08" (the Tehran day)."""
    return "homebiz-" + format_date(now, "en").split(" ")[0].replace("/", "-")


async def gather_stats(svc: Services, scope: Scope = EVERYWHERE) -> Stats:
    """The labelled figures of the applicants in ``scope``'s counties."""
    data = await ReportRepo(svc.db.reader(), scope).snapshot(svc.clock.now())
    return build_stats(data, svc.content, svc.i18n, scope)


async def gather_roster(
    svc: Services, scope: Scope = EVERYWHERE, *, survival: bool = True
) -> RosterFigures | None:
    """The roster's figures now over the people of ``scope``'s counties, or None when the list
    is empty (reports then stay as before); without ``survival`` only who was invited, reached
    and linked (the console's roster page: one pass over the list, no check-in answers read).
    The repository's groups carry their county, so a scope keeps its own groups and adds up
    only those."""
    repo = RosterFiguresRepo(svc.db.reader())
    if not await repo.has_rows():
        return None
    now = svc.clock.now()
    # A few thousand loan days' windows, and adding up a few thousand groups: Python work of
    # tens of milliseconds each, done off the event loop so that no reply waits for it.
    calendar = await asyncio.to_thread(loan_days, await repo.loan_days(), now)
    reach = [c for c in await repo.reach(calendar) if scope.allows(c.county)]
    statuses = (
        [c for c in await repo.statuses(calendar) if scope.allows(c.county)] if survival else []
    )
    return await asyncio.to_thread(
        build_roster_figures, now, reach, statuses, svc.content, calendar.horizons
    )


async def stats_report(
    svc: Services, lang: str, *, chart: bool = True, scope: Scope = EVERYWHERE
) -> tuple[list[str], bytes]:
    """The figures as messages and (when asked) a PNG chart; with a roster, survival over the
    whole list follows the applicants' figures, and the chart shows both of its rates. A
    county-scoped report says so at the top of its messages."""
    stats = await gather_stats(svc, scope)
    roster = await gather_roster(svc, scope)
    texts = [format_stats(stats, svc.content, lang, scope)]
    panel = None
    if roster is not None:
        blocks = format_survival(roster, svc.content, svc.i18n, lang)
        scoped = scope_line(scope, svc.content, lang)
        if scoped and blocks:
            blocks[0] = f"{scoped}\n{blocks[0]}"
        texts += blocks
        panel = survival_panel(roster, svc.i18n, lang)
    png = await asyncio.to_thread(render_status_chart, stats, lang, panel) if chart else b""
    return texts, png


async def export_files(
    svc: Services,
    base: Path,
    lang: str,
    scope: Scope = EVERYWHERE,
    *,
    workbook: bool = True,
    tables: bool = True,
) -> list[Path]:
    """Write ``base``.xlsx and/or ``base``-<table>.csv (rows of ``scope``'s counties) in one
    pass; their paths."""
    book, csvs = export_paths(base, SHEET_NAMES)
    return await write_export(
        ReportRepo(svc.db.reader(), scope),
        content=svc.content,
        i18n=svc.i18n,
        lang=lang,
        workbook=book if workbook else None,
        csvs=csvs if tables else None,
    )
