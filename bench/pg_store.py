"""The PostgreSQL side of the benchmarks: a throwaway schema per run, and seeding by COPY.

HOMEBIZ_TEST_PG names the server (default postgresql://127.0.0.1:5432/test, as the suite's).
Each database a benchmark asks for is a schema of its own (``?search_path=`` in the URL, as
tests/support/stores.py makes them), dropped at the end of the run. Unlike the suite's schemas,
commits are durable (the server's own synchronous_commit), as a production server's are.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg

from bench.common import USER_COLUMNS, Population, _user_rows

PG_URL = os.environ.get("HOMEBIZ_TEST_PG", "postgresql://127.0.0.1:5432/test")
COPY_BATCH = 2_000  # rows per COPY, each its own transaction (see copy_rows)


def schema_url(schema: str, url: str = PG_URL) -> str:
    """The server's URL with ``search_path`` set to one schema."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
    return urlunsplit(parts._replace(query=query))


class Schemas:
    """The schemas this run made on the server; ``drop`` removes them all."""

    def __init__(self, url: str = PG_URL) -> None:
        """Use the server at ``url``."""
        self.url = url
        self.made: list[str] = []

    async def unavailable(self) -> str:
        """'' when the server answers, else one line saying why not."""
        try:
            conn = await asyncpg.connect(self.url, timeout=5)
        except Exception as exc:
            host = urlsplit(self.url).netloc.rsplit("@", 1)[-1]
            return f"no PostgreSQL server answers at {host} ({type(exc).__name__})"
        await conn.close()
        return ""

    async def server(self) -> str:
        """The server's version and its commit durability settings, for the report."""
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            version = await conn.fetchval("SHOW server_version")
            sync = await conn.fetchval("SHOW synchronous_commit")
            fsync = await conn.fetchval("SHOW fsync")
            buffers = await conn.fetchval("SHOW shared_buffers")
        finally:
            await conn.close()
        return (
            f"PostgreSQL {version} on 127.0.0.1 (synchronous_commit {sync}, fsync {fsync}, "
            f"shared_buffers {buffers})"
        )

    async def new(self, name: str) -> str:
        """Create a fresh schema for ``name``; the URL that opens it."""
        schema = f"bench_{name}_{uuid.uuid4().hex[:10]}"
        await self._admin(f"CREATE SCHEMA {schema}")
        self.made.append(schema)
        return schema_url(schema, self.url)

    async def drop(self) -> None:
        """Drop every schema made (errors are left to the caller's log)."""
        while self.made:
            await self._admin(f"DROP SCHEMA IF EXISTS {self.made.pop()} CASCADE")

    async def _admin(self, sql: str) -> None:
        """One statement on a connection of its own."""
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


async def copy_rows(
    url: str,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch: int = COPY_BATCH,
) -> int:
    """COPY ``rows`` into ``table``, each ``batch`` rows a transaction of its own; rows copied.

    Short transactions on purpose: the row triggers (the audience cells) update the same few
    rows for every row copied, and within one transaction each of those updates walks every
    earlier version of that row, so one big transaction slows down quadratically.
    """
    conn = await asyncpg.connect(url, timeout=10)
    copied = 0
    try:
        chunk: list[Sequence[Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch:
                await conn.copy_records_to_table(table, records=chunk, columns=list(columns))
                copied += len(chunk)
                chunk = []
        if chunk:
            await conn.copy_records_to_table(table, records=chunk, columns=list(columns))
            copied += len(chunk)
    finally:
        await conn.close()
    return copied


async def run_sql(url: str, *statements: str) -> float:
    """Run statements one after another on a connection of their own; the seconds taken."""
    began = time.perf_counter()
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()
    return time.perf_counter() - began


async def seed_population(url: str, pop: Population) -> float:
    """The sweep benchmarks' applicants (bench.common's rows, ids 1.. from the identity, as
    SQLite gives them) by COPY into a fresh schema, then ANALYZE (as autovacuum would soon
    after a bulk load); the seconds taken."""
    began = time.perf_counter()
    columns = [c.strip() for c in USER_COLUMNS.split(",")]
    await copy_rows(url, "users", columns, _user_rows(pop))
    await run_sql(url, "ANALYZE")
    return time.perf_counter() - began
