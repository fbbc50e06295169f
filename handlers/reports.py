"""/stats (staff): figures and a chart; /export (admins): the tables as XLSX and CSV documents."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path

from telegram import InputFile, InputMediaDocument
from telegram.constants import ChatAction

from bot.core.jalali import format_date
from bot.entry.services import Services
from bot.repo.reports import ReportRepo
from bot.repo.staff import StaffRepo
from bot.staffdesk.charts import render_status_chart
from bot.staffdesk.export import export_paths, write_export
from bot.staffdesk.export_sheets import SHEET_NAMES
from bot.staffdesk.reports import Stats, build_stats, format_stats
from bot.staffdesk.roster_text import format_survival, survival_panel
from handlers.registry import Registry
from handlers.roster_figures import gather_roster
from handlers.turn import Turn


async def gather_stats(svc: Services) -> Stats:
    """The labelled figures, read through the read-only companion connection."""
    data = await ReportRepo(svc.db.reader()).snapshot(svc.clock.now())
    return build_stats(data, svc.content, svc.i18n)


async def stats_report(svc: Services, lang: str, *, chart: bool = True) -> tuple[list[str], bytes]:
    """The figures as messages and (when asked) a PNG chart; with a roster, survival over the
    whole list follows the applicants' figures, and the chart shows both of its rates."""
    stats = await gather_stats(svc)
    roster = await gather_roster(svc)
    texts = [format_stats(stats, svc.content, lang)]
    panel = None
    if roster is not None:
        texts += format_survival(roster, svc.content, svc.i18n, lang)
        panel = survival_panel(roster, svc.i18n, lang)
    png = await asyncio.to_thread(render_status_chart, stats, lang, panel) if chart else b""
    return texts, png


async def show_stats(turn: Turn) -> None:
    """/stats: the figures, then the chart."""
    texts, chart = await stats_report(turn.svc, turn.lang)
    for text in texts:
        await turn.say(text)
    await turn.send_photo(chart, caption=turn.t("reports.chart_caption"))


async def export_files(svc: Services, base: Path, lang: str) -> list[Path]:
    """Write ``base``.xlsx and ``base``-<table>.csv in one pass; their paths."""
    workbook, csvs = export_paths(base, SHEET_NAMES)
    return await write_export(
        ReportRepo(svc.db.reader()),
        content=svc.content,
        i18n=svc.i18n,
        lang=lang,
        workbook=workbook,
        csvs=csvs,
    )


async def export(turn: Turn) -> None:
    """/export: every table as one message (an album, or an archive); recorded in the audit log."""
    await turn.context.bot.send_chat_action(turn.user.chat_id, ChatAction.UPLOAD_DOCUMENT)
    with tempfile.TemporaryDirectory(prefix="homebiz-export-") as tmp:
        stamp = format_date(turn.svc.clock.now(), "en").split(" ")[0].replace("/", "-")
        paths = await export_files(turn.svc, Path(tmp) / f"homebiz-{stamp}", turn.lang)
        when = format_date(dt.datetime.now(dt.UTC), turn.lang)
        caption = turn.t("reports.export_done", count=len(paths), date=when)
        await send_files(turn, paths, caption)
    await StaffRepo(turn.svc.db).audit(
        turn.platform,
        turn.user.user_id,
        "export_taken",
        {"files": [p.name for p in paths]},
        turn.now,
    )


async def send_files(turn: Turn, paths: list[Path], caption: str) -> None:
    """Files in one message: an album of documents, or one zip archive where albums of
    documents are not known to work (Bale documents albums of photos and videos only)."""
    await turn.flush()
    bot, chat = turn.context.bot, turn.user.chat_id
    if turn.platform == "bale" or not 2 <= len(paths) <= 10:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in paths:
                bundle.write(path, arcname=path.name)
        name = paths[0].with_suffix(".zip").name if paths else "export.zip"
        await bot.send_document(
            chat, document=InputFile(archive.getvalue(), filename=name), caption=caption
        )
        return
    media = [
        InputMediaDocument(
            InputFile(path.read_bytes(), filename=path.name, attach=True),
            caption=caption if path == paths[-1] else None,
        )
        for path in paths
    ]
    await bot.send_media_group(chat, media=media)


def register(reg: Registry) -> None:
    """Add /stats for staff and /export for admins."""
    reg.staff_command("stats", show_stats, role="staff")
    reg.staff_command("export", export, role="admin")
