"""The SQLite database: one connection, WAL mode, versioned migrations, turns taken in order.

Where a statement runs. A bot's statements are short indexed lookups and writes of a few
microseconds; handing each to a thread and back (as aiosqlite does) cost five times the
statement. So a statement runs on the event loop's own thread, with SQLite's busy timeout at
zero, and only two things go to the connection's worker thread: work marked ``slow`` (batches,
migrations, backups, checkpoints) and a statement that found another process holding the write
lock, which then waits there for it (BUSY_TIMEOUT) while the event loop serves everyone else's
updates that do not need the database. Long reads (reports, exports, audience counts) go to a
read-only companion connection (``reader()``) with a thread of its own, so they never hold the
connection the bot writes through. A statement run on the loop thread that still takes longer
than SLOW_WARNING is logged (with its first words, never its parameters) so it can be moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.db.dialect import SQLITE, Dialect

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = sqlite3.Row

_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# How long a statement waits for another process's write lock (a backup, `homebiz checkins
# send-now`, a second bot) before failing with "database is locked". Long on purpose: a
# person's update should wait for the lock and be answered, not get "something went wrong".
# The wait happens in the connection's worker thread, so the event loop keeps serving; our
# one connection still serialises its callers, so other statements queue behind the waiting
# one. A lock held longer (a hung process) still fails loudly instead of hanging forever.
BUSY_TIMEOUT = 30.0
SLOW_WARNING = 0.05  # seconds: a statement on the loop thread taking longer is logged


class Reads(Protocol):
    """What a repository that only reads needs: the database, or its read-only companion."""

    dialect: Dialect

    async def fetchone(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = ...
    ) -> Row | None:
        """The first row of a query."""
        ...

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = ...
    ) -> list[Row]:
        """Every row of a query."""
        ...


class MigrationError(Exception):
    """A migration file is malformed or failed to apply."""


def migrations() -> list[tuple[int, str, str]]:
    """All migrations shipped with the package as (version, name, sql), in order."""
    found = []
    for entry in resources.files("bot.db.migrations").iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise MigrationError(f"bot/db/migrations/{name}: expected version {expected:03d}")
    return found


def latest_version() -> int:
    """The schema version the code expects."""
    return len(migrations())


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether a failure means another connection holds the lock (worth waiting for)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)


@dataclass
class Result:
    """What one statement gave back: its rows (read at once), rows changed, the new row id."""

    rows: list[Row] = field(default_factory=list)
    rowcount: int = -1
    lastrowid: int | None = None

    async def fetchone(self) -> Row | None:
        """The first row, if any."""
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Row]:
        """Every row."""
        return self.rows


def _result(cursor: sqlite3.Cursor) -> Result:
    """Read a finished statement's rows and counts, and close its cursor."""
    try:
        rows = cursor.fetchall() if cursor.description is not None else []
        return Result(rows, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class Transaction:
    """The statements of one write transaction (BEGIN IMMEDIATE … COMMIT)."""

    def __init__(self, db: Database, *, slow: bool) -> None:
        """Run through ``db``; in its worker thread when ``slow``."""
        self._db, self._slow = db, slow

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """One statement."""
        conn = self._db._conn
        return await self._db._run(lambda: _result(conn.execute(sql, params)), self._slow, sql)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        """One statement for many rows."""
        conn = self._db._conn
        return await self._db._run(lambda: _result(conn.executemany(sql, rows)), self._slow, sql)

    @property
    def total_changes(self) -> int:
        """Rows changed on this connection since it opened."""
        return self._db._conn.total_changes


class Database:
    """One SQLite connection; callers take turns, each statement where it costs least."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection, path: str, busy_timeout: float) -> None:
        """Wrap an open connection (busy timeout zero; ``busy_timeout`` applies in the worker)."""
        self._conn = conn
        self._lock = asyncio.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._patience_ms = int(busy_timeout * 1000)
        self._reader: Reader | None = None
        self.path = path

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrate: bool = True,
        upto: int | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> Database:
        """Open (creating owner-only) the file, set pragmas and apply migrations.

        ``busy_timeout`` is in seconds (see BUSY_TIMEOUT); tests shorten it.
        """
        path_str = str(path)
        if path_str != ":memory:":
            file = Path(path_str)
            file.parent.mkdir(parents=True, exist_ok=True)
            if not file.exists():
                fd = os.open(file, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            os.chmod(file, 0o600)
        conn = await asyncio.to_thread(_connect, path_str, busy_timeout)
        db = cls(conn, path_str, busy_timeout)
        try:
            if migrate:
                await db.migrate(upto=upto)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connection (and the reader's)."""
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        async with self._lock:
            self._conn.close()
        self._worker.shutdown(wait=True)

    # --- where statements run -------------------------------------------------------------
    async def _run(self, work: Callable[[], T], slow: bool, sql: str = "") -> T:
        """Run ``work`` (the caller holds the turn): on this thread, or in the worker when it
        is slow or must wait for another process's lock."""
        if slow:
            return await self._in_worker(work)
        began = time.perf_counter()
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        finally:
            spent = time.perf_counter() - began
            if spent > SLOW_WARNING:
                log.warning("database: %.0f ms on the event loop: %s", spent * 1000, sql[:60])
        return await self._in_worker(work)

    async def _in_worker(self, work: Callable[[], T]) -> T:
        """Run ``work`` in the worker thread, waiting up to the busy timeout for locks."""
        conn, patience = self._conn, self._patience_ms

        def patient() -> T:
            """The work, with the busy handler on."""
            conn.execute(f"PRAGMA busy_timeout={patience}").close()
            try:
                return work()
            finally:
                conn.execute("PRAGMA busy_timeout=0").close()

        return await asyncio.get_running_loop().run_in_executor(self._worker, patient)

    # --- statements -----------------------------------------------------------------------
    async def fetchone(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> Row | None:
        """Run a query and return its first row."""
        rows = await self.fetchall(sql, params, slow=slow)
        return rows[0] if rows else None

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Row]:
        """Run a query and return every row."""
        conn = self._conn
        async with self._lock:
            return await self._run(lambda: _result(conn.execute(sql, params)).rows, slow, sql)

    async def execute(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """Run one statement (autocommit); the new row id of an INSERT, else the rows changed."""
        result = await self._statement(sql, params, slow)
        return (result.lastrowid or 0) if sql.lstrip()[:6].upper() == "INSERT" else result.rowcount

    async def changes(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """Run one statement in autocommit mode; return how many rows it changed (or inserted)."""
        return (await self._statement(sql, params, slow)).rowcount

    async def _statement(self, sql: str, params: Sequence[Any], slow: bool) -> Result:
        """One autocommit statement."""
        conn = self._conn
        async with self._lock:
            return await self._run(lambda: _result(conn.execute(sql, params)), slow, sql)

    @asynccontextmanager
    async def transaction(self, *, slow: bool = False) -> AsyncIterator[Transaction]:
        """Take the turn for one write transaction; commit on success, roll back on error.

        BEGIN IMMEDIATE takes the write lock first, so only it can find the lock held by
        another process (and then waits in the worker); what follows cannot. A failed COMMIT
        (disk full, I/O error) can leave the transaction open; it is rolled back too, or every
        later BEGIN would fail.
        """
        conn = self._conn
        async with self._lock:
            await self._run(lambda: conn.execute("BEGIN IMMEDIATE").close(), slow, "BEGIN")
            try:
                yield Transaction(self, slow=slow)
                await self._run(self._commit, slow, "COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(Exception):  # keep the error that got us here
                        await self._run(conn.rollback, slow, "ROLLBACK")
                raise

    def _commit(self) -> None:
        """COMMIT the open transaction (on whichever thread runs it)."""
        self._conn.commit()

    async def executemany(
        self, sql: str, rows: Iterable[Sequence[Any]], *, slow: bool = False
    ) -> int:
        """Run one statement for many rows inside a single transaction; rows changed."""
        async with self.transaction(slow=slow) as tx:
            return (await tx.executemany(sql, rows)).rowcount

    # --- maintenance ----------------------------------------------------------------------
    async def version(self) -> int:
        """The schema version stored in the file."""
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, *, upto: int | None = None) -> list[str]:
        """Apply every migration newer than the file's version; return their names."""
        current = await self.version()
        if current > latest_version():
            raise MigrationError(
                f"{self.path}: schema version {current} is newer than this code "
                f"({latest_version()}); run the newer homebiz"
            )
        applied = []
        conn = self._conn
        for version, name, sql in migrations():
            if version <= current or (upto is not None and version > upto):
                continue
            script = f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"

            def apply(script: str = script) -> None:
                """Run one migration in a transaction of its own."""
                try:
                    conn.executescript(script)
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise

            async with self._lock:
                try:
                    await self._in_worker(apply)
                except Exception as exc:
                    raise MigrationError(f"bot/db/migrations/{name}: {exc}") from exc
            applied.append(name)
        return applied

    async def checkpoint(self) -> bool:
        """Copy the WAL into the file and truncate it (after an erasure); False if readers held it.

        With secure_delete the erased rows are zeros in the database file; the old page images
        in the -wal file go only when it is checkpointed and truncated.
        """
        rows = await self.fetchall("PRAGMA wal_checkpoint(TRUNCATE)", slow=True)
        return bool(rows) and int(rows[0][0]) == 0

    async def backup(self, target: str | Path) -> None:
        """Write a consistent copy of the database to a new file while others keep writing."""
        target_path = Path(target)
        if target_path.exists():
            raise FileExistsError(str(target_path))
        fd = os.open(target_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)  # VACUUM INTO accepts an empty file: it is owner-only from the start
        os.chmod(target_path, 0o600)
        await self.execute("VACUUM INTO ?", (str(target_path),), slow=True)

    def reader(self) -> Reader | Database:
        """A read-only companion for long reads, with a thread of its own (this one itself for
        an in-memory database, which no second connection can see)."""
        if self.path == ":memory:":
            return self
        if self._reader is None:
            self._reader = Reader(self.path, self._patience_ms)
        return self._reader


class Reader:
    """A read-only connection whose every query runs in its own thread: reports, exports and
    audience counts read a consistent snapshot (WAL) without holding the bot's connection."""

    dialect = SQLITE

    def __init__(self, path: str, patience_ms: int) -> None:
        """Open lazily on first use."""
        self.path, self._patience_ms = path, patience_ms
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-reader")

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = True
    ) -> list[Row]:
        """Run a query in the reader's thread and return every row."""
        async with self._lock:
            return await asyncio.get_running_loop().run_in_executor(
                self._worker, self._query, sql, params
            )

    async def fetchone(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = True
    ) -> Row | None:
        """Run a query in the reader's thread and return its first row."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    def _query(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """In the reader's thread: open if needed, then run the query."""
        if self._conn is None:
            uri = Path(self.path).resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={self._patience_ms}").close()
            self._conn = conn
        return _result(self._conn.execute(sql, params)).rows

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await asyncio.get_running_loop().run_in_executor(self._worker, conn.close)
        self._worker.shutdown(wait=True)


def _connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """Open the connection with the pragmas every statement relies on."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
    )
    try:
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA secure_delete=ON",  # deleted rows are overwritten, not left in free space
            "PRAGMA busy_timeout=0",  # on the loop thread; the worker waits (BUSY_TIMEOUT)
        ):
            conn.execute(pragma).close()
    except BaseException:
        conn.close()
        raise
    return conn
