"""Two real `homebiz run` processes on one PostgreSQL database: one polls, the other waits, and
takes over when the first is killed hard (kill -9), answering the person who writes next."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support import TOKEN, BotProcess, bot_env
from tests.support.botapi_server import BotApiServer
from tests.support.stores import Store
from tests.test_e2e_process import USER, press, said_since

POLLING = "telegram: long polling"
WAITING = "telegram: another replica polls"


async def test_one_replica_polls_and_the_other_takes_over_after_kill_9(
    tmp_path: Path, store: Store
) -> None:
    """Exactly one of two processes polls; the person is answered once; after kill -9 of the
    poller the other process polls within seconds and answers the next press."""
    if not store.postgres:
        pytest.skip("replicas need PostgreSQL (SQLite serves one process)")
    emulator = BotApiEmulator()
    emulator.add_user(USER, first_name="Sara", language_code="en")
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.api_url
        )
        async with BotProcess(env, tmp_path, "a") as a, BotProcess(env, tmp_path, "b") as b:
            for bot in (a, b):
                await bot.wait_for(lambda bot=bot: "serving telegram" in bot.stderr, "serving")
            pollers = [bot for bot in (a, b) if POLLING in bot.stderr]
            waiters = [bot for bot in (a, b) if WAITING in bot.stderr]
            assert len(pollers) == 1 and len(waiters) == 1, (a.describe(), b.describe())
            poller, waiter = pollers[0], waiters[0]
            emulator.user_text(USER, "/start")
            await press(poller, emulator, "lang:en", "the language question")
            await poller.wait_for(
                lambda: said_since(emulator, USER, 0, "Privacy"), "the privacy notice"
            )
            asked = [m.content for m in emulator.bot_messages(USER)]
            assert sum("choose your language" in text for text in asked) == 1, asked
            poller.kill()
            assert poller.returncode == -signal.SIGKILL
            await waiter.wait_for(lambda: POLLING in waiter.stderr, "the take-over", timeout=20)
            await press(waiter, emulator, "priv:yes", "the privacy notice")
            await waiter.wait_for(
                lambda: said_since(emulator, USER, 0, "full name"), "the name question"
            )
            status = await waiter.stop(signal.SIGTERM)
            assert status == 0, waiter.describe()
    assert server.unauthorized == 0
