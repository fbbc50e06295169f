"""Broadcasts through the outbox sender: at the limit, at full speed, and beside live chats."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from telegram import Bot

from bench.apiserver import INTERACTIVE_FROM, ApiServerProcess
from bench.common import (
    FAKE_FILE_URL,
    FAKE_URL,
    LIMITED_COUNTY,
    PLATFORM,
    SMALL_COUNTY,
    TOKEN,
    Profiler,
    Row,
    Scale,
    Section,
    build_app,
    http_request,
    ms,
    percentile,
    rss_mb,
)
from bench.sweep import draft, make_population
from bot.fakeapi.emulator import BotApiEmulator
from bot.fakeapi.request import EmulatorRequest
from bot.pacer import Limits, Pacer
from bot.repo.broadcasts import BroadcastRepo
from bot.repo.outbox import OutboxRepo
from bot.services import Services
from scheduler.outbox import OutboxSender

LIMIT = 30.0  # Telegram's global limit, enforced by the server in the limited run
SENDER_SHARE = 0.97  # the sender's rate as a share of the server's limit in the limited run
CAPACITY_CONCURRENCY = 64
CAPACITY_BATCH = 500
PROBE_FROM = 4_000_000  # chat ids of the HTTP client probe
HTTP_CONCURRENCY = 4  # httpx costs more CPU per request the more are in flight (see the notes)
THINK = 2.0  # seconds a chatting person takes between their messages
CHATTERS = 6  # people chatting at once while the broadcast drains
REPLY_WAIT = 15.0  # longest wait for the bot's reply before the person moves on anyway
POLL = 0.1  # how often a person looks for the reply (the latency itself is timed by the server)


class RssSampler:
    """Samples this process's RSS every second in the background (at most ``limit`` samples)."""

    def __init__(self, limit: int = 3600) -> None:
        """Start with one sample."""
        self.samples = [rss_mb()]
        self.limit = limit
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        """Sample until cancelled or full."""
        for _ in range(self.limit):
            await asyncio.sleep(1.0)
            self.samples.append(rss_mb())

    async def __aenter__(self) -> RssSampler:
        """Start sampling."""
        self.task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop sampling and take a last sample."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.samples.append(rss_mb())

    def describe(self) -> str:
        """min–max (last) in MB."""
        low, high = min(self.samples), max(self.samples)
        return (
            f"{len(self.samples)} samples, {low:.0f}–{high:.0f} MB, last {self.samples[-1]:.0f} MB"
        )


async def _queue(svc: Services, county: str = SMALL_COUNTY) -> tuple[int, int]:
    """Queue a broadcast, due now, to everyone in a county."""
    now = svc.clock.timestamp()
    queued = await BroadcastRepo(svc.db).queue(draft({"county": [county]}, now), now)
    assert queued is not None
    return queued


async def _remaining(svc: Services, bid: int) -> int:
    """Rows of a broadcast not yet in an end state."""
    return (await BroadcastRepo(svc.db).figures(bid)).remaining


async def _drain(
    sender: OutboxSender, svc: Services, bid: int, timeout: float
) -> tuple[float, bool]:
    """Run the sender until the broadcast is done (or ``timeout``); seconds and whether done."""
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(sender.run(stop))
    done = False
    try:
        for _ in range(int(timeout / 0.25) + 1):
            await asyncio.sleep(0.25)
            if await _remaining(svc, bid) == 0:
                done = True
                break
            if task.done():
                break
    finally:
        seconds = time.perf_counter() - began
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=30)
    return seconds, done


def _sum(statuses: dict[str, int], group: str, code: int, methods: tuple[str, ...]) -> int:
    """Answers of a status to a group's calls of some methods."""
    return sum(statuses.get(f"{group}:{m}:{code}", 0) for m in methods)


