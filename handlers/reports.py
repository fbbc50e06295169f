"""/stats (staff): figures and a chart; /export (staff): the tables as XLSX and CSV documents;
both of the member's counties only when they are county-scoped (/scope)."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path

from telegram import InputFile, InputMediaDocument
from telegram.constants import ChatAction

from bot.core.jalali import format_date
from bot.repo.staff import StaffRepo
from bot.staffdesk.figures import export_base_name, export_files, gather_stats, stats_report
from handlers.registry import Registry
from handlers.turn import Turn

__all__ = ["export", "export_files", "gather_stats", "register", "send_files", "stats_report"]


async def show_stats(turn: Turn) -> None:
    """/stats: the figures (of the member's counties, when they have some), then the chart."""
    scope = await StaffRepo(turn.svc.db).scope(turn.platform, turn.user.user_id)
    texts, chart = await stats_report(turn.svc, turn.lang, scope=scope)
    for text in texts:
        await turn.say(text)
    await turn.send_photo(chart, caption=turn.t("reports.chart_caption"))


async def export(turn: Turn) -> None:
    """/export: every table (rows of the member's counties, when they have some) as one message
    (an album, or an archive); recorded in the audit log."""
    await turn.context.bot.send_chat_action(turn.user.chat_id, ChatAction.UPLOAD_DOCUMENT)
    staff = StaffRepo(turn.svc.db)
    scope = await staff.scope(turn.platform, turn.user.user_id)
    with tempfile.TemporaryDirectory(prefix="homebiz-export-") as tmp:
        base = Path(tmp) / export_base_name(turn.svc.clock.now())
        paths = await export_files(turn.svc, base, turn.lang, scope)
        when = format_date(dt.datetime.now(dt.UTC), turn.lang)
        caption = turn.t("reports.export_done", count=len(paths), date=when)
        await send_files(turn, paths, caption)
    detail: dict[str, object] = {"files": [p.name for p in paths]}
    if scope.counties is not None:
        detail["counties"] = sorted(scope.counties)
    await staff.audit(turn.platform, turn.user.user_id, "export_taken", detail, turn.now)


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
    """Add /stats and /export for staff (a scoped member's cover their counties)."""
    reg.staff_command("stats", show_stats, role="staff")
    reg.staff_command("export", export, role="staff")
