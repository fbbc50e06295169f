"""Copy a pilot's SQLite database into an empty PostgreSQL database (`homebiz migrate --copy-to`).

The bot is stopped meanwhile. The SQLite file is read inside one write transaction (BEGIN
IMMEDIATE: no other process can change it while it is read, and one that holds it refuses the
copy); the PostgreSQL side is one transaction too, so a failure anywhere leaves the target as
it was (migrated, still empty). Tables go in the order their foreign keys need, in batches
read by primary key, with COPY; each value is fitted to its column's type as the bot's own
statements are (bot.db.postgres.fit). User triggers are off during the copy (the derived
tables, audience cells and broadcast figures, are copied as they are, not counted twice), the
identity sequences start after the highest id copied, and every table's row count is compared
before the commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bot.db.engine import Database, MigrationError, Transaction, latest_version
from bot.db.postgres import PostgresDatabase, fit, redact, version_of

BATCH = 5000  # rows read from SQLite and sent with one COPY
LOCK_PATIENCE = 2.0  # seconds to wait for another process's write lock on the SQLite file
BOOKKEEPING = "schema_version"  # PostgreSQL's version table: checked, never copied


class CopyRefused(Exception):
    """The copy cannot go on; one line naming what to do, without any password or value."""


@dataclass(frozen=True)
class TableCount:
    """One table's rows in the SQLite file and in PostgreSQL after the copy."""

    table: str
    source: int
    target: int


@dataclass(frozen=True)
class Column:
    """A column the copy writes: its name and PostgreSQL type (pg_type.typname)."""

    name: str
    type: str


def _q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


async def copy_sqlite_to_postgres(
    source: Path, url: str, *, now: int, batch: int = BATCH
) -> list[TableCount]:
    """Copy the SQLite file ``source`` into the empty database at ``url``; the counts per table.
    ``now`` (Unix seconds) tells a live heartbeat of a running bot from an old one."""
    if not source.is_file():
        raise CopyRefused(f"{source}: no such SQLite file (HOMEBIZ_DB or --db names the source)")
    try:
        src = await Database.open(source, migrate=False, busy_timeout=LOCK_PATIENCE)
    except sqlite3.DatabaseError as exc:
        raise CopyRefused(f"{source}: not a readable SQLite database ({exc})") from None
    try:
        async with _locked(src) as read:
            version = await _check_source(read, src.path, now)
            conn = await _connect(url)
            try:
                await _prepare_target(conn, url, version)
                return await _copy(read, conn, url, batch)
            finally:
                await conn.close()
    finally:
        await src.close()


@asynccontextmanager
async def _locked(src: Database) -> AsyncIterator[Transaction]:
    """The SQLite file in one write transaction (BEGIN IMMEDIATE) for the whole copy: nothing
    else writes to it meanwhile; refused when another process holds its write lock."""
    try:
        async with src.transaction(slow=True) as read:
            yield read
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise CopyRefused(
                f"{src.path} is locked by another process (is 'homebiz run' or 'homebiz web' "
                "still running on it?): stop it first, then copy"
            ) from None
        raise


async def _check_source(read: Transaction, path: str, now: int) -> int:
    """The source's schema version, refused unless it is this code's and no bot is running."""
    version = int((await read.execute("PRAGMA user_version")).rows[0][0])
    if version < latest_version():
        raise CopyRefused(
            f"{path} is at schema version {version}, this code at {latest_version()}: "
            "run 'homebiz migrate' on it first (with HOMEBIZ_DB or --db naming it)"
        )
    if version > latest_version():
        raise CopyRefused(
            f"{path} is at schema version {version}, newer than this code "
            f"({latest_version()}): copy it with the newer homebiz"
        )
    live = (
        await read.execute(
            "SELECT DISTINCT platform FROM senders WHERE live_until >= ? ORDER BY platform", (now,)
        )
    ).rows
    if live:
        names = ", ".join(str(r[0]) for r in live)
        raise CopyRefused(
            f"{path}: 'homebiz run' is serving {names} on it (its outbox heartbeat is "
            "live): stop the bot first, then copy"
        )
    return version


