"""Two real `homebiz run` processes on one PostgreSQL schema behind a round-robin balancer, the
platform (the fake Bot API server) posting each update once it had the previous one's 200: a
person's consecutive updates alternate between the processes and are answered in order, and a
process killed -9 loses nothing it acknowledged (see also tests/test_webhook_replicas.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules, Window
from bot.messengers.update_inbox import LEASE, RESCUE_EVERY
from tests.conftest import wait_until
from tests.support import TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import BotApiServer
from tests.support.round_robin import RoundRobin
from tests.support.stores import Store
from tests.test_webhook_replicas import LANGUAGE_QUESTION, SECRET, STEPS, UNKNOWN_MESSAGE, texts

ANNA = 7301


@dataclass
class Cluster:
    """The platform, the balancer and the two processes (``bots[i]`` listens on ``ports[i]``)."""

    emulator: BotApiEmulator
    server: BotApiServer
    balancer: RoundRobin
    ports: list[int]
    bots: list[BotProcess]

    def say(self, kind: str, value: str) -> None:
        """The person's text or button press, queued for the platform to post."""
        if kind == "press":
            self.emulator.user_press(ANNA, UNKNOWN_MESSAGE, value)
        else:
            self.emulator.user_text(ANNA, value)

    def said(self) -> list[str]:
        """What the bot said to the person, in order."""
        return texts(self.emulator, ANNA)


@asynccontextmanager
async def cluster(tmp_path: Path, store: Store) -> AsyncIterator[Cluster]:
    """Both processes serving behind the balancer (PostgreSQL only)."""
    if not store.postgres:
        pytest.skip("replicas share a PostgreSQL database; SQLite is one process")
    emulator = BotApiEmulator()
    emulator.add_user(ANNA, first_name="Anna", language_code="en")
    ports = [free_port(), free_port()]
    async with (
        BotApiServer(emulator, token=TOKEN) as server,
        RoundRobin(ports) as balancer,
    ):
        envs = [
            bot_env(
                tmp_path / "bot.sqlite3",
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=server.api_url,
                TELEGRAM_WEBHOOK_URL=balancer.url,
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                TELEGRAM_WEBHOOK_PORT=str(port),
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
            )
            for port in ports
        ]
        async with (
            BotProcess(envs[0], tmp_path, name="one") as one,
            BotProcess(envs[1], tmp_path, name="two") as two,
        ):
            for bot in (one, two):
                await bot.wait_for(lambda b=bot: "serving" in b.stderr, "serving")
            yield Cluster(emulator, server, balancer, ports, [one, two])
            for bot in (one, two):
                for text in (TOKEN, TOKEN.partition(":")[2], SECRET):
                    assert text not in bot.stderr + bot.stdout


async def idle(tmp_path: Path, store: Store) -> bool:
    """Whether every stored update was handled and nobody holds a turn."""
    db = await store.open(tmp_path / "bot.sqlite3", migrate=False)
    try:
        row = await db.fetchone(
            "SELECT (SELECT COUNT(*) FROM updates_inbox WHERE done_at IS NULL) "
            "+ (SELECT COUNT(*) FROM chat_turns)"
        )
    finally:
        await db.close()
    return row is not None and int(row[0]) == 0


async def test_a_persons_updates_alternate_between_processes_in_order(
    tmp_path: Path, store: Store
) -> None:
    """Consecutive updates go to different processes and are answered in order; once one
    process is killed -9 the balancer fails over and the other answers the rest."""
    async with cluster(tmp_path, store) as c:
        one, two = c.bots
        for kind, value in STEPS[:3]:  # queued without waiting for the answers
            c.say(kind, value)
        await one.wait_for(lambda: len(c.said()) >= 3, "three answers")
        await wait_until(lambda: idle(tmp_path, store), "every turn over")
        one.kill()  # between turns (killed inside one, it would answer that update again)
        for kind, value in STEPS[3:]:
            c.say(kind, value)
        await two.wait_for(lambda: len(c.said()) >= len(STEPS), "every answer")
        assert await two.stop() == 0, two.describe()
    said = c.said()
    assert len(said) == len(STEPS), said
    assert LANGUAGE_QUESTION in said[0] and "Privacy" in said[1], said
    assert "national code" in said[-1], said
    routed = [port for _, port in c.balancer.routed[:3]]
    assert routed == [c.ports[0], c.ports[1], c.ports[0]]  # one person, both processes
    assert c.balancer.failed_over[c.ports[0]] >= 1  # the killed process was tried and skipped


def held(bot: BotProcess) -> bool:
    """Whether the process met the flood limit (it then waits, holding the person's turn)."""
    return "flood control asked to wait" in bot.stderr


async def test_an_update_acknowledged_by_a_process_killed_mid_turn_is_answered(
    tmp_path: Path, store: Store
) -> None:
    """The process handling the person's second update (the one the balancer gave it, or the
    other if its rescue came first) is killed -9 while its answer waits for the chat's flood
    limit, the person's turn held: once the turn's lease expires the other process answers
    that update, once, after the first one's answer."""
    async with cluster(tmp_path, store) as c:
        c.emulator.flood_rules = FloodRules(chat=Window(1, 3600.0))  # one message an hour
        c.say("text", "/start")
        await c.bots[0].wait_for(lambda: len(c.said()) == 1, "the first answer")
        c.say("press", "lang:en")
        await c.bots[0].wait_for(lambda: any(held(b) for b in c.bots), "the second answer held")
        dying, survivor = sorted(c.bots, key=held, reverse=True)
        dying.kill()
        c.emulator.flood_rules = None  # the chat may be written to again
        await survivor.wait_for(
            lambda: len(c.said()) == 2, "the taken-over answer", timeout=LEASE + 5 * RESCUE_EVERY
        )
        assert await survivor.stop() == 0, survivor.describe()
    said = c.said()
    assert LANGUAGE_QUESTION in said[0] and "Privacy" in said[1], said
    assert [port for _, port in c.balancer.routed] == c.ports  # acknowledged by each process
