"""The broadcast monitor: starts scheduled broadcasts, keeps status messages current, reports."""

from __future__ import annotations

import datetime as dt
import logging
import re

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ContextTypes

from bot.i18n import I18n
from bot.jalali import format_datetime
from bot.repo.broadcasts import CANCELLED, DONE, SCHEDULED, Broadcast, BroadcastRepo, Figures
from bot.services import Services
from bot.text import normalize_input, progress_bar, to_latin_digits
from bot.validators import ValidationError, parse_jalali_datetime

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
    """The status message: a title for ``state`` then the figures with a progress bar."""
    title = i18n.t(
        lang, f"broadcast.status.{state}", id=b.id, when=when_text(i18n, lang, b.send_at)
    )
    total = max(b.total, f.rows)
    body = i18n.t(
        lang,
        "broadcast.status.figures",
        bar=progress_bar(f.finished, total, width=10),
        done=f.finished,
        total=total,
        sent=f.sent,
        failed=f.failed,
        unreachable=f.unreachable,
        stopped=f.stopped,
        cancelled=f.cancelled,
        remaining=f.remaining + max(0, b.total - f.rows),
    )
    return f"{title}\n{body}"


def cancel_markup(i18n: I18n, lang: str, bid: int) -> InlineKeyboardMarkup:
    """The Cancel button of a running or scheduled broadcast."""
    label = i18n.t(lang, "broadcast.btn_cancel_bc", id=bid)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"bc:c:{bid}")]])


class BroadcastMonitor:
    """One platform's broadcasts: start the due ones, edit their status, report the end."""

    def __init__(self, bot: Bot, svc: Services, platform: str) -> None:
        """Bind to a Bot and the shared services."""
        self.bot, self.svc, self.platform = bot, svc, platform
        self.shown: dict[int, str] = {}

    async def job(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The JobQueue callback: one tick, never raising."""
        try:
            await self.tick()
        except Exception:
            log.exception("%s: broadcast monitor failed; the next tick tries again", self.platform)

    async def tick(self) -> None:
        """Visit every running broadcast once."""
        repo = BroadcastRepo(self.svc.db)
        for b in await repo.running(self.platform):
            try:
                await self._visit(repo, b)
            except Exception:
                log.exception("%s: broadcast %d status update failed", self.platform, b.id)

    async def _visit(self, repo: BroadcastRepo, b: Broadcast) -> None:
        """Start a due scheduled broadcast; edit its status if it changed; finish it at the end."""
        now = self.svc.clock.timestamp()
        if b.status == SCHEDULED:
            if b.send_at > now:
                return
            await repo.start(b.id)
        f = await repo.figures(b.id)
        if f.remaining == 0 and f.rows >= b.total:
            if await repo.finish(b.id, now):
                await self._finish(b, f)
            return
        text = status_text(self.svc.i18n, b.staff_lang, b, f, "running")
        if self.shown.get(b.id) != text:
            await edit_status(self.bot, b, text, cancel_markup(self.svc.i18n, b.staff_lang, b.id))
            self.shown[b.id] = text

    async def _finish(self, b: Broadcast, f: Figures) -> None:
        """The final figures on the status message, and a report message under it."""
        self.shown.pop(b.id, None)
        text = status_text(self.svc.i18n, b.staff_lang, b, f, DONE)
        await edit_status(self.bot, b, text, None)
        if b.status_chat_id is None:
            return
        try:
            await self.bot.send_message(b.status_chat_id, text)
        except TelegramError as exc:
            log.info("broadcast %d: final report not sent: %s", b.id, exc)


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


def start_monitor(app: Application) -> BroadcastMonitor:
    """Create the platform's monitor and run it every few seconds on the JobQueue."""
    monitor = BroadcastMonitor(app.bot, app.bot_data["services"], app.bot_data["platform"])
    if app.job_queue is not None:
        app.job_queue.run_repeating(monitor.job, interval=STATUS_SECONDS, first=STATUS_SECONDS)
    return monitor