async def _connect(url: str) -> asyncpg.Connection:
    """One connection to the target, for the checks and the copy's transaction."""
    try:
        return await asyncpg.connect(url)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise CopyRefused(f"cannot reach {redact(url)}: {_why(exc)}") from None


async def _prepare_target(conn: Any, url: str, version: int) -> None:
    """Refuse a target that holds rows or is newer than the source; migrate it to ``version``
    (each migration in its transaction, as 'homebiz migrate' does)."""
    current = await version_of(conn)
    if current > version:
        raise CopyRefused(
            f"{redact(url)} is at schema version {current}, the SQLite file at {version}: "
            "copy with the homebiz that made the target, or into a new database"
        )
    busy = await _tables_with_rows(conn)
    if busy:
        raise CopyRefused(_not_empty(url, busy))
    if current < version:
        target = await PostgresDatabase.open(url, migrate=False, pool_size=1)
        try:
            await target.migrate(upto=version)
        except MigrationError as exc:
            raise CopyRefused(f"migrating {redact(url)}: {exc}") from None
        finally:
            await target.close()
    current = await version_of(conn)
    if current != version:
        older = "the SQLite file" if version < current else redact(url)
        raise CopyRefused(
            f"{redact(url)} is at schema version {current}, the SQLite file at {version}: "
            f"run 'homebiz migrate' on {older} first"
        )


def _why(exc: BaseException) -> str:
    """What went wrong, without values: the server's or the OS's message, else the type."""
    if isinstance(exc, asyncpg.PostgresError | OSError):
        return " ".join(str(exc).split()) or type(exc).__name__
    return type(exc).__name__


def _not_empty(url: str, tables: Sequence[str]) -> str:
    """The refusal for a target that holds rows."""
    return (
        f"{redact(url)} is not empty: {', '.join(tables)} hold rows; copy into a new, empty "
        "database (or schema), nothing was changed"
    )


async def _tables_with_rows(conn: Any) -> list[str]:
    """The target's tables (its current schema) that hold at least one row."""
    names = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' AND table_name <> $1 ORDER BY table_name",
        BOOKKEEPING,
    )
    found = []
    for (name,) in names:
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_q(name)})"):
            found.append(str(name))
    return found


