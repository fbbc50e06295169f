"""The bot-wide flood budget shared by replicas on PostgreSQL: two replicas' pacers (each its own
pool, Bot and outbox sender) sending replies and bulk rows at once stay within the platform's
limit as the fake Bot API's strict flood window counts it; on SQLite nothing is shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telegram.ext import ExtBot

from bot.core.clock import ManualClock
from bot.db.open import AnyDatabase
from bot.messengers.budget import shared_budget
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules, Window
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits, Pacer
from bot.messengers.ratelimit import PacedLimiter
from bot.repo.outbox import PRIORITY_BROADCAST, NewMessage, OutboxRepo, make_payload
from scheduler.outbox import OutboxSender
from tests.conftest import TOKEN
from tests.support.stores import Store

#: A small, fast window so the test takes seconds: 8 messages in any quarter second.
LIMITS = Limits(bot_count=8, bot_period=0.25, chat_rate=100.0, chat_burst=10, reserve=2)
REPLIES = 12  # per replica, each to a chat of its own
BULK = 12  # outbox rows per replica


def _bot(emulator: BotApiEmulator, pacer: Pacer) -> ExtBot[None]:
    """A replica's Bot: every send through its pacer (PTB's rate limiter), to the emulator."""
    return ExtBot(
        TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=EmulatorRequest(emulator),
        rate_limiter=PacedLimiter(pacer, platform="telegram"),
    )


async def _two_replicas_send(
    store: Store, tmp_path: Path, clock: ManualClock, *, shared: bool
) -> BotApiEmulator:
    """Two replicas each send REPLIES replies and drain BULK outbox rows, all at once, against
    a strict bot-wide window of LIMITS; the emulator that counted them."""
    emulator = BotApiEmulator()
    emulator.flood_rules = FloodRules(bot=Window(LIMITS.bot_count, LIMITS.bot_period))
    chats = list(range(2000, 2000 + 2 * (REPLIES + BULK)))
    for chat in chats:
        emulator.add_user(chat)
    path = tmp_path / "shared"
    dbs: list[AnyDatabase] = [await store.open(path), await store.open(path)]
    bots: list[ExtBot[None]] = []
    try:
        for db in dbs:
            budget = shared_budget(db, "telegram", LIMITS) if shared else None
            bots.append(_bot(emulator, Pacer(LIMITS, budget)))
        payload = make_payload("خبر")
        now = clock.timestamp()
        bulk = chats[2 * REPLIES :]
        rows = [
            NewMessage("telegram", c, None, "broadcast", payload, now, PRIORITY_BROADCAST,
                       f"bc:1:{c}", None)
            for c in bulk
        ]  # fmt: skip
        await OutboxRepo(dbs[0]).enqueue_many(rows, now=now)
        work = []
        for i, (bot, db) in enumerate(zip(bots, dbs, strict=True)):
            await bot.initialize()
            sender = OutboxSender(bot, OutboxRepo(db), "telegram", clock, batch=10)
            work.append(sender.drain_once())
            mine = chats[i * REPLIES : (i + 1) * REPLIES]
            work += [bot.send_message(chat, "پاسخ") for chat in mine]
        await asyncio.gather(*work)
        assert await OutboxRepo(dbs[0]).pending_count("telegram") == 0
    finally:
        for bot in bots:
            await bot.shutdown()
        for db in dbs:
            await db.close()
    return emulator


async def test_two_replicas_never_exceed_the_bot_wide_limit_together(
    tmp_path: Path, clock: ManualClock, store: Store
) -> None:
    """With the shared budget no send of either replica meets a 429 and every message arrives
    once; without it (each replica pacing alone) the same sends do meet 429s. On SQLite there
    is no budget: the pacer stays in memory."""
    db = await store.open(tmp_path / "probe")
    try:
        assert (shared_budget(db, "telegram", LIMITS) is not None) is store.postgres
        assert shared_budget(db, "telegram", Limits.unlimited()) is None
    finally:
        await db.close()
    if not store.postgres:
        return
    together = await _two_replicas_send(store, tmp_path / "with", clock, shared=True)
    assert sum(together.rate_limited.values()) == 0
    assert set(together.delivered.values()) == {1}
    assert len(together.delivered) == 2 * (REPLIES + BULK)
    alone = await _two_replicas_send(store, tmp_path / "without", clock, shared=False)
    assert sum(alone.rate_limited.values()) > 0


async def test_bulk_leaves_the_reserve_to_replies_and_lost_slots_come_back(
    tmp_path: Path, store: Store
) -> None:
    """Bulk sends take at most bot_count - reserve slots of a window, a reply still finds one;
    when the (unlogged) slots are gone after a server crash the next take makes them again."""
    if not store.postgres:
        return  # no shared budget on SQLite (checked above)
    db = await store.open(tmp_path / "slots")
    budget = shared_budget(db, "telegram", LIMITS)
    assert budget is not None
    try:
        bulk = [await budget.take(bulk=True) for _ in range(LIMITS.bot_count)]
        taken = [ticket for ticket, _ in bulk if ticket is not None]
        assert len(taken) == LIMITS.bot_count - LIMITS.reserve
        assert bulk[-1][1] > 0  # the wait until the first slot frees
        reply, _ = await budget.take(bulk=False)
        assert reply is not None and reply.slot not in {t.slot for t in taken}
        for ticket in [*taken, reply]:
            budget.give_back(ticket, used=False)
        await budget.close()
        await db.execute("DELETE FROM send_slots")  # what a crash does to an unlogged table
        assert (await budget.take(bulk=False))[0] is None
        assert (await budget.take(bulk=False))[0] is not None
    finally:
        await budget.close()
        await db.close()
