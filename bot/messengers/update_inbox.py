"""Webhook updates shared by several replicas: stored before the 200, each handled once, one
chat's one at a time in update_id order, whichever replica received them.

The listener stores an update (bot/repo/update_inbox.py) and only then answers 200, so a replica
killed after answering loses nothing; a redelivered update_id is acknowledged and dropped. The
replica that stored it then tries to take the chat's turn (a row with a lease in the database):
if it gets it, it handles the chat's pending updates oldest first through the real Application,
renewing the lease meanwhile, gives the turn back, and looks once more for updates stored by
another replica meanwhile, taking the turn again for them. A replica that cannot take the turn
leaves its update to the holder. Every RESCUE_EVERY seconds each replica takes the chats whose
updates wait with nobody alive holding their turn (a killed replica's lease expired), so a
kill -9 delays a person by about a lease, never longer.

An update is handled at least once: a replica killed in the middle of a turn leaves that update
to be handled again by the next holder. One that was started MAX_ATTEMPTS times without
finishing (it kills every replica that handles it) is given up, with an error logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.core.logs import describe_error
from bot.db.open import AnyDatabase
from bot.messengers.update_order import MAX_CONCURRENT, order_key
from bot.repo.update_inbox import Stored, UpdateInboxRepo

log = logging.getLogger(__name__)
LEASE = 15.0  # seconds a chat's turn is held without renewal (a killed holder delays it this long)
RENEW_EVERY = 5.0  # seconds between renewals while a turn runs
RESCUE_EVERY = 2.0  # seconds between looks for chats whose updates wait with nobody on them
KEEP_DONE = 24 * 3600.0  # seconds a handled update is kept (a redelivery within is dropped)
PRUNE_EVERY = 600.0  # seconds between prunes of handled updates
MAX_ATTEMPTS = 3  # starts of one update before it is given up
STOP_GRACE = 10.0  # seconds a stopping replica waits for the turns in progress
NO_CHAT = 0  # the chat_key of updates without a chat or a person (they share one turn)


def uses_inbox(db: AnyDatabase, webhook: bool) -> bool:
    """The one place that decides: PostgreSQL with webhooks (any number of replicas, one
    included: the acknowledged updates are durable); SQLite and long polling keep PTB's queue."""
    return webhook and db.dialect.postgres


def chat_key_of(update: Update) -> int:
    """Whose turn an update waits for: its chat, else its person, else NO_CHAT."""
    key = order_key(update)
    return NO_CHAT if key is None else key


