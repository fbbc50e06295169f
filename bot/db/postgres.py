"""The PostgreSQL database: the same interface as bot.db.engine.Database over an asyncpg pool.

Repositories write SQLite's words (``?`` placeholders, its planner hints); each statement text
is translated once (bot.db.dialect.to_postgres) and prepared once per pooled connection, which
also tells the parameter types: a value whose Python type does not fit (an int for a text
parameter, "5" for a bigint) is converted as SQLite's type affinity would store it, instead of
asyncpg refusing it. Rows are asyncpg records (index and name access, ``keys()``); SUM over
bigint (numeric) comes back as int, AVG as float, as from SQLite.

What differs from SQLite, on purpose: statements run concurrently on the pool's connections (no
turn-taking; ``reader()`` is a second, small pool for reports, so a report never takes the
connections a person's reply needs); a transaction is READ COMMITTED; there is no
``lastrowid`` (an INSERT that needs its id says ``RETURNING id``); ``backup`` refuses (pg_dump
and base backups are the engine's tools); ``checkpoint`` has nothing to do.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.db.dialect import POSTGRES, to_postgres
from bot.db.engine import MigrationError, latest_version

log = logging.getLogger(__name__)

_MIGRATION_RE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_TARGET_RE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([A-Za-z_][A-Za-z_0-9]*)", re.I
)
STATEMENTS_PER_CONNECTION = 512  # prepared statements each pooled connection keeps
POOL_SIZE = 10  # connections at most: each transaction holds one, each statement one briefly
READ_POOL_SIZE = 3  # the reports' own pool (``reader()``): /stats, exports, the console's pages
MIGRATION_LOCK = 0x686F6D6562697A  # pg_advisory_xact_lock key: one migrating process at a time
SCHEMES = ("postgresql://", "postgres://")


def is_url(value: object) -> bool:
    """Whether a HOMEBIZ_DB value names a PostgreSQL server rather than a SQLite file."""
    return str(value).startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def migrations() -> list[tuple[int, str, str]]:
    """The PostgreSQL migrations (bot/db/migrations/pg) as (version, name, sql), in order."""
    folder = resources.files("bot.db.migrations").joinpath("pg")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise MigrationError(f"bot/db/migrations/pg/{name}: expected version {expected:03d}")
    return found


class Row(asyncpg.Record):
    """A row: by index, by name, ``keys()`` as a list (sqlite3.Row's)."""

    def keys(self) -> list[str]:  # type: ignore[override]
        """The column names."""
        return list(super().keys())


def _numeric(text: str) -> int | float:
    """A numeric value (SUM over bigint, AVG): an int when whole, else a float."""
    return int(text) if "." not in text and "e" not in text.lower() else float(text)


async def _setup_connection(conn: asyncpg.Connection) -> None:
    """Decode numeric as SQLite gives numbers (int or float), not Decimal."""
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


def _to_text(value: Any) -> Any:
    """A value for a text parameter, as SQLite's text affinity stores it."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _to_int(value: Any) -> Any:
    """A value for an integer parameter (an integer-looking text, a whole float)."""
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _to_bool(value: Any) -> Any:
    """A value for a boolean parameter (0/1 as SQLite's booleans are)."""
    return bool(value) if isinstance(value, int | Decimal) else value


def _to_float(value: Any) -> Any:
    """A value for a floating-point parameter."""
    return float(value) if isinstance(value, int | str | Decimal) else value


def _to_numeric(value: Any) -> Any:
    """A value for a numeric parameter."""
    return Decimal(value) if isinstance(value, int | str | float) else value


_FITS: dict[str, tuple[tuple[type, ...], Callable[[Any], Any]]] = {
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "json", "jsonb"), ((str,), _to_text)),
    **dict.fromkeys(("int2", "int4", "int8"), ((int,), _to_int)),
    "bool": ((bool,), _to_bool),
    **dict.fromkeys(("float4", "float8"), ((float,), _to_float)),
    "numeric": ((Decimal,), _to_numeric),
}


