"""`homebiz checkins send-now` beside `homebiz run`, both real processes over HTTP."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support import REPO_ROOT, TOKEN, BotProcess, bot_env, stores
from tests.support.botapi_server import BotApiServer
from tests.support.stores import Store
from tests.test_reliability import FIRST_USER, seed_broadcast

PEOPLE = 150
SEND_NOW = ("checkins", "send-now")


def read(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """A query from the test process, on its own short-lived connection (either engine)."""
    return stores.current.query(db_path, sql, params)


def statuses(db_path: Path) -> dict[str, int]:
    """Outbox rows per status."""
    rows = read(db_path, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {str(status): int(n) for status, n in rows}  # type: ignore[call-overload]


def live_senders(db_path: Path) -> int:
    """Running senders whose heartbeat is live now."""
    rows = read(db_path, "SELECT COUNT(*) FROM senders WHERE live_until >= ?", (int(time.time()),))
    return int(rows[0][0])  # type: ignore[call-overload]


async def test_killed_send_now_is_taken_over_by_the_running_bot(
    tmp_path: Path, store: Store
) -> None:
    """send-now drains alone (no bot yet); a bot starts and leaves its rows alone; send-now is
    killed half-way; the same bot process delivers the rest once their 3 s leases expire, with
    repeats at most send-now's 16 in flight. With the bot running, send-now only queues."""
    emulator = BotApiEmulator()
    db_path = tmp_path / "send-now.sqlite3"
    await seed_broadcast(db_path, emulator, PEOPLE)
    people = range(FIRST_USER, FIRST_USER + PEOPLE)

    def delivered() -> int:
        """Messages the fake Bot API accepted so far."""
        return sum(emulator.delivered.values())

    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            HOMEBIZ_OUTBOX_LEASE="3",
        )
        send_now = BotProcess({**env, "HOMEBIZ_SEND_RATE": "10"}, tmp_path, "send-now", SEND_NOW)
        bot = BotProcess({**env, "HOMEBIZ_SEND_RATE": "200"}, tmp_path, "bot")
        try:
            send_now.start()
            await send_now.wait_for(lambda: delivered() >= 10, "send-now delivering")
            bot.start()
            await bot.wait_for(lambda: live_senders(db_path) == 1, "the bot's heartbeat")
            before = delivered()
            await send_now.wait_for(lambda: delivered() >= before + 5, "send-now going on")
            # The running bot claimed nothing from the live send-now (no reset at its start).
            owners = read(db_path, "SELECT DISTINCT lease_owner FROM outbox WHERE lease_until <> 0")
            bots = read(db_path, "SELECT owner FROM senders")
            assert len(owners) == 1 and len(bots) == 1 and owners != bots, (owners, bots)
            send_now.kill()
            at_kill = delivered()
            stranded = statuses(db_path).get("sending", 0)
            assert stranded > 16, (stranded, at_kill)  # more than any duplicate window
            await bot.wait_for(
                lambda: all(emulator.delivered[u] >= 1 for u in people), "everyone", timeout=60
            )
            await bot.wait_for(lambda: statuses(db_path) == {"sent": PEOPLE}, "all recorded")
            assert bot.returncode is None  # the same process throughout: no restart
            again = await asyncio.create_subprocess_exec(  # the fake API must keep serving
                sys.executable, "-m", "bot", *SEND_NOW,
                cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO_ROOT)},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            async with asyncio.timeout(60):
                out, err = (b.decode() for b in await again.communicate())
        finally:
            send_now.kill()
            await bot.stop()
            bot.kill()
    counts = Counter({u: emulator.delivered[u] for u in people})
    duplicates = sum(n - 1 for n in counts.values())
    assert min(counts.values()) == 1 and duplicates <= 16, duplicates
    assert again.returncode == 0, err
    assert "telegram: queued 0" in out
    assert "'homebiz run' is running and delivers them" in out and "; sent" not in out
    assert "took over" in bot.stderr and "Traceback" not in bot.stderr
    print(f"\nsend-now killed at {at_kill}/{PEOPLE} delivered, {stranded} rows left 'sending';"
          f" repeats after the takeover: {duplicates}")  # fmt: skip