async def limited(svc: Services, scale: Scale, section: Section) -> None:
    """The broadcast against a server enforcing Telegram's global limit, over real HTTP."""
    size = scale.limited
    pop = make_population(scale)
    print(f"\n== broadcast to {size:,} at {LIMIT:g}/s over HTTP ==", flush=True)
    section.line(
        f"scaling: the server enforces Telegram's {LIMIT:g} messages/s; the broadcast has "
        f"{size:,} recipients instead of 20,000 ({scale.limited_factor:g}× shorter, "
        f"{size / LIMIT:.0f} s at the limit); the sender is set to {SENDER_SHARE:.0%} of the "
        f"limit. (Raising the limit instead would measure httpx's CPU cost, not the pacing: "
        f"see the capacity notes.)"
    )
    api = ApiServerProcess(
        first=pop.limited.start, count=size, global_rate=LIMIT, per_chat_rate=1.0
    )
    async with api, RssSampler() as memory:
        bot = Bot(TOKEN, base_url=api.api_url, base_file_url=api.file_url, request=http_request(24))
        await bot.initialize()
        try:
            began = time.perf_counter()
            bid, rows = await _queue(svc, LIMITED_COUNTY)
            queue_s = time.perf_counter() - began
            sender = OutboxSender(
                bot, OutboxRepo(svc.db), PLATFORM, svc.clock,
                pacer=Pacer(Limits(bot_count=int(LIMIT * SENDER_SHARE))),
            )  # fmt: skip
            seconds, done = await _drain(sender, svc, bid, size / LIMIT * 2 + 60)
            figures = await BroadcastRepo(svc.db).figures(bid)
        finally:
            await bot.shutdown()
    report = api.report
    statuses: dict[str, int] = report.get("statuses", {})
    histogram = {int(k): v for k, v in report.get("histogram", {}).items()}
    sends = ("sendmessage",)
    ok = _sum(statuses, "bulk", 200, sends)
    too_many = _sum(statuses, "bulk", 429, sends)
    attempts = sum(v for k, v in statuses.items() if k.startswith("bulk:sendmessage:"))
    lost = histogram.get(0, 0) + figures.remaining + figures.failed
    duplicates = sum((k - 1) * v for k, v in histogram.items() if k > 1)
    server_rate = (ok - 1) / report["bulk_seconds"] if report.get("bulk_seconds") else 0.0
    bot_rate = figures.sent / seconds
    section.line(
        f"queued {rows:,} rows in {queue_s:.2f} s; sender {'drained' if done else 'DID NOT drain'} "
        f"in {seconds:.1f} s; outbox: sent {figures.sent:,}, failed {figures.failed}, "
        f"remaining {figures.remaining}; sender stats {sender.stats}"
    )
    section.line(
        f"server: {attempts:,} sends, {ok:,} delivered, {too_many} answered 429; per-chat "
        f"deliveries {dict(sorted(histogram.items()))} (deliveries → chats); delivery rate "
        f"first→last {server_rate:,.2f}/s = {server_rate / LIMIT:.1%} of {LIMIT:g}/s "
        f"(start→done as the bot saw it: {bot_rate:,.2f}/s); RSS {memory.describe()}"
    )
    share_429 = too_many / max(1, attempts)
    section.rows += [
        Row(
            f"broadcast to {size:,} (20,000 ÷ {scale.limited_factor:g}) at a {LIMIT:g}/s limit: "
            "delivered rate",
            f"{server_rate:,.2f}/s = {server_rate / LIMIT:.1%} of limit",
            "≥ 95% of limit",
            server_rate >= 0.95 * LIMIT,
        ),
        Row(
            "… 429 answers", f"{too_many} = {share_429:.3%} of sends", "≤ 0.1%", share_429 <= 0.001
        ),
        Row(
            "… lost / duplicates",
            f"{lost} / {duplicates}",
            "0 / 0",
            lost == 0 and duplicates == 0 and done,
        ),
    ]


