"""The outbox sender: delivers due outbox rows of one platform within the Bot API's limits.

Ownership. A claim commits each row as ``sending`` under this sender's owner id (random, one per
sender) with a lease of ``lease`` seconds (30 by default) before any network call. The sender
renews the leases of every row it still holds (queued, in flight, or sent but not yet recorded)
every third of a lease, and any sender's claim takes over rows whose lease has expired: a killed
``homebiz checkins send-now``, a dead bot, a sender whose writes kept failing. So no row waits for
a restart; a crashed sender's rows wait at most one lease. A row leaves ``sending`` only through
a committed ``sent``/``failed``/``pending``/``cancelled`` update, so no row is ever lost.

Healing. Whatever fails (a lock held by another process, a full disk), the sender keeps every
outcome it could not record (scheduler/outbox_ledger.py), retries with back-off (0.1 s doubling
to 2 s) and carries on delivering as soon as the database works again, without a restart.

Duplicate window. A success is committed as ``sent`` within about 50 ms (or as soon as half the
send slots hold unrecorded successes), and a send slot is not given back until its ``sent`` mark
is committed, so sends in flight plus unrecorded successes never exceed ``concurrency``. The
sender never sends a row twice itself: its claims never take over its own rows, and a success
it could not record stays buffered, however long the database fails. A message can repeat only
when another sender takes a row over whose success was not recorded, which needs either
(1) the sender's process to die between the network call and that commit, or (2) its database
writes (the commits and every lease renewal) to fail for longer than a lease while another
sender's claim succeeds; while renewals fail, no new send starts once the leases held have less
than a third left. Either way at most ``concurrency`` messages repeat. (A network error after
which the platform did deliver, such as a timeout, is retried like any other: the Bot API gives
no way to tell, and that repeat is outside this window.)

Pacing. The sender has no limits of its own: every row waits for its slot in the platform's one
pacer (bot/messengers/pacer.py), the same one every reply goes through, as bulk: after replies, and
leaving the reserved share of each second to them (on PostgreSQL the bot-wide share is the one
every replica's pacer takes from the database: bot/messengers/budget.py). Rows of a chat that
may not have another message yet wait in the sender's queue without holding other chats up.

Time. Every database time (``not_before``, ``sent_at``, back-off deadlines, ``lease_until``,
``unreachable_at``) comes from the injected ``clock`` in whole seconds, so a ManualClock drives
what is due and when a lease expires. Pacing, flood-wait pauses, flush age, write back-off and
the renewal rhythm use ``time.monotonic()`` and real, short, capped ``asyncio.sleep`` calls:
sub-second limits cannot be expressed in the clock's whole seconds, and a ManualClock that
nobody advances must not hang.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import math
import os
import random
import secrets
import time
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.core.clock import Clock
from bot.messengers.pacer import Limits, Pacer, Slot
from bot.messengers.ratelimit import PaceArgs, PacedLimiter
from bot.repo.broadcast_files import BroadcastFileRepo
from bot.repo.outbox import OutboxRepo, OutboxRow
from bot.repo.senders import SenderRepo
from scheduler.outbox_ledger import Ledger, SenderStats
from scheduler.stored_files import StoredFiles

logger = logging.getLogger(__name__)

__all__ = ["MAX_FLOOD_WAITS", "OutboxSender", "SenderStats"]

POLL_INTERVAL = 0.5  # seconds between due-checks when idle and not woken (the default)
MAX_WAIT = 0.1  # longest single sleep while there is work, so stop and timers stay responsive
LEASE = 30  # seconds a claimed row stays ours without renewal (the default)
STOP_PATIENCE = 5.0  # seconds a stopping sender keeps retrying to record what it owes
# A flood wait (429) is not an attempt, so without a cap a row could wait for ever. Each one
# pauses the whole platform's outbox for the time asked, so a chat that keeps drawing them
# (a per-chat or anti-spam limit that does not lift) must not stall everybody else's messages
# indefinitely; ten waits, seconds to minutes each, give a merely busy moment ample room to
# pass, while a chat refused for good fails visibly (`homebiz outbox`) within minutes or hours.
MAX_FLOOD_WAITS = 10
BULK: PaceArgs = {"bulk": True, "retry": False, "admitted": True}  # the slot is the sender's


class ChatQueue:
    """Claimed rows in priority order, at most one per chat ready or in flight at a time.

    A row whose chat has a send in flight, or may not have another message yet (the pacer
    says when), is held without blocking other chats until the chat is free again.
    """

    def __init__(self, pacer: Pacer) -> None:
        """Ask ``pacer`` when each chat is free."""
        self.pacer = pacer
        self.ready: list[tuple[tuple[int, int, int], OutboxRow]] = []
        self.held: dict[int, list[tuple[tuple[int, int, int], OutboxRow]]] = {}
        self.timers: list[tuple[float, int]] = []
        self.busy: set[int] = set()
        self.size = 0

    @staticmethod
    def _entry(row: OutboxRow) -> tuple[tuple[int, int, int], OutboxRow]:
        """The heap entry of a row: the claim order, then the row (ids are unique)."""
        return (row.priority, row.not_before, row.id), row

    def _free_in(self, chat: int, now: float) -> float:
        """Seconds until the chat may have another message (a send in flight: look again soon)."""
        wait = self.pacer.chat_wait(chat, now)
        return MAX_WAIT if wait is None else wait

    def admit(self, row: OutboxRow, now: float) -> None:
        """Queue a claimed row: ready if its chat is free, else held."""
        chat = row.chat_id
        self.size += 1
        if chat in self.busy or chat in self.held:
            heapq.heappush(self.held.setdefault(chat, []), self._entry(row))
            return
        wait = self._free_in(chat, now)
        if wait > 0:
            self.held[chat] = [self._entry(row)]
            heapq.heappush(self.timers, (now + wait, chat))
        else:
            self.busy.add(chat)
            heapq.heappush(self.ready, self._entry(row))

    def release_due(self, now: float) -> None:
        """Move the best held row of every chat whose time has come to ready."""
        while self.timers and self.timers[0][0] <= now:
            _, chat = heapq.heappop(self.timers)
            if chat in self.busy or chat not in self.held:
                continue
            wait = self._free_in(chat, now)
            if wait > 0:  # a reply took the chat's turn meanwhile
                heapq.heappush(self.timers, (now + wait, chat))
                continue
            rows = self.held[chat]
            entry = heapq.heappop(rows)
            if not rows:
                del self.held[chat]
            self.busy.add(chat)
            heapq.heappush(self.ready, entry)

    def peek(self) -> OutboxRow:
        """The best ready row, left in place."""
        return self.ready[0][1]

    def pop(self) -> OutboxRow:
        """Take the best ready row (its chat stays busy until ``finished``)."""
        self.size -= 1
        return heapq.heappop(self.ready)[1]

    def hold_back(self, now: float) -> None:
        """The best ready row's chat is not free after all (a reply took it): hold the row."""
        entry = heapq.heappop(self.ready)
        chat = entry[1].chat_id
        self.busy.discard(chat)
        heapq.heappush(self.held.setdefault(chat, []), entry)
        heapq.heappush(self.timers, (now + self._free_in(chat, now), chat))

    def finished(self, chat: int, now: float) -> None:
        """A send to ``chat`` ended (its slot released): its next row waits for the pacer."""
        self.busy.discard(chat)
        if chat in self.held:
            heapq.heappush(self.timers, (now + self._free_in(chat, now), chat))

    def next_timer(self) -> float | None:
        """The monotonic time the next held row may become ready, if any."""
        return self.timers[0][0] if self.timers else None

    def take_all(self) -> list[OutboxRow]:
        """Empty the queue and return every row never tried."""
        rows = [row for _, row in self.ready]
        rows += [row for entries in self.held.values() for _, row in entries]
        self.ready, self.held, self.timers, self.size = [], {}, [], 0
        return rows


