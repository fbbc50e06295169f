"""The durable outbox and its sender, on a real PTB Bot talking to the fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot

from bot.core.clock import ManualClock
from bot.db.engine import Database
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules, Window
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Pacer
from bot.repo.outbox import (
    CLAIM_SQL,
    PRIORITY_BROADCAST,
    TAKEOVER_SQL,
    NewMessage,
    OutboxRepo,
    OutboxRow,
    make_payload,
)
from bot.repo.senders import SenderRepo
from scheduler.outbox import OutboxSender
from tests.conftest import pace
from tests.support import stores

TOKEN = "1000001:TEST-TOKEN-NOT-REAL"
PLATFORM = "telegram"
FAST: dict[str, Any] = {"base_backoff": 2.0}  # and a pacer of its own: fast()


def fast() -> Pacer:
    """A pacer that only keeps a chat's messages a hundredth of a second apart."""
    return pace(chat_interval=0.01)


@dataclass
class World:
    """A fake Bot API, a real Bot on it, a real database file and a manual clock."""

    emulator: BotApiEmulator
    bot: Bot
    db: Database
    repo: OutboxRepo
    clock: ManualClock
    path: Path

    def sender(self, **options: Any) -> OutboxSender:
        """An OutboxSender on this world; fast limits unless the test overrides them."""
        return OutboxSender(
            self.bot, self.repo, PLATFORM, self.clock, **{**FAST, "pacer": fast(), **options}
        )

    async def add_user(
        self, user_id: int, *, proactive: int = 1, unreachable_at: int | None = None
    ) -> int:
        """Insert a users row (and make the chat known to the emulator); return its id."""
        self.emulator.add_user(user_id)
        now = self.clock.timestamp()
        return await self.db.execute(
            "INSERT INTO users (platform, user_id, chat_id, proactive, unreachable_at, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (PLATFORM, user_id, user_id, proactive, unreachable_at, now, now),
        )

    async def enqueue(
        self,
        chat_id: int,
        text: str = "سلام",
        *,
        user_pk: int | None = None,
        kind: str = "checkin",
        priority: int = 10,
        delay: int = 0,
        **extra: Any,
    ) -> int | None:
        """Enqueue one text message due ``delay`` seconds from now."""
        now = self.clock.timestamp()
        return await self.repo.enqueue(
            platform=PLATFORM,
            chat_id=chat_id,
            user_pk=user_pk,
            kind=kind,
            payload=make_payload(text),
            priority=priority,
            not_before=now + delay,
            now=now,
            **extra,
        )

    async def enqueue_broadcast(self, chats: list[int], text: str = "خبر", bid: int = 1) -> int:
        """Enqueue one broadcast row per chat with enqueue_many."""
        payload = make_payload(text)
        now = self.clock.timestamp()
        rows = [
            NewMessage(PLATFORM, c, None, "broadcast", payload, now, PRIORITY_BROADCAST,
                       f"bc:{bid}:{i}", bid)
            for i, c in enumerate(chats)
        ]  # fmt: skip
        return await self.repo.enqueue_many(rows, now=now)

    async def row(self, row_id: int | None) -> OutboxRow:
        """One outbox row that must exist."""
        assert row_id is not None
        found = await self.repo.get(row_id)
        assert found is not None
        return found

    async def status(self) -> dict[str, int]:
        """Rows per status over the whole outbox."""
        totals: dict[str, int] = {}
        for (_, status), n in (await self.repo.counts()).items():
            totals[status] = totals.get(status, 0) + n
        return totals

    async def claim(self, limit: int, owner: str = "other", lease: int = 30) -> list[OutboxRow]:
        """Claim as a sender named ``owner`` would, with a lease from the world's clock."""
        now = self.clock.timestamp()
        return await self.repo.claim(PLATFORM, now, limit, owner=owner, lease_until=now + lease)

    async def drain_all(self, sender: OutboxSender, *, step: int = 120, rounds: int = 40) -> None:
        """Drain, move the clock past back-offs, repeat until nothing is pending."""
        for _ in range(rounds):
            await sender.drain_once()
            if not await self.repo.pending_count(PLATFORM):
                return
            self.clock.advance(seconds=step)
        raise AssertionError("outbox did not drain")


