"""The Safir sender: delivers the outbox's ``safir`` rows (invitations, their reminder, first
check-ins) to phone numbers through Bale Safir, at Safir's own rate and only in the sending window.

It is the outbox sender (scheduler/outbox.py) with another transport: the same claims, leases,
take-overs, books and back-offs; its own pacer (``HOMEBIZ_SAFIR_RATE``, not the Bot API's budget;
on PostgreSQL its rate is shared by every replica through ``send_slots`` under the name "safir");
and a claim that takes nothing in the quiet hours. Each row is rendered when it is sent, from
the roster row as it is then (a person who joined, declined or is off Bale meanwhile is not
messaged: the row is cancelled).

No duplicates, even across a crash. Every call carries a ``request_id`` derived from the row
alone (its dedupe key, id and creation time), and Safir sends nothing for a request_id it has
seen. So a sender killed between Safir's answer and the ``sent`` commit, whose row another
sender takes over when the lease expires, repeats the *request* but not the message: the outbox's
duplicate window is closed for these rows, not merely bounded.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from typing import Any, cast

from telegram import Bot
from telegram.error import NetworkError, RetryAfter

from bot.core.clock import Clock
from bot.messengers.budget import shared_budget
from bot.messengers.pacer import Limits, Pacer, Slot
from bot.messengers.safir import (
    ACCOUNT,
    BAD_NUMBER,
    LIMITED,
    NOT_ON_BALE,
    RETRY,
    SafirClient,
    SafirResult,
    safir_phone,
)
from bot.repo.invitations import KINDS, SAFIR, InvitationRepo, SafirOutboxRepo
from bot.repo.outbox import OutboxRow
from bot.repo.senders import SenderRepo
from bot.roster.invitation import Texts, safir_message
from bot.rules.schedule import SchedulePolicy, in_quiet_hours
from scheduler.outbox import ChatQueue, OutboxSender
from scheduler.outbox_ledger import Ledger

logger = logging.getLogger(__name__)

#: request_ids are UUIDs derived from the row (Safir's own examples use free strings).
REQUEST_NAMESPACE = uuid.UUID("6f0c2a56-3c1e-4d5b-9a57-1b0f3f2f7e11")
#: Seconds to pause when the account cannot send (key refused, no credit, contact limit):
#: nothing is marked, the queue waits, and each row gives up after MAX_FLOOD_WAITS pauses.
ACCOUNT_PAUSE = 600
BATCH = 20  # rows claimed at a time: few, so a claim does not run far into the quiet hours
CONCURRENCY = 4


def request_id(row: OutboxRow) -> str:
    """The row's Safir request_id: the same for every attempt of the row, by any sender."""
    return str(uuid.uuid5(REQUEST_NAMESPACE, f"{row.dedupe_key}:{row.id}:{row.created_at}"))


class WindowLedger(Ledger):
    """The sender's books, whose claims take nothing while the quiet hours last."""

    policy: SchedulePolicy

    async def claim(self, limit: int) -> list[OutboxRow]:
        """Lease due rows, or none in the quiet hours (they wait for the window)."""
        if in_quiet_hours(self.clock.now(), policy=self.policy):
            return []
        return await super().claim(limit)


class SafirSender(OutboxSender):
    """Delivers ``safir`` outbox rows through one Safir account."""

    def __init__(
        self,
        client: SafirClient,
        repo: SafirOutboxRepo,
        clock: Clock,
        *,
        texts: Texts,
        username: str,
        policy: SchedulePolicy,
        limits: Limits,
        lang: str = "fa",
        lease: int = 30,
        max_attempts: int = 5,
        base_backoff: float = 2.0,
        idle_poll: float = 0.5,
    ) -> None:
        """Configure; nothing runs until ``run`` or ``drain_once``.

        ``username``: the Bale bot's, for the links; ``policy``: the content's sending window;
        ``limits``: Safir's pace; ``max_attempts``: tries of a row Safir fails with a server
        error or no answer (its request_id makes each retry safe).
        """
        super().__init__(
            cast(Bot, None),  # no Bot API here: _attempt below calls Safir
            repo,
            SAFIR,
            clock,
            pacer=Pacer(limits, shared_budget(repo.db, SAFIR, limits)),  # replicas: shared
            max_attempts=max_attempts,
            base_backoff=base_backoff,
            batch=BATCH,
            concurrency=CONCURRENCY,
            lease=lease,
            idle_poll=idle_poll,
        )
        ledger = WindowLedger(
            repo, SenderRepo(repo.db), SAFIR, self.owner, clock, self.stats,
            lease=lease, flush_size=self.flush_size,
        )  # fmt: skip
        ledger.policy = policy
        self.ledger = ledger
        self.safir_repo = repo
        self.client, self.invites = client, InvitationRepo(repo.db)
        self.texts, self.username, self.lang = texts, username, lang
        self.not_on_bale = 0

    async def _call(self, row: OutboxRow) -> SafirResult | None:
        """Render and send one row to its person as they are now; None: no longer reachable."""
        target = await self.invites.target(row.chat_id, row.kind)
        if target is None:
            return None
        try:
            lang = str(row.payload.get("lang") or self.lang)
        except ValueError:
            lang = self.lang
        try:
            phone = safir_phone(target.mobile)
        except ValueError:
            return SafirResult(BAD_NUMBER, "the list's mobile is not an Iranian mobile number")
        data = safir_message(
            self.texts, lang, row.kind, username=self.username, token=target.link_token
        )
        return await self.client.send(phone, data, request_id(row))

    async def _attempt(self, row: OutboxRow, queue: ChatQueue, slot: Slot) -> None:
        """Send through Safir and record what came of it (a database error releases the row)."""
        now = self.clock.timestamp()
        if row.kind not in KINDS:
            slot.release()
            queue.finished(row.chat_id, time.monotonic())
            self.stats.failed += 1
            await self._record(row, self.repo.mark_failed, f"not a Safir kind: {row.kind}", now)
            return
        try:
            result = await self._call(row)
        finally:
            slot.release()
            queue.finished(row.chat_id, time.monotonic())
        await self._outcome(row, result)

    async def _outcome(self, row: OutboxRow, result: SafirResult | None) -> None:
        """Record one row's outcome through the books."""
        now = self.clock.timestamp()
        reason = f"safir: {result.reason}" if result is not None else ""
        if result is None:
            await self._record(row, self.safir_repo.mark_cancelled, "no longer reachable", now)
        elif result.delivered:
            self.ledger.sent_ok(row.id, None)
        elif result.outcome == NOT_ON_BALE:
            self.not_on_bale += 1
            await self._record(row, self.safir_repo.mark_not_on_bale, reason, now)
        elif result.outcome == LIMITED:
            wait = max(1, math.ceil(result.retry_after or 1))
            await self._on_retry_after(row, RetryAfter(wait))
        elif result.outcome == ACCOUNT:
            logger.warning(
                "safir: the account cannot send (%s); pausing %d s", result.reason, ACCOUNT_PAUSE
            )
            await self._on_retry_after(row, RetryAfter(ACCOUNT_PAUSE))
        elif result.outcome == RETRY:
            await self._on_network_error(row, NetworkError(reason))
        else:  # a bad number, or a request Safir refuses: retrying cannot help
            self.stats.failed += 1
            await self._record(row, self.repo.mark_failed, reason, now)

    def summary(self) -> dict[str, Any]:
        """Counters for a log line and the tests."""
        s = self.stats
        return {
            "sent": s.sent,
            "not_on_bale": self.not_on_bale,
            "failed": s.failed,
            "retried": s.retried,
            "rate_limited": s.rate_limited,
        }
