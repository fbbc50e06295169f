"""Operations for staff and tests: what is due, a sweep now, outbox counts."""

from __future__ import annotations

import datetime as dt

from telegram import Bot

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.jalali import format_datetime
from bot.entry.services import Services
from bot.messengers.budget import shared_budget
from bot.messengers.http import AiohttpRequest
from bot.messengers.pacer import Pacer
from bot.repo.checkins import CheckinRepo
from bot.repo.outbox import OutboxRepo
from bot.repo.senders import SenderRepo
from bot.rules.followup import policy_from
from bot.rules.schedule import SchedulePolicy, allowed_send_time, in_quiet_hours


async def checkins_due(
    settings: Settings, limit: int = 50, *, clock: Clock | None = None
) -> list[str]:
    """The check-ins the sweep will open, soonest first, as lines; DUE ones go at the next sweep.

    The same people and platforms as the sweep (`checkins send-now`): nobody who sent /stop,
    is unreachable, closed their check-ins or never consented; a round due in the quiet hours
    is shown at the time the sweep will really open it.
    """
    svc = await Services.open(settings, clock=clock)
    try:
        platforms = sorted({p.name for p in settings.platforms} | await svc.users.platforms())
        repo = CheckinRepo(svc.db)
        rows = await repo.upcoming(platforms, limit)
        now = svc.clock.now()
        policy = policy_from(svc.content.schedule)
        lines = []
        for _pk, platform, user_id, when in rows:
            state, moment = _sweep_time(dt.datetime.fromtimestamp(when, dt.UTC), now, policy)
            lines.append(f"{state:8} {format_datetime(moment, 'en')}  {platform}:{user_id}")
        held = await repo.held_back(platforms)
        if held:
            lines.append(
                f"({held} more with a planned date get nothing: stopped, unreachable, "
                "check-ins closed or no consent)"
            )
        return lines or ["no check-ins planned"]
    finally:
        await svc.close()


def _sweep_time(
    when: dt.datetime, now: dt.datetime, policy: SchedulePolicy
) -> tuple[str, dt.datetime]:
    """DUE when the next sweep opens the round, else "planned" and when a sweep will."""
    if when <= now and not in_quiet_hours(now, policy=policy):
        return "DUE", when
    return "planned", allowed_send_time(max(when, now), policy=policy)


async def send_now(settings: Settings) -> list[str]:
    """Run a sweep for every platform; deliver through those with a token and no running bot.

    While `homebiz run` serves a platform (its sender's heartbeat is live), the rows are only
    queued: that sender delivers them. Otherwise this process drains them under leases, so if
    it is killed half-way the next sender takes its rows over when their leases expire.
    """
    from scheduler.outbox import OutboxSender
    from scheduler.planner import Planner

    svc = await Services.open(settings)
    lines = []
    try:
        configured = {p.name: p for p in settings.platforms}
        known = await svc.users.platforms()
        for name in sorted(set(configured) | known):
            report = await Planner(svc, name).sweep()
            line = (
                f"{name}: queued {report.queued} (check-ins {report.checkins}, reminders "
                f"{report.reminders}, nudges {report.nudges}), no answer {report.expired}"
            )
            platform = configured.get(name)
            if platform is None:
                line += "; no token here, 'homebiz run' delivers them"
            elif await SenderRepo(svc.db).live(name, svc.clock.timestamp()):
                line += "; 'homebiz run' is running and delivers them"
            else:
                bot = Bot(
                    platform.token,
                    base_url=platform.api_url,
                    base_file_url=platform.file_url,
                    request=AiohttpRequest(),
                )
                budget = shared_budget(svc.db, name, settings.limits)  # PostgreSQL: replicas'
                pacer = Pacer(settings.limits, budget)
                async with bot:
                    sender = OutboxSender(
                        bot,
                        OutboxRepo(svc.db),
                        name,
                        svc.clock,
                        pacer=pacer,
                        lease=settings.outbox_lease,
                    )
                    line += f"; sent {await sender.drain_once()}"
                    if budget is not None:
                        await budget.close()
                    if sender.unrecorded:
                        line += (
                            f"; {sender.unrecorded} could not be recorded (database errors): "
                            f"the next sender takes them over within {settings.outbox_lease} s"
                        )
            lines.append(line)
        return lines or ["nobody yet"]
    finally:
        await svc.close()


async def outbox_counts(settings: Settings) -> list[str]:
    """Pending / sent / failed counts per kind, and how many failed by flood waits."""
    from scheduler.outbox import MAX_FLOOD_WAITS

    svc = await Services.open(settings)
    try:
        repo = OutboxRepo(svc.db)
        counts = await repo.counts()
        kinds = sorted({k for k, _ in counts})
        statuses = ("pending", "sending", "sent", "failed", "cancelled")
        width = max([len("kind"), *map(len, kinds)]) + 2  # safir_reminder is 14 long
        lines = [f"{'kind':{width}}" + "".join(f"{s:>10}" for s in statuses)]
        for kind in kinds:
            lines.append(
                f"{kind:{width}}" + "".join(f"{counts.get((kind, s), 0):>10}" for s in statuses)
            )
        flood = await repo.failed_by_flood_waits()
        if flood:
            lines.append(
                f"{flood} failed by flood waits: the platform kept answering 429 "
                f"({MAX_FLOOD_WAITS} times each)"
            )
        return lines if kinds else ["outbox is empty"]
    finally:
        await svc.close()
