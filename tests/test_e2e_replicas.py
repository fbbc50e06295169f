"""Three real `homebiz run` replicas on one PostgreSQL database, behind a round-robin balancer.

The test tree's Bot API server enforces Telegram's documented limits (30 messages in any second
for the bot, about one per second per chat with bursts of 3, a penalty after a 429) and posts
every update to the balancer, which hands consecutive posts to consecutive replicas: one
person's updates alternate between processes. A 5,000-recipient broadcast goes out while a
newcomer onboards; one replica is killed with SIGKILL in the middle. Every recipient gets the
broadcast, the duplicates stay within the killed replica's leases (reported), the limit holds
(at most 0.1 % of sends answered 429), the minute sweep runs on one replica at a time, and the
newcomer sees every answer in order.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.config import Settings
from bot.entry.services import Services
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules
from tests.support import TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import BotApiServer
from tests.support.round_robin import RoundRobin
from tests.support.stores import Store
from tests.test_e2e_strict import Journey, always_open_content

REPLICAS = 3
RECIPIENTS = 5000
ADMIN, NEWCOMER = 9000, 9001
FIRST = 100_000  # the recipients' ids: FIRST … FIRST + RECIPIENTS - 1
NEWS = "سلام! مهلت ثبت‌نام تا پایان آذر است."
KILL_AFTER = 1500  # recipients reached when one replica is killed
DELIVERY_TIMEOUT = 600.0  # 5,000 at 30 a second is about three minutes; room for a loaded CI


class Cluster:
    """The replicas as one bot for a Journey: waiting fails only when none is running."""

    def __init__(self, bots: list[BotProcess]) -> None:
        """Watch these processes."""
        self.bots = bots

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, *, timeout: float = 30.0
    ) -> None:
        """Poll ``predicate`` every 0.1 s until it holds; fail on timeout or with no replica."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if all(b.returncode is not None for b in self.bots):
                raise AssertionError(f"every replica exited waiting for {what}")
            if loop.time() > deadline:
                tails = "\n".join(b.describe() for b in self.bots)
                raise AssertionError(f"timed out after {timeout} s waiting for {what}: {tails}")
            await asyncio.sleep(0.1)


async def seed(store: Store, db_path: Path, content: Path) -> None:
    """The recipients, already through the privacy question, in Persian."""
    settings = Settings(**store.settings(db_path), content_path=content)
    svc = await Services.open(settings)
    try:
        now = svc.clock.timestamp()
        await svc.db.executemany(
            "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, full_name, county, "
            "field, stage, profile_done, created_at, updated_at) "
            "VALUES ('telegram', ?, ?, 'fa', ?, 'Seeded', 'karaj', 'handicrafts', 'idea', 1, ?, ?)",
            [(uid, uid, now, now, now) for uid in range(FIRST, FIRST + RECIPIENTS)],
        )
    finally:
        await svc.close()


def reached(emulator: BotApiEmulator) -> int:
    """How many recipients have the broadcast."""
    return sum(1 for uid in range(FIRST, FIRST + RECIPIENTS) if emulator.delivered[uid])


async def onboarding(me: Journey) -> None:
    """A newcomer answers every question; each answer must come back, in order."""
    await me.say("/start", "choose your language")
    await me.press("lang:en", "Privacy")
    await me.press("priv:yes", "full name")
    await me.say("Sara Moradi", "mobile number")
    await me.say("09123456789", "national code")
    await me.say("0013542419", "county")
    await me.say("Karaj", "business field")
    await me.say("Handicrafts and traditional arts", "Where do you stand")
    await me.say("Only an idea", "Your profile is complete")


async def after_the_kill(me: Journey) -> None:
    """The newcomer goes on once a replica is dead: the balancer fails over, answers in order."""
    await me.say("📋 Permit steps", "Step 1 of")
    await me.press(me.button_data("st:done:"), "Step 2 of")
    await me.press(me.button_data("st:done:"), "Step 3 of")
    await me.say("📈 My progress", "Next step")
    await me.say("❓ Help", "Commands:")
    await me.say("💰 Loans", "Home-business loans")


async def launch(admin: Journey) -> None:
    """The admin sends a Persian broadcast to everyone, now."""
    await admin.say("/broadcast", "New broadcast")
    await admin.say(NEWS, "Add an English version")
    await admin.press("bc:en:same", "Recipients now")
    await admin.press("bc:next", "Send it now, or at a set time?")
    await admin.press("bc:now", "people now?")
    await admin.press("bc:yes", "is going out")


def leads(bot: BotProcess) -> int:
    """How many times this replica took the lead of the minute sweep and the broadcasts."""
    return bot.stderr.count("tick:telegram: this process leads")


