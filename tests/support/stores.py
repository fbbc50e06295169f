"""The engine a test's database runs on: a SQLite file, or a fresh schema on a PostgreSQL server.

The ``engine`` fixture (tests/conftest.py) parametrizes every test that opens a database through
the ``store`` fixture (the ``bot`` fixture does): ``[sqlite]`` and ``[pg]``. A test names its
database by a path as before (``tmp_path / "bot.sqlite3"``); on PostgreSQL each distinct path is
its own schema (CREATE SCHEMA, then ``?search_path=`` in the URL), dropped after the test.

HOMEBIZ_TEST_PG names the server (default postgresql://127.0.0.1:5432/test). When none answers
the [pg] variants skip with one reason, unless HOMEBIZ_REQUIRE_PG=1, when they fail.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from bot.db.dialect import to_postgres
from bot.db.open import AnyDatabase, open_database

PG_URL = os.environ.get("HOMEBIZ_TEST_PG", "postgresql://127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("HOMEBIZ_REQUIRE_PG") == "1"
_reachable: str | None = None  # "" reachable, else why not (checked once per session)


def _admin(sql: str) -> None:
    """Run one statement on the test server, from a thread of its own (callers may be inside
    or outside an event loop)."""

    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, go()).result()


def tried_pg() -> bool:
    """Whether this session looked for the PostgreSQL server."""
    return _reachable is not None


def pg_unavailable() -> str:
    """Why the PostgreSQL variants cannot run ('' when the server answers)."""
    global _reachable
    if _reachable is None:
        try:
            _admin("SELECT 1")
            _reachable = ""
        except Exception as exc:
            _reachable = (
                f"no PostgreSQL server answers at {PG_URL} ({type(exc).__name__}: {exc}); "
                "set HOMEBIZ_TEST_PG to one, HOMEBIZ_REQUIRE_PG=1 makes this a failure"
            )
    return _reachable


def with_schema(url: str, schema: str) -> str:
    """The URL with ``search_path`` set to one schema."""
    parts = urlsplit(url)
    # synchronous_commit off: a test database need not survive a crash of the server
    settings = urlencode({"search_path": schema, "synchronous_commit": "off"})
    query = "&".join(q for q in (parts.query, settings) if q)
    return urlunsplit(parts._replace(query=query))


class Store:
    """Where this test's databases live, on one engine."""

    def __init__(self, engine: str) -> None:
        """For ``engine`` 'sqlite' or 'pg'."""
        self.engine = engine
        self._schemas: dict[str, str] = {}

    @property
    def postgres(self) -> bool:
        """Whether this test runs on PostgreSQL."""
        return self.engine == "pg"

    def target(self, path: str | Path) -> Any:
        """What to open for the database the test calls ``path``: the path on SQLite, on
        PostgreSQL the URL of a schema of its own (the same schema for the same path)."""
        if not self.postgres or str(path).startswith("postgresql://"):
            return path
        key = str(path)
        if key not in self._schemas:
            schema = f"t_{uuid.uuid4().hex[:16]}"
            _admin(f"CREATE SCHEMA {schema}")
            self._schemas[key] = schema
        return with_schema(PG_URL, self._schemas[key])

    async def open(self, path: str | Path, **kwargs: Any) -> AnyDatabase:
        """Open (and migrate) the database the test calls ``path``."""
        return await open_database(self.target(path), **kwargs)

    def settings(self, path: str | Path) -> dict[str, Any]:
        """Settings keywords for the database the test calls ``path``."""
        found = self.target(path)
        if isinstance(found, str) and found.startswith("postgresql://"):
            return {"db_path": Path(path), "db_url": found}
        return {"db_path": Path(found)}

    def query(
        self, path: str | Path, sql: str, params: tuple[Any, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of one query on the database the test calls ``path``, from outside the
        processes under test, on a short-lived connection of its own (SQLite's ``?``
        placeholders on both engines). Callable with or without a running event loop."""
        found = self.target(path)
        if not self.postgres:
            conn = sqlite3.connect(found, timeout=5)
            try:
                return [tuple(r) for r in conn.execute(sql, params).fetchall()]
            finally:
                conn.close()

        async def go() -> list[tuple[Any, ...]]:
            import asyncpg

            conn = await asyncpg.connect(found, timeout=5)
            try:
                return [tuple(r) for r in await conn.fetch(to_postgres(sql), *params)]
            finally:
                await conn.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def drop(self) -> None:
        """Drop every schema this test made."""
        for schema in self._schemas.values():
            _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        self._schemas.clear()


#: The store of the running test (set by the ``store`` fixture): Bot and Settings built by a
#: test without the fixture's help still land on the test's engine.
current = Store("sqlite")


async def table_names(db: Any) -> list[str]:
    """Every table of the database's schema, by name (PostgreSQL's version table left out)."""
    if db.dialect.postgres:
        rows = await db.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_version' "
            "ORDER BY table_name"
        )
    else:
        rows = await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
    return [str(r[0]) for r in rows]


async def column_names(db: Any, table: str) -> list[str]:
    """The columns of one table, in order."""
    if db.dialect.postgres:
        rows = await db.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [str(r[0]) for r in rows]
    return [str(r["name"]) for r in await db.fetchall(f'PRAGMA table_info("{table}")')]
