"""The bot-wide part of the pacer shared by every replica on one PostgreSQL database.

Telegram counts a bot's messages per token, whichever process sends them: replies (sent by the
replica that handled the update) and outbox rows together. Each replica's pacer keeps its own
per-chat pacing and reply-first order in memory (a chat's updates and rows mostly meet on one
replica; where they do not, the platform's 429 pauses that chat) and takes, for every send, one
of the platform's ``bot_count`` slots in the database (bot/repo/send_slots.py) under the pacer's
rule: a send holds its slot from before the call until ``period`` after its answer (in flight at
most ``IN_FLIGHT`` seconds: a replica killed mid-call frees its slots then). Bulk sends may take
only ``bot_count - reserve`` slots, so a reply finds one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import time
from dataclasses import dataclass

from bot.core.logs import describe_error
from bot.db.postgres import PostgresDatabase
from bot.messengers.pacer import Limits
from bot.repo.send_slots import SendSlotRepo

log = logging.getLogger(__name__)
IN_FLIGHT = 60.0  # seconds a slot stays busy for a call that never answers (longer than any)
ON_ERROR = 0.5  # seconds before trying again when the database did not answer
QUIET = 30.0  # seconds between two warnings about the database


@dataclass(frozen=True, slots=True)
class Ticket:
    """One taken slot, and the name it was taken under."""

    slot: int
    holder: str


class SharedBudget:
    """The platform's bot-wide window, kept in ``send_slots`` for every replica at once."""

    def __init__(self, repo: SendSlotRepo, platform: str, limits: Limits) -> None:
        """For ``platform``'s token under ``limits`` (bot_count, bot_period, reserve)."""
        self.repo, self.platform, self.limits = repo, platform, limits
        self.caps = (limits.bot_count, limits.bot_count - min(limits.reserve, limits.bot_count - 1))
        self._owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._numbers = itertools.count()
        self._ready = False
        self._returns: set[asyncio.Task[None]] = set()
        self._warned = 0.0

    async def take(self, *, bulk: bool) -> tuple[Ticket | None, float]:
        """A slot now (ticket, 0), or (None, seconds worth waiting before asking again)."""
        holder = f"{self._owner}-{next(self._numbers)}"
        try:
            if not self._ready:
                await self.repo.ensure(self.platform, self.limits.bot_count)
                self._ready = True
            slot, wait = await self.repo.take(
                self.platform, self.caps[1] if bulk else self.caps[0], IN_FLIGHT, holder
            )
        except Exception as exc:  # the database is away: nobody sends until it answers
            self._warn(exc)
            return None, ON_ERROR
        if wait is None:  # no slots: the server lost the unlogged table's rows in a crash
            self._ready = False
            return None, 0.0
        return (Ticket(slot, holder), 0.0) if slot is not None else (None, max(0.0, wait))

    def give_back(self, ticket: Ticket, *, used: bool) -> None:
        """The call answered (``used``; its slot frees ``period`` from now), or never went
        out (it frees now). In the background: a release never holds a sender up."""
        after = self.limits.bot_period if used else 0.0
        task = asyncio.get_running_loop().create_task(self._give_back(ticket, after))
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)

    async def _give_back(self, ticket: Ticket, after: float) -> None:
        """Free the slot ``after`` seconds from now; a failure leaves it to its crash bound."""
        try:
            await self.repo.give_back(self.platform, ticket.slot, ticket.holder, after)
        except Exception as exc:
            self._warn(exc)

    async def close(self) -> None:
        """Wait for the releases under way."""
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)

    def _warn(self, exc: Exception) -> None:
        """One warning per QUIET seconds while the database fails."""
        now = time.monotonic()
        if now - self._warned >= QUIET:
            self._warned = now
            log.warning("%s: the shared send budget is unreachable (%s); sends wait",
                        self.platform, describe_error(exc))  # fmt: skip


def shared_budget(db: object, platform: str, limits: Limits) -> SharedBudget | None:
    """The bot-wide budget replicas share on a PostgreSQL database (None on SQLite, where one
    process paces in memory, or when nothing is paced)."""
    if not isinstance(db, PostgresDatabase) or not limits.enabled:
        return None
    return SharedBudget(SendSlotRepo(db), platform, limits)
