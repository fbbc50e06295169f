"""Broadcasts queued in chunks by the monitor: others get the database between chunks, sending
starts with the first chunk, a crash resumes where it stopped, a cancel stops the queueing, and
the figures kept by triggers equal a count of the rows after every kind of change."""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import bot.repo.broadcasts as broadcasts
from bot.repo.broadcasts import BroadcastRepo
from bot.repo.outbox import CLAIM_ROUNDS, OutboxRepo
from scheduler.broadcasts import BroadcastMonitor
from tests.conftest import Bot
from tests.test_broadcast import (
    ADMIN,
    EN_TEXT,
    FA_TEXT,
    PLATFORM,
    compose,
    monitor,
    only_broadcast,
    queue_all,
    rows_of,
    seed,
    send_now,
    sender,
    staff_member,
    tick,
)
from tests.test_broadcast import sbot as sbot  # the fixture: a bot whose user 1 is an admin

PEOPLE = 1000
SPAN = 100  # user ids per chunk in these tests


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of exactly SPAN user ids, so a thousand people make several chunks."""
    monkeypatch.setattr(broadcasts, "CHUNK_IDS", SPAN)
    monkeypatch.setattr(broadcasts, "CHUNK_RANGE", (SPAN, SPAN))


class Gate:
    """Holds the queueing before chunk number ``after`` (0-based) until opened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, after: int) -> None:
        """Wrap BroadcastRepo._queue_chunk."""
        self.after, self.calls = after, 0
        self.reached, self.opened = asyncio.Event(), asyncio.Event()
        original = BroadcastRepo._queue_chunk
        gate = self

        async def gated(repo: BroadcastRepo, bid: int, span: int, now: int) -> Any:
            """Wait at the gate, then queue the chunk."""
            if gate.calls == gate.after:
                gate.reached.set()
                await gate.opened.wait()
            gate.calls += 1
            return await original(repo, bid, span, now)

        monkeypatch.setattr(BroadcastRepo, "_queue_chunk", gated)


@contextmanager
def statements(bot: Bot) -> Iterator[list[str]]:
    """Every SQL statement the bot's connection runs meanwhile."""
    seen: list[str] = []
    conn: sqlite3.Connection = bot.svc.db._conn
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def transactions_inserting_rows(seen: list[str]) -> list[tuple[int, int]]:
    """(BEGIN, COMMIT) positions of the traced transactions that inserted outbox rows."""
    found, begin = [], None
    for i, statement in enumerate(seen):
        if statement == "BEGIN IMMEDIATE":
            begin = i
        elif statement == "COMMIT" and begin is not None:
            if any(s.startswith("INSERT INTO outbox") for s in seen[begin:i]):
                found.append((begin, i))
            begin = None
    return found


async def launched(bot: Bot) -> tuple[Any, int]:
    """A thousand applicants in Karaj (every third English), a broadcast to them launched by the
    staff member through the conversation; (the staff member's client, the broadcast's id)."""
    await seed(
        bot,
        [{"user_id": 20_000 + i, "county": "karaj", "lang": "en" if i % 3 == 0 else "fa"}
         for i in range(PEOPLE)],
    )  # fmt: skip
    me = await staff_member(bot)
    await compose(me, FA_TEXT, en=EN_TEXT, filters=["county:karaj"])
    await send_now(me)
    return me, await only_broadcast(bot)


def status_message(me: Any, first: Any) -> str:
    """The status message as it stands now (edits included)."""
    return next(m for m in me.messages if m.message_id == first.message_id).content