async def capacity(svc: Services, scale: Scale, section: Section, rss_seeded: float) -> None:
    """Sender capacity with no limits, over HTTP (memory sampled) and then in-process."""
    size = scale.broadcast
    print(f"\n== sender capacity, {size:,} messages, no limits ==", flush=True)
    # Over HTTP first: the in-process emulator below keeps every message in this process,
    # which would inflate the memory figure taken here.
    async with ApiServerProcess(first=1, count=size) as api, RssSampler() as memory:
        bot = Bot(
            TOKEN,
            base_url=api.api_url,
            base_file_url=api.file_url,
            request=http_request(HTTP_CONCURRENCY + 4),
        )
        await bot.initialize()
        try:
            http_rate, http_s, _sender = await _full_speed(svc, bot, size, HTTP_CONCURRENCY)
        finally:
            await bot.shutdown()
    probes = min(size, 300)
    async with ApiServerProcess(first=PROBE_FROM, count=probes) as probe_api:
        bot = Bot(
            TOKEN,
            base_url=probe_api.api_url,
            base_file_url=probe_api.file_url,
            request=http_request(72),
        )
        await bot.initialize()
        try:
            clients = [await _client_cost(bot, n, probes) for n in (1, 4, 16, 64)]
        finally:
            await bot.shutdown()
    histogram = api.report.get("histogram", {})
    rate, seconds, own, inside, profile = await _in_process(svc, size)
    section.line(
        f"in-process emulator (no HTTP), concurrency {CAPACITY_CONCURRENCY}, batch "
        f"{CAPACITY_BATCH}: {size:,} sent in {seconds:.1f} s = {rate:,.0f} messages/s; the fake "
        f"Bot API itself took {inside:.1f} s of that, so the bot side alone runs at "
        f"{own:,.0f} messages/s"
    )
    section.line(
        f"over HTTP to the server process (PTB's HTTPXRequest, concurrency {HTTP_CONCURRENCY}): "
        f"{size:,} in {http_s:.1f} s = {http_rate:,.0f} messages/s; per-chat deliveries "
        f"{histogram}; RSS {memory.describe()}"
    )
    section.line(
        "client cost, PTB's HTTPXRequest alone (send_message to a fresh server process): "
        + "; ".join(
            f"{n} in flight {rate:,.0f}/s, {cpu * 1000:.1f} ms CPU per message"
            for n, rate, cpu in clients
        )
    )
    low, high = min(memory.samples), max(memory.samples)
    section.rows += [
        Row(
            "outbox sender capacity, limits lifted (in-process fake API)",
            f"{rate:,.0f} msg/s ({own:,.0f}/s without the fake API's own time)",
            "≥ 2,000 msg/s",
            rate >= 2000,
        ),
        Row(
            f"memory: RSS with {scale.applicants:,} applicants; across a {size:,} broadcast",
            f"{rss_seeded:.0f} MB after seeding; {low:.0f}–{high:.0f} MB during",
            "≤ 150 MB, flat",
            high <= 150 and high - low <= 10,
            "flat = max − min ≤ 10 MB",
        ),
    ]
    if profile:
        section.profiles.append(("cProfile of 5 s of the unlimited sender (tottime)", profile))


async def _client_cost(bot: Bot, in_flight: int, count: int) -> tuple[int, float, float]:
    """``count`` sends with ``in_flight`` at a time: (in flight, messages/s, CPU s per message)."""
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        """One send."""
        async with gate:
            await bot.send_message(PROBE_FROM + i % count, "capacity probe")

    cpu, began = time.process_time(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), timeout=120)
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return in_flight, count / wall, cpu / count


