"""The outbox sender: delivers due outbox rows of one platform within the Bot API's limits.

Crash window. A row is marked ``sending`` in the database (committed) before its network call,
and ``sent`` right after the call returns: the success is buffered and committed within about
50 ms (or as soon as half the send slots hold unflushed successes), and a send slot is not given
back until its ``sent`` mark is committed. If the process dies between the network call and that
commit, ``recover()`` at the next start puts the row back to ``pending`` and it is sent again.
So the duplicates one crash can cause are at most the rows in flight at that moment, which is
at most ``concurrency``; and no row is ever lost, because a row leaves ``sending`` only through
a committed ``sent``/``failed``/``pending``/``cancelled`` update. Rows claimed but not yet tried
are also ``sending``; after a crash they are simply sent once.

Time. Every database time (``not_before``, ``sent_at``, back-off deadlines, ``unreachable_at``)
comes from the injected ``clock`` in whole seconds, so a ManualClock drives what is due. Pacing
(the global token bucket, per-chat spacing, flood-wait pauses, flush age) uses
``time.monotonic()`` and real, short, capped ``asyncio.sleep`` calls: sub-second limits cannot be
expressed in the clock's whole seconds, and a ManualClock that nobody advances must not hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.ratelimit import PaceArgs
from bot.repo.outbox import OutboxRepo, OutboxRow

logger = logging.getLogger(__name__)

POLL_INTERVAL = 0.5  # seconds between due-checks when idle and not woken
MAX_WAIT = 0.1  # longest single sleep while there is work, so stop and timers stay responsive
FLUSH_AGE = 0.05  # a buffered success is committed within this many seconds
BULK: PaceArgs = {"bulk": True, "retry": False}  # after replies; a 429 comes back to the row


@dataclass
class SenderStats:
    """Counters for benchmarks and status messages."""

    attempted: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    forbidden: int = 0
    rate_limited: int = 0
    recovered: int = 0


class TokenBucket:
    """A monotonic-time token bucket: ``rate`` tokens per second, at most ``burst`` stored."""

    def __init__(self, rate: float, burst: float) -> None:
        """Start full."""
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class ChatQueue:
    """Claimed rows in priority order, at most one per chat ready or in flight at a time.

    A row whose chat has a send in flight, or got one less than ``interval`` seconds ago, is
    held (without blocking other chats) until the chat is free again.
    """

    def __init__(self, interval: float, free_at: dict[int, float]) -> None:
        """Share ``free_at`` (chat → monotonic time of its next allowed send) with the sender."""
        self.interval = interval
        self.free_at = free_at
        self.ready: list[tuple[tuple[int, int, int], OutboxRow]] = []
        self.held: dict[int, list[tuple[tuple[int, int, int], OutboxRow]]] = {}
        self.timers: list[tuple[float, int]] = []
        self.busy: set[int] = set()
        self.size = 0

    @staticmethod
    def _entry(row: OutboxRow) -> tuple[tuple[int, int, int], OutboxRow]:
        """The heap entry of a row: the claim order, then the row (ids are unique)."""
        return (row.priority, row.not_before, row.id), row

    def admit(self, row: OutboxRow, now: float) -> None:
        """Queue a claimed row: ready if its chat is free, else held."""
        chat = row.chat_id
        self.size += 1
        if chat in self.busy or chat in self.held:
            heapq.heappush(self.held.setdefault(chat, []), self._entry(row))
        elif self.free_at.get(chat, 0.0) > now:
            self.held[chat] = [self._entry(row)]
            heapq.heappush(self.timers, (self.free_at[chat], chat))
        else:
            self.busy.add(chat)
            heapq.heappush(self.ready, self._entry(row))

    def release_due(self, now: float) -> None:
        """Move the best held row of every chat whose spacing has passed to ready."""
        while self.timers and self.timers[0][0] <= now:
            _, chat = heapq.heappop(self.timers)
            rows = self.held[chat]
            entry = heapq.heappop(rows)
            if not rows:
                del self.held[chat]
            self.busy.add(chat)
            heapq.heappush(self.ready, entry)

    def pop(self) -> OutboxRow:
        """Take the best ready row (its chat stays busy until ``finished``)."""
        self.size -= 1
        return heapq.heappop(self.ready)[1]

    def finished(self, chat: int, now: float) -> None:
        """A send to ``chat`` ended: it may get the next one ``interval`` seconds from now."""
        self.busy.discard(chat)
        self.free_at[chat] = now + self.interval
        if chat in self.held:
            heapq.heappush(self.timers, (now + self.interval, chat))

    def next_timer(self) -> float | None:
        """The monotonic time the next held row becomes ready, if any."""
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


def _markup(buttons: Any) -> InlineKeyboardMarkup | None:
    """Inline keyboard from payload buttons ``[[[label, callback_data], ...], ...]``."""
    if not buttons:
        return None
    rows = [
        [InlineKeyboardButton(str(label), callback_data=str(data)) for label, data in row]
        for row in buttons
    ]
    return InlineKeyboardMarkup(rows)


class OutboxSender:
    """Delivers one platform's outbox: global rate, per-chat spacing, priorities, retries."""

    def __init__(
        self,
        bot: Bot,
        repo: OutboxRepo,
        platform: str,
        clock: Clock,
        *,
        global_rate: float = 25.0,
        per_chat_interval: float = 1.0,
        max_attempts: int = 5,
        base_backoff: float = 2.0,
        batch: int = 200,
        concurrency: int = 16,
    ) -> None:
        """Configure; nothing runs until ``run`` or ``drain_once``."""
        if global_rate <= 0 or batch < 1 or concurrency < 1 or max_attempts < 1:
            raise ValueError("global_rate, batch, concurrency and max_attempts must be positive")
        self.bot, self.repo, self.platform, self.clock = bot, repo, platform, clock
        self.per_chat_interval = per_chat_interval
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.batch = batch
        self.concurrency = concurrency
        self.flush_size = max(1, concurrency // 2)
        self.stats = SenderStats()
        self.bucket = TokenBucket(global_rate, max(1.0, global_rate / 10))
        self.paused_until = 0.0  # monotonic; set by RetryAfter
        self.wake = asyncio.Event()
        self._chat_free_at: dict[int, float] = {}
        self._sent_buf: list[tuple[int, int | None]] = []
        self._sent_since = 0.0
        self._requeued = False
        self._rng = random.Random()
        # Through a Bot with our pacer (the running bot's), rows go as bulk and see their 429s.
        self._pace: dict[str, Any] = (
            {"rate_limit_args": BULK} if getattr(bot, "rate_limiter", None) else {}
        )

    # --- public -------------------------------------------------------------------------
    def notify(self) -> None:
        """Tell a running sender that rows were enqueued (call after enqueueing)."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Recover once, then deliver due rows until ``stop`` is set; idle-wait, never spin."""
        self.stats.recovered += await self.repo.recover(self.platform)
        if self.stats.recovered:
            logger.info("%s outbox: %d rows back to pending", self.platform, self.stats.recovered)
        while not stop.is_set():
            try:
                await self._pump(stop)
            except Exception:
                logger.exception("%s outbox: delivery loop error; retrying", self.platform)
                # After a wound-down pump nothing of ours is in flight; rows it left 'sending'
                # go back to pending, but only once every buffered success is committed.
                with contextlib.suppress(Exception):
                    await self._flush()
                    if not self._sent_buf:
                        await self.repo.recover(self.platform)
            if stop.is_set():
                break
            waiters = [asyncio.create_task(self.wake.wait()), asyncio.create_task(stop.wait())]
            try:
                await asyncio.wait(
                    waiters, timeout=POLL_INTERVAL, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)

    async def drain_once(self) -> int:
        """Deliver everything due now (and rows flood-waits put back); return sends attempted."""
        return await self._pump(None)

    # --- the delivery loop --------------------------------------------------------------
    def _in_flight(self, tasks: set[asyncio.Task[None]]) -> int:
        """Sends under way plus successes not yet committed: the duplicate window."""
        return len(tasks) + len(self._sent_buf)

    async def _pump(self, stop: asyncio.Event | None) -> int:
        """Claim, pace and send until nothing is due, nothing is held and nothing is in flight."""
        self.wake.clear()
        queue = ChatQueue(self.per_chat_interval, self._chat_free_at)
        tasks: set[asyncio.Task[None]] = set()
        attempted = 0
        dry = False
        cancelled = False
        last_claim = time.monotonic()
        try:
            while stop is None or not stop.is_set():
                now = time.monotonic()
                paused = self.paused_until - now
                if self._requeued or self.wake.is_set() or now - last_claim >= POLL_INTERVAL:
                    dry, self._requeued = False, False
                    self.wake.clear()
                if (
                    paused <= 0
                    and not dry
                    and len(queue.ready) <= self.batch // 2
                    and queue.size < 2 * self.batch
                ):
                    rows = await self.repo.claim(self.platform, self.clock.timestamp(), self.batch)
                    dry = not rows
                    now = last_claim = time.monotonic()
                    for row in rows:
                        queue.admit(row, now)
                queue.release_due(now)
                wait = MAX_WAIT
                while (
                    paused <= 0 and queue.ready and self._in_flight(tasks) < self.concurrency
                ):
                    token_wait = self.bucket.take(now)
                    if token_wait:
                        wait = min(wait, token_wait)
                        break
                    row = queue.pop()
                    attempted += 1
                    self.stats.attempted += 1
                    task = asyncio.create_task(self._deliver(row, queue))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if self._sent_buf and (
                    len(self._sent_buf) >= self.flush_size
                    or now - self._sent_since >= FLUSH_AGE
                    or not tasks
                ):
                    await self._flush()
                    continue
                if dry and not tasks and not queue.size and not self._sent_buf:
                    break
                if paused > 0:
                    wait = min(wait, paused)
                timer = queue.next_timer()
                if timer is not None:
                    wait = min(wait, max(0.0, timer - now))
                if self._sent_buf:
                    wait = min(wait, max(0.0, self._sent_since + FLUSH_AGE - now))
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
        """Finish (or, when cancelled, abandon) sends, commit successes, release untried rows."""
        if abandon:
            for task in tasks:
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._flush()
            untried = queue.take_all()
            await self.repo.release([row.id for row in untried])
        except Exception:
            # Rows left 'sending' here are put back by recover() at the next start.
            logger.exception("%s outbox: could not record the state at shutdown", self.platform)
        if len(self._chat_free_at) > 10_000:
            now = time.monotonic()
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    async def _flush(self) -> None:
        """Commit buffered successes in one transaction."""
        if not self._sent_buf:
            return
        done = list(self._sent_buf)
        await self.repo.mark_sent(done, self.clock.timestamp())
        del self._sent_buf[: len(done)]
        self.stats.sent += len(done)

    # --- one send -----------------------------------------------------------------------
    async def _send(self, row: OutboxRow) -> Message:
        """Make the Bot API call for one row (plain text; no parse_mode), paced as bulk."""
        payload = row.payload
        text = payload.get("text") or ""
        markup = _markup(payload.get("buttons"))
        if payload.get("photo"):
            return await self.bot.send_photo(
                row.chat_id, photo=payload["photo"], caption=text or None, reply_markup=markup,
                **self._pace,
            )  # fmt: skip
        if payload.get("document"):
            return await self.bot.send_document(
                row.chat_id, document=payload["document"], caption=text or None,
                reply_markup=markup, **self._pace,
            )  # fmt: skip
        return await self.bot.send_message(row.chat_id, text, reply_markup=markup, **self._pace)

    async def _deliver(self, row: OutboxRow, queue: ChatQueue) -> None:
        """Send one row and record the outcome; logs instead of raising (cancellation aside)."""
        try:
            await self._attempt(row, queue)
        except Exception:
            # The row stays 'sending' and goes back to pending at the next recover().
            logger.exception("%s outbox: could not record row %d", self.platform, row.id)

    async def _attempt(self, row: OutboxRow, queue: ChatQueue) -> None:
        """Make the call and classify its outcome: sent, retry, flood wait, forbidden, failed."""
        try:
            try:
                message = await self._send(row)
            finally:
                queue.finished(row.chat_id, time.monotonic())
        except RetryAfter as exc:
            await self._on_retry_after(row, exc)
        except Forbidden as exc:
            self.stats.forbidden += 1
            await self.repo.mark_forbidden(
                row.id, f"forbidden: {exc.message}", self.clock.timestamp()
            )
        except BadRequest as exc:  # a NetworkError subclass: must come before it
            self.stats.failed += 1
            await self.repo.mark_failed(
                row.id, f"bad_request: {exc.message}", self.clock.timestamp()
            )
        except NetworkError as exc:  # TimedOut and 5xx
            await self._on_network_error(row, exc)
        except Exception as exc:
            logger.exception("%s outbox: row %d failed unexpectedly", self.platform, row.id)
            self.stats.failed += 1
            await self.repo.mark_failed(row.id, repr(exc)[:500], self.clock.timestamp())
        else:
            if not self._sent_buf:
                self._sent_since = time.monotonic()
            self._sent_buf.append((row.id, message.message_id))

    async def _on_retry_after(self, row: OutboxRow, exc: RetryAfter) -> None:
        """Pause this platform for the flood wait; the row goes back pending, attempt refunded."""
        seconds = _seconds(exc.retry_after)
        self.stats.rate_limited += 1
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        logger.warning("%s outbox: flood wait %.1f s", self.platform, seconds)
        await self.repo.mark_retry(
            row.id, self.clock.timestamp(), f"retry_after: {seconds:g}s", refund=True
        )
        self._requeued = True

    async def _on_network_error(self, row: OutboxRow, exc: NetworkError) -> None:
        """Retry with exponential back-off (jittered) until ``max_attempts``, then fail."""
        reason = f"{type(exc).__name__}: {exc.message}"
        if row.attempts >= self.max_attempts:
            self.stats.failed += 1
            await self.repo.mark_failed(row.id, reason, self.clock.timestamp())
            return
        delay = self.base_backoff * 2 ** (row.attempts - 1) * self._rng.uniform(1.0, 1.25)
        self.stats.retried += 1
        not_before = self.clock.timestamp() + max(1, math.ceil(delay))
        await self.repo.mark_retry(row.id, not_before, reason)