# --- chunks -----------------------------------------------------------------------------------
@pytest.mark.sqlite_only("watches the transactions with SQLite's trace callback")
async def test_rows_go_in_chunk_by_chunk_and_others_use_the_database_between(sbot: Bot) -> None:
    """The launch turn stores the broadcast only; the monitor then inserts the rows with one
    INSERT … SELECT per chunk, each its own transaction, and another person's reads get the
    connection between chunks; each person once, in their language, then a right report."""
    bot = sbot
    me, bid = await launched(bot)
    status = me.last_message
    assert "going out" in status.content and "Remaining: 1000" in status.content
    assert await rows_of(bot, bid) == []
    running = True

    async def someone_else() -> int:
        """Another person's turn reading the database meanwhile."""
        reads = 0
        while running:
            await bot.svc.db.fetchone("SELECT 'probe'")
            reads += 1
            await asyncio.sleep(0)
        return reads

    with statements(bot) as seen:
        reader = asyncio.create_task(someone_else())
        queued = await queue_all(bot)
        running = False
        await reader
    assert queued == PEOPLE
    chunks = transactions_inserting_rows(seen)
    assert len(chunks) >= PEOPLE // SPAN
    inserts = [s for s in seen if s.startswith("INSERT INTO outbox")]
    assert all(" SELECT u.platform, u.chat_id, u.id" in s for s in inserts)  # no list in Python
    between = [
        "SELECT 'probe'" in seen[end:begin]
        for (_, end), (begin, _) in itertools.pairwise(chunks)
    ]
    assert all(between), "another person's reads waited for several chunks"
    rows = await rows_of(bot, bid)
    assert len(rows) == PEOPLE == len({r.user_pk for r in rows})
    assert {r.dedupe_key for r in rows} == {f"bc:{bid}:{r.user_pk}" for r in rows}
    assert all(r.payload["text"] == (EN_TEXT if r.chat_id % 3 == 2 else FA_TEXT) for r in rows)
    b = await BroadcastRepo(bot.svc.db).get(bid)
    assert b is not None and (b.status, b.total, b.queued) == ("queued", PEOPLE, PEOPLE)
    await sender(bot, batch=500).drain_once()
    await tick(monitor(bot))
    assert me.last.startswith(f"🏁 Broadcast #{bid} has finished.")
    assert "Sent: 1000" in me.last and "1000/1000" in me.last and "Remaining: 0" in me.last


