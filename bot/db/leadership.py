"""Who leads a piece of work among replicas sharing one database: long polling of a platform,
the platform's once-per-tick jobs.

On PostgreSQL a leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a
connection of its own, outside the pool, under a key made from the schema and the work's name
("poll:telegram", "tick:bale"). The others try again every ``RETRY`` seconds; when the leader's
process dies (even kill -9) the server ends its session and drops the lock, so another replica
takes over within seconds. A leader that loses its connection (it stops answering for
``PATIENCE`` seconds, or closes) has lost the lead: it stops the led work at once, before
another replica can have taken over, and then tries again like any other.

On SQLite (one process owns the file) the one process always leads: no connection, no task.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from bot.core.logs import describe_error

log = logging.getLogger(__name__)
RETRY = 2.0  # seconds between a follower's attempts, and between a leader's checks
PATIENCE = 5.0  # seconds a leader's check may take before its connection counts as lost

#: Called with True when the lead is gained, False when it is lost (never raising: logged).
OnChange = Callable[[bool], Awaitable[None]]


def lock_key(schema: str, name: str) -> int:
    """The advisory lock key of one piece of work in one schema (a signed 64-bit integer)."""
    digest = hashlib.blake2b(f"homebiz:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """One piece of work's lead on a database: ``leads`` says whether this process has it."""

    def __init__(self, db: object, name: str, on_change: OnChange | None = None) -> None:
        """For the work ``name`` on ``db`` (a PostgreSQL database's ``url``: elected; a SQLite
        one: always the leader); ``on_change`` hears of every gain and loss."""
        self.name = name
        self.url: str | None = getattr(db, "url", None)
        self.on_change = on_change
        self.leads = self.url is None  # SQLite: the one process
        self.retry, self.patience = RETRY, PATIENCE
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def elected(self) -> bool:
        """Whether the lead is contested (PostgreSQL), not simply this process's (SQLite)."""
        return self.url is not None

    async def start(self) -> None:
        """Take the lead if nobody holds it (SQLite: tell ``on_change`` it is ours), and keep
        trying or checking in the background."""
        if not self.elected:
            await self._tell(True)
            return
        await self._attempt()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Give the lead up (closing the connection frees the lock) and stop trying."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    async def _run(self) -> None:
        """Every ``retry`` seconds: a follower tries for the lead, a leader checks it still
        has its connection."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.retry)
            if self._stop.is_set():
                return
            if self.leads:
                await self._check()
            else:
                await self._attempt()

    async def _attempt(self) -> None:
        """Try for the lock once (connecting first when needed); gain the lead if granted."""
        try:
            if self._conn is None or self._conn.is_closed():
                assert self.url is not None
                self._conn = await asyncio.wait_for(asyncpg.connect(self.url), self.patience)
                self._conn.add_termination_listener(self._terminated)
            key = lock_key(await self._conn.fetchval("SELECT current_schema()"), self.name)
            got = await asyncio.wait_for(
                self._conn.fetchval("SELECT pg_try_advisory_lock($1)", key), self.patience
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("%s: cannot reach the database to lead (%s)", self.name,
                        describe_error(exc))  # fmt: skip
            await self._drop()
            return
        if got:
            log.info("%s: this process leads", self.name)
            self.leads = True
            await self._tell(True)

    async def _check(self) -> None:
        """A leader's check: its connection answers; else the lead is lost."""
        conn = self._conn
        try:
            assert conn is not None
            await asyncio.wait_for(conn.fetchval("SELECT 1"), self.patience)
        except (AssertionError, OSError, TimeoutError, asyncpg.PostgresError,
                asyncpg.InterfaceError):  # fmt: skip
            await self._lose()

    def _terminated(self, conn: asyncpg.Connection) -> None:
        """The connection closed under us: the lead is lost now, not at the next check."""
        if self.leads and conn is self._conn and not self._stop.is_set():
            self._conn = None
            asyncio.get_running_loop().create_task(self._lose())

    async def _lose(self) -> None:
        """The lock may be gone: stop the led work, drop the connection, try again later."""
        if not self.leads:
            return
        log.warning("%s: lost the lead (its database connection failed)", self.name)
        self.leads = False
        await self._tell(False)
        await self._drop()

    async def _drop(self) -> None:
        """Close the lock's connection (the server frees a lock with its session)."""
        conn, self._conn = self._conn, None
        was = self.leads and self.elected
        self.leads = not self.elected
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), self.patience)
            if not conn.is_closed():
                conn.terminate()
        if was:
            await self._tell(False)

    async def _tell(self, leads: bool) -> None:
        """Tell ``on_change``; its failure is logged, never raised into the election."""
        if self.on_change is None:
            return
        try:
            await self.on_change(leads)
        except Exception:
            log.exception("%s: the led work failed to %s", self.name,
                          "start" if leads else "stop")  # fmt: skip