async def test_three_replicas_one_killed_mid_broadcast(tmp_path: Path, store: Store) -> None:
    """Nothing lost, duplicates bounded, the limit kept, one sweep, answers in order."""
    if not store.postgres:
        pytest.skip("replicas share a PostgreSQL database; SQLite serves one process")
    emulator = BotApiEmulator()
    emulator.flood_rules = FloodRules.telegram()
    emulator.open_chats = True
    for uid in (ADMIN, NEWCOMER):
        emulator.add_user(uid, first_name=f"P{uid}", language_code="en")
    content = always_open_content(tmp_path)
    db_path = tmp_path / "bot.sqlite3"  # named for the store: a PostgreSQL schema of its own
    await seed(store, db_path, content)
    ports = [free_port() for _ in range(REPLICAS)]
    secret = secrets.token_urlsafe(24)
    async with BotApiServer(emulator, token=TOKEN) as server, RoundRobin(ports) as balancer:
        bots = []
        for n, port in enumerate(ports):
            env = bot_env(
                db_path,
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=server.api_url,
                TELEGRAM_WEBHOOK_URL=balancer.url,
                TELEGRAM_WEBHOOK_SECRET=secret,
                TELEGRAM_WEBHOOK_PORT=str(port),
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
                HOMEBIZ_CONTENT=str(content),
                HOMEBIZ_ADMINS=f"telegram:{ADMIN}",
            )
            bots.append(BotProcess(env, tmp_path, name=f"replica{n}"))
        try:
            for bot in bots:
                bot.start()
            for bot in bots:
                await bot.wait_for(lambda b=bot: "webhook listening" in b.stderr, "listening")
            cluster = Cluster(bots)
            admin = Journey(cluster, emulator, ADMIN)  # type: ignore[arg-type]
            await admin.say("/start", "choose your language")
            await admin.press("lang:en", "Privacy")
            await admin.press("priv:yes", "full name")
            await launch(admin)
            me = Journey(cluster, emulator, NEWCOMER)  # type: ignore[arg-type]
            newcomer = asyncio.ensure_future(onboarding(me))
            try:
                await cluster.wait_for(
                    lambda: reached(emulator) >= KILL_AFTER, "the broadcast under way", timeout=300
                )
            except AssertionError:
                summary = store.query(
                    db_path, "SELECT kind, status, error, COUNT(*) FROM outbox GROUP BY 1, 2, 3"
                )
                raise AssertionError(f"outbox {summary}; admin saw {admin.texts()}") from None
            leaders = [b for b in bots if leads(b)]
            assert len(leaders) == 1, [leads(b) for b in bots]  # one sweep, not three
            victim = leaders[0]  # the sweep's and the broadcast's leader, mid-broadcast
            victim.kill()  # SIGKILL: no clean-up, its leases, locks and turns left behind
            survivors = [b for b in bots if b is not victim]
            await newcomer
            await after_the_kill(me)
            await cluster.wait_for(
                lambda: reached(emulator) == RECIPIENTS,
                "every recipient reached",
                timeout=DELIVERY_TIMEOUT,
            )
            await admin.until("has finished")
            took_over = sum(leads(b) for b in survivors)  # before a stopping leader hands on
            for bot in survivors:
                assert await bot.stop(signal.SIGTERM) == 0, bot.describe()
        finally:
            for bot in bots:
                bot.kill()
    counts = Counter(emulator.delivered[uid] for uid in range(FIRST, FIRST + RECIPIENTS))
    duplicates = sum((n - 1) * k for n, k in counts.items() if n > 1)
    sends = sum(emulator.attempts.values())
    refused = sum(emulator.rate_limited.values())
    print(
        f"replicas: {RECIPIENTS} recipients, {duplicates} duplicates after the kill, "
        f"{refused} of {sends} sends answered 429, balancer failovers {dict(balancer.failed_over)}"
    )
    # At most what the killed replica had sent without recording it: its sends in flight (the
    # outbox's share of the shared budget, 29 slots) and the successes it had not committed yet
    # (50 ms of sending).
    assert duplicates <= 31, counts
    assert balancer.failed_over[ports[bots.index(victim)]] >= 1  # posts to the dead one moved on
    assert refused <= sends / 1000, emulator.errors[-5:]
    ports_seen = set(balancer.replicas_of(set(range(1, emulator.next_update_id))))
    assert len(ports_seen) == REPLICAS  # the updates really were spread over all three
    assert took_over == 1  # one survivor took the lead over
    for bot in bots:
        assert "Traceback" not in bot.stderr, bot.stderr[-3000:]