async def test_sending_starts_with_the_first_chunk(
    sbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are due as soon as their chunk is in: the sender delivers them while the rest is
    still being queued, and the status message counts the rest as remaining."""
    bot = sbot
    gate = Gate(monkeypatch, after=1)
    me, bid = await launched(bot)
    status = me.last_message
    woken: list[int] = []
    watch = BroadcastMonitor(bot.app.bot, bot.svc, PLATFORM, on_queued=lambda: woken.append(1))
    watch.shown[bid] = status.content
    watch.wake()
    await gate.reached.wait()
    assert woken == [1]  # the sender was told at once
    assert await sender(bot).drain_once() == SPAN
    await watch.tick()
    shown = status_message(me, status)
    assert "going out" in shown and f"Sent: {SPAN}\n" in shown and f"{SPAN}/1000" in shown
    assert f"Remaining: {PEOPLE - SPAN}" in shown
    gate.opened.set()
    await watch.idle()
    await sender(bot, batch=500).drain_once()
    await tick(watch)
    assert "has finished" in status_message(me, status) and "Sent: 1000" in me.last


# --- a crash, a cancel ------------------------------------------------------------------------
async def test_a_crash_mid_queue_goes_on_where_it_stopped(
    sbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies inside the fourth chunk: three chunks are in and the broadcast says how
    far it got; after a restart the monitor queues the rest, each person exactly once."""
    bot = sbot
    me, bid = await launched(bot)
    calls = 0
    original = broadcasts._insert_rows

    async def dies_in_the_fourth(*args: Any, **kwargs: Any) -> int:
        """The fourth chunk's statement never finishes (the process is gone)."""
        nonlocal calls
        calls += 1
        if calls == 4:
            raise SystemExit("killed")
        return await original(*args, **kwargs)

    monkeypatch.setattr(broadcasts, "_insert_rows", dies_in_the_fourth)
    with pytest.raises(SystemExit):
        await queue_all(bot)
    b = await BroadcastRepo(bot.svc.db).get(bid)
    assert b is not None and b.status == "queueing" and b.queue_after == 3 * SPAN
    assert len(await rows_of(bot, bid)) == b.queued == 3 * SPAN
    assert b.outlook.rows == PEOPLE and b.outlook.remaining == PEOPLE

    monkeypatch.setattr(broadcasts, "_insert_rows", original)
    await bot.restart()
    await tick(monitor(bot))  # the restarted bot's monitor finds the queueing broadcast
    rows = await rows_of(bot, bid)
    assert len(rows) == PEOPLE == len({r.user_pk for r in rows})
    b = await BroadcastRepo(bot.svc.db).get(bid)
    assert b is not None and (b.status, b.total) == ("queued", PEOPLE)
    await sender(bot, batch=500).drain_once()
    await tick(monitor(bot))
    assert all(bot.emulator.delivered[20_000 + i] == 1 for i in range(PEOPLE))
    assert "has finished" in me.last and "Sent: 1000" in me.last


async def test_cancel_mid_queueing_stops_the_queueing_and_nothing_goes_out(
    sbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel pressed after two chunks: the answer counts every message that will not go out,
    no further chunk is queued, the queued rows are never sent (not even before they are
    tidied) and end cancelled; the figures say so."""
    bot = sbot
    gate = Gate(monkeypatch, after=2)
    me, bid = await launched(bot)
    status = me.last_message
    watch = monitor(bot)
    watch.wake()
    await gate.reached.wait()
    await me.press(f"bc:c:{bid}")
    assert f"Broadcast #{bid} cancelled: 1000 messages will not go out." in me.last
    shown = status_message(me, status)
    assert "was cancelled" in shown and "Cancelled: 1000" in shown and "Remaining: 0" in shown
    assert await sender(bot).drain_once() == 0  # the claim cancels what the tidy has not yet
    gate.opened.set()
    await watch.idle()
    rows = await rows_of(bot, bid)
    assert len(rows) == 2 * SPAN and {r.status for r in rows} == {"cancelled"}
    repo = BroadcastRepo(bot.svc.db)
    b = await repo.get(bid)
    assert b is not None and b.status == "cancelled" and b.queue_after == 2 * SPAN
    assert b.figures == await repo.recount(bid) and b.figures.cancelled == 2 * SPAN
    assert not any(bot.emulator.delivered[20_000 + i] for i in range(PEOPLE))
    await me.send("/broadcasts")
    assert f"#{bid} ·" in me.last and "cancelled · 1000 people · sent 0" in me.last


async def test_one_claim_never_walks_a_whole_cancelled_broadcast(sbot: Bot) -> None:
    """Rows of a cancelled broadcast not tidied yet: a claim cancels at most CLAIM_ROUNDS
    batches of them and sends none; the next claims go on."""
    bot = sbot
    _, bid = await launched(bot)
    repo = BroadcastRepo(bot.svc.db)
    await queue_all(bot)
    assert await repo.cancel(bid, bot.clock.timestamp(), wait=False) is not None
    outbox = OutboxRepo(bot.svc.db)
    now = bot.clock.timestamp()
    taken = await outbox.claim(PLATFORM, now, 50, owner="o", lease_until=now + 30)
    assert taken == []
    assert (await repo.figures(bid)).cancelled == CLAIM_ROUNDS * 50
    assert await sender(bot, batch=100).drain_once() == 0
    assert (await repo.figures(bid)).cancelled == CLAIM_ROUNDS * (50 + 100)
    assert await repo.cancel_rows(PLATFORM) == PEOPLE - CLAIM_ROUNDS * 150  # the tidy
    assert (await repo.figures(bid)).cancelled == PEOPLE


# --- figures ----------------------------------------------------------------------------------
@pytest.mark.sqlite_only("watches the statements with SQLite's trace callback")
async def test_a_status_tick_reads_the_broadcast_row_not_its_outbox_rows(sbot: Bot) -> None:
    """The monitor's figures come from the broadcast's row: no statement of a tick reads the
    outbox, however many rows the broadcast has."""
    bot = sbot
    me, _ = await launched(bot)
    await queue_all(bot)
    await sender(bot, batch=300).drain_once()
    watch = monitor(bot)
    with statements(bot) as seen:
        await watch.tick()
        await watch.idle()
    reads = [s for s in seen if re.search(r"\b(FROM|JOIN) outbox\b", s)]
    assert reads == [], reads
    assert "Sent: 1000" in me.last


async def test_figures_follow_every_kind_of_change(sbot: Bot) -> None:
    """Sent, failed, a 403 and its cascade, a /stop, an unreachable person, a retry and a flood
    wait back to pending, a release, a person's data deleted, a cancel mid-way and its tidy:
    after each, the figures in the row equal the COUNT/SUM over the rows."""
    bot = sbot
    repo, outbox = BroadcastRepo(bot.svc.db), OutboxRepo(bot.svc.db)
    me, first = await launched(bot)
    await queue_all(bot)
    await compose(me, "Second", filters=["county:karaj"])
    await send_now(me)
    second = (await repo.list_recent(PLATFORM))[0].id
    await queue_all(bot)
    now = bot.clock.timestamp()
    users = bot.svc.db

    async def check(what: str) -> None:
        """Both broadcasts' kept figures equal their counted ones."""
        for bid in (first, second):
            assert await repo.figures(bid) == await repo.recount(bid), (what, bid)

    async def claim(n: int) -> list[Any]:
        """Lease n rows to owner "o"."""
        return await outbox.claim(PLATFORM, now, n, owner="o", lease_until=now + 30)

    rows = await claim(40)
    await check("claimed (pending → sending)")
    await outbox.mark_sent([(r.id, 7) for r in rows[:10]], now)
    await check("sent")
    await outbox.mark_failed(rows[10].id, "bad_request", now, owner="o")
    await check("failed")
    await outbox.mark_forbidden(rows[11].id, "forbidden: blocked", now, owner="o")
    await check("forbidden, and the person's other rows cancelled as unreachable")
    await outbox.mark_retry(rows[12].id, now, "network", owner="o")
    await outbox.mark_flood_wait(rows[13].id, now, "flood_wait:3", owner="o")
    await outbox.mark_flood_wait(rows[14].id, now, "flood_wait:3", owner="o", give_up=True)
    await outbox.release([r.id for r in rows[15:20]], owner="o")
    await check("retries, flood waits and releases")
    await users.execute("UPDATE users SET proactive = 0 WHERE user_id = 20500")
    await users.execute("UPDATE users SET unreachable_at = 1 WHERE user_id = 20501")
    await sender(bot, batch=1000).drain_once()
    await check("stopped and unreachable people skipped by the claim")
    person = await bot.svc.users.find(PLATFORM, 20_002)
    assert person is not None and await bot.svc.users.delete(person)
    await check("a person's data deleted with their rows")
    await compose(me, "Third", filters=["county:karaj"])
    await send_now(me)
    third = (await repo.list_recent(PLATFORM))[0].id
    await queue_all(bot)
    await claim(30)
    cancelled = await repo.cancel(third, now)
    assert cancelled is not None and cancelled.figures.remaining == 30  # in flight
    assert await repo.figures(third) == await repo.recount(third) == cancelled.figures
    await check("another broadcast cancelled mid-way")
    f = await repo.figures(first)
    assert f.sent and f.failed and f.unreachable and f.stopped
    assert f.remaining == 20  # still leased to "o", which never reported them
    assert f.rows == PEOPLE - 1 and ADMIN not in {r.chat_id for r in await rows_of(bot, first)}