def _to_bytes(value: Any) -> Any:
    """A value for a bytea parameter (text as its UTF-8 bytes, as SQLite's BLOB cast)."""
    return value.encode("utf-8") if isinstance(value, str) else value


_FITS["bytea"] = ((bytes,), _to_bytes)


def fit(type_name: str) -> Callable[[Any], Any]:
    """How a value goes into a column of PostgreSQL type ``type_name`` (pg_type.typname):
    converted as above when its Python type does not fit, else as it is."""
    found = _FITS.get(type_name)
    if found is None:
        return lambda value: value
    types, convert = found

    def fitted(value: Any) -> Any:
        """The value, converted only when needed."""
        return value if value is None or type(value) in types else convert(value)

    return fitted


@dataclass
class _Prepared:
    """One prepared statement and how to make each parameter fit its type."""

    statement: Any
    fits: tuple[tuple[tuple[type, ...], Callable[[Any], Any]] | None, ...]

    def args(self, params: Sequence[Any]) -> Sequence[Any]:
        """The parameters, each converted only when its Python type does not fit."""
        out = None
        for i, (fit, value) in enumerate(zip(self.fits, params, strict=False)):
            if fit is None or value is None or type(value) in fit[0]:
                continue
            if out is None:
                out = list(params)
            out[i] = fit[1](value)
        return params if out is None else out


