"""Crash and fault tests: kill -9 mid-broadcast, a broadcast through 5xx, drops and blocks, and
an applicant's update waiting for another process's write lock.

The short versions run in CI; HOMEBIZ_LONG_TESTS=1 runs them at full size.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from telegram import Bot as PtbBot
from telegram.request import HTTPXRequest

from bot.core.clock import Clock
from bot.db.engine import BUSY_TIMEOUT, Database
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.repo.broadcasts import BroadcastRepo, Draft
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender
from tests.conftest import Bot, no_errors, pace
from tests.support import TOKEN, BotProcess, bot_env, stores
from tests.support.botapi_server import BotApiServer

LONG = os.environ.get("HOMEBIZ_LONG_TESTS") == "1"
FIRST_USER = 10_000


async def seed_broadcast(db_path: Path, emulator: BotApiEmulator, people: int) -> int:
    """Applicants in the database (and known to the fake API) and one broadcast to all of them
    (on the test's engine: SQLite unless the test asked for ``store``)."""
    db = await stores.current.open(db_path)
    try:
        rows = [
            ("telegram", uid, uid, "fa" if uid % 3 else "en", 1, 1, 1, 1)
            for uid in range(FIRST_USER, FIRST_USER + people)
        ]
        await db.executemany(
            "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, profile_done, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for uid in range(FIRST_USER, FIRST_USER + people):
            emulator.add_user(uid)
        draft = Draft(
            platform="telegram",
            created_by=1,
            content={
                "texts": {"fa": "اطلاعیه: کارگاه آموزشی فروش", "en": "Notice: a sales workshop"}
            },
            audience={},
            send_at=Clock().timestamp(),
        )
        queued = await BroadcastRepo(db).queue(draft, Clock().timestamp())
        assert queued is not None and queued[1] == people
        return queued[0]
    finally:
        await db.close()


async def test_kill_9_mid_broadcast_delivers_everyone_duplicates_bounded(tmp_path: Path) -> None:
    """kill -9 with half the broadcast sent: the next process takes the dead one's rows over when
    their leases expire; all have it, repeats ≤ in flight."""
    people = 5000 if LONG else 1500
    emulator = BotApiEmulator()
    db_path = tmp_path / "crash.sqlite3"
    bid = await seed_broadcast(db_path, emulator, people)
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            HOMEBIZ_SEND_RATE="400",
            HOMEBIZ_OUTBOX_LEASE="3",  # the second process takes the rows over 3 s after the kill
        )
        first = BotProcess(env, tmp_path, name="first")
        first.start()
        try:
            await first.wait_for(
                lambda: sum(emulator.delivered.values()) >= people // 2,
                "half the broadcast",
                timeout=120,
            )
        finally:
            first.kill()
        at_kill = sum(emulator.delivered.values())
        second = BotProcess(env, tmp_path, name="second")
        second.start()
        try:
            await second.wait_for(
                lambda: all(
                    emulator.delivered[u] >= 1 for u in range(FIRST_USER, FIRST_USER + people)
                ),
                "every recipient",
                timeout=180,
            )
        finally:
            await second.stop()
            second.kill()
    counts = Counter({u: emulator.delivered[u] for u in range(FIRST_USER, FIRST_USER + people)})
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    print(f"\nkill -9 at {at_kill}/{people} delivered; duplicates after restart: {duplicates}")
    assert min(counts.values()) == 1
    assert duplicates <= 16, f"{duplicates} repeats exceed the sender's 16 in flight"
    db = await Database.open(db_path)
    try:
        figures = await BroadcastRepo(db).figures(bid)
        assert figures.sent == people and figures.remaining == 0
    finally:
        await db.close()


@pytest.mark.parametrize("platform", ["telegram", "bale"])
async def test_broadcast_through_5xx_drops_and_blocked_users(tmp_path: Path, platform: str) -> None:
    """10% 5xx, 3% dropped connections, 5% blocked: every reachable person gets it once."""
    people = 2000 if LONG else 400
    emulator = BotApiEmulator(platform=platform, seed=7)
    db_path = tmp_path / "faults.sqlite3"
    bid = await seed_broadcast(db_path, emulator, people)
    blocked = {u for u in range(FIRST_USER, FIRST_USER + people) if u % 20 == 0}
    emulator.blocked = set(blocked)
    emulator.error_rate = 0.10
    async with BotApiServer(emulator, token=TOKEN, drop_rate=0.03, seed=3) as server:
        request = HTTPXRequest(connection_pool_size=32, read_timeout=5, connect_timeout=5)
        bot = PtbBot(TOKEN, base_url=server.api_url, request=request)
        db = await Database.open(db_path)
        try:
            async with bot:
                sender = OutboxSender(
                    bot,
                    OutboxRepo(db),
                    "telegram",
                    Clock(),
                    pacer=pace(rate=2000),
                    base_backoff=0.01,
                    max_attempts=12,
                )
                for _ in range(120):  # retries wait whole seconds (backoff is stored in seconds)
                    await sender.drain_once()
                    if await OutboxRepo(db).pending_count("telegram") == 0:
                        break
                    await asyncio.sleep(0.25)
                else:
                    raise AssertionError("rows still pending after 30 s of retries")
            figures = await BroadcastRepo(db).figures(bid)
            unreachable = await db.fetchone(
                "SELECT COUNT(*) FROM users WHERE unreachable_at IS NOT NULL"
            )
        finally:
            await db.close()
    reachable = set(range(FIRST_USER, FIRST_USER + people)) - blocked
    wrong = {u: emulator.delivered[u] for u in reachable if emulator.delivered[u] != 1}
    assert not wrong, (len(wrong), list(wrong.items())[:5], figures)
    assert all(emulator.delivered[u] == 0 for u in blocked)
    assert unreachable[0] == len(blocked)
    assert figures.sent == sum(emulator.delivered.values()) == len(reachable)
    assert figures.unreachable == len(blocked) and figures.remaining == 0


LOCK_HELD = 6.5  # seconds: longer than the old 5 s busy timeout, short enough for the suite


def hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    """Another process's writer (a backup, send-now, a second bot): BEGIN IMMEDIATE, then wait."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.mark.sqlite_only("another process holds SQLite's file write lock")
async def test_start_waits_for_another_process_write_lock_and_is_answered(bot: Bot) -> None:
    """While another connection holds the write lock for 6.5 s, an applicant's /start waits for
    it and gets the normal answer; nothing is logged as an error. (The issue's 10 s lock is the
    same mechanism: the busy timeout is BUSY_TIMEOUT, 30 s; 6.5 s keeps the suite fast while
    exceeding the old 5 s, which answered "something went wrong".)"""
    assert BUSY_TIMEOUT > 10
    me = bot.client(950, lang="en")
    await me.send("/start")
    await me.press("English")  # now they have a row, and /start writes where they are
    held = threading.Event()
    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock, bot.db_path, LOCK_HELD, held))
    assert await asyncio.to_thread(held.wait, 5)
    began = time.monotonic()
    with no_errors():
        replies = await me.send("/start")
    waited = time.monotonic() - began
    await holder
    assert waited > LOCK_HELD - 1.5, f"/start did not meet the lock (answered in {waited:.1f} s)"
    assert [m.content for m in replies] == [bot.svc.i18n.t("en", "start.choose_language")]
    person = await bot.svc.users.find("telegram", 950)
    assert person is not None