def make_bot(emulator: BotApiEmulator, latency: float = 0.0) -> Bot:
    """A real PTB Bot whose requests go to the emulator."""
    return Bot(
        TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=EmulatorRequest(emulator, latency=latency),
        get_updates_request=EmulatorRequest(emulator),
    )


@pytest.fixture
async def world(
    tmp_path: Path, clock: ManualClock, store: stores.Store
) -> AsyncIterator[World]:
    """A fresh world; the Bot is initialised (getMe) and shut down afterwards."""
    emulator = BotApiEmulator()
    bot = make_bot(emulator)
    await bot.initialize()
    path = tmp_path / "x.sqlite3"
    db = await stores.current.open(path)
    w = World(emulator, bot, db, OutboxRepo(db), clock, path)
    yield w
    await w.bot.shutdown()
    await w.db.close()


def sent_texts(emulator: BotApiEmulator) -> list[tuple[int, str]]:
    """(chat_id, text) of every new bot message, in the order the emulator created them."""
    return [(e.chat_id, e.message.content) for e in emulator.events if e.kind == "new"]


def record_handle_times(emulator: BotApiEmulator) -> list[tuple[float, str, int, bool]]:
    """Wrap ``emulator.handle`` to log (monotonic time, method, chat_id, ok) of every call."""
    log: list[tuple[float, str, int, bool]] = []
    original: Callable[..., tuple[int, dict[str, Any]]] = emulator.handle

    def handle(method: str, params: Any, files: Any = None) -> tuple[int, dict[str, Any]]:
        """Record then answer."""
        status, body = original(method, params, files)
        chat = emulator.calls[-1][1].get("chat_id")
        log.append((time.monotonic(), method.lower(), chat if isinstance(chat, int) else 0,
                    status == 200))  # fmt: skip
        return status, body

    emulator.handle = handle  # type: ignore[method-assign]
    return log


# --- repository ---------------------------------------------------------------------------
async def test_enqueue_is_idempotent_with_dedupe_key(world: World) -> None:
    """The same dedupe_key enqueues once, in enqueue and enqueue_many alike."""
    first = await world.enqueue(1, dedupe_key="checkin:1")
    again = await world.enqueue(1, "other", dedupe_key="checkin:1")
    assert first is not None and again is None
    assert await world.enqueue(1) is not None  # no key: never deduplicated
    assert await world.enqueue_broadcast([1, 2, 3], bid=5) == 3
    assert await world.enqueue_broadcast([1, 2, 3, 4], bid=5) == 1  # bc:5:0..2 exist
    assert (await world.repo.counts())[("broadcast", "pending")] == 4
    row = await world.row(first)
    assert row.payload["text"] == "سلام" and row.status == "pending"


async def test_claim_orders_by_priority_and_uses_the_partial_index(world: World) -> None:
    """claim walks outbox_due in (priority, not_before, id) order and skips future rows."""
    await world.enqueue_broadcast([1, 2, 3])
    late = await world.enqueue(4, delay=60)
    urgent = await world.enqueue(5)
    rows = await world.claim(10)
    assert [r.chat_id for r in rows] == [5, 1, 2, 3]
    assert rows[0].id == urgent and all(r.status == "sending" and r.attempts == 1 for r in rows)
    assert (await world.row(late)).status == "pending"
    if world.db.dialect.postgres:
        return  # the plan below is SQLite's; PostgreSQL plans a table this small its own way
    plan = await world.db.fetchall("EXPLAIN QUERY PLAN " + CLAIM_SQL, (PLATFORM, 0, 1))
    details = " ".join(str(r[3]) for r in plan)
    assert "outbox_due" in details and "TEMP B-TREE" not in details


