"""The outbox sender at full speed (limits lifted), and a person chatting through the fake API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from telegram import Bot

from bench.apiserver import ApiServerProcess
from bench.common import (
    FAKE_FILE_URL,
    FAKE_URL,
    PLATFORM,
    SMALL_COUNTY,
    TOKEN,
    Profiler,
    Row,
    Scale,
    Section,
    http_request,
)
from bench.sweep import draft
from bot.entry.services import Services
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.http import AiohttpRequest
from bot.messengers.pacer import Limits, Pacer
from bot.repo.broadcasts import BroadcastRepo
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender

CAPACITY_CONCURRENCY = 64
CAPACITY_BATCH = 500
REPLY_WAIT = 15.0  # longest wait for the bot's reply before the person moves on anyway
POLL = 0.1  # how often a person looks for the reply (the latency itself is timed by the server)


async def _queue(svc: Services, county: str = SMALL_COUNTY) -> tuple[int, int]:
    """Queue a broadcast, due now, to everyone in a county."""
    now = svc.clock.timestamp()
    queued = await BroadcastRepo(svc.db).queue(draft({"county": [county]}, now), now)
    assert queued is not None
    return queued


async def capacity(svc: Services, scale: Scale, section: Section) -> None:
    """Sender capacity with the limits lifted, over HTTP: our transport beside PTB's stock one."""
    size = scale.broadcast
    print(f"\n== sender capacity, {size:,} messages, no limits ==", flush=True)
    rates = {}
    for name, request in (
        ("ours (aiohttp, JSON answers)", AiohttpRequest(connection_pool_size=24)),
        ("PTB's stock HTTPXRequest", http_request(24)),
    ):
        async with ApiServerProcess(first=1, count=size) as api:
            bot = Bot(TOKEN, base_url=api.api_url, base_file_url=api.file_url, request=request)
            await bot.initialize()
            try:
                cpu = time.process_time()
                rate, seconds, _sender = await _full_speed(svc, bot, size, 16)
                cpu = (time.process_time() - cpu) / size
            finally:
                await bot.shutdown()
        rates[name] = rate
        section.line(
            f"{name}, the sender's defaults (16 in flight): {size:,} messages over HTTP to the "
            f"fake Bot API process in {seconds:.1f} s = {rate:,.0f} messages/s, "
            f"{cpu * 1000:.2f} ms of this process's CPU per message; "
            f"per-chat deliveries {api.report.get('histogram', {})}"
        )
    rate, seconds, own, inside, profile = await _in_process(svc, size)
    section.line(
        f"in-process emulator (no HTTP), concurrency {CAPACITY_CONCURRENCY}, batch "
        f"{CAPACITY_BATCH}: {size:,} sent in {seconds:.1f} s = {rate:,.0f} messages/s; the fake "
        f"Bot API itself took {inside:.1f} s of that, so the bot side alone runs at "
        f"{own:,.0f} messages/s"
    )
    ours, stock = rates.values()
    section.rows.append(
        Row(
            "outbox sender capacity over HTTP, limits lifted (shipped defaults)",
            f"{ours:,.0f} msg/s (PTB's stock transport {stock:,.0f}/s)",
            "≥ 1,000 msg/s",
            ours >= 1000,
        )
    )
    if profile:
        section.profiles.append(("cProfile of 5 s of the unlimited sender (tottime)", profile))


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
        self.missed: list[str] = []  # what got no answer (or whose button never showed)

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
        """Send one thing and wait for the bot's first visible reply; whether it came. A button
        is pressed once it is on screen (the answer before may still be arriving)."""
        before = (await self.api.control("bench", chat_id=self.user_id))["replies"]
        if kind == "text":
            await self.api.control("user_text", user_id=self.user_id, text=value)
        else:
            target = await self._button(value)
            if target is None:
                self.missed.append(f"no button {value}")
                return False
            await self.api.control(
                "user_press", user_id=self.user_id, message_id=target[0], callback_data=target[1]
            )
        self.sent += 1
        for _ in range(int(REPLY_WAIT / POLL)):
            await asyncio.sleep(POLL)
            if (await self.api.control("bench", chat_id=self.user_id))["replies"] > before:
                return True
        self.missed.append(f"no reply to {value}")
        return False

    async def _button(self, prefix: str) -> tuple[int, str] | None:
        """(message id, callback data) of the newest button starting with ``prefix``, waiting
        up to REPLY_WAIT for it to appear."""
        for _ in range(int(REPLY_WAIT / POLL)):
            messages = await self.api.control("messages", chat_id=self.user_id)
            for msg in reversed(messages):
                data = [b.get("callback_data", "") for b in msg["buttons"] if isinstance(b, dict)]
                match = next((d for d in data if d.startswith(prefix)), None)
                if match:
                    return msg["message_id"], match
            await asyncio.sleep(POLL)
        return None