async def _in_process(svc: Services, size: int) -> tuple[float, float, float, float, str]:
    """The unlimited sender over an in-process emulator: rate, s, bot-side rate, fake s, profile."""
    emulator = BotApiEmulator()
    for chat in range(1, size + 1):
        emulator.add_user(chat, first_name=f"Applicant {chat}")
    inside = [0.0]
    handle = emulator.handle

    def timed(method: str, params: Any, files: Any = None) -> tuple[int, dict[str, Any]]:
        """The emulator's answer, timed (the fake Telegram's own work is not the sender's)."""
        began = time.perf_counter()
        try:
            return handle(method, params, files)
        finally:
            inside[0] += time.perf_counter() - began

    emulator.handle = timed  # type: ignore[method-assign]
    request = EmulatorRequest(emulator)
    bot = Bot(TOKEN, base_url=FAKE_URL, base_file_url=FAKE_FILE_URL, request=request)
    await bot.initialize()
    try:
        rate, seconds, sender = await _full_speed(svc, bot, size, CAPACITY_CONCURRENCY)
        emulator_s = inside[0]
        profile = await _profile(svc, sender) if rate < 2000 else ""
    finally:
        await bot.shutdown()
    own = size / max(1e-9, seconds - emulator_s)
    return rate, seconds, own, emulator_s, profile


async def _full_speed(
    svc: Services, bot: Bot, size: int, concurrency: int
) -> tuple[float, float, OutboxSender]:
    """Queue a broadcast and drain it unlimited; rate, seconds and the sender."""
    bid, rows = await _queue(svc)
    assert rows == size
    sender = OutboxSender(
        bot, OutboxRepo(svc.db), PLATFORM, svc.clock,
        pacer=Pacer(Limits.unlimited()), concurrency=concurrency, batch=CAPACITY_BATCH,
    )  # fmt: skip
    began = time.perf_counter()
    await asyncio.wait_for(sender.drain_once(), timeout=size / 50 + 60)
    seconds = time.perf_counter() - began
    figures = await BroadcastRepo(svc.db).figures(bid)
    return figures.sent / seconds, seconds, sender


async def _profile(svc: Services, sender: OutboxSender) -> str:
    """cProfile of 5 s of the sender on a fresh broadcast (then cancelled)."""
    bid, _ = await _queue(svc)
    profiler = Profiler()
    stop = asyncio.Event()
    with profiler:
        task = asyncio.create_task(sender.run(stop))
        await asyncio.sleep(5)
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    await BroadcastRepo(svc.db).cancel(bid, svc.clock.timestamp())
    return profiler.top()


class Chatter:
    """One person onboarding over the HTTP server's control endpoints, like a phone would."""

    def __init__(self, api: ApiServerProcess, user_id: int) -> None:
        """Bind to the server and a chat id."""
        self.api = api
        self.user_id = user_id
        self.sent = 0

    def script(self) -> list[tuple[str, str]]:
        """What the person sends: ("text", words) or ("press", callback data prefix)."""
        return [
            ("text", "/start"),
            ("press", "lang:fa"),
            ("press", "priv:yes"),
            ("text", "زهرا احمدی"),
            ("text", "0912 345 6789"),
            ("text", "0013542419"),
            ("text", "کرج"),
            ("text", "صنایع دستی و هنرهای سنتی"),
            ("text", "فقط ایده دارم"),
            ("text", "📋 مراحل مجوز"),
            ("press", "st:done:"),
            ("press", "st:help:"),
        ]

    async def act(self, kind: str, value: str) -> bool:
        """Send one thing and wait for the bot's first visible reply; whether it came."""
        before = (await self.api.control("bench", chat_id=self.user_id))["replies"]
        if kind == "text":
            await self.api.control("user_text", user_id=self.user_id, text=value)
        else:
            messages = await self.api.control("messages", chat_id=self.user_id)
            target = None
            for msg in reversed(messages):
                data = [b.get("callback_data", "") for b in msg["buttons"] if isinstance(b, dict)]
                match = next((d for d in data if d.startswith(value)), None)
                if match:
                    target = (msg["message_id"], match)
                    break
            if target is None:
                return False
            await self.api.control(
                "user_press", user_id=self.user_id, message_id=target[0], callback_data=target[1]
            )
        self.sent += 1
        for _ in range(int(REPLY_WAIT / POLL)):
            await asyncio.sleep(POLL)
            if (await self.api.control("bench", chat_id=self.user_id))["replies"] > before:
                return True
        return False