def _seconds(value: timedelta | float) -> float:
    """A RetryAfter duration in seconds (a timedelta with PTB_TIMEDELTA, else a number)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _markup(buttons: Any) -> dict[str, Any]:
    """An inline keyboard as JSON from payload buttons ``[[[label, callback_data], ...], ...]``."""
    return {
        "inline_keyboard": [
            [{"text": str(label), "callback_data": str(data)} for label, data in row]
            for row in buttons
        ]
    }


class OutboxSender:
    """Delivers one platform's outbox: global rate, per-chat spacing, priorities, retries."""

    def __init__(
        self,
        bot: Bot,
        repo: OutboxRepo,
        platform: str,
        clock: Clock,
        *,
        pacer: Pacer | None = None,
        max_attempts: int = 5,
        base_backoff: float = 2.0,
        batch: int = 200,
        concurrency: int = 16,
        lease: int = LEASE,
        idle_poll: float = POLL_INTERVAL,
    ) -> None:
        """Configure; nothing runs until ``run`` or ``drain_once``.

        ``pacer``: the platform's pacer (by default the one the bot's own calls go through,
        else a new one with Telegram's limits); ``lease``: seconds a claimed row stays ours
        without renewal (at least 3); ``idle_poll``: seconds between due-checks when nothing
        notifies the sender.
        """
        if batch < 1 or concurrency < 1 or max_attempts < 1:
            raise ValueError("batch, concurrency and max_attempts must be positive")
        if idle_poll <= 0:
            raise ValueError("idle_poll must be positive")
        self.bot, self.repo, self.platform, self.clock = bot, repo, platform, clock
        limiter = getattr(bot, "rate_limiter", None)
        shared = limiter.pacer if isinstance(limiter, PacedLimiter) else None
        self.pacer = pacer or shared or Pacer(Limits())
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.batch = batch
        self.concurrency = concurrency
        self.idle_poll = idle_poll
        self.flush_size = max(1, concurrency // 2)
        self.owner = f"{os.getpid()}-{secrets.token_hex(6)}"
        self.stats = SenderStats()
        self.ledger = Ledger(
            repo, SenderRepo(repo.db), platform, self.owner, clock, self.stats,
            lease=lease, flush_size=self.flush_size,
        )  # fmt: skip
        self.wake = asyncio.Event()
        self.files = StoredFiles(BroadcastFileRepo(repo.db), platform)
        self._requeued = False
        self._rng = random.Random()
        # Through a Bot with our limiter the row's slot is already held: the call goes straight
        # through, and a 429 comes back to the row (and pauses the pacer's bulk sends).
        self._pace: dict[str, Any] = {"rate_limit_args": BULK} if shared else {}

    # --- public -------------------------------------------------------------------------
    def notify(self) -> None:
        """Tell a running sender that rows were enqueued (call after enqueueing)."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due rows until ``stop`` is set, keeping a heartbeat; idle-wait, never spin.

        Nothing is reset at start: rows a dead sender left ``sending`` are taken over by the
        claims once their lease expires. Any error is logged and the loop goes on.
        """
        self.ledger.heartbeat_since = self.clock.timestamp()
        try:
            while not stop.is_set():
                try:
                    await self._pump(stop)
                except Exception:
                    logger.exception("%s outbox: delivery loop error; carrying on", self.platform)
                if stop.is_set():
                    break
                await self._idle(stop)
            await self.ledger.settle(STOP_PATIENCE)
        finally:
            await self.ledger.goodbye()

    async def drain_once(self) -> int:
        """Deliver everything due now (and rows flood-waits put back); return sends attempted.

        Database errors are retried with back-off for up to one lease; after that the rows
        still held are left to their leases (any sender takes them over when they expire).
        """
        return await self._pump(None)

    @property
    def unrecorded(self) -> int:
        """Outcomes this sender could not record (yet)."""
        return self.ledger.unsettled

    # --- the delivery loop --------------------------------------------------------------
    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for a notify, ``stop``, the idle poll, or what the books need (a renewal)."""
        timeout = min(self.idle_poll, self.ledger.next_due(time.monotonic()))
        waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _in_flight(self, tasks: set[asyncio.Task[None]]) -> int:
        """Sends under way plus successes not yet committed: the duplicate window."""
        return len(tasks) + len(self.ledger.sent)

    async def _pump(self, stop: asyncio.Event | None) -> int:
        """Claim, pace and send until nothing is due, nothing is held and nothing is in flight."""
        self.wake.clear()
        queue = ChatQueue(self.pacer)
        tasks: set[asyncio.Task[None]] = set()
        ledger = self.ledger
        attempted = 0
        dry = False
        cancelled = False
        last_claim = time.monotonic()
        try:
            while stop is None or not stop.is_set():
                now = time.monotonic()
                paused = self.pacer.bulk_paused(now)
                if self._requeued or self.wake.is_set() or now - last_claim >= self.idle_poll:
                    dry, self._requeued = False, False
                    self.wake.clear()
                if (
                    paused <= 0
                    and not dry
                    and len(queue.ready) <= self.batch // 2
                    and queue.size < 2 * self.batch
                ):
                    rows = await ledger.claim(self.batch)
                    dry = not rows and not ledger.failing  # a failed claim is tried again
                    now = last_claim = time.monotonic()
                    for row in rows:
                        queue.admit(row, now)
                queue.release_due(now)
                wait = MAX_WAIT
                while (
                    queue.ready and self._in_flight(tasks) < self.concurrency and ledger.may_send()
                ):
                    chat = queue.peek().chat_id
                    if self.pacer.budget is None:
                        got = self.pacer.try_acquire(chat, bulk=True)
                    else:  # replicas on PostgreSQL: the bot-wide window is in the database
                        got = await self.pacer.try_acquire_shared(chat, bulk=True)
                    if not isinstance(got, Slot):
                        if self.pacer.chat_wait(queue.peek().chat_id, now) != 0.0:
                            queue.hold_back(now)  # a reply has the chat: others may go
                            continue
                        wait = min(wait, MAX_WAIT if got is None else got)
                        break
                    row = queue.pop()
                    attempted += 1
                    self.stats.attempted += 1
                    task = asyncio.create_task(self._deliver(row, queue, got))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if ledger.renew_due(now):  # first: a failing commit must not starve renewals
                    await ledger.renew()
                    continue
                if ledger.commit_due(now, busy=bool(tasks)):
                    await ledger.commit()
                    continue
                if not tasks and (
                    (dry and not queue.size and not ledger.unsettled)
                    or (stop is None and ledger.gave_up(now))
                ):
                    break
                if paused > 0:
                    wait = min(wait, paused)
                timer = queue.next_timer()
                if timer is not None:
                    wait = min(wait, max(0.0, timer - now))
                wait = min(wait, ledger.next_due(now))
                if tasks:
                    await asyncio.wait(tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(wait)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            await self._wind_down(queue, tasks, abandon=cancelled)
        return attempted

    async def _wind_down(
        self, queue: ChatQueue, tasks: set[asyncio.Task[None]], *, abandon: bool
    ) -> None:
        """Finish (or, when cancelled, abandon) sends; record successes, release untried rows.

        What cannot be recorded now stays in the books: a running sender records it in its
        next pump, and a stopping one retries for a while before leaving it to the leases.
        """
        if abandon:
            for task in tasks:
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.ledger.release(queue.take_all())
        if self.ledger.commit_due(time.monotonic(), busy=False):
            await self.ledger.commit()

    # --- one send -----------------------------------------------------------------------
    async def _send(self, row: OutboxRow) -> int | None:
        """The Bot API call for one row (plain text, no parse_mode); the new message's id.

        Built from the stored payload as plain JSON and answered as JSON: PTB would build
        keyboard objects to serialise and a Message object from the answer, work that cost
        more than the call, for a message id that is all the outbox keeps.
        """
        payload = row.payload
        text = payload.get("text") or ""
        params: dict[str, Any] = {"chat_id": row.chat_id}
        if payload.get("buttons"):
            params["reply_markup"] = _markup(payload["buttons"])
        if payload.get("reply_to"):
            params["reply_parameters"] = {
                "message_id": payload["reply_to"],
                "allow_sending_without_reply": True,
            }
        if payload.get("edit"):  # a card's new text: the edited message keeps its id
            params["message_id"], params["text"] = payload["edit"], text
            await self.bot.do_api_request("editMessageText", api_kwargs=params, **self._pace)
            return int(payload["edit"])
        field = "photo" if payload.get("photo") else "document" if payload.get("document") else ""
        if field:
            method, params[field] = f"send{field.title()}", payload[field]
        else:
            method, params["text"] = "sendMessage", text
        if method != "sendMessage" and text:
            params["caption"] = text

        async def call(file: Any = None) -> Any:
            """The Bot API call, with ``file`` as the photo/document when given."""
            if file is not None:
                params[field] = file
            return await self.bot.do_api_request(method, api_kwargs=params, **self._pace)

        if field and self.files.holds(params[field]):  # uploaded in the console: once, then id
            result = await self.files.send(params[field], field, call)
        else:
            result = await call()
        return result.get("message_id") if isinstance(result, dict) else None

    async def _deliver(self, row: OutboxRow, queue: ChatQueue, slot: Slot) -> None:
        """Send one row that is still ours and record the outcome; logs instead of raising."""
        if not self.ledger.holds(row.id):  # taken over by another sender after our lease lapsed
            slot.release()
            queue.finished(row.chat_id, time.monotonic())
            return
        try:
            await self._attempt(row, queue, slot)
        except Exception:
            logger.exception("%s outbox: row %d: unexpected error; released", self.platform, row.id)
            release = functools.partial(self.repo.release, [row.id], owner=self.owner)
            await self.ledger.record(row.id, release)

    async def _record(self, row: OutboxRow, mark: Any, *args: Any, **options: Any) -> None:
        """Record a non-success outcome, ``mark(row.id, *args, owner=…)``, through the books."""
        write = functools.partial(mark, row.id, *args, owner=self.owner, **options)
        await self.ledger.record(row.id, write)

    async def _attempt(self, row: OutboxRow, queue: ChatQueue, slot: Slot) -> None:
        """Make the call and classify its outcome: sent, retry, flood wait, forbidden, failed."""
        try:
            try:
                message_id = await self._send(row)
            finally:
                slot.release()
                queue.finished(row.chat_id, time.monotonic())
        except RetryAfter as exc:
            await self._on_retry_after(row, exc)
        except Forbidden as exc:
            self.stats.forbidden += 1
            await self._record(
                row, self.repo.mark_forbidden, f"forbidden: {exc.message}", self.clock.timestamp()
            )
        except BadRequest as exc:  # a NetworkError subclass: must come before it
            self.stats.failed += 1
            await self._record(
                row, self.repo.mark_failed, f"bad_request: {exc.message}", self.clock.timestamp()
            )
        except NetworkError as exc:  # TimedOut and 5xx
            await self._on_network_error(row, exc)
        except Exception as exc:
            logger.exception("%s outbox: row %d failed unexpectedly", self.platform, row.id)
            self.stats.failed += 1
            await self._record(row, self.repo.mark_failed, repr(exc)[:500], self.clock.timestamp())
        else:
            self.ledger.sent_ok(row.id, message_id)

    async def _on_retry_after(self, row: OutboxRow, exc: RetryAfter) -> None:
        """Pause bulk sends for the flood wait; the row goes back pending, up to the cap."""
        seconds = _seconds(exc.retry_after)
        self.stats.rate_limited += 1
        if not self._pace:  # through our limiter the pacer has been told already
            self.pacer.penalize(row.chat_id, seconds)
        now = self.clock.timestamp()
        if row.flood_waits + 1 >= MAX_FLOOD_WAITS:
            self.stats.flood_failed += 1
            logger.warning(
                "%s outbox: row %d failed after %d flood waits",
                self.platform,
                row.id,
                MAX_FLOOD_WAITS,
            )
            reason = f"flood_wait: gave up after {MAX_FLOOD_WAITS}"
            await self._record(row, self.repo.mark_flood_wait, now, reason, give_up=True)
            return
        logger.warning("%s outbox: flood wait %.1f s", self.platform, seconds)
        await self._record(row, self.repo.mark_flood_wait, now, f"retry_after: {seconds:g}s")
        self._requeued = True

    async def _on_network_error(self, row: OutboxRow, exc: NetworkError) -> None:
        """Retry with exponential back-off (jittered) until ``max_attempts``, then fail."""
        reason = f"{type(exc).__name__}: {exc.message}"
        if row.attempts >= self.max_attempts:
            self.stats.failed += 1
            await self._record(row, self.repo.mark_failed, reason, self.clock.timestamp())
            return
        delay = self.base_backoff * 2 ** (row.attempts - 1) * self._rng.uniform(1.0, 1.25)
        self.stats.retried += 1
        not_before = self.clock.timestamp() + max(1, math.ceil(delay))
        await self._record(row, self.repo.mark_retry, not_before, reason)