class Connection(asyncpg.Connection):
    """A pooled connection that keeps its prepared statements by statement text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """An asyncpg connection with an empty statement cache."""
        super().__init__(*args, **kwargs)
        self._homebiz: OrderedDict[str, _Prepared] = OrderedDict()

    async def homebiz_prepared(self, text: str) -> _Prepared:
        """The statement prepared on this connection (once; the least used go first)."""
        found = self._homebiz.get(text)
        if found is not None:
            self._homebiz.move_to_end(text)
            return found
        statement = await self.prepare(text, record_class=Row)
        fits = tuple(_FITS.get(p.name) for p in statement.get_parameters())
        found = self._homebiz[text] = _Prepared(statement, fits)
        if len(self._homebiz) > STATEMENTS_PER_CONNECTION:
            self._homebiz.popitem(last=False)
        return found

    def homebiz_forget(self) -> None:
        """Drop every prepared statement (the schema changed under them)."""
        self._homebiz.clear()


@dataclass
class Result:
    """What one statement gave back: its rows and how many rows it changed."""

    rows: list[Any] = field(default_factory=list)
    rowcount: int = -1

    @property
    def lastrowid(self) -> int | None:
        """Not on PostgreSQL: an INSERT that needs its id says ``RETURNING id``."""
        raise AttributeError("lastrowid: PostgreSQL has none; say RETURNING id and read the row")

    async def fetchone(self) -> Any:
        """The first row, if any."""
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Any]:
        """Every row."""
        return self.rows


def _count(status: str | None) -> int:
    """Rows changed, from a command tag ("UPDATE 3", "INSERT 0 1"); -1 for none."""
    if not status:
        return -1
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


async def _run(conn: Any, sql: str, params: Sequence[Any]) -> Result:
    """One statement on one connection: rows and rows changed."""
    prepared = await conn.homebiz_prepared(to_postgres(sql))
    statement = prepared.statement
    rows = await statement.fetch(*prepared.args(params))
    return Result(list(rows), _count(statement.get_statusmsg()))


async def _run_many(conn: Any, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
    """One statement for many rows (pipelined); rows changed in its table, from the
    transaction's own statistics (asyncpg's executemany returns no counts)."""
    prepared = await conn.homebiz_prepared(to_postgres(sql))
    target = _TARGET_RE.match(sql)
    changed = (
        "SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint "
        "FROM pg_stat_xact_user_tables WHERE relid = to_regclass($1)"
    )
    before = await conn.fetchval(changed, target.group(1)) if target else None
    await prepared.statement.executemany([prepared.args(r) for r in rows])
    if before is None:
        return Result([], -1)
    return Result([], int(await conn.fetchval(changed, target.group(1))) - int(before))


class Transaction:
    """The statements of one transaction, on the connection it holds."""

    def __init__(self, conn: Any) -> None:
        """Run on ``conn``."""
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """One statement."""
        return await _run(self._conn, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Result:
        """One statement for many rows."""
        return await _run_many(self._conn, sql, rows)


class _Pool:
    """Up to ``size`` connections, opened when first needed and kept. Our own, not asyncpg's
    Pool: a statement prepared on a connection stays valid across uses (asyncpg's pool
    invalidates prepared statements at every release)."""

    def __init__(self, url: str, size: int) -> None:
        """Connect to ``url`` lazily."""
        self._url = url
        self._free: list[Connection] = []
        self._all: set[Connection] = set()
        self._slots = asyncio.Semaphore(size)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        """A connection for the block (a new one when none is free)."""
        async with self._slots:
            conn = None
            while self._free and conn is None:
                conn = self._free.pop()
                if conn.is_closed():
                    self._all.discard(conn)
                    conn = None
            if conn is None:
                conn = await self.connect()
            try:
                yield conn
            finally:
                if conn.is_closed() or conn.is_in_transaction():
                    self._all.discard(conn)
                    if not conn.is_closed():
                        conn.terminate()
                else:
                    self._free.append(conn)

    async def connect(self) -> Connection:
        """Open one connection, set up as every statement expects."""
        conn = await asyncpg.connect(self._url, connection_class=Connection)
        await _setup_connection(conn)
        self._all.add(conn)
        return conn

    async def forget_statements(self) -> None:
        """Close the idle connections (their prepared statements may not fit a new schema)."""
        idle, self._free = self._free, []
        for conn in idle:
            self._all.discard(conn)
            await conn.close()

    async def close(self) -> None:
        """Close every connection."""
        found, self._free = list(self._all), []
        self._all.clear()
        for conn in found:
            if not conn.is_closed():
                await conn.close()


class PostgresDatabase:
    """A pool of connections to one PostgreSQL database (one schema: its search_path)."""

    dialect = POSTGRES

    def __init__(self, pool: _Pool, url: str, *, reads_only: bool = False) -> None:
        """Wrap an open pool (``reads_only``: the reports' pool, its own reader)."""
        self._pool = pool
        self.url = url
        self.path = redact(url)
        self._reads_only = reads_only
        self._reader: PostgresDatabase | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        upto: int | None = None,
        pool_size: int = POOL_SIZE,
    ) -> PostgresDatabase:
        """Connect (a pool of up to ``pool_size``) and apply the migrations. Query parameters
        of the URL other than libpq's are server settings (``?search_path=homebiz``)."""
        pool = _Pool(url, pool_size)
        async with pool.acquire():  # fail here, not at the first statement, when unreachable
            pass
        db = cls(pool, url)
        try:
            if migrate:
                await db.migrate(upto=upto)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close every connection of the pool, and of the reports' pool."""
        if self._reader is not None:
            await self._reader.close()
        await self._pool.close()

    # --- statements -----------------------------------------------------------------------
    async def fetchone(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> Any:
        """Run a query and return its first row."""
        rows = await self.fetchall(sql, params, slow=slow)
        return rows[0] if rows else None

    async def fetchall(
        self, sql: str, params: Sequence[Any] = (), *, slow: bool = False
    ) -> list[Any]:
        """Run a query and return every row."""
        async with self._pool.acquire() as conn:
            return (await _run(conn, sql, params)).rows

    async def execute(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """Run one statement (autocommit). An INSERT … RETURNING id gives the new id (0 when
        nothing was inserted); an INSERT without RETURNING gives 0, never a count that could
        pass for an id (PostgreSQL has no last row id); anything else the rows changed."""
        result = await self._statement(sql, params)
        if sql.lstrip()[:6].upper() == "INSERT":
            return int(result.rows[0][0]) if result.rows else 0
        return result.rowcount

    async def changes(self, sql: str, params: Sequence[Any] = (), *, slow: bool = False) -> int:
        """Run one statement in autocommit mode; return how many rows it changed (or inserted)."""
        return (await self._statement(sql, params)).rowcount

    async def _statement(self, sql: str, params: Sequence[Any]) -> Result:
        """One autocommit statement."""
        async with self._pool.acquire() as conn:
            return await _run(conn, sql, params)

    @asynccontextmanager
    async def transaction(self, *, slow: bool = False) -> AsyncIterator[Transaction]:
        """One transaction on a connection of its own; commit on success, roll back on error."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield Transaction(conn)

    async def executemany(
        self, sql: str, rows: Iterable[Sequence[Any]], *, slow: bool = False
    ) -> int:
        """Run one statement for many rows inside a single transaction; rows changed."""
        async with self.transaction(slow=slow) as tx:
            return (await tx.executemany(sql, rows)).rowcount

    # --- maintenance ----------------------------------------------------------------------
    async def version(self) -> int:
        """The schema version (0: no schema yet)."""
        async with self._pool.acquire() as conn:
            return await _version(conn)

    async def migrate(self, *, upto: int | None = None) -> list[str]:
        """Apply every PostgreSQL migration newer than the schema's version, each in a
        transaction of its own that holds the migration lock (one process migrates at a time;
        the others then find the work done); return their names."""
        found = migrations()
        if len(found) != latest_version():
            raise MigrationError(
                f"bot/db/migrations/pg has {len(found)} migrations, SQLite's {latest_version()}"
            )
        applied = []
        async with self._pool.acquire() as conn:
            current = await _version(conn)
            if current > len(found):
                raise MigrationError(
                    f"{self.path}: schema version {current} is newer than this code "
                    f"({len(found)}); run the newer homebiz"
                )
            for version, name, sql in found:
                if version <= current or (upto is not None and version > upto):
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                        await conn.execute(
                            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                        )
                        if await _version(conn) >= version:
                            continue  # another process applied it meanwhile
                        await conn.execute(sql)
                        await conn.execute("DELETE FROM schema_version")
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", version
                        )
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"bot/db/migrations/pg/{name}: {exc}") from exc
                applied.append(name)
        if applied:
            await self._pool.forget_statements()  # prepared before, they may not fit now
            if self._reader is not None:
                await self._reader._pool.forget_statements()
        return applied

    async def checkpoint(self) -> bool:
        """Nothing to do: erased rows' old versions go with (auto)vacuum, which the server runs;
        there is no file of ours to truncate."""
        return True

    async def backup(self, target: object) -> None:
        """Refuse: a PostgreSQL database is backed up with its own tools."""
        raise BackupRefused(
            f"{self.path} is PostgreSQL: back it up with pg_dump (pg_dump -Fc -f FILE "
            "'<the HOMEBIZ_DB URL>') or with base backups and WAL archiving "
            "(pg_basebackup), not with homebiz backup"
        )

    def reader(self) -> PostgresDatabase:
        """Long reads (reports, exports, the console's heavy pages): a pool of their own of
        READ_POOL_SIZE connections, opened when first used, so however many reports run they
        never take the connections a person's turn needs."""
        if self._reads_only:
            return self
        if self._reader is None:
            self._reader = PostgresDatabase(
                _Pool(self.url, READ_POOL_SIZE), self.url, reads_only=True
            )
        return self._reader


class BackupRefused(Exception):
    """``homebiz backup`` on PostgreSQL: the engine's own tools do it."""


async def _version(conn: Any) -> int:
    """The schema version on a connection (0 before the first migration)."""
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def version_of(conn: asyncpg.Connection) -> int:
    """The schema version seen through a plain asyncpg connection (0 before any migration)."""
    return await _version(conn)
