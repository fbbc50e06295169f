"""A broadcast against Telegram's limits enforced strictly, while people chat: our pacer with its
shipped defaults, beside python-telegram-bot's AIORateLimiter (the usual choice) in the same run.

Both runs use the real Application over HTTP (long polling) against bench/apiserver.py in strict
mode: at most 30 messages in any second for the bot, about one per second per chat with bursts
of 3, 20 a minute per group, edits counted, and a one-second penalty after a 429. The broadcast
is scaled down from the target's 20,000 recipients (said in the report); the pacing is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import AIORateLimiter, Application

from bench.apiserver import INTERACTIVE_FROM, ApiServerProcess
from bench.broadcast import Chatter
from bench.common import PLATFORM, Row, Scale, Section, build_app, ms, percentile
from bench.sweep import draft
from bot.entry.services import Services
from bot.messengers.http import AiohttpRequest
from bot.messengers.pacer import Limits
from bot.repo.broadcasts import BroadcastRepo
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender

LIMIT = 30.0
CHATTERS = 3
THINK = 2.0
TEXT = "اطلاعیه آزمایشی: مهلت ثبت‌نام تمدید شد."


@dataclass
class Run:
    """What one run delivered and what the people chatting saw."""

    name: str
    seconds: float = 0.0
    bulk_rate: float = 0.0
    reply_rate: float = 0.0
    attempts: int = 0
    too_many: int = 0
    lost: int = 0
    duplicates: int = 0
    replies_sent: int = 0
    replies_missed: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def total_share(self) -> float:
        """Everything delivered (broadcast and replies) as a share of the limit."""
        return (self.bulk_rate + self.reply_rate) / LIMIT

    @property
    def share_429(self) -> float:
        """429 answers as a share of every send and edit."""
        return self.too_many / max(1, self.attempts)


async def _chat(api: ApiServerProcess, first_id: int, stop: asyncio.Event) -> tuple[int, int]:
    """People onboarding one after another until ``stop``; (updates sent, replies missed)."""
    sent = missed = 0
    for person in range(1000):
        chatter = Chatter(api, first_id + person * 100)
        for kind, value in chatter.script():
            if stop.is_set():
                return sent, missed
            replied = await chatter.act(kind, value)
            sent += 1
            missed += 0 if replied else 1
            await asyncio.sleep(THINK)
    return sent, missed


async def _ours(app: Application, svc: Services, recipients: list[int]) -> None:
    """Our way: queue the broadcast and let the outbox sender deliver it, shipped defaults."""
    now = svc.clock.timestamp()
    queued = await BroadcastRepo(svc.db).queue(draft({"county": ["eshtehard"]}, now), now)
    assert queued is not None
    sender = OutboxSender(app.bot, OutboxRepo(svc.db), PLATFORM, svc.clock)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        while (await BroadcastRepo(svc.db).figures(queued[0])).remaining:
            await asyncio.sleep(0.25)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=30)


async def _usual(app: Application, recipients: list[int]) -> None:
    """The usual way: send to every recipient at once through the bot; the limiter paces."""
    gate = asyncio.Semaphore(16)  # the same number in flight as our sender

    async def one(chat: int) -> None:
        """One recipient; a refused send is lost, as it would be."""
        async with gate:
            with contextlib.suppress(Exception):
                await app.bot.send_message(chat, TEXT)

    await asyncio.gather(*(one(chat) for chat in recipients))


async def _run(
    name: str, svc: Services, recipients: list[int], *, ours: bool, timeout: float, people: int
) -> Run:
    """One run against a fresh strict server: the broadcast, and people chatting meanwhile."""
    run = Run(name)
    first = recipients[0]
    async with ApiServerProcess(first=first, count=len(recipients), strict=True) as api:
        limiter = None if ours else AIORateLimiter()
        app = build_app(
            svc,
            AiohttpRequest(connection_pool_size=32),
            base_url=api.api_url,
            base_file_url=api.file_url,
            updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=30.0),
            with_updater=True,
            limits=Limits() if ours else None,
            rate_limiter=limiter,
        )
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await app.start()
        try:
            began = time.monotonic()
            job = _ours(app, svc, recipients) if ours else _usual(app, recipients)
            work = asyncio.create_task(job)
            stop = asyncio.Event()
            chats = asyncio.gather(*(_chat(api, people + i, stop) for i in range(CHATTERS)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(work), timeout=timeout)
            run.seconds = time.monotonic() - began
            stop.set()  # people stop once the broadcast is over (after their current step)
            done = await chats
            run.replies_sent = sum(s for s, _ in done)
            run.replies_missed = sum(m for _, m in done)
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    _read(run, api.report, len(recipients))
    return run


def _read(run: Run, report: dict[str, Any], size: int) -> None:
    """Fill a run's figures from the server's report."""
    statuses: dict[str, int] = report.get("statuses", {})
    histogram = {int(k): v for k, v in report.get("histogram", {}).items()}
    ok = report.get("bulk_ok", 0)
    run.bulk_rate = (ok - 1) / report["bulk_seconds"] if report.get("bulk_seconds") else 0.0
    run.attempts = sum(v for k, v in statuses.items() if ":send" in k or ":edit" in k)
    run.too_many = sum(v for k, v in statuses.items() if k.endswith(":429"))
    run.lost = histogram.get(0, 0)
    run.duplicates = sum((k - 1) * v for k, v in histogram.items() if k > 1)
    run.latencies = report.get("latencies", [])
    replies = sum(
        v for k, v in statuses.items() if k.startswith("interactive:") and k.endswith(":200")
    )
    run.reply_rate = replies / max(1e-9, run.seconds)


def _describe(run: Run) -> str:
    """One line about a run."""
    lat = run.latencies
    return (
        f"{run.name}: {run.seconds:.0f} s; broadcast delivered {run.bulk_rate:.2f}/s = "
        f"{run.bulk_rate / LIMIT:.1%} of the limit, replies {run.reply_rate:.2f}/s, together "
        f"{run.total_share:.1%}; 429s {run.too_many} of {run.attempts} "
        f"sends and edits ({run.share_429:.2%}); lost {run.lost}, duplicates {run.duplicates}; "
        f"people chatting: {run.replies_sent} updates, {run.replies_missed} without a reply, "
        f"reply p99 {ms(percentile(lat, 99)) if lat else '—'}"
    )


async def against_strict_limits(svc: Services, scale: Scale, section: Section) -> None:
    """Ours (shipped defaults) and PTB's AIORateLimiter, one after the other, same workload."""
    print(
        f"\n== a {scale.limited:,} broadcast against strict limits, beside AIORateLimiter ==",
        flush=True,
    )
    rows = await svc.db.fetchall(
        "SELECT chat_id FROM users WHERE county = 'eshtehard' AND consent_at IS NOT NULL "
        "AND proactive = 1 AND unreachable_at IS NULL ORDER BY chat_id"
    )
    recipients = [int(r[0]) for r in rows]
    assert recipients == list(range(recipients[0], recipients[0] + len(recipients)))
    timeout = len(recipients) / LIMIT * 3 + 30
    ours = await _run(
        "ours (shipped defaults)", svc, recipients, ours=True, timeout=timeout,
        people=INTERACTIVE_FROM,
    )  # fmt: skip
    usual = await _run(
        "PTB's AIORateLimiter", svc, recipients, ours=False, timeout=timeout,
        people=INTERACTIVE_FROM + 50_000,
    )  # fmt: skip
    section.line(
        f"scaling: {len(recipients):,} recipients instead of 20,000 "
        f"({20_000 / len(recipients):g}× shorter); the limits are Telegram's, unscaled"
    )
    section.line(_describe(ours))
    section.line(_describe(usual))
    section.rows += [
        Row(
            f"broadcast to {len(recipients):,} (20,000 scaled down) against strict limits while "
            f"{CHATTERS} people chat: delivered rate (broadcast + replies; broadcast alone)",
            f"{ours.total_share:.1%}; {ours.bulk_rate / LIMIT:.1%} "
            f"(AIORateLimiter {usual.total_share:.1%}; {usual.bulk_rate / LIMIT:.1%})",
            "≥ 95%",
            ours.total_share >= 0.95,
        ),
        Row(
            "… 429 answers",
            f"{ours.share_429:.3%} (AIORateLimiter {usual.share_429:.1%})",
            "≤ 0.1%",
            ours.share_429 <= 0.001,
        ),
        Row(
            "… lost / duplicates / replies lost",
            f"{ours.lost} / {ours.duplicates} / {ours.replies_missed} "
            f"(AIORateLimiter {usual.lost} / {usual.duplicates} / {usual.replies_missed})",
            "0 / 0 / 0",
            ours.lost == 0 and ours.duplicates == 0 and ours.replies_missed == 0,
        ),
    ]