async def _ordered_tables(conn: Any) -> list[str]:
    """The target's tables, each after every table its foreign keys point at."""
    names = [
        str(r[0])
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relkind = 'r' AND c.relname <> $1 ORDER BY c.relname",
            BOOKKEEPING,
        )
    ]
    needs: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in await conn.fetch(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
    ):
        if child in needs and parent != child:
            needs[child].add(parent)
    ordered: list[str] = []
    while needs:
        ready = sorted(n for n, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise CopyRefused(f"foreign keys form a cycle among {', '.join(sorted(needs))}")
        for name in ready:
            ordered.append(name)
            del needs[name]
    return ordered


async def _columns(conn: Any, table: str) -> list[Column]:
    """The columns a copy writes (generated ones are computed by the target), in order."""
    rows = await conn.fetch(
        "SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = $1 AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        table,
    )
    return [Column(str(r[0]), str(r[1])) for r in rows]


async def _source_tables(read: Transaction) -> set[str]:
    """The SQLite file's own tables (not SQLite's internal ones)."""
    rows = await read.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return {str(r[0]) for r in rows.rows}


async def _key(read: Transaction, table: str) -> list[str]:
    """The columns a table's rows are read in order of: its primary key, else its rowid."""
    info = (await read.execute(f"PRAGMA table_info({_q(table)})")).rows
    pk = sorted((int(r["pk"]), str(r["name"])) for r in info if int(r["pk"]))
    return [name for _, name in pk] or ["rowid"]


async def _copy(read: Transaction, conn: Any, url: str, batch: int) -> list[TableCount]:
    """Copy every table within the SQLite transaction ``read`` and one PostgreSQL transaction."""
    async with conn.transaction():
        tables = await _ordered_tables(conn)
        missing = set(tables) ^ await _source_tables(read)
        if missing:
            raise CopyRefused(
                f"the two schemas differ in {', '.join(sorted(missing))} at the same version"
            )
        busy = await _tables_with_rows(conn)
        if busy:
            raise CopyRefused(_not_empty(url, busy))
        for table in tables:
            await conn.execute(f"ALTER TABLE {_q(table)} DISABLE TRIGGER USER")
        for table in tables:
            await _copy_table(read, conn, table, batch)
        for table in tables:
            await conn.execute(f"ALTER TABLE {_q(table)} ENABLE TRIGGER USER")
        await _reset_sequences(read, conn, tables)
        counts = await _counts(read, conn, tables)
        wrong = [c.table for c in counts if c.source != c.target]
        if wrong:
            raise CopyRefused(f"row counts differ in {', '.join(wrong)}; nothing was copied")
        return counts


async def _copy_table(read: Transaction, conn: Any, table: str, batch: int) -> int:
    """Copy one table in batches read in key order; the rows copied."""
    columns = await _columns(conn, table)
    names = [c.name for c in columns]
    fits = [fit(c.type) for c in columns]
    select = ", ".join(_q(n) for n in names)
    key = [k if k == "rowid" else _q(k) for k in await _key(read, table)]
    order = ", ".join(key)
    after = f"({order}) > ({', '.join('?' * len(key))})"
    keys = [f"_k{i}" for i in range(len(key))]
    extra = ", ".join(f"{k} AS {a}" for k, a in zip(key, keys, strict=True))
    last: tuple[Any, ...] | None = None
    copied = 0
    while True:
        where = f" WHERE {after}" if last is not None else ""
        rows = (
            await read.execute(
                f"SELECT {select}, {extra} FROM {_q(table)}{where} ORDER BY {order} LIMIT ?",
                (*(last or ()), batch),
            )
        ).rows
        if not rows:
            return copied
        records = [tuple(f(row[i]) for i, f in enumerate(fits)) for row in rows]
        try:
            await conn.copy_records_to_table(table, records=records, columns=names)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError, TypeError) as exc:
            raise CopyRefused(f"copying {table}: {_copy_error(exc)}; nothing was copied") from None
        copied += len(records)
        last = tuple(rows[-1][a] for a in keys)
        if len(rows) < batch:
            return copied


def _copy_error(exc: BaseException) -> str:
    """A copy failure without the values that caused it (they may be personal data)."""
    name = type(exc).__name__
    detail = [
        f"{what} {value}"
        for what in ("constraint", "column")
        if (value := getattr(exc, f"{what}_name", None))
    ]
    return f"{name} ({', '.join(detail)})" if detail else name


async def _reset_sequences(read: Transaction, conn: Any, tables: Sequence[str]) -> None:
    """Start each identity sequence after the highest id copied (or after SQLite's
    AUTOINCREMENT counter, when ids were deleted since: an id is never given twice)."""
    counters: dict[str, int] = {}
    if (await read.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).rows:
        counters = {
            str(r[0]): int(r[1])
            for r in (await read.execute("SELECT name, seq FROM sqlite_sequence")).rows
        }
    for table, column, sequence in await conn.fetch(
        "SELECT c.table_name, c.column_name, pg_get_serial_sequence(quote_ident(c.table_name),"
        " c.column_name) FROM information_schema.columns c WHERE c.table_schema ="
        " current_schema() AND (c.is_identity = 'YES' OR c.column_default LIKE 'nextval(%')"
    ):
        if table not in tables or sequence is None:
            continue
        highest = await conn.fetchval(f"SELECT COALESCE(MAX({_q(column)}), 0) FROM {_q(table)}")
        start = max(int(highest), counters.get(table, 0)) + 1
        await conn.execute("SELECT setval($1::regclass, $2, false)", sequence, start)


async def _counts(read: Transaction, conn: Any, tables: Sequence[str]) -> list[TableCount]:
    """Each table's rows on both sides."""
    counts = []
    for table in tables:
        source = (await read.execute(f"SELECT COUNT(*) FROM {_q(table)}")).rows[0][0]
        target = await conn.fetchval(f"SELECT COUNT(*) FROM {_q(table)}")
        counts.append(TableCount(table, int(source), int(target)))
    return counts