async def test_claim_cancels_rows_of_unreachable_or_stopped_people(world: World) -> None:
    """Unreachable and stopped people's rows are cancelled with the reason, not claimed."""
    gone = await world.add_user(11, unreachable_at=1)
    stopped = await world.add_user(12, proactive=0)
    fine = await world.add_user(13)
    for pk, chat in ((gone, 11), (stopped, 12), (fine, 13)):
        await world.enqueue(chat, user_pk=pk)
    rows = await world.claim(1)
    assert [r.user_pk for r in rows] == [fine]  # the limit counts claimed rows only
    cancelled = {r.user_pk: r.error for r in await world.repo.by_status("cancelled")}
    assert cancelled == {gone: "unreachable", stopped: "stopped"}


async def test_cancel_broadcast_and_counts(world: World) -> None:
    """Cancelling a broadcast cancels its pending rows; claimed ones finish normally."""
    for c in range(10):
        world.emulator.add_user(c)
    await world.enqueue_broadcast(list(range(10)), bid=7)
    claimed = await world.claim(3)
    assert await world.repo.cancel_broadcast(7) == 7
    assert await world.repo.counts_for_broadcast(7) == {"sending": 3, "cancelled": 7}
    await world.repo.mark_sent([(r.id, 100 + r.id) for r in claimed], world.clock.timestamp())
    assert await world.repo.counts_for_broadcast(7) == {"sent": 3, "cancelled": 7}
    assert await world.repo.pending_count(PLATFORM) == 0
    assert await world.sender().drain_once() == 0


async def test_claim_takes_over_expired_leases_of_other_senders_only(world: World) -> None:
    """A row left 'sending' is taken over once its lease expired: not before, not by its own
    sender (it may hold an unrecorded success), not on another platform; the new owner records."""
    await world.enqueue_broadcast([1, 2, 3])
    dead = await world.claim(3, owner="dead", lease=30)
    assert {(r.lease_owner, r.lease_until) for r in dead} == {
        ("dead", world.clock.timestamp() + 30)
    }
    world.clock.advance(seconds=30)
    assert await world.claim(10, owner="live") == []  # lease_until == now: still valid
    world.clock.advance(seconds=1)
    assert await world.claim(10, owner="dead") == []
    now = world.clock.timestamp()
    assert await world.repo.claim("bale", now, 10, owner="live", lease_until=now + 30) == []
    taken = await world.claim(10, owner="live")
    assert sorted(r.id for r in taken) == sorted(r.id for r in dead)
    assert all(r.taken_over and r.attempts == 2 and r.lease_owner == "live" for r in taken)
    await world.repo.mark_failed(taken[0].id, "late", now, owner="dead")
    await world.repo.mark_retry(taken[1].id, now, "late", owner="dead")
    await world.repo.release([taken[2].id], owner="dead")
    rows = [await world.row(r.id) for r in taken]
    assert {(r.status, r.lease_owner) for r in rows} == {("sending", "live")}
    if world.db.dialect.postgres:
        return  # the plan below is SQLite's; PostgreSQL plans a table this small its own way
    plan = await world.db.fetchall("EXPLAIN QUERY PLAN " + TAKEOVER_SQL, (PLATFORM, 0, "x", 1))
    details = " ".join(str(r[3]) for r in plan)
    assert "outbox_lease" in details and "TEMP B-TREE" not in details


# --- delivery -----------------------------------------------------------------------------
async def test_200_messages_to_50_chats_exactly_once_in_priority_order(world: World) -> None:
    """Every row is delivered once; a priority-10 row enqueued late goes out early."""
    chats = list(range(100, 150))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats * 2, bid=1)
    urgent = await world.enqueue(chats[49], "فوری", priority=10)
    await world.enqueue_broadcast([chats[i % 50] for i in range(99)], bid=2)
    sender = world.sender(batch=50)
    assert await sender.drain_once() == 200
    assert world.emulator.delivered == dict.fromkeys(chats, 4)
    order = sent_texts(world.emulator)
    assert len(order) == 200
    assert order.index((chats[49], "فوری")) < 10
    assert await world.status() == {"sent": 200}
    row = await world.row(urgent)
    assert row.message_id is not None and row.sent_at == world.clock.timestamp()
    assert sender.stats.sent == 200 and sender.stats.failed == 0


