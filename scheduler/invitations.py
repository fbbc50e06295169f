"""Invitations through Bale Safir: queueing the staff's invitations, the sweep's one reminder
and first check-in, and the Safir sender's life inside `homebiz run`.

Who is invited: people on the list not linked to a bot user, not "do not contact", not known to
be off Bale, never invited, in the chosen county; only when staff start it, after a count. Seven
days after Safir took an invitation, those who have not joined get one reminder, and nothing
more; a week after that reminder, once their loan (else permit) date is as old as the content's
first check-in, they get one check-in whose button leads into the bot. Everything is queued for
the sending window and sent only inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import Any

from telegram.ext import Application

from bot.content.model import Content
from bot.core.config import SafirSettings
from bot.entry.services import Services
from bot.messengers.safir import SafirClient
from bot.repo.invitations import (
    CHECKIN,
    REMINDER,
    InvitationRepo,
    InviteCounts,
    SafirOutboxRepo,
)
from bot.roster.invitation import Texts
from bot.rules.followup import policy_from
from bot.rules.schedule import allowed_send_time, in_quiet_hours
from scheduler.safir_sender import SafirSender

log = logging.getLogger(__name__)
REMIND_AFTER = dt.timedelta(days=7)  # invitation → its one reminder
CHECKIN_AFTER = dt.timedelta(days=7)  # reminder → the first check-in at the earliest
# Reminders and check-ins waiting in the outbox per kind, at most: a sweep tops the queue up to
# this and leaves the rest for later sweeps, so Safir's pace (not the sweep) sets the flow and
# the sweep's walk past rows already queued stays this short.
BATCH = 1000
CHUNK = 1000  # invitations queued per transaction: a reply waits at most one chunk


class UnknownCounty(ValueError):
    """A county the content does not know (by id or name, in any language)."""


def county_of(content: Content, words: list[str]) -> str | None:
    """The county id named by ``words`` (None: the whole list); UnknownCounty otherwise."""
    name = " ".join(words).strip()
    if not name:
        return None
    folded = name.casefold()
    for county in content.counties:
        names = {county.id, county.name.get("fa"), county.name.get("en")}
        if folded in {n.casefold() for n in names if n}:
            return county.id
    raise UnknownCounty(name)


def offer_text(
    texts: Texts,
    lang: str,
    content: Content,
    county: str | None,
    counts: InviteCounts,
    safir: SafirSettings,
) -> str:
    """What staff read before confirming (the counts, and how many would be invited), or that
    nobody is left to invite; the same words in the bot and in `homebiz roster invite`."""
    found = content.county(county) if county else None
    scope = (
        texts.t(lang, "invite.county", name=found.name.get(lang))
        if found
        else texts.t(lang, "invite.whole_list")
    )
    line = texts.t(lang, "invite.counts", **asdict(counts))
    if counts.eligible == 0:
        return texts.t(lang, "invite.nobody", scope=scope, counts=line)
    per = "invite.per_minute" if safir.per >= 60 else "invite.per_second"
    rate = texts.t(lang, per, n=safir.rate)
    return texts.t(lang, "invite.confirm", scope=scope, counts=line, n=counts.eligible, rate=rate)


async def queue_invitations(svc: Services, county: str | None, limit: int) -> int:
    """Queue invitations for at most ``limit`` people (the count staff confirmed), to go out
    from the next sending window, a chunk per transaction; how many were queued."""
    now = svc.clock.now()
    window = allowed_send_time(now, policy=policy_from(svc.content.schedule))
    repo = InvitationRepo(svc.db)
    queued, after = 0, 0
    while queued < limit:
        ids = await repo.queue_invitations(
            county=county,
            after=after,
            limit=min(CHUNK, limit - queued),
            lang=svc.settings.default_locale,
            not_before=int(window.timestamp()),
            now=int(now.timestamp()),
        )
        if not ids:
            break
        queued, after = queued + len(ids), max(ids)
        await asyncio.sleep(0)  # replies between chunks
    return queued


@dataclass
class SafirSweep:
    """What one sweep queued."""

    reminders: int = 0
    checkins: int = 0

    @property
    def queued(self) -> int:
        """Messages put in the outbox."""
        return self.reminders + self.checkins


async def sweep(svc: Services, now: dt.datetime | None = None) -> SafirSweep:
    """Queue the reminders and first check-ins that are due (nothing in the quiet hours)."""
    now = now or svc.clock.now()
    policy = policy_from(svc.content.schedule)
    report = SafirSweep()
    if in_quiet_hours(now, policy=policy):
        return report
    repo = InvitationRepo(svc.db)
    ts, lang = int(now.timestamp()), svc.settings.default_locale
    room = BATCH - await repo.waiting(REMINDER)
    if room > 0:
        report.reminders = await repo.queue_reminders(
            invited_before=int((now - REMIND_AFTER).timestamp()),
            limit=room,
            lang=lang,
            not_before=ts,
            now=ts,
        )
    today = now.astimezone(policy.tz).date()
    room = BATCH - await repo.waiting(CHECKIN)
    if room > 0:
        cutoff = today - dt.timedelta(days=policy.first_checkin_days)
        report.checkins = await repo.queue_checkins(
            reminded_before=int((now - CHECKIN_AFTER).timestamp()),
            anchor_on_or_before=cutoff.isoformat(),
            limit=room,
            lang=lang,
            not_before=ts,
            now=ts,
        )
    return report


class SafirJobs:
    """The Safir side of the Bale platform's proactive work: its sweep and its sender."""

    def __init__(self, app: Application, svc: Services) -> None:
        """Bind to the Bale Application (started: its bot's username is known)."""
        settings = svc.settings.safir
        assert settings is not None, "SafirJobs needs BALE_SAFIR_API_KEY"
        self.svc = svc
        self.client = SafirClient(settings.api_key, settings.bot_id, url=settings.url)
        self.sender = SafirSender(
            self.client,
            SafirOutboxRepo(svc.db),
            svc.clock,
            texts=svc.i18n,
            username=app.bot.username,
            policy=policy_from(svc.content.schedule),
            limits=settings.limits,
            lang=svc.settings.default_locale,
            lease=svc.settings.outbox_lease,
        )
        self._task: asyncio.Task[None] | None = None
        self._logged: dict[str, Any] = self.sender.summary()

    def start(self, stop: asyncio.Event) -> None:
        """Start the sender until ``stop`` is set."""
        self._task = asyncio.create_task(self.sender.run(stop))

    async def tick(self) -> None:
        """The minute sweep's Safir part: queue what is due, and log what the sender did."""
        report = await sweep(self.svc)
        if report.queued:
            log.info(
                "safir sweep: %d reminders, %d check-ins queued", report.reminders, report.checkins
            )
            self.sender.notify()
        self._log_summary()

    def _log_summary(self) -> None:
        """Log the sender's counters when they changed (no number or key is among them)."""
        summary = self.sender.summary()
        if summary != self._logged:
            self._logged = summary
            log.info("safir: %s", ", ".join(f"{k} {v}" for k, v in summary.items()))

    async def stop(self) -> None:
        """Wait for the sender (its stop event is set by the caller), say what it did, and
        close the session."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout=10)
        self._log_summary()
        await self.client.close()