class UpdateInbox:
    """One replica's share of the stored updates of one platform."""

    def __init__(
        self,
        app: Application,
        db: AnyDatabase,
        platform: str,
        *,
        lease: float = LEASE,
        renew_every: float = RENEW_EVERY,
        rescue_every: float = RESCUE_EVERY,
        keep_done: float = KEEP_DONE,
        max_attempts: int = MAX_ATTEMPTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Prepare (not start) the inbox of ``app`` on ``db``; ``clock`` gives Unix seconds."""
        self.app = app
        self.repo = UpdateInboxRepo(db, platform)
        self.owner = f"{platform}-{uuid.uuid4().hex[:12]}"
        self.lease_ms = int(lease * 1000)
        self.renew_every = renew_every
        self.rescue_every = rescue_every
        self.keep_done_ms = int(keep_done * 1000)
        self.max_attempts = max_attempts
        self.clock = clock
        self._chats: dict[int, asyncio.Task[None]] = {}  # chats this replica is working on
        self._again: set[int] = set()  # of those, chats kicked since their work last looked
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._rescuer: asyncio.Task[None] | None = None
        self._stopping = False

    def _now_ms(self) -> int:
        """Now, in Unix milliseconds."""
        return int(self.clock() * 1000)

    async def store(self, update: Update, data: dict[str, Any]) -> bool:
        """Keep a checked update (committed on return) and start on its chat; False: a
        redelivery, already stored. Raises when the database cannot store it (no 200 then)."""
        key = chat_key_of(update)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        stored = await self.repo.store(update.update_id, key, body, self._now_ms())
        if stored:
            self.kick(key)
        return stored

    def kick(self, chat_key: int) -> None:
        """Work on the chat's stored updates, unless this replica is stopping. If it already
        works on them, that work looks once more before it ends (it may have looked last
        before this update was stored)."""
        if self._stopping:
            return
        if chat_key in self._chats:
            self._again.add(chat_key)
            return
        self._chats[chat_key] = asyncio.create_task(self._work(chat_key))

    def start(self) -> None:
        """Start looking for stranded chats (the first look is at once: updates a previous
        run of this or another replica left)."""
        if self._rescuer is None:
            self._rescuer = asyncio.create_task(self._rescue())

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Take no new turn; let the turns in progress finish their update for up to ``grace``
        seconds (then cancel them: their update is handled again by the next holder)."""
        self._stopping = True
        if self._rescuer is not None:
            self._rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rescuer
            self._rescuer = None
        working = list(self._chats.values())
        if not working:
            return
        _, late = await asyncio.wait(working, timeout=grace) if grace > 0 else (set(), working)
        for task in late:
            task.cancel()
        await asyncio.gather(*working, return_exceptions=True)

    async def _work(self, chat_key: int) -> None:
        """Hold the chat's turn while it has stored updates; give it back and look again."""
        try:
            while not self._stopping:
                if not await self.repo.take(chat_key, self.owner, self._now_ms(), self.lease_ms):
                    return  # another replica holds the turn: it will find this chat's updates
                try:
                    await self._turn(chat_key)
                finally:
                    await self._release(chat_key)
                self._again.discard(chat_key)  # a kick from now on: one more look
                if self._stopping or not await self.repo.has_pending(chat_key):
                    return
        except Exception as exc:  # the database failed: the rescue looks at this chat again
            log.warning("update inbox: a chat's updates wait (%s)", describe_error(exc))
        finally:
            del self._chats[chat_key]
            if chat_key in self._again:
                self._again.discard(chat_key)
                self.kick(chat_key)

    async def _release(self, chat_key: int) -> None:
        """Give the chat's turn back; if that fails, the lease expires by itself."""
        try:
            await self.repo.release(chat_key, self.owner)
        except Exception as exc:
            log.warning("update inbox: a turn left to expire (%s)", describe_error(exc))

    async def _turn(self, chat_key: int) -> None:
        """Handle the chat's stored updates, oldest first, while the turn is still ours."""
        lost = asyncio.Event()
        renewer = asyncio.create_task(self._renew(chat_key, lost))
        try:
            while not self._stopping and not lost.is_set():
                stored = await self.repo.next_pending(chat_key)
                if stored is None:
                    return
                await self._handle(stored)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, chat_key: int, lost: asyncio.Event) -> None:
        """Extend the turn's lease every RENEW_EVERY seconds; set ``lost`` if it is gone."""
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                mine = await self.repo.renew(chat_key, self.owner, self._now_ms(), self.lease_ms)
            except Exception as exc:
                log.warning("update inbox: lease not renewed (%s)", describe_error(exc))
                mine = False
            if not mine:
                lost.set()  # the update under way finishes; no other is started
                return

    async def _handle(self, stored: Stored) -> None:
        """One stored update through the Application (its handlers and error handler)."""
        if stored.attempts >= self.max_attempts:
            log.error(
                "update inbox: update %d given up after %d attempts",
                stored.update_id,
                stored.attempts,
            )
            await self.repo.done(stored.update_id, self._now_ms())
            return
        await self.repo.started(stored.update_id)
        async with self._slots:
            try:
                update = Update.de_json(json.loads(stored.body), self.app.bot)
                await self.app.process_update(update)
            except Exception as exc:  # PTB handles a handler's error; this is anything else
                log.error(
                    "update inbox: update %d failed (%s)", stored.update_id, describe_error(exc)
                )
        await self.repo.done(stored.update_id, self._now_ms())

    async def _rescue(self) -> None:
        """Every RESCUE_EVERY seconds: work on stranded chats; now and then, prune."""
        next_prune = 0
        while True:
            try:
                now = self._now_ms()
                for chat_key in await self.repo.stranded(now):
                    self.kick(chat_key)
                if now >= next_prune:
                    await self.repo.prune(now - self.keep_done_ms)
                    next_prune = now + int(PRUNE_EVERY * 1000)
            except Exception as exc:
                log.warning("update inbox: no look at waiting updates (%s)", describe_error(exc))
            await asyncio.sleep(self.rescue_every)
