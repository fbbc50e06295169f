"""The broadcast monitor: starts scheduled broadcasts, queues them in chunks, keeps status
messages current, reports the end.

Queueing (and tidying a cancelled broadcast's rows) is audience-sized work: it runs in one
background task per platform, chunk by chunk, each chunk a short transaction of its own, so the
bot answers everyone meanwhile. A launch wakes it; each tick wakes it too, so work left by a
restart (a broadcast still 'queueing') goes on where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import replace

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.core.i18n import I18n
from bot.core.jalali import format_datetime
from bot.core.text import localize_digits, normalize_input, progress_bar, to_latin_digits
from bot.core.validators import ValidationError, parse_jalali_datetime
from bot.entry.services import Services
from bot.repo.broadcasts import (
    CANCELLED,
    DONE,
    QUEUED,
    QUEUEING,
    SCHEDULED,
    Broadcast,
    BroadcastRepo,
    Figures,
)

log = logging.getLogger(__name__)
STATUS_SECONDS = 5
MAX_AHEAD = 60 * 24 * 3600  # a broadcast may be scheduled up to 60 days ahead
_RELATIVE = re.compile(
    r"(?:in\s+)?(?P<n>\d{1,5})\s*"
    r"(?P<unit>h|hr|hrs|hours?|m|min|mins|minutes?|ساعت|دقیقه)"
    r"(?:\s+(?:later|دیگر|بعد))?"
)


def parse_when(text: str, now: dt.datetime) -> int:
    """ "1405/09/10 14:30" (Tehran), "in 3 hours", "۳ ساعت دیگر", "3h", "90 min" → Unix time."""
    clean = to_latin_digits(normalize_input(text)).strip().lower()
    match = _RELATIVE.fullmatch(clean)
    if match:
        n = int(match["n"])
        hours = match["unit"] in ("h", "hr", "hrs", "hour", "hours", "ساعت")
        seconds = n * (3600 if hours else 60)
        if seconds < 60:
            raise ValidationError("datetime.past")
        when = int(now.timestamp()) + seconds
    else:
        when = int(parse_jalali_datetime(text, now=now).timestamp())
    if when - int(now.timestamp()) > MAX_AHEAD:
        raise ValidationError("broadcast.too_far")
    return when


def when_text(i18n: I18n, lang: str, ts: int) -> str:
    """A moment as the staff member reads it (Solar Hijri, Tehran time)."""
    return format_datetime(dt.datetime.fromtimestamp(ts, dt.UTC), lang)


def status_text(i18n: I18n, lang: str, b: Broadcast, f: Figures, state: str) -> str:
    """The status message: a title for ``state`` then the figures (``Broadcast.outlook``:
    recipients not queued yet count as remaining) with a progress bar."""
    title = i18n.t(
        lang, f"broadcast.status.{state}", id=b.id, when=when_text(i18n, lang, b.send_at)
    )
    body = i18n.t(
        lang,
        "broadcast.status.figures",
        bar=progress_bar(f.finished, f.rows, width=10),
        done=f.finished,
        total=f.rows,
        sent=f.sent,
        failed=f.failed,
        unreachable=f.unreachable,
        stopped=f.stopped,
        cancelled=f.cancelled,
        remaining=f.remaining,
    )
    return f"{title}\n{body}"


def messenger_line(i18n: I18n, lang: str, per: dict[str, tuple[int, int]]) -> str:
    """ "Per messenger: Telegram 120 of 125 · Bale 80 of 80" for a final report."""
    parts = " · ".join(
        i18n.t(
            lang,
            "broadcast.sent_on_messenger",
            messenger=i18n.t(lang, f"broadcast.platform.{name}"),
            sent=localize_digits(str(sent), lang),
            total=localize_digits(str(total), lang),
        )
        for name, (sent, total) in sorted(per.items())
    )
    return i18n.t(lang, "broadcast.by_messenger", parts=parts)


def cancel_markup(i18n: I18n, lang: str, bid: int) -> InlineKeyboardMarkup:
    """The Cancel button of a running or scheduled broadcast."""
    label = i18n.t(lang, "broadcast.btn_cancel_bc", id=bid)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"bc:c:{bid}")]])


class BroadcastMonitor:
    """One platform's broadcasts: start the due ones, queue them, edit their status, report."""

    def __init__(
        self,
        bot: Bot,
        svc: Services,
        platform: str,
        on_queued: Callable[[], None] | None = None,
        leads: Callable[[], bool] | None = None,
    ) -> None:
        """Bind to a Bot and the shared services; ``on_queued`` is called when rows went in
        (the outbox sender's notify); ``leads`` says whether this replica leads the platform's
        ticks (only the leader queues and edits status messages; None: always)."""
        self.bot, self.svc, self.platform = bot, svc, platform
        self.on_queued = on_queued
        self.leads = leads or (lambda: True)
        self.shown: dict[int, str] = {}
        self._worker: asyncio.Task[None] | None = None
        self._again = False

    async def job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The JobQueue callback: one tick on the leading replica, never raising."""
        if not self.leads():
            return
        try:
            await self.tick()
        except Exception:
            log.exception("%s: broadcast monitor failed; the next tick tries again", self.platform)

    async def tick(self) -> None:
        """Visit every running broadcast once, then make sure queueing work goes on."""
        repo = BroadcastRepo(self.svc.db)
        for b in await repo.running(self.platform):
            try:
                await self._visit(repo, b)
            except Exception:
                log.exception("%s: broadcast %d status update failed", self.platform, b.id)
        self.wake()

    async def _visit(self, repo: BroadcastRepo, b: Broadcast) -> None:
        """Start a due scheduled broadcast; edit its status if it changed; finish it at the end."""
        now = self.svc.clock.timestamp()
        if b.status == SCHEDULED:
            if b.send_at > now:
                return
            if await repo.start(b.id):
                b = replace(b, status=QUEUEING)
        if b.status == QUEUED and b.figures.remaining == 0:
            if await repo.finish(b.id, now):
                await self._finish(b)
            return
        text = status_text(self.svc.i18n, b.staff_lang, b, b.outlook, "running")
        if self.shown.get(b.id) != text:
            await edit_status(self.bot, b, text, cancel_markup(self.svc.i18n, b.staff_lang, b.id))
            self.shown[b.id] = text

    async def _finish(self, b: Broadcast) -> None:
        """The final figures on the status message, and a report message under it."""
        self.shown.pop(b.id, None)
        text = status_text(self.svc.i18n, b.staff_lang, b, b.figures, DONE)
        await edit_status(self.bot, b, text, None)
        if b.status_chat_id is None:
            return
        if len(b.audience.get("platform") or ()) > 1:
            per = await BroadcastRepo(self.svc.db).sent_by_messenger(b.id)
            text += "\n" + messenger_line(self.svc.i18n, b.staff_lang, per)
        try:
            await self.bot.send_message(b.status_chat_id, text)
        except TelegramError as exc:
            log.info("broadcast %d: final report not sent: %s", b.id, exc)

    # --- audience-sized work, in the background ------------------------------------------
    def wake(self) -> None:
        """Queue (and tidy) now in the background; a worker already at it looks again. Not
        on a replica that does not lead the ticks: the leader's next tick does it."""
        if not self.leads():
            return
        if self._worker is not None and not self._worker.done():
            self._again = True
            return
        self._worker = asyncio.create_task(self._work_logged())

    async def _work_logged(self) -> None:
        """The background task: ``work``, its failure logged (the next tick tries again)."""
        try:
            await self.work()
        except Exception:
            log.exception("%s: broadcast queueing failed; the next tick goes on", self.platform)

    async def work(self) -> int:
        """Queue every queueing broadcast chunk by chunk, then cancel the pending rows of
        cancelled ones, until none is left; how many rows were queued."""
        repo = BroadcastRepo(self.svc.db)
        added = 0
        while True:
            self._again = False
            found = await repo.queueing(self.platform)
            for bid in found:
                now = self.svc.clock.timestamp()
                added += await repo.fill(bid, now, on_chunk=self._queued)
            await repo.cancel_rows(self.platform)
            if not found and not self._again:
                return added

    def _queued(self, rows: int) -> None:
        """A chunk of rows is in: they are due, so wake the sender."""
        if self.on_queued is not None:
            self.on_queued()

    async def idle(self) -> None:
        """Wait until the background work (if any) has finished."""
        while self._worker is not None and not self._worker.done():
            await asyncio.wait([self._worker])

    async def stop(self) -> None:
        """Stop the background work (a chunk under way is rolled back; a restart redoes it)."""
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def edit_status(
    bot: Bot, b: Broadcast, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit a broadcast's status message; an unchanged or vanished message is fine."""
    if b.status_chat_id is None or b.status_message_id is None:
        return
    try:
        await bot.edit_message_text(
            text, chat_id=b.status_chat_id, message_id=b.status_message_id, reply_markup=markup
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("broadcast %d: status message not edited: %s", b.id, exc)
    except TelegramError as exc:
        log.info("broadcast %d: status message not edited: %s", b.id, exc)


async def show_cancelled(bot: Bot, svc: Services, b: Broadcast, f: Figures) -> None:
    """Put the cancelled figures on a broadcast's status message, without its button."""
    await edit_status(bot, b, status_text(svc.i18n, b.staff_lang, b, f, CANCELLED), None)


def start_monitor(
    app: Application,
    on_queued: Callable[[], None] | None = None,
    leads: Callable[[], bool] | None = None,
) -> BroadcastMonitor:
    """Create the platform's monitor and run it every few seconds on the JobQueue."""
    monitor = BroadcastMonitor(
        app.bot, app.bot_data["services"], app.bot_data["platform"], on_queued, leads
    )
    if app.job_queue is not None:
        app.job_queue.run_repeating(monitor.job, interval=STATUS_SECONDS, first=STATUS_SECONDS)
    return monitor
