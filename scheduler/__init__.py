"""Everything the bot does on its own: the minute sweep and the outbox sender.

Among replicas sharing a PostgreSQL database the once-per-tick work (the sweep, follow-up
cards, visitors' erasure, the Safir sweep, the broadcast monitor) runs on the one replica that
leads ``tick:<platform>`` (bot/db/leadership.py); every replica runs an outbox sender (its claims
skip each other's rows). On SQLite the one process leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.ext import Application, ContextTypes

from bot.db.leadership import Leadership
from bot.entry.services import Services
from bot.repo.outbox import OutboxRepo
from bot.repo.users import VISITOR_TTL
from scheduler.broadcasts import start_monitor
from scheduler.followups import post_followups
from scheduler.invitations import SafirJobs
from scheduler.outbox import OutboxSender
from scheduler.planner import Planner

log = logging.getLogger(__name__)
SWEEP_SECONDS = 60


class Proactive:
    """One platform's sweep job (PTB's JobQueue only ticks) and its outbox sender task."""

    def __init__(self, app: Application, svc: Services, platform: str) -> None:
        """Bind to an Application."""
        self.app = app
        self.svc = svc
        self.platform = platform
        self.planner = Planner(svc, platform)
        self.sender = OutboxSender(
            app.bot,
            OutboxRepo(svc.db),
            platform,
            svc.clock,
            lease=svc.settings.outbox_lease,
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.safir: SafirJobs | None = None  # Bale with BALE_SAFIR_API_KEY: invitations
        self.lead = Leadership(svc.db, f"tick:{platform}", self._on_lead)
        self._lead_task: asyncio.Task[None] | None = None

    async def _on_lead(self, leads: bool) -> None:
        """Gained: sweep now (a replica that died may have left work); lost: stop queueing."""
        monitor = getattr(self, "broadcasts", None)
        if not leads:
            if monitor is not None:
                await monitor.stop()
            return
        if self.app.job_queue is not None:
            self.app.job_queue.run_once(self._tick, 0)
        if monitor is not None:
            monitor.wake()

    async def _tick(self, context: ContextTypes.DEFAULT_TYPE | None) -> None:
        """The minute sweep: what is due, follow-up cards, and visitors' rows a day old (on the
        replica that leads the platform's ticks; the others only keep their senders going)."""
        if not self.lead.leads:
            return
        try:
            report = await self.planner.sweep()
        except Exception:
            log.exception("sweep failed; the next tick tries again")
            return
        if report.queued:
            self.sender.notify()
        try:
            await post_followups(self.app, self.svc, self.platform)
        except Exception:
            log.exception("posting follow-ups failed; the next tick tries again")
        try:
            await self.svc.users.forget_visitors(self.svc.clock.timestamp() - VISITOR_TTL)
        except Exception:
            log.exception("erasing visitors' rows failed; the next tick tries again")
        if self.safir is not None:
            try:
                await self.safir.tick()
            except Exception:
                log.exception("the Safir sweep failed; the next tick tries again")

    def start(self) -> None:
        """Schedule the sweep and the broadcast monitor, and start the sender."""
        self.app.bot_data["proactive"] = self
        self.broadcasts = start_monitor(
            self.app, on_queued=self.sender.notify, leads=lambda: self.lead.leads
        )
        if self.lead.elected:  # SQLite: this process leads, nothing to start
            self._lead_task = asyncio.create_task(self.lead.start())
        if self.app.job_queue is not None:
            self.app.job_queue.run_repeating(self._tick, interval=SWEEP_SECONDS, first=1)
        self._task = asyncio.create_task(self.sender.run(self._stop))
        if self.platform == "bale" and self.svc.settings.safir is not None:
            self.safir = SafirJobs(self.app, self.svc)
            self.safir.start(self._stop)

    async def stop(self) -> None:
        """Stop the broadcast queueing, then the sender after its in-flight sends finish."""
        if self._lead_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._lead_task
        await self.lead.stop()
        monitor = getattr(self, "broadcasts", None)  # set by start()
        if monitor is not None:
            await monitor.stop()
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=10)
        if self.safir is not None:
            await self.safir.stop()
