"""The outbox heals itself: leases and takeovers, writes that fail for a while, flood-wait caps
and the running sender's heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from telegram import Bot

from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.db.engine import Database
from bot.db.postgres import PostgresDatabase
from bot.entry.ops import outbox_counts
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.repo.outbox import OutboxRepo
from bot.repo.senders import SenderRepo
from scheduler.outbox import MAX_FLOOD_WAITS, OutboxSender
from tests.conftest import pace
from tests.support import stores
from tests.support.stores import Store
from tests.test_outbox import (
    FAST,
    PLATFORM,
    TOKEN,
    CrashedDatabase,
    World,
    make_bot,
    sent_texts,
)
from tests.test_reliability import hold_write_lock

DISK_FULL = "database or disk is full"


class FlakyDatabase(Database):
    """A real database whose writes fail like a full disk while ``failing`` is set.

    An autocommit statement fails before it runs. Once ``arm``ed, a transaction does its work,
    then its COMMIT fails and leaves the transaction open, as SQLite may: the caller has to roll
    it back, or every later BEGIN fails too.
    """

    failing = False
    refused = 0
    armed = False

    def refuse(self) -> None:
        """Raise the disk-full error while failing."""
        if self.failing:
            self.refused += 1
            raise sqlite3.OperationalError(DISK_FULL)

    def arm(self) -> None:
        """Make every COMMIT of a transaction pass through ``refuse``."""
        self.armed = True

    def _commit(self) -> None:
        """Refuse, leaving the transaction open, or commit."""
        if self.armed:
            self.refuse()
        super()._commit()

    async def execute(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """An autocommit write, refused while failing."""
        self.refuse()
        return await super().execute(sql, params, slow=slow)


class FlakyPostgres(PostgresDatabase):
    """FlakyDatabase on PostgreSQL: autocommit writes refused while ``failing``; once armed, a
    transaction does its work and then fails instead of committing (rolled back, as a COMMIT
    the server refused is)."""

    failing = False
    refused = 0
    armed = False

    def refuse(self) -> None:
        """Raise the server's disk-full error while failing."""
        if self.failing:
            self.refused += 1
            raise asyncpg.DiskFullError(DISK_FULL)

    def arm(self) -> None:
        """Make every transaction's end pass through ``refuse``."""
        self.armed = True

    @asynccontextmanager
    async def transaction(self, *, slow: bool = False) -> AsyncIterator[Any]:
        """The real transaction, refused at its end while failing (then rolled back)."""
        async with super().transaction(slow=slow) as tx:
            yield tx
            if self.armed:
                self.refuse()

    async def execute(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """An autocommit write, refused while failing."""
        self.refuse()
        return await super().execute(sql, params, slow=slow)


#: What the sender logs of the disk-full error: SQLite's message is logged, a server error's
#: only by its type (its message may quote a value).
LOGGED_DISK_FULL = {"sqlite": DISK_FULL, "pg": "DiskFullError"}


@pytest.fixture
async def world(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[World]:
    """A fresh world on a FlakyDatabase or FlakyPostgres (working until a test makes it fail)."""
    emulator = BotApiEmulator()
    bot = make_bot(emulator)
    await bot.initialize()
    path = tmp_path / "heal.sqlite3"
    db: FlakyDatabase | FlakyPostgres
    if store.postgres:
        db = await FlakyPostgres.open(store.target(path))
    else:
        db = await FlakyDatabase.open(path, busy_timeout=0.05)
    db.arm()
    w = World(emulator, bot, db, OutboxRepo(db), clock, path)
    yield w
    await w.bot.shutdown()
    await w.db.close()


async def swap_bot(world: World, bot: Bot) -> None:
    """Replace the world's Bot (shutting the old one down) with an initialised ``bot``."""
    await world.bot.shutdown()
    world.bot = bot
    await bot.initialize()


async def until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    """Poll an (a)synchronous condition every 5 ms until it holds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                value = condition()
                if asyncio.iscoroutine(value):
                    value = await value
                if value:
                    return
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


# --- writes that fail for a while -----------------------------------------------------------
@pytest.mark.parametrize(
    "outage",
    [
        "disk_full",
        pytest.param(
            "locked",
            marks=pytest.mark.sqlite_only(
                "another process holds SQLite's file write lock; PostgreSQL's writers wait "
                "for row locks instead of failing"
            ),
        ),
    ],
)
async def test_running_sender_heals_when_writes_fail_for_seconds_mid_broadcast(
    world: World, store: Store, outage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """500 recipients; every write fails for 2 s mid-drain (a full disk whose COMMITs fail, or
    a second connection holding BEGIN IMMEDIATE against a 50 ms busy timeout): the same
    running sender delivers every message exactly once, and no row is left 'sending'."""
    caplog.set_level(logging.INFO, logger="scheduler")
    chats = list(range(5000, 5500))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    await swap_bot(world, make_bot(world.emulator, latency=0.002))
    sender = world.sender(concurrency=16, pacer=pace(rate=250))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    delivered = lambda: sum(world.emulator.delivered.values())  # noqa: E731
    await until(lambda: delivered() >= 100, "100 delivered before the outage")
    assert isinstance(world.db, FlakyDatabase | FlakyPostgres)
    if outage == "disk_full":
        world.db.failing = True
        await until(lambda: world.db.refused, "a write refused", timeout=5)
        await asyncio.sleep(2.0)  # the outage lasts 2 s
        world.db.failing = False
        assert world.db.refused >= 3  # the sender kept trying (with back-off)
    else:
        held = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(hold_write_lock, world.path, 2.0, held))
        await asyncio.to_thread(held.wait, 5)
        await holder
    at_recovery = delivered()
    assert at_recovery < len(chats), "the outage must fall mid-drain"
    await until(lambda: delivered() >= len(chats), "every recipient", timeout=30)
    await until(
        lambda: _status_is(world, {"sent": len(chats)}), "every row recorded sent", timeout=10
    )
    assert not task.done(), "the sender kept running: nothing waited for a restart"
    stop.set()
    await task
    assert world.emulator.delivered == dict.fromkeys(chats, 1)
    assert sender.stats.sent == len(chats)
    assert "a database write failed" in caplog.text
    assert "database writes work again" in caplog.text
    if outage == "disk_full":
        assert LOGGED_DISK_FULL[store.engine] in caplog.text
    else:
        assert "database is locked" in caplog.text


async def _status_is(world: World, expected: dict[str, int]) -> bool:
    """Whether the outbox holds exactly ``expected`` rows per status."""
    return await world.status() == expected


@pytest.mark.sqlite_only(
    "SQLite's COMMIT can fail and leave the transaction open; asyncpg's block rolls back itself"
)
async def test_a_failed_commit_is_rolled_back_so_later_writes_work(world: World) -> None:
    """A COMMIT that fails leaves no open transaction behind: the next write works."""
    assert isinstance(world.db, FlakyDatabase)
    world.db.failing = True
    with pytest.raises(sqlite3.OperationalError, match=DISK_FULL):
        await world.enqueue(1)
    world.db.failing = False
    assert await world.enqueue(2) is not None
    assert [r.chat_id for r in await world.repo.by_status("pending")] == [2]


async def test_drain_once_heals_too(world: World) -> None:
    """`drain_once` (send-now, tests) keeps its successes through a failing spell as well."""
    chats = list(range(1, 61))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    assert isinstance(world.db, FlakyDatabase | FlakyPostgres)
    db = world.db
    real_mark_sent = world.repo.mark_sent
    spells = [True]

    async def fail_once_then_heal(items: Any, now: int) -> None:
        """The first commit meets a disk that fills for 0.3 s."""
        if spells:
            spells.pop()
            db.failing = True
            asyncio.get_running_loop().call_later(0.3, setattr, db, "failing", False)
        await real_mark_sent(items, now)

    world.repo.mark_sent = fail_once_then_heal  # type: ignore[method-assign]
    sender = world.sender(concurrency=8)
    async with asyncio.timeout(10):
        assert await sender.drain_once() == len(chats)
    assert sender.unrecorded == 0
    assert world.emulator.delivered == dict.fromkeys(chats, 1)
    assert await world.status() == {"sent": len(chats)}


# --- leases -------------------------------------------------------------------------------
class GatedRequest(EmulatorRequest):
    """Holds every send to the chats in ``gated`` until ``gate`` is set."""

    def __init__(self, emulator: BotApiEmulator, gated: set[int]) -> None:
        """Gate ``gated``."""
        super().__init__(emulator)
        self.gated = gated
        self.gate = asyncio.Event()
        self.waiting = 0

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
        """Wait at the gate for a gated chat, then answer."""
        params = request_data.json_parameters if request_data else {}
        if url.endswith("/sendMessage") and int(params.get("chat_id", 0)) in self.gated:
            self.waiting += 1
            await self.gate.wait()
        return await super().do_request(url, method, request_data, *args, **kwargs)


async def gated_world(world: World, gated: set[int]) -> GatedRequest:
    """Swap the world's Bot for one whose sends to ``gated`` wait at a gate."""
    request = GatedRequest(world.emulator, gated)
    bot = Bot(
        TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=request,
        get_updates_request=EmulatorRequest(world.emulator),
    )
    await swap_bot(world, bot)
    return request


async def leases(world: World) -> list[tuple[int, str, str | None]]:
    """(chat_id, status, lease_owner) of every row, in order."""
    rows = await world.db.fetchall("SELECT chat_id, status, lease_owner FROM outbox ORDER BY id")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_leases_of_every_row_held_are_renewed_before_they_expire(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row in flight, one queued behind it and one sent whose commit keeps failing stay with
    their sender through 80 s of a 30 s lease; another sender takes none; all go out once."""
    for c in (1, 2):
        world.emulator.add_user(c)
    request = await gated_world(world, {1})
    await world.enqueue(1, "یک")
    await world.enqueue(1, "دو")
    await world.enqueue(2, "سه")
    real_mark_sent = world.repo.mark_sent
    refuse = [True]

    async def refused(items: Any, now: int) -> None:
        """The success commit fails while ``refuse`` holds."""
        if refuse:
            raise sqlite3.OperationalError(DISK_FULL)
        await real_mark_sent(items, now)

    monkeypatch.setattr(world.repo, "mark_sent", refused)
    sender = world.sender(lease=30, pacer=pace(chat_interval=0.01))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await until(lambda: request.waiting == 1 and world.emulator.delivered[2] == 1, "3 held rows")
    for _ in range(4):
        world.clock.advance(seconds=20)
        floor = world.clock.timestamp() + 20
        await until(
            functools.partial(_leased_until, world, sender.owner, floor), "renewed", timeout=5
        )
        assert await world.claim(10, owner="rival") == []
    assert await leases(world) == [
        (1, "sending", sender.owner), (1, "sending", sender.owner), (2, "sending", sender.owner),
    ]  # fmt: skip
    refuse.clear()
    request.gate.set()
    await until(lambda: _status_is(world, {"sent": 3}), "all sent")
    stop.set()
    await task
    assert world.emulator.delivered == {1: 2, 2: 1}
    assert sorted(sent_texts(world.emulator)) == [(1, "دو"), (1, "یک"), (2, "سه")]


async def _leased_until(world: World, owner: str, floor: int) -> bool:
    """Whether every 'sending' row belongs to ``owner`` with a lease reaching ``floor``."""
    rows = await world.db.fetchall(
        "SELECT lease_owner, lease_until FROM outbox WHERE status = 'sending'"
    )
    return len(rows) == 3 and all(r[0] == owner and r[1] >= floor for r in rows)


async def test_own_unrecorded_success_is_never_sent_again_by_its_sender(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits and renewals fail past the lease while claims work: the sender's own claims
    never take its own expired rows, so its buffered success is not sent twice; it stops
    starting sends under a lapsing lease and finishes everything once writes work again."""
    for c in (1, 2):
        world.emulator.add_user(c)
    await world.enqueue(1, "اول")
    await world.enqueue(1, "دوم")
    down = [True]
    real_mark_sent = world.repo.mark_sent
    senders = SenderRepo(world.db)
    real_renew = senders.renew

    async def mark_sent(items: Any, now: int) -> None:
        """Refused while down."""
        if down:
            raise sqlite3.OperationalError(DISK_FULL)
        await real_mark_sent(items, now)

    async def renew(*args: Any, **kwargs: Any) -> set[int]:
        """Refused while down."""
        if down:
            raise sqlite3.OperationalError(DISK_FULL)
        return await real_renew(*args, **kwargs)

    claims = [0]
    real_claim = world.repo.claim

    async def counted_claim(*args: Any, **kwargs: Any) -> Any:
        """Count the sender's claims."""
        claims[0] += 1
        return await real_claim(*args, **kwargs)

    monkeypatch.setattr(world.repo, "mark_sent", mark_sent)
    monkeypatch.setattr(world.repo, "claim", counted_claim)
    sender = world.sender(lease=30, idle_poll=0.05, pacer=pace(chat_interval=0.3))
    monkeypatch.setattr(sender.ledger, "senders", senders)
    monkeypatch.setattr(senders, "renew", renew)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await until(lambda: world.emulator.delivered[1] == 1, "the first message")
    world.clock.advance(seconds=31)  # every lease we hold has expired in the database
    seen = claims[0]
    # Six more claims take longer than the chat's 0.3 s spacing: the second send would be due.
    await until(lambda: claims[0] >= seen + 6, "six more claims by the same sender")
    assert not sender.ledger.may_send()
    assert world.emulator.delivered[1] == 1  # neither repeated nor sent under a lapsed lease
    down.clear()
    await until(lambda: _status_is(world, {"sent": 2}), "both recorded")
    stop.set()
    await task
    assert world.emulator.delivered[1] == 2
    assert [text for _, text in sent_texts(world.emulator)] == ["اول", "دوم"]


async def test_running_sender_takes_over_a_killed_senders_rows_without_restart(
    world: World,
) -> None:
    """A drain dies half-way (its database gone); a sender already running beside it takes its
    rows over once their leases expire: everyone has the message, repeats ≤ its concurrency."""
    chats = list(range(100, 400))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    doomed_db = await stores.current.open(world.path)
    doomed_bot = make_bot(world.emulator, latency=0.002)
    await doomed_bot.initialize()
    doomed_repo = OutboxRepo(doomed_db)
    doomed = OutboxSender(
        doomed_bot, doomed_repo, PLATFORM, world.clock,
        **FAST, pacer=pace(rate=100, chat_interval=0.01), batch=400, lease=30,
    )  # fmt: skip
    drain = asyncio.create_task(doomed.drain_once())
    await until(lambda: sum(world.emulator.delivered.values()) >= 50, "the drain under way")
    running = world.sender(lease=30)
    stop = asyncio.Event()
    task = asyncio.create_task(running.run(stop))
    await until(lambda: SenderRepo(world.db).live(PLATFORM, world.clock.timestamp()), "running")
    await until(lambda: sum(world.emulator.delivered.values()) >= 120, "more sends")
    doomed_repo.db = CrashedDatabase()  # type: ignore[assignment]  # the process is gone
    doomed.ledger.senders.db = CrashedDatabase()  # type: ignore[assignment]
    drain.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await drain
    await doomed_bot.shutdown()
    await doomed_db.close()
    status = await world.status()
    assert status.get("sending", 0) > 0 and running.stats.recovered == 0
    world.clock.advance(seconds=31)
    await until(lambda: _status_is(world, {"sent": len(chats)}), "all sent", timeout=20)
    assert not task.done()
    stop.set()
    await task
    assert running.stats.recovered == status["sending"]
    duplicates = sum(world.emulator.delivered.values()) - len(chats)
    assert all(world.emulator.delivered[c] >= 1 for c in chats)
    assert 0 <= duplicates <= doomed.concurrency


# --- heartbeat ------------------------------------------------------------------------------
async def test_running_sender_keeps_a_heartbeat_and_removes_it_on_stop(world: World) -> None:
    """`run` records a live sender, renewed with the leases; a clean stop removes it and a dead
    sender's heartbeat expires after one lease."""
    senders = SenderRepo(world.db)
    sender = world.sender(lease=30)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await until(lambda: senders.live(PLATFORM, world.clock.timestamp()), "a heartbeat")
    world.clock.advance(seconds=20)
    await until(lambda: senders.live(PLATFORM, world.clock.timestamp() + 25), "renewed")
    stop.set()
    await task
    assert await senders.live(PLATFORM, world.clock.timestamp()) == 0
    crashed = world.sender(lease=30)
    task = asyncio.create_task(crashed.run(asyncio.Event()))
    await until(lambda: senders.live(PLATFORM, world.clock.timestamp()), "another heartbeat")
    crashed.ledger.senders.db = CrashedDatabase()  # type: ignore[assignment]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await senders.live(PLATFORM, world.clock.timestamp()) == 1
    assert await senders.live(PLATFORM, world.clock.timestamp() + 31) == 0


# --- flood waits ----------------------------------------------------------------------------
async def test_flood_waits_are_capped_and_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat that answers 429 every time: after MAX_FLOOD_WAITS the row fails with the reason,
    one WARNING names the row (no chat id, no text) and `homebiz outbox` counts it; the rest of
    the outbox is delivered meanwhile."""
    blocked_chat, other = 777001, 777002
    world.emulator.add_user(blocked_chat)
    world.emulator.add_user(other)
    original = world.emulator.handle

    def handle(method: str, params: Any, files: Any = None) -> tuple[int, dict[str, Any]]:
        """429 with a 20 ms flood wait for one chat."""
        if method.lower() == "sendmessage" and int(params.get("chat_id", 0)) == blocked_chat:
            body = {"ok": False, "error_code": 429, "description": "Too Many Requests",
                    "parameters": {"retry_after": 0.02}}  # fmt: skip
            return 429, body
        return original(method, params, files)

    world.emulator.handle = handle  # type: ignore[method-assign]
    row_id = await world.enqueue(blocked_chat, "پیام محرمانه")
    await world.enqueue(other, "خبر")
    sender = world.sender()
    async with asyncio.timeout(10):
        await sender.drain_once()
    row = await world.row(row_id)
    assert (row.status, row.error) == ("failed", f"flood_wait: gave up after {MAX_FLOOD_WAITS}")
    assert row.flood_waits == MAX_FLOOD_WAITS and row.attempts == 0
    assert sender.stats.rate_limited == MAX_FLOOD_WAITS and sender.stats.flood_failed == 1
    assert world.emulator.delivered[other] == 1
    gave_up = [r for r in caplog.records if "flood waits" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in gave_up] == [
        ("WARNING", f"telegram outbox: row {row_id} failed after {MAX_FLOOD_WAITS} flood waits")
    ]
    assert not any(
        str(blocked_chat) in r.getMessage() or "محرمانه" in r.getMessage() for r in caplog.records
    )
    lines = await outbox_counts(Settings(**stores.current.settings(world.path)))
    header = lines[0]
    assert all(len(line) == len(header) for line in lines[1:] if "flood waits" not in line)
    assert f"1 failed by flood waits: the platform kept answering 429 ({MAX_FLOOD_WAITS}" in (
        "\n".join(lines)
    )