async def test_running_sender_prefers_a_reply_enqueued_mid_broadcast(world: World) -> None:
    """A priority-10 row enqueued mid-broadcast overtakes the remaining broadcast rows.

    A sender mid-broadcast claims again as its queue drains, notified or not: that notify
    really wakes a sender is what the two tests below check, with a 60 s idle poll.
    """
    chats = list(range(200, 300))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    world.emulator.add_user(999)
    sender = world.sender(batch=10, concurrency=4, pacer=pace(rate=200))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with asyncio.timeout(10):
        while sum(world.emulator.delivered.values()) < 10:
            await asyncio.sleep(0.001)
        await world.enqueue(999, "پاسخ کارشناس", kind="reply")
        sender.notify()
        delivered_then = sum(world.emulator.delivered.values())
        while sum(world.emulator.delivered.values()) < 101:
            await asyncio.sleep(0.005)
    stop.set()
    await task
    position = sent_texts(world.emulator).index((999, "پاسخ کارشناس"))
    # Ahead of it at most: rows claimed before it (≤ 1.5 batches) and the sends in flight.
    assert delivered_then <= position <= delivered_then + 15 + 4
    assert position < 50
    assert await world.status() == {"sent": 101}


async def test_idle_sender_wakes_on_notify_and_stops_cleanly(world: World) -> None:
    """With a 60 s idle poll only notify() makes an idle sender deliver at once; stop wakes it."""
    world.emulator.add_user(5)
    sender = world.sender(idle_poll=60.0)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with asyncio.timeout(5):  # idle: its first pump found nothing and kept a heartbeat
        while not await SenderRepo(world.db).live(PLATFORM, world.clock.timestamp()):
            await asyncio.sleep(0.005)
    await world.enqueue(5)
    sender.notify()
    async with asyncio.timeout(1):  # the next look without notify: a renewal 10 s later
        while not world.emulator.delivered[5]:
            await asyncio.sleep(0.005)
    stop.set()
    async with asyncio.timeout(2):
        await task
    assert await world.status() == {"sent": 1}


async def test_busy_sender_claims_on_notify(world: World) -> None:
    """A sender still pacing one chat (its last claim found nothing more) claims a new row as
    soon as it is notified, not when its 60 s idle poll comes round."""
    for c in (1, 2):
        world.emulator.add_user(c)
    for i in range(4):
        await world.enqueue(1, f"پیام {i}")
    sender = world.sender(idle_poll=60.0, pacer=pace(chat_interval=0.4))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with asyncio.timeout(5):  # by the second, its claims have long found nothing more
        while world.emulator.delivered[1] < 2:
            await asyncio.sleep(0.005)
    await world.enqueue(2, "پاسخ")
    sender.notify()
    async with asyncio.timeout(1):
        while not world.emulator.delivered[2]:
            await asyncio.sleep(0.005)
    assert world.emulator.delivered[1] <= 3  # it did not wait for chat 1's rows to finish
    async with asyncio.timeout(5):
        while await world.status() != {"sent": 5}:
            await asyncio.sleep(0.01)
    stop.set()
    await task


