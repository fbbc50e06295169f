"""Several replicas on one database: who polls and ticks (leadership), and outbox claims that
never take another replica's row. PostgreSQL where replicas exist; SQLite's one process leads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot as PtbBot

from bot.core.clock import ManualClock
from bot.db.leadership import Leadership
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.repo.outbox import PRIORITY_BROADCAST, NewMessage, OutboxRepo, make_payload
from scheduler import Proactive
from scheduler.outbox import OutboxSender
from tests.conftest import TOKEN, Bot, pace, wait_until
from tests.support.stores import Store
from tests.test_broadcast import sbot as sbot  # the fixture: a bot whose user 1 is an admin


def _ptb_bot(emulator: BotApiEmulator) -> PtbBot:
    """A real PTB Bot whose requests go to the shared emulator (one per replica)."""
    return PtbBot(
        TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=EmulatorRequest(emulator),
    )


def _counted(sweep: Callable[[], Awaitable[Any]], calls: list[int], replica: int) -> Any:
    """The planner's sweep, each call recorded as ``replica`` in ``calls``."""

    async def counted() -> Any:
        """Record, then sweep."""
        calls.append(replica)
        return await sweep()

    return counted


class Changes:
    """What a leadership's ``on_change`` was told, in order."""

    def __init__(self) -> None:
        """Nothing told yet."""
        self.seen: list[bool] = []

    async def __call__(self, leads: bool) -> None:
        """Record one gain or loss."""
        self.seen.append(leads)


async def test_sqlite_process_always_leads_without_a_connection(
    tmp_path: Path, store: Store
) -> None:
    """On SQLite the one process leads at once (told once), opens nothing, and stopping tells
    nothing; on PostgreSQL the first of one replica wins an election on its own connection."""
    db = await store.open(tmp_path / "one.sqlite3")
    told = Changes()
    lead = Leadership(db, "tick:telegram", told)
    try:
        assert lead.elected is store.postgres
        await lead.start()
        assert lead.leads and told.seen == [True]
        assert (lead._conn is not None) is store.postgres
    finally:
        await lead.stop()
        await db.close()
    assert told.seen == ([True, False] if store.postgres else [True])


async def test_one_of_two_leads_and_the_other_takes_over_when_it_dies(
    tmp_path: Path, store: Store
) -> None:
    """Two replicas try for the same lead: exactly one wins. A leader whose connection is cut
    stops leading at once (and one replica leads again); a leader that dies (no more tries, its
    session ended by the server, as after kill -9) is replaced by the other."""
    if not store.postgres:
        pytest.skip("an election needs PostgreSQL (SQLite serves one process)")
    db = await store.open(tmp_path / "shared")
    told = [Changes(), Changes()]
    leads = [Leadership(db, "poll:telegram", told[i]) for i in range(2)]
    other_work = Leadership(db, "poll:bale")  # another platform's lead is independent
    for lead in (*leads, other_work):
        lead.retry = 0.1

    def leaders() -> int:
        """How many of the two lead now."""
        return [lead.leads for lead in leads].count(True)

    async def end_session(lead: Leadership) -> None:
        """The server ends the session holding ``lead``'s lock."""
        assert lead._conn is not None
        await db.execute("SELECT pg_terminate_backend(?)", (lead._conn.get_server_pid(),))

    try:
        for lead in (*leads, other_work):
            await lead.start()
        assert leaders() == 1 and other_work.leads
        first = 0 if leads[0].leads else 1
        await asyncio.sleep(0.3)  # the other tries a few times meanwhile, in vain
        assert not leads[1 - first].leads and told[1 - first].seen == []
        await end_session(leads[first])
        await wait_until(lambda: told[first].seen[:2] == [True, False], "the loss to be told")
        await wait_until(lambda: leaders() == 1, "one replica to lead again")
        alive = 0 if leads[0].leads else 1
        assert leads[alive]._task is not None
        leads[alive]._task.cancel()  # the leader's process dies: it tries nothing more
        await end_session(leads[alive])
        await wait_until(lambda: leads[1 - alive].leads, "the other replica to take over")
        assert other_work.leads and told[1 - alive].seen[-1] is True
    finally:
        for lead in (*leads, other_work):
            await lead.stop()
        await db.close()


