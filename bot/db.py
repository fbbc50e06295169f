"""The SQLite database: one aiosqlite connection, WAL mode, versioned migrations."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# How long a statement waits for another process's write lock (a backup, `homebiz checkins
# send-now`, a second bot) before failing with "database is locked". Long on purpose: a
# person's update should wait for the lock and be answered, not get "something went wrong".
# The cost is small because it is already paid: our one connection serialises every caller
# behind its lock, so while one statement waits, every update and the outbox sender wait too,
# whatever this value is; it only decides when the wait turns into an error. A lock held
# longer (a hung process) still fails loudly instead of hanging forever. The busy handler
# applies to autocommit statements and to BEGIN IMMEDIATE, the only two forms this module
# writes with (a deferred transaction that reads and then writes would get SQLITE_BUSY at
# once, without waiting).
BUSY_TIMEOUT = 30.0


class MigrationError(Exception):
    """A migration file is malformed or failed to apply."""


def migrations() -> list[tuple[int, str, str]]:
    """All migrations shipped with the package as (version, name, sql), in order."""
    found = []
    for entry in resources.files("bot.migrations").iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise MigrationError(f"bot/migrations/{name}: expected version {expected:03d}")
    return found


def latest_version() -> int:
    """The schema version the code expects."""
    return len(migrations())


class Database:
    """A serialised aiosqlite connection; every call and transaction holds one lock."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        """Wrap an open connection."""
        self._conn = conn
        self._lock = asyncio.Lock()
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
        conn = await aiosqlite.connect(path_str, isolation_level=None, timeout=busy_timeout)
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path_str)
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                f"PRAGMA busy_timeout={int(busy_timeout * 1000)}",
                "PRAGMA secure_delete=ON",  # deleted rows are overwritten, not left in free space
            ):
                async with conn.execute(pragma):
                    pass  # close each cursor: an open one blocks VACUUM INTO (backups)
            if migrate:
                await db.migrate(upto=upto)
        except BaseException:
            await conn.close()  # its worker thread would otherwise keep the process alive
            raise
        return db

    async def close(self) -> None:
        """Close the connection."""
        async with self._lock:
            await self._conn.close()

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
        for version, name, sql in migrations():
            if version <= current or (upto is not None and version > upto):
                continue
            async with self._lock:
                try:
                    await self._conn.executescript(
                        f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
                    )
                except Exception as exc:
                    if self._conn.in_transaction:
                        await self._conn.rollback()
                    raise MigrationError(f"bot/migrations/{name}: {exc}") from exc
            applied.append(name)
        return applied

    async def checkpoint(self) -> bool:
        """Copy the WAL into the file and truncate it (after an erasure); False if readers held it.

        With secure_delete the erased rows are zeros in the database file; the old page images
        in the -wal file go only when it is checkpointed and truncated.
        """
        async with self._lock:
            rows = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        row = next(iter(rows), None)
        return row is not None and int(row[0]) == 0

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        """Run a query and return its first row (one hand-off to the database thread)."""
        async with self._lock:
            rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        """Run a query and return every row (one hand-off to the database thread)."""
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (autocommit); the new row id of an INSERT, else the rows changed.

        The finished statement's cursor is left to the garbage collector: closing it would
        cost a second hand-off to the database thread, and a completed statement holds nothing.
        """
        async with self._lock:
            cur = await self._conn.execute(sql, params)
            return cur.lastrowid if sql.lstrip().upper().startswith("INSERT") else cur.rowcount

    async def changes(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement in autocommit mode; return how many rows it changed (or inserted)."""
        async with self._lock:
            cur = await self._conn.execute(sql, params)
            return cur.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Hold the lock for one write transaction; commit on success, roll back on error.

        BEGIN IMMEDIATE takes the write lock first, so waiting for another process's lock
        goes through the busy handler. A failed COMMIT (disk full, I/O error) can leave the
        transaction open; it is rolled back too, or every later BEGIN would fail.
        """
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                await self._conn.commit()
            except BaseException:
                if self._conn.in_transaction:
                    with contextlib.suppress(Exception):  # keep the error that got us here
                        await self._conn.rollback()
                raise

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows inside a single transaction."""
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def backup(self, target: str | Path) -> None:
        """Write a consistent copy of the database to a new file while others keep writing."""
        target_path = Path(target)
        if target_path.exists():
            raise FileExistsError(str(target_path))
        fd = os.open(target_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)  # VACUUM INTO accepts an empty file: it is owner-only from the start
        os.chmod(target_path, 0o600)
        async with self._lock:
            await self._conn.execute("VACUUM INTO ?", (str(target_path),))