async def test_run_survives_a_database_error(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing commit mid-run is logged once; the sender keeps the successes and goes on."""
    for c in range(1, 41):
        world.emulator.add_user(c)
    await world.enqueue_broadcast(list(range(1, 41)))
    real_mark_sent = world.repo.mark_sent
    failures = [RuntimeError("disk I/O error")]

    async def flaky(items: Any, now: int) -> None:
        """Fail the first commit, then behave."""
        if failures:
            raise failures.pop()
        await real_mark_sent(items, now)

    monkeypatch.setattr(world.repo, "mark_sent", flaky)
    caplog.set_level(logging.INFO, logger="scheduler")
    sender = world.sender(batch=10, concurrency=4)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with asyncio.timeout(10):
        while (await world.status()).get("sent", 0) < 40:
            await asyncio.sleep(0.01)
    stop.set()
    await task
    assert "a database write failed (RuntimeError: disk I/O error)" in caplog.text
    assert "database writes work again" in caplog.text
    assert world.emulator.delivered == dict.fromkeys(range(1, 41), 1)


async def test_graceful_stop_leaves_nothing_sending(world: World) -> None:
    """Stopping mid-outbox finishes in-flight sends and gives untried rows back."""
    chats = list(range(1000, 1300))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    sender = world.sender(batch=100, pacer=pace(rate=500))
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    async with asyncio.timeout(10):
        while sum(world.emulator.delivered.values()) < 30:
            await asyncio.sleep(0.002)
    stop.set()
    await task
    status = await world.status()
    assert "sending" not in status
    assert status["sent"] == sum(world.emulator.delivered.values())
    assert status["sent"] + status["pending"] == 300
    pending = await world.repo.by_status("pending")
    assert all(r.attempts == 0 for r in pending)


async def test_photo_document_and_buttons(world: World) -> None:
    """Payload media use the text as caption; buttons become an inline keyboard."""
    world.emulator.add_user(7)
    photo = world.emulator.user_photo(7, enqueue=False)["message"]["photo"][-1]["file_id"]
    doc = world.emulator.user_document(7, enqueue=False)["message"]["document"]["file_id"]
    now = world.clock.timestamp()
    common: dict[str, Any] = {
        "platform": PLATFORM, "chat_id": 7, "user_pk": None, "kind": "nudge",
        "not_before": now, "now": now,
    }  # fmt: skip
    buttons = [[("بله", "ci:yes"), ("نه", "ci:no")]]
    await world.repo.enqueue(**common, payload=make_payload("عکس", photo=photo))
    await world.repo.enqueue(**common, payload=make_payload("سند", document=doc))
    await world.repo.enqueue(**common, payload=make_payload("ادامه؟", buttons=buttons))
    await world.sender().drain_once()
    kinds = [(m.kind, m.content) for m in world.emulator.bot_messages(7)]
    assert kinds == [("photo", "عکس"), ("document", "سند"), ("text", "ادامه؟")]
    last = world.emulator.last_bot_message(7)
    assert last is not None and last.parse_mode is None
    assert [b["callback_data"] for b in last.inline_buttons()] == ["ci:yes", "ci:no"]


# --- limits -------------------------------------------------------------------------------
async def test_per_chat_spacing_without_blocking_other_chats(world: World) -> None:
    """Three messages to one chat are per_chat_interval apart; other chats are not held up."""
    times = record_handle_times(world.emulator)
    for c in range(1, 12):
        world.emulator.add_user(c)
    for i in range(3):
        await world.enqueue(1, f"پیام {i}")
    for c in range(2, 12):
        await world.enqueue(c)
    await world.sender(pacer=pace(chat_interval=0.2)).drain_once()
    to_one = [t for t, method, chat, _ in times if method == "sendmessage" and chat == 1]
    others = [t for t, method, chat, _ in times if method == "sendmessage" and chat != 1]
    assert len(to_one) == 3 and len(others) == 10
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(to_one))
    assert max(others) < to_one[1]
    assert [text for chat, text in sent_texts(world.emulator) if chat == 1] == [
        "پیام 0", "پیام 1", "پیام 2",
    ]  # fmt: skip


async def test_global_rate_keeps_under_the_api_limit(world: World) -> None:
    """Paced at 40 in any second, the sender never trips a strict 50-in-any-second limit."""
    world.emulator.flood_rules = FloodRules(bot=Window(50, 1.0), penalty=1.0)
    chats = list(range(1, 91))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    began = time.monotonic()
    await world.sender(pacer=pace(rate=40)).drain_once()
    assert world.emulator.errors == []
    assert world.emulator.delivered == dict.fromkeys(chats, 1)
    assert time.monotonic() - began >= 2.0  # 90 messages at 40 in any second: 3 windows


async def test_retry_after_pauses_and_nothing_is_lost_or_duplicated(world: World) -> None:
    """429s pause the platform; the rows go back pending without an attempt penalty."""
    world.emulator.global_rate = 40.0
    chats = list(range(1, 61))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    sender = world.sender(concurrency=16)
    await sender.drain_once()
    flood = [e for e in world.emulator.errors if e[1] == 429]
    assert flood and len(flood) <= 2 * sender.concurrency  # paused, did not hammer
    assert sender.stats.rate_limited == len(flood)
    assert world.emulator.delivered == dict.fromkeys(chats, 1)
    assert await world.status() == {"sent": 60}
    assert all(r.attempts == 1 for r in await world.repo.by_status("sent"))


async def test_gateway_errors_are_retried_until_delivered(world: World) -> None:
    """With 30 % 502s everything arrives exactly once after back-off retries."""
    world.emulator.error_rate = 0.3
    chats = list(range(1, 101))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    sender = world.sender(max_attempts=12)
    await world.drain_all(sender)
    assert world.emulator.delivered == dict.fromkeys(chats, 1)
    assert await world.status() == {"sent": 100}
    assert sender.stats.retried > 0
    assert max(r.attempts for r in await world.repo.by_status("sent")) > 1


async def test_gateway_errors_back_off_then_fail_with_the_reason(world: World) -> None:
    """Back-off doubles per attempt; after max_attempts the row fails with the reason."""
    world.emulator.error_rate = 1.0
    world.emulator.add_user(1)
    row_id = await world.enqueue(1)
    assert row_id is not None
    sender = world.sender(max_attempts=3, base_backoff=2.0)
    waits = []
    for _ in range(3):
        start = world.clock.timestamp()
        assert await sender.drain_once() == 1
        row = await world.row(row_id)
        if row.status == "pending":
            waits.append(row.not_before - start)
            world.clock.advance(seconds=row.not_before - start)
    assert row.status == "failed" and row.attempts == 3
    assert row.error == "NetworkError: Bad Gateway"
    assert 2 <= waits[0] <= 3 and 4 <= waits[1] <= 5
    assert await sender.drain_once() == 0


async def test_one_attempt_only_fails_at_once(world: World) -> None:
    """max_attempts=1 with every call failing: failed with the reason, attempts 1."""
    world.emulator.error_rate = 1.0
    for c in (1, 2, 3):
        world.emulator.add_user(c)
    await world.enqueue_broadcast([1, 2, 3])
    await world.drain_all(world.sender(max_attempts=1))
    failed = await world.repo.by_status("failed")
    assert len(failed) == 3
    assert all(r.attempts == 1 and "Bad Gateway" in (r.error or "") for r in failed)


# --- permanent errors ---------------------------------------------------------------------
async def test_forbidden_marks_the_person_unreachable(world: World) -> None:
    """403: the row fails, the person becomes unreachable and their other rows are cancelled."""
    blocked = await world.add_user(21)
    other = await world.add_user(22)
    world.emulator.blocked.add(21)
    now = world.clock.timestamp()
    first = await world.enqueue(21, user_pk=blocked)
    later = await world.enqueue(21, user_pk=blocked, delay=3600)
    fine = await world.enqueue(22, user_pk=other)
    sender = world.sender()
    await sender.drain_once()
    failed, cancelled, sent = [await world.row(r) for r in (first, later, fine)]
    assert failed.status == "failed" and failed.attempts == 1
    assert failed.error == "forbidden: Forbidden: bot was blocked by the user"
    assert (cancelled.status, cancelled.error) == ("cancelled", "unreachable")
    assert sent.status == "sent"
    user = await world.db.fetchone("SELECT unreachable_at FROM users WHERE id = ?", (blocked,))
    assert user is not None and user[0] == now
    assert sender.stats.forbidden == 1
    again = await world.enqueue(21, user_pk=blocked)
    assert await sender.drain_once() == 0
    assert (await world.row(again)).error == "unreachable"
    assert world.emulator.attempts[21] == 0  # refused before admission: never delivered


async def test_bad_request_fails_once_and_is_never_retried(world: World) -> None:
    """400s (unknown chat, text too long) fail on the first attempt for good."""
    world.emulator.add_user(1)
    unknown = await world.enqueue(424242)
    too_long = await world.enqueue(1, "x" * 5000)
    ok = await world.enqueue(1, "کوتاه")
    sender = world.sender()
    await world.drain_all(sender)
    world.clock.advance(hours=1)
    assert await sender.drain_once() == 0
    a, b, c = [await world.row(r) for r in (unknown, too_long, ok)]
    assert (a.status, a.attempts, a.error) == ("failed", 1, "bad_request: Chat not found")
    assert (b.status, b.attempts) == ("failed", 1) and "too long" in (b.error or "")
    assert c.status == "sent"
    assert len(world.emulator.calls_to("sendMessage")) == 3
    assert sender.stats.failed == 2


async def test_malformed_payload_fails_with_repr_and_the_loop_goes_on(world: World) -> None:
    """An unexpected exception fails that row only."""
    world.emulator.add_user(1)
    bad = await world.enqueue(1)
    await world.db.execute("UPDATE outbox SET payload = 'not json' WHERE id = ?", (bad,))
    good = await world.enqueue(1, "ok")
    await world.sender().drain_once()
    row = await world.row(bad)
    assert row.status == "failed" and "JSONDecodeError" in (row.error or "")
    assert (await world.row(good)).status == "sent"


# --- crash and restart --------------------------------------------------------------------
class _Dead:
    """A transaction that cannot start: the process is gone."""

    async def __aenter__(self) -> Any:
        """Refuse."""
        raise RuntimeError("the process crashed")

    async def __aexit__(self, *exc: object) -> None:
        """Never reached."""


class CrashedDatabase:
    """Stands in for the database after a simulated crash: no write reaches the file."""

    async def execute(self, *args: Any) -> int:
        """Refuse."""
        raise RuntimeError("the process crashed")

    async def executemany(self, *args: Any) -> None:
        """Refuse."""
        raise RuntimeError("the process crashed")

    async def fetchall(self, *args: Any) -> list[Any]:
        """Refuse."""
        raise RuntimeError("the process crashed")

    async def fetchone(self, *args: Any) -> Any:
        """Refuse."""
        raise RuntimeError("the process crashed")

    def transaction(self) -> _Dead:
        """Refuse."""
        return _Dead()


async def test_crash_mid_outbox_loses_nothing_and_bounds_duplicates(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kill the sender half-way; after its leases expire a new sender takes its rows over:
    nothing is lost and the repeats are at most the rows it left sending (≤ its concurrency)."""
    total = 1000
    chats = list(range(10_000, 10_000 + total))
    for c in chats:
        world.emulator.add_user(c)
    await world.enqueue_broadcast(chats)
    bot = make_bot(world.emulator, latency=0.001)
    await bot.initialize()
    sender = OutboxSender(
        bot, world.repo, PLATFORM, world.clock, **FAST, pacer=fast(), concurrency=16
    )
    task = asyncio.create_task(sender.run(asyncio.Event()))
    async with asyncio.timeout(20):
        while sum(world.emulator.delivered.values()) < total // 2:
            await asyncio.sleep(0.001)
    world.repo.db = CrashedDatabase()  # type: ignore[assignment]  # nothing more is written
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await bot.shutdown()
    await world.db.close()
    delivered_before = sum(world.emulator.delivered.values())

    world.db = await stores.current.open(world.path)
    world.repo = OutboxRepo(world.db)
    world.clock.advance(seconds=31)  # the dead sender's leases (30 s) run out
    before = await world.status()
    left_sending = before.get("sending", 0)
    assert before.get("sent", 0) + left_sending + before.get("pending", 0) == total
    await world.bot.shutdown()
    world.bot = make_bot(world.emulator)
    await world.bot.initialize()
    restarted = world.sender()
    stop = asyncio.Event()
    task = asyncio.create_task(restarted.run(stop))
    async with asyncio.timeout(20):
        while (await world.status()).get("sent", 0) < total:
            await asyncio.sleep(0.01)
    stop.set()
    await task

    assert restarted.stats.recovered == left_sending
    assert all(world.emulator.delivered[c] >= 1 for c in chats)
    duplicates = sum(world.emulator.delivered.values()) - total
    assert 0 <= duplicates <= left_sending
    assert duplicates <= sender.concurrency
    assert await world.status() == {"sent": total}
    with capsys.disabled():
        print(
            f"\n[crash] delivered before crash={delivered_before} left sending={left_sending}"
            f" duplicates={duplicates}"
        )