async def test_two_senders_never_claim_the_same_row(
    tmp_path: Path, clock: ManualClock, store: Store
) -> None:
    """Two replicas' senders (each its own pool and Bot) drain 400 rows together: every row is
    delivered exactly once, and both took a share."""
    if not store.postgres:
        pytest.skip("concurrent claims need PostgreSQL (SQLite's writer holds the whole file)")
    emulator = BotApiEmulator()
    chats = list(range(1000, 1400))
    for chat in chats:
        emulator.add_user(chat)
    path = tmp_path / "shared"
    dbs = [await store.open(path), await store.open(path)]
    bots = [_ptb_bot(emulator), _ptb_bot(emulator)]
    try:
        payload = make_payload("خبر")
        now = clock.timestamp()
        rows = [
            NewMessage("telegram", c, None, "broadcast", payload, now, PRIORITY_BROADCAST,
                       f"bc:1:{c}", None)
            for c in chats
        ]  # fmt: skip
        assert await OutboxRepo(dbs[0]).enqueue_many(rows, now=now) == len(chats)
        for bot in bots:
            await bot.initialize()
        senders = [
            OutboxSender(bot, OutboxRepo(db), "telegram", clock, pacer=pace(), batch=20)
            for bot, db in zip(bots, dbs, strict=True)
        ]
        done = await asyncio.gather(*(s.drain_once() for s in senders))
        assert emulator.delivered == dict.fromkeys(chats, 1)
        assert sum(done) == len(chats) and min(done) > 0, done
        assert await OutboxRepo(dbs[0]).counts() == {("broadcast", "sent"): len(chats)}
    finally:
        for bot in bots:
            await bot.shutdown()
        for db in dbs:
            await db.close()


async def test_the_sweep_runs_on_one_replica_only(
    tmp_path: Path, clock: ManualClock, store: Store
) -> None:
    """Two replicas' Proactives tick once each: one sweep's work is done (the leader's); on
    SQLite the one process sweeps."""
    replicas = [Bot(db_path=tmp_path / "bot.sqlite3", clock=clock)]
    if store.postgres:
        replicas.append(Bot(db_path=tmp_path / "bot.sqlite3", clock=clock))
    jobs: list[Proactive] = []
    sweeps: list[int] = []
    try:
        for replica in replicas:
            await replica.start()
            assert replica.app is not None
            job = Proactive(replica.app, replica.svc, "telegram")
            job.planner.sweep = _counted(job.planner.sweep, sweeps, len(jobs))  # type: ignore[method-assign]
            jobs.append(job)
            await job.lead.start()
        await wait_until(lambda: any(j.lead.leads for j in jobs), "a replica to lead the ticks")
        for job in jobs:
            await job._tick(None)
        assert len(sweeps) == 1
        assert jobs[sweeps[0]].lead.leads
        assert [j.lead.leads for j in jobs].count(True) == 1
    finally:
        for job in jobs:
            await job.lead.stop()
        for replica in replicas:
            await replica.stop()


async def test_stats_answer_while_every_connection_of_the_bot_is_held(bot: Bot) -> None:
    """/stats' figures (and the exports, built from the same reads) come through ``reader()``:
    they answer while every connection people's turns write through is held by a transaction
    (SQLite: its one writer; PostgreSQL: the whole pool), so a report never waits for, nor
    takes, those."""
    from bot.db.postgres import POOL_SIZE
    from bot.staffdesk.figures import gather_roster, gather_stats

    db = bot.svc.db
    assert db.reader() is not db or str(db.path) == ":memory:"
    release = asyncio.Event()
    holding: list[int] = []

    async def hold() -> None:
        """Keep one of the bot's connections in a transaction until released."""
        async with db.transaction() as tx:
            await tx.execute("SELECT 1")
            holding.append(1)
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(POOL_SIZE if db.dialect.postgres else 1)]
    try:
        await wait_until(lambda: len(holding) == len(holders), "every connection to be held")
        stats = await asyncio.wait_for(gather_stats(bot.svc), timeout=10)
        assert stats is not None
        await asyncio.wait_for(gather_roster(bot.svc), timeout=10)
    finally:
        release.set()
        await asyncio.gather(*holders)


async def test_only_the_leading_replica_queues_and_edits_a_broadcast(
    sbot: Bot, store: Store
) -> None:
    """Two replicas' broadcast monitors tick over a launched broadcast: the follower's tick
    neither queues a row nor edits the status message; the leader's does both."""
    if not store.postgres:
        pytest.skip("two replicas need PostgreSQL (SQLite's one process leads: tests above)")
    from scheduler.broadcasts import BroadcastMonitor
    from tests.test_broadcast_queue import PEOPLE, launched, rows_of

    bot = sbot
    _, bid = await launched(bot)
    leads = [Leadership(bot.svc.db, "tick:telegram") for _ in range(2)]
    try:
        for lead in leads:
            await lead.start()
        assert [lead.leads for lead in leads].count(True) == 1
        leader, follower = (
            BroadcastMonitor(bot.app.bot, bot.svc, "telegram", leads=lambda lead=lead: lead.leads)
            for lead in sorted(leads, key=lambda lead: not lead.leads)
        )

        def edits() -> int:
            """The status edits the fake Bot API was asked for."""
            return sum(method == "editMessageText" for method, *_ in bot.emulator.calls)

        before = edits()
        await follower.job(None)  # type: ignore[arg-type]
        await follower.idle()
        assert await rows_of(bot, bid) == [] and edits() == before
        await leader.job(None)  # type: ignore[arg-type]
        await leader.idle()
        assert len(await rows_of(bot, bid)) == PEOPLE and edits() > before
    finally:
        for lead in leads:
            await lead.stop()
