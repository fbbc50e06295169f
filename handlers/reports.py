"""/stats (staff): figures and a chart; /export (admins): the tables as XLSX and CSV documents."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path

from telegram import InputFile

from bot.charts import render_status_chart
from bot.export import write_csv, write_xlsx
from bot.jalali import format_date
from bot.repo.reports import ReportRepo
from bot.repo.staff import StaffRepo
from bot.reports import build_stats, format_stats
from bot.services import Services
from handlers.registry import Registry
from handlers.turn import Turn


async def stats_text(svc: Services, lang: str) -> tuple[str, bytes]:
    """The figures as a message and as a PNG chart."""
    data = await ReportRepo(svc.db).snapshot(svc.clock.now())
    stats = build_stats(data, svc.content, svc.i18n)
    chart = await asyncio.to_thread(render_status_chart, stats, lang)
    return format_stats(stats, svc.content, lang), chart


async def show_stats(turn: Turn) -> None:
    """/stats: the figures, then the chart."""
    text, chart = await stats_text(turn.svc, turn.lang)
    await turn.say(text)
    await turn.context.bot.send_photo(
        chat_id=turn.user.chat_id,
        photo=InputFile(chart, filename="stats.png"),
        caption=turn.t("reports.chart_caption"),
    )


async def export_files(svc: Services, directory: Path, lang: str) -> list[Path]:
    """Write the workbook and the CSVs into a directory."""
    repo = ReportRepo(svc.db)
    stamp = format_date(svc.clock.now(), "en").split(" ")[0].replace("/", "-")
    workbook = await write_xlsx(
        repo, directory / f"homebiz-{stamp}.xlsx", content=svc.content, lang=lang
    )
    csvs = await write_csv(repo, directory, content=svc.content, lang=lang)
    return [workbook, *csvs]


async def export(turn: Turn) -> None:
    """/export: every table as documents in this chat; recorded in the audit log."""
    await turn.say(turn.t("reports.export_started"))
    with tempfile.TemporaryDirectory(prefix="homebiz-export-") as tmp:
        paths = await export_files(turn.svc, Path(tmp), turn.lang)
        for path in paths:
            await turn.context.bot.send_document(
                chat_id=turn.user.chat_id,
                document=InputFile(path.read_bytes(), filename=path.name),
            )
    await StaffRepo(turn.svc.db).audit(
        turn.platform,
        turn.user.user_id,
        "export_taken",
        {"files": [p.name for p in paths]},
        turn.now,
    )
    when = format_date(dt.datetime.now(dt.UTC), turn.lang)
    await turn.say(turn.t("reports.export_done", count=len(paths), date=when))


def register(reg: Registry) -> None:
    """Add /stats for staff and /export for admins."""
    reg.staff_command("stats", show_stats, role="staff")
    reg.staff_command("export", export, role="admin")
