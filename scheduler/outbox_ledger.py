"""The books of one outbox sender: the rows it holds under lease, the outcomes it has not yet
recorded, and the back-off after a failed database write.

A sender never forgets a row it holds. Successes are buffered and committed in batches; every
other outcome (retry, failure, flood wait, release) is written at once. A write that fails is
kept and tried again with back-off, whatever the failure (a lock held elsewhere, a full disk),
and the leases of every row still held are renewed well before they expire, so the running
sender settles its books as soon as the database works again: nothing waits for a restart.
While renewals fail, sending pauses before the leases could lapse, so a sender that takes the
rows over later does not race this one.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.repo.outbox import OutboxRepo, OutboxRow
from bot.repo.senders import SenderRepo

logger = logging.getLogger(__name__)

FLUSH_AGE = 0.05  # a buffered success is committed within this many seconds
RETRY_FIRST = 0.1  # seconds before a failed write is tried again; doubles per failure
RETRY_MAX = 2.0  # cap of that back-off: a healed database is noticed within this
MIN_LEASE = 3  # seconds; renewals run every third of a lease, in whole clock seconds
WARN_EVERY = 10.0  # seconds: a write failing again and again is logged once per this

Write = Callable[[], Awaitable[object]]


@dataclass
class SenderStats:
    """Counters for benchmarks and status messages."""

    attempted: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    forbidden: int = 0
    rate_limited: int = 0
    flood_failed: int = 0  # rows failed because their flood waits reached the cap
    recovered: int = 0  # rows taken over from a sender whose lease had expired
    lost: int = 0  # rows another sender took over from this one (its renewals had failed)


class Ledger:
    """Rows held under lease, unrecorded outcomes, lease renewal and write back-off."""

    def __init__(
        self,
        repo: OutboxRepo,
        senders: SenderRepo,
        platform: str,
        owner: str,
        clock: Clock,
        stats: SenderStats,
        *,
        lease: int,
        flush_size: int,
    ) -> None:
        """Empty books for ``owner``; leases last ``lease`` clock seconds."""
        if lease < MIN_LEASE:
            raise ValueError(f"lease must be at least {MIN_LEASE} seconds")
        self.repo, self.senders, self.platform, self.owner = repo, senders, platform, owner
        self.clock, self.stats, self.lease, self.flush_size = clock, stats, lease, flush_size
        self.margin = max(1, lease // 3)
        self.held: set[int] = set()  # rows 'sending' under our lease in the database
        self.sent: list[tuple[int, int | None]] = []  # successes not yet committed
        self.sent_since = 0.0
        self.owed: dict[int, Write] = {}  # row → the write recording its outcome, not yet done
        self.unreleased: set[int] = set()  # untried rows still to give back
        self.valid_until = 0  # clock seconds: every held row's lease lasts at least until then
        self.renewed_at = 0.0  # monotonic time of the last successful renewal
        self.heartbeat_since: int | None = None  # set while `run` serves: renewals beat too
        self.failures = 0
        self.failing_since: float | None = None
        self.retry_at = 0.0  # monotonic; no write is tried before it after a failure
        self.warned_at = -math.inf  # monotonic time of the last failure warning
        self.warned = False  # a warning was logged and its recovery not yet

    # --- state --------------------------------------------------------------------------
    def holds(self, row_id: int) -> bool:
        """Whether the row is still ours (not recorded, not taken over)."""
        return row_id in self.held

    @property
    def unsettled(self) -> int:
        """Outcomes and releases not yet recorded."""
        return len(self.sent) + len(self.owed) + len(self.unreleased)

    @property
    def failing(self) -> bool:
        """Whether the last database write failed."""
        return self.failures > 0

    def gave_up(self, now: float) -> bool:
        """Writes have failed for a whole lease: the rows may belong to another sender now."""
        return self.failing_since is not None and now - self.failing_since > self.lease

    def may_send(self) -> bool:
        """False once the leases we hold have less than a third of their length left."""
        return not self.held or self.clock.timestamp() < self.valid_until - self.margin

    def in_back_off(self, now: float) -> bool:
        """Whether a failed write is still waiting for its retry time."""
        return now < self.retry_at

    def commit_due(self, now: float, *, busy: bool) -> bool:
        """Kept outcomes are due at once; successes once enough, old enough or nothing flies."""
        if now < self.retry_at:
            return False
        if self.owed or self.unreleased:
            return True
        return bool(self.sent) and (
            len(self.sent) >= self.flush_size or now - self.sent_since >= FLUSH_AGE or not busy
        )

    def renew_due(self, now: float) -> bool:
        """Every third of a lease while rows are held (or a heartbeat is kept), and whenever
        the clock says less than two thirds are left (a clock moved by hand, a long stall)."""
        if now < self.retry_at or (not self.held and self.heartbeat_since is None):
            return False
        short = self.clock.timestamp() > self.valid_until - (2 * self.lease) // 3
        return short or now - self.renewed_at >= self.lease / 3

    def next_due(self, now: float) -> float:
        """Seconds until the books want the database again (inf when they do not)."""
        due = math.inf
        if self.sent:
            due = self.sent_since + FLUSH_AGE
        if self.owed or self.unreleased:
            due = min(due, self.retry_at)
        if self.held or self.heartbeat_since is not None:
            due = min(due, self.renewed_at + self.lease / 3)
        return max(0.0, max(due, self.retry_at) - now)

    # --- claims and outcomes ------------------------------------------------------------
    async def claim(self, limit: int) -> list[OutboxRow]:
        """Lease up to ``limit`` rows (expired leases of others first); [] while failing."""
        if time.monotonic() < self.retry_at:
            return []
        now = self.clock.timestamp()
        try:
            rows = await self.repo.claim(
                self.platform, now, limit, owner=self.owner, lease_until=now + self.lease
            )
        except Exception as exc:
            self.failed(exc)
            return []
        self.worked()
        if rows and not self.held:
            self.valid_until = now + self.lease
            if self.heartbeat_since is None:  # a running sender keeps its heartbeat rhythm
                self.renewed_at = time.monotonic()
        self.held.update(row.id for row in rows)
        taken = sum(row.taken_over for row in rows)
        if taken:
            self.stats.recovered += taken
            logger.info(
                "%s outbox: took over %d rows whose sender's lease had expired",
                self.platform,
                taken,
            )
        return rows

    def sent_ok(self, row_id: int, message_id: int | None) -> None:
        """Buffer a success; it is committed within FLUSH_AGE (or kept until it can be)."""
        if not self.sent:
            self.sent_since = time.monotonic()
        self.sent.append((row_id, message_id))

    async def record(self, row_id: int, write: Write) -> None:
        """Record one outcome now, or keep it for the next commit if the database fails."""
        if time.monotonic() < self.retry_at:
            self.owed[row_id] = write
            return
        try:
            await write()
        except Exception as exc:
            self.owed[row_id] = write
            self.failed(exc)
            return
        self.held.discard(row_id)
        self.worked()

    async def release(self, rows: Iterable[OutboxRow]) -> None:
        """Give untried rows back to pending (kept for later if the database fails)."""
        self.unreleased.update(row.id for row in rows if row.id in self.held)
        if self.unreleased and time.monotonic() >= self.retry_at:
            await self.commit()

    def forget(self, row_id: int) -> None:
        """Stop holding a row without recording anything (it was not ours any more)."""
        self.held.discard(row_id)
        self.owed.pop(row_id, None)
        self.unreleased.discard(row_id)

    async def commit(self) -> bool:
        """Write buffered successes, releases and kept outcomes; False (with back-off) on error."""
        try:
            if self.sent:
                done = list(self.sent)
                await self.repo.mark_sent(done, self.clock.timestamp())
                del self.sent[: len(done)]
                self.held.difference_update(row_id for row_id, _ in done)
                self.stats.sent += len(done)
            if self.unreleased:
                ids = sorted(self.unreleased)
                await self.repo.release(ids, owner=self.owner)
                self.unreleased.difference_update(ids)
                self.held.difference_update(ids)
            for row_id, write in list(self.owed.items()):
                await write()
                if self.owed.get(row_id) is write:
                    del self.owed[row_id]
                self.held.discard(row_id)
        except Exception as exc:
            self.failed(exc)
            return False
        self.worked()
        return True

    async def renew(self) -> None:
        """Extend the leases of every row held (and the heartbeat); drop rows taken over."""
        now = self.clock.timestamp()
        until = now + self.lease
        ids = set(self.held)
        try:
            still = await self.senders.renew(
                self.platform, self.owner, ids, now, until, heartbeat_since=self.heartbeat_since
            )
        except Exception as exc:
            self.failed(exc)
            return
        self.worked()
        self.renewed_at = time.monotonic()
        self.valid_until = until
        lost = {row_id for row_id in ids if row_id in self.held and row_id not in still}
        for row_id in lost:
            self.forget(row_id)  # a buffered success stays: mark_sent records the truth
        if lost:
            self.stats.lost += len(lost)
            logger.warning(
                "%s outbox: %d rows were taken over by another sender (our lease had lapsed)",
                self.platform,
                len(lost),
            )

    # --- start and stop -----------------------------------------------------------------
    async def settle(self, patience: float) -> bool:
        """At shutdown: commit what is owed, retrying with back-off for up to ``patience`` s."""
        end = time.monotonic() + patience
        while self.unsettled:
            now = time.monotonic()
            if now >= self.retry_at and await self.commit():
                break
            now = time.monotonic()
            if now >= end:
                break
            await asyncio.sleep(min(max(self.retry_at - now, 0.01), end - now))
        if self.unsettled:
            logger.error(
                "%s outbox: %d rows could not be recorded; they stay 'sending' until their "
                "lease runs out (at most %d s), then any sender takes them over",
                self.platform,
                self.unsettled,
                self.lease,
            )
        return not self.unsettled

    async def goodbye(self) -> None:
        """Remove the heartbeat of a stopping sender (an error only lets it expire)."""
        if self.heartbeat_since is None:
            return
        self.heartbeat_since = None
        try:
            await self.senders.forget(self.platform, self.owner)
        except Exception as exc:
            logger.warning("%s outbox: heartbeat left to expire (%s)", self.platform, exc)

    # --- back-off -----------------------------------------------------------------------
    def failed(self, exc: Exception) -> None:
        """A write failed: back off (doubling, capped); warn at most once per WARN_EVERY."""
        now = time.monotonic()
        self.failures += 1
        self.retry_at = now + min(RETRY_MAX, RETRY_FIRST * 2 ** min(self.failures - 1, 10))
        if self.failing_since is None:
            self.failing_since = now
        if now - self.warned_at >= WARN_EVERY:
            self.warned_at, self.warned = now, True
            logger.warning(
                "%s outbox: a database write failed (%s: %s); keeping what is not recorded "
                "and trying again",
                self.platform,
                type(exc).__name__,
                exc,
            )

    def worked(self) -> None:
        """A write succeeded: the spell of failures, if any, is over."""
        if self.failing_since is not None and self.warned:
            self.warned = False
            logger.info(
                "%s outbox: database writes work again after %.1f s",
                self.platform,
                time.monotonic() - self.failing_since,
            )
        self.failures, self.failing_since, self.retry_at = 0, None, 0.0
