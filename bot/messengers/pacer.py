"""One pacer per bot token: every message and edit, reply or outbox row, waits for its slot here.

Telegram asks a bot for at most about 30 messages per second in all, about one per second in a
private chat (short bursts tolerated) and 20 per minute in a group; Bale publishes no numbers but
answers 429 the same way. The pacer keeps a send inside all three limits *as the platform sees
them*: the platform counts a message when it receives it, somewhere between our start of the call
and the arrival of its answer, so a finished send occupies its slot until ``period`` seconds after
its answer came back, and a send still in flight occupies one indefinitely. Under that rule no
reordering or network delay can make the platform see more than the limit in any window, so
nothing we pace can earn a 429 (only another process sharing the token can).

Replies to people come first: the outbox ("bulk") waits while a reply waits, and bulk sends may
fill the bot-wide window only up to ``limit - reserve`` so a reply finds a free slot at once.
A 429 that comes anyway pauses that chat, and all bulk sends, for the time the platform asked.

Several replicas on one PostgreSQL database share the bot-wide window through a ``budget``
(bot/messengers/budget.py): a send then also takes one of the platform's slots in the database
(``try_acquire_shared``). The per-chat pacing stays in each replica's memory. Without a budget
(SQLite: one process) nothing of this runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.messengers.budget import SharedBudget, Ticket

RECENT_PER_CHAT = 24  # finished sends remembered per chat: enough for any burst we model
PRUNE_EVERY = 4096  # acquisitions between sweeps of idle chats out of memory
IDLE_AFTER = 120.0  # seconds after its last send a chat's history no longer matters
SLICES = 10  # bulk sends are spread over the window in this many slices
SHARED_POLL = 0.02  # seconds between looks at the shared budget while its slots are all busy


@dataclass(frozen=True)
class Limits:
    """The platform's flood limits as the pacer models them (Telegram's documented numbers)."""

    bot_count: int = 30  # messages in any ``bot_period`` seconds, the whole bot
    bot_period: float = 1.0
    chat_rate: float = 1.0  # a private chat: a token bucket of this rate...
    chat_burst: int = 3  # ...holding this many tokens
    group_count: int = 20  # a group or channel (negative chat id): a sliding window
    group_period: float = 60.0
    reserve: int = 1  # bot-wide slots per window only replies may use

    @classmethod
    def unlimited(cls) -> Limits:
        """No pacing at all (in-process tests and the local console)."""
        return cls(bot_count=0)

    @property
    def enabled(self) -> bool:
        """Whether anything is paced."""
        return self.bot_count > 0


@dataclass
class PacerStats:
    """What the pacer did, for status lines and benchmarks."""

    replies: int = 0
    bulk: int = 0
    waited: int = 0
    flood_waits: int = 0


@dataclass
class _Lane:
    """One chat: its recent finished sends, whether one is in flight, a flood pause."""

    ends: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_PER_CHAT))
    busy: bool = False
    paused_until: float = 0.0


class Slot:
    """The right to make one paced call; release it when the call has returned."""

    __slots__ = ("_chat", "_pacer", "_released", "ticket")

    def __init__(self, pacer: Pacer, chat: int | None) -> None:
        """Held for ``chat`` (None: a call with no chat, paced bot-wide only)."""
        self._pacer, self._chat, self._released = pacer, chat, False
        self.ticket: Ticket | None = None  # the shared budget's slot, when there is one

    def release(self) -> None:
        """The call returned (or failed): its slot ages out ``period`` seconds from now."""
        if not self._released:
            self._released = True
            self._pacer._finish(self._chat, time.monotonic())
            if self.ticket is not None and self._pacer.budget is not None:
                self._pacer.budget.give_back(self.ticket, used=True)


class Pacer:
    """Admits sends within the bot-wide, per-chat and per-group limits; replies first."""

    def __init__(self, limits: Limits | None = None, budget: SharedBudget | None = None) -> None:
        """Start with empty history; ``budget``: the bot-wide window shared with replicas."""
        self.limits = limits or Limits()
        self.budget = budget if self.limits.enabled else None
        self.stats = PacerStats()
        self._ends: deque[float] = deque()
        self._in_flight = 0
        self._bulk_paused_until = 0.0
        self._lanes: dict[int, _Lane] = {}
        self._replies_waiting = 0
        self._changed = asyncio.Event()
        self._since_prune = 0
        # Bulk sends may start at most _per_slice in any tenth of the window.
        self._slice = self.limits.bot_period / SLICES
        share = max(1, self.limits.bot_count - self.limits.reserve)
        self._per_slice = max(1, math.ceil(share / SLICES))
        self._bulk_starts: deque[float] = deque()

    # --- admission ------------------------------------------------------------------------
    def wait_time(self, chat: int | None, *, bulk: bool, now: float) -> float | None:
        """Seconds until a send may start (0: now), or None: not before a send in flight ends."""
        bot, lane = self._waits(chat, bulk=bulk, now=now)
        return _latest(bot, lane)

    def try_acquire(self, chat: int | None, *, bulk: bool) -> Slot | float | None:
        """A slot now, or the wait ``wait_time`` gives (never blocks)."""
        bot, lane = self._waits(chat, bulk=bulk, now=time.monotonic())
        wait = _latest(bot, lane)
        return self._take(chat, bulk=bulk) if wait == 0.0 else wait

    async def try_acquire_shared(self, chat: int | None, *, bulk: bool) -> Slot | float | None:
        """``try_acquire`` that also takes a slot of the shared budget (its wait when none is
        free: never more than SHARED_POLL, as a replica's release is not announced)."""
        got, _ = await self._try_shared(chat, bulk)
        return got

    async def _try_shared(self, chat: int | None, bulk: bool) -> tuple[Slot | float | None, bool]:
        """(a slot, or the wait), and whether the wait is the bot-wide window's."""
        assert self.budget is not None
        bot, lane = self._waits(chat, bulk=bulk, now=time.monotonic())
        wait = _latest(bot, lane)
        if wait != 0.0:
            return wait, bot != 0.0
        ticket, shared = await self.budget.take(bulk=bulk)
        if ticket is None:
            return min(shared, SHARED_POLL), True
        bot, lane = self._waits(chat, bulk=bulk, now=time.monotonic())
        wait = _latest(bot, lane)
        if wait != 0.0:  # taken meanwhile by another send of this replica
            self.budget.give_back(ticket, used=False)
            return wait, bot != 0.0
        slot = self._take(chat, bulk=bulk)
        slot.ticket = ticket
        return slot, False

    async def _acquire_shared(self, chat: int | None, bulk: bool) -> Slot:
        """``acquire`` through the shared budget: replies first within this replica."""
        queued = waited = False
        try:
            while True:
                got, blocked = await self._try_shared(chat, bulk)
                if isinstance(got, Slot):
                    return got
                if not waited:
                    waited = True
                    self.stats.waited += 1
                if not bulk and blocked != queued:
                    queued = blocked
                    self._replies_waiting += 1 if blocked else -1
                    self._wake()
                await self._sleep(SHARED_POLL if got is None else got)
        finally:
            if queued:
                self._replies_waiting -= 1
                self._wake()

    async def acquire(self, chat: int | None, *, bulk: bool = False) -> Slot:
        """Wait for a slot: replies before bulk, each chat one send at a time."""
        if self.budget is not None:
            return await self._acquire_shared(chat, bulk)
        queued = False  # a reply counted as waiting for the bot-wide window
        waited = False
        try:
            while True:
                bot, lane = self._waits(chat, bulk=bulk, now=time.monotonic())
                wait = _latest(bot, lane)
                if wait == 0.0:
                    return self._take(chat, bulk=bulk)
                if not waited:
                    waited = True
                    self.stats.waited += 1
                blocked = bot != 0.0
                if not bulk and blocked != queued:
                    queued = blocked
                    self._replies_waiting += 1 if blocked else -1
                    self._wake()
                await self._sleep(wait)
        finally:
            if queued:
                self._replies_waiting -= 1
                self._wake()

    def chat_wait(self, chat: int, now: float) -> float | None:
        """Seconds until ``chat`` may have another message (0: now; None: one is in flight)."""
        lane = self._lanes.get(chat)
        return 0.0 if lane is None else self._waits(chat, bulk=False, now=now)[1]

    def chat_history(self, chat: int) -> list[float]:
        """When the chat's last messages finished, as Unix seconds (for the next replica)."""
        lane = self._lanes.get(chat)
        if lane is None:
            return []
        shift = time.time() - time.monotonic()
        return [end + shift for end in lane.ends]

    def recall_chat(self, chat: int, finished: list[float]) -> None:
        """Count messages another replica sent the chat (Unix seconds) in its flood limit."""
        if not finished:
            return
        shift = time.time() - time.monotonic()
        lane = self._lanes.setdefault(chat, _Lane())
        merged = sorted({*lane.ends, *(end - shift for end in finished)})
        lane.ends.clear()
        lane.ends.extend(merged[-RECENT_PER_CHAT:])

    def bulk_paused(self, now: float) -> float:
        """Seconds bulk sends stay paused after a 429 (0: not paused)."""
        return max(0.0, self._bulk_paused_until - now)

    def penalize(self, chat: int | None, seconds: float) -> None:
        """The platform answered 429: pause this chat, and every bulk send, as long as it asked."""
        until = time.monotonic() + max(0.0, seconds)
        self.stats.flood_waits += 1
        self._bulk_paused_until = max(self._bulk_paused_until, until)
        if chat is not None:
            lane = self._lanes.setdefault(chat, _Lane())
            lane.paused_until = max(lane.paused_until, until)
        self._wake()

    # --- internals ------------------------------------------------------------------------
    def _waits(
        self, chat: int | None, *, bulk: bool, now: float
    ) -> tuple[float | None, float | None]:
        """(bot-wide wait, this chat's wait), each 0, seconds, or None (until a send ends)."""
        bot = self._bot_wait(bulk, now) if self.limits.enabled else 0.0
        if bulk:
            pause = max(0.0, self._bulk_paused_until - now)
            bot = None if bot is None or self._replies_waiting else max(bot, pause)
        lane = self._lanes.get(chat) if chat is not None else None
        if lane is None:
            return bot, 0.0
        if not self.limits.enabled:  # unpaced, but a flood wait the platform asked for holds
            return bot, max(0.0, lane.paused_until - now)
        return bot, self._lane_wait(chat, lane, now)

    def _bot_wait(self, bulk: bool, now: float) -> float | None:
        """The bot-wide sliding window (bulk may not use the reserved slots)."""
        limits = self.limits
        ends = self._ends
        horizon = now - limits.bot_period
        while ends and ends[0] <= horizon:
            ends.popleft()
        cap = limits.bot_count - (min(limits.reserve, limits.bot_count - 1) if bulk else 0)
        excess = len(ends) + self._in_flight - cap + 1  # slots that must free up first
        if excess > len(ends):
            return None
        wait = 0.0 if excess <= 0 else ends[excess - 1] + limits.bot_period - now
        if bulk:  # spread evenly over the window: a burst would leave no slot to free for a
            starts = self._bulk_starts  # second, and a reply would wait that long for one
            while starts and starts[0] <= now - self._slice:
                starts.popleft()
            if len(starts) >= self._per_slice:
                wait = max(wait, starts[0] + self._slice - now)
        return wait

    def _lane_wait(self, chat: int | None, lane: _Lane, now: float) -> float | None:
        """One chat: one send at a time, a flood pause, and its bucket or group window."""
        if lane.busy:
            return None
        wait = max(0.0, lane.paused_until - now)
        limits = self.limits
        ends = lane.ends
        if chat is not None and chat < 0:  # groups and channels: N per period
            if len(ends) >= limits.group_count:
                wait = max(wait, ends[-limits.group_count] + limits.group_period - now)
            return wait
        # A token bucket (rate, burst) admits a send at s when, for the k-th latest finished
        # send (k = 1 the latest), k + 1 <= burst + rate * (s - end_k).
        for k in range(limits.chat_burst, len(ends) + 1):
            earliest = ends[-k] + (k + 1 - limits.chat_burst) / limits.chat_rate
            wait = max(wait, earliest - now)
        return wait

    def _take(self, chat: int | None, *, bulk: bool) -> Slot:
        """Record a send as started."""
        self._in_flight += 1
        if chat is not None:
            self._lanes.setdefault(chat, _Lane()).busy = True
        if bulk:
            self.stats.bulk += 1
            self._bulk_starts.append(time.monotonic())
        else:
            self.stats.replies += 1
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._prune(time.monotonic())
        return Slot(self, chat)

    def _finish(self, chat: int | None, now: float) -> None:
        """A send returned: its slot counts until ``period`` after now."""
        self._in_flight -= 1
        if self.limits.enabled:
            self._ends.append(now)
        if chat is not None:
            lane = self._lanes.setdefault(chat, _Lane())
            lane.busy = False
            if self.limits.enabled:
                lane.ends.append(now)
        self._wake()

    def _prune(self, now: float) -> None:
        """Forget chats idle long enough that their history cannot delay anything."""
        self._since_prune = 0
        horizon = now - max(IDLE_AFTER, self.limits.group_period)
        self._lanes = {
            chat: lane
            for chat, lane in self._lanes.items()
            if lane.busy or lane.paused_until > now or (lane.ends and lane.ends[-1] > horizon)
        }

    def _wake(self) -> None:
        """Let every waiter look again."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _sleep(self, wait: float | None) -> None:
        """Sleep until ``wait`` passes or something changes (a send ends, a waiter leaves)."""
        event = self._changed
        timeout = None if wait is None else max(wait, 0.001)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


def _latest(*waits: float | None) -> float | None:
    """The longest of several waits; None (unknown) wins."""
    if any(w is None for w in waits):
        return None
    return max(w for w in waits if w is not None)