async def _chat(api: ApiServerProcess, first_id: int, until: float) -> tuple[int, int]:
    """People onboarding one after another until ``until``; (updates sent, replies missed)."""
    sent = missed = 0
    for person in range(1000):
        chatter = Chatter(api, first_id + person * 100)
        for kind, value in chatter.script():
            if time.monotonic() >= until:
                return sent, missed
            replied = await chatter.act(kind, value)
            sent += 1
            missed += 0 if replied else 1
            await asyncio.sleep(THINK)
    return sent, missed


async def interactive(svc: Services, scale: Scale, section: Section) -> None:
    """Live chats through the real Application (long polling) while a broadcast drains."""
    size, window = scale.broadcast, scale.interactive_window
    print(f"\n== interactive replies while a {size:,} broadcast drains at 30/s ==", flush=True)
    async with ApiServerProcess(first=1, count=size, global_rate=LIMIT) as api:
        app = build_app(
            svc,
            http_request(32),
            base_url=api.api_url,
            base_file_url=api.file_url,
            updates_request=http_request(2),
            with_updater=True,
        )
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=10)
        await app.start()
        sender = OutboxSender(app.bot, OutboxRepo(svc.db), PLATFORM, svc.clock)  # the defaults
        stop = asyncio.Event()
        bid, rows = await _queue(svc)
        task = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.sleep(3)  # the sender reaches its pace
            bulk_before = (await api.control("bench", chat_id=0))["bulk_ok"]
            began = time.monotonic()
            until = began + window
            results = await asyncio.gather(
                *(_chat(api, INTERACTIVE_FROM + i, until) for i in range(CHATTERS))
            )
            elapsed = time.monotonic() - began
            bulk_after = (await api.control("bench", chat_id=0))["bulk_ok"]
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=30)
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        figures = await BroadcastRepo(svc.db).figures(bid)
        await BroadcastRepo(svc.db).cancel(bid, svc.clock.timestamp())
    report = api.report
    statuses: dict[str, int] = report.get("statuses", {})
    latencies: list[float] = report.get("latencies", [])
    sent = sum(s for s, _ in results)
    missed = sum(m for _, m in results)
    visible = ("sendmessage", "editmessagetext")
    reply_ok = _sum(statuses, "interactive", 200, visible)
    reply_429 = sum(v for k, v in statuses.items() if k.startswith("interactive:") and ":429" in k)
    bulk_429 = _sum(statuses, "bulk", 429, ("sendmessage",))
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    bulk_rate = (bulk_after - bulk_before) / elapsed
    section.line(
        f"{CHATTERS} people onboarding (think time {THINK:g} s) for {elapsed:.0f} s through the "
        f"real Application (long polling) while broadcast {bid} ({rows:,} rows) drained with the "
        f"default sender (25/s of the server's global 30/s; no per-chat limit in this run): "
        f"{sent} updates, {missed} without a reply "
        f"within {REPLY_WAIT:g} s; replies sent {reply_ok} ({reply_ok / elapsed:.1f}/s)"
    )
    section.line(
        f"update queued at the server → first reply accepted by it: p50 {ms(p50)}, p99 {ms(p99)}, "
        f"max {ms(max(latencies) if latencies else float('nan'))} ({len(latencies)} timed); "
        f"429s: replies {reply_429}, broadcast {bulk_429}; broadcast pace meanwhile "
        f"{bulk_rate:.1f}/s; sent {figures.sent:,} of {rows:,} before the window closed "
        f"(the rest cancelled)"
    )
    section.rows.append(
        Row(
            f"interactive replies while a {size:,} broadcast drains: p99",
            f"{p99:.3f} s ({reply_429} replies hit 429)",
            "≤ 1.5 s",
            p99 <= 1.5 and missed == 0 and bool(latencies),
        )
    )


def summary(report: dict[str, Any]) -> str:
    """A one-line view of a server report (for debugging)."""
    return str({k: v for k, v in report.items() if k != "latencies"})
