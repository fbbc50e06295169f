"""The two engines' schemas: the same migrations, tables and columns; PostgreSQL's own upgrade
path; the statement translation; ``homebiz backup`` pointing at the engine's own tools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import postgres
from bot.db.dialect import to_postgres
from bot.db.engine import Database, latest_version, migrations
from bot.db.open import open_database
from tests.support.stores import Store

LATEST = latest_version()


def test_both_engines_have_the_same_migrations() -> None:
    """bot/db/migrations/pg holds one migration per SQLite migration, by number and name."""
    assert [(v, n) for v, n, _ in postgres.migrations()] == [(v, n) for v, n, _ in migrations()]


async def _sqlite_columns() -> dict[str, set[str]]:
    """Every table of a fresh SQLite schema with its columns."""
    db = await Database.open(":memory:")
    try:
        tables = [
            r[0]
            for r in await db.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        # table_xinfo: generated columns too (table_info leaves them out)
        return {t: {r[1] for r in await db.fetchall(f"PRAGMA table_xinfo({t})")} for t in tables}
    finally:
        await db.close()


async def test_every_table_and_column_exists_on_both(tmp_path: Path, store: Store) -> None:
    """The newest schema has the same tables and columns on SQLite and PostgreSQL (compared
    through sqlite_master/table_xinfo and information_schema)."""
    if not store.postgres:
        pytest.skip("compares the PostgreSQL schema with SQLite's")
    expected = await _sqlite_columns()
    db = await store.open(tmp_path / "schema")
    try:
        rows = await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        found: dict[str, set[str]] = {}
        for table, column in rows:
            found.setdefault(table, set()).add(column)
        found.pop("schema_version")
        assert found == expected
        ids = await db.fetchall(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'integer'"
        )
        assert [tuple(r) for r in ids] == [("schema_version", "version", "integer")]
    finally:
        await db.close()


@pytest.mark.parametrize("version", range(LATEST))
async def test_postgres_upgrades_from_every_earlier_version(
    tmp_path: Path, store: Store, version: int
) -> None:
    """A schema at version v opens at the newest version, each migration applied once."""
    if not store.postgres:
        pytest.skip("SQLite's upgrades: tests/test_migrations.py")
    db = await store.open(tmp_path / "up", upto=version)
    try:
        assert await db.version() == version
    finally:
        await db.close()
    db = await store.open(tmp_path / "up", migrate=False)
    try:
        applied = await db.migrate()
        assert len(applied) == LATEST - version
        assert await db.version() == LATEST
        assert await db.migrate() == []
    finally:
        await db.close()


def test_statements_are_translated_for_postgres() -> None:
    """Placeholders become $n as SQLite numbers them; planner hints and LIMIT -1 go; quoted
    text and comments stay as written."""
    assert to_postgres("SELECT a FROM t WHERE a = ? AND b = ?") == (
        "SELECT a FROM t WHERE a = $1 AND b = $2"
    )
    assert to_postgres("SELECT ?1, ?2, ?1 || ?") == "SELECT $1, $2, $1 || $3"
    assert to_postgres("SELECT '?', \"a?\" -- ?\n, ?") == "SELECT '?', \"a?\" -- ?\n, $1"
    assert to_postgres("SELECT x FROM r INDEXED BY r_i WHERE +r.u IS NULL AND n = k + 1") == (
        "SELECT x FROM r  WHERE r.u IS NULL AND n = k + 1"
    )
    assert to_postgres("FROM roster AS r NOT INDEXED WHERE a") == "FROM roster AS r  WHERE a"
    assert to_postgres("SELECT * FROM d LIMIT -1) AS s") == "SELECT * FROM d ) AS s"
    assert to_postgres("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', $1"


async def test_values_fit_the_parameter_types_as_sqlite_would(tmp_path: Path, store: Store) -> None:
    """An int for a text parameter and a digit string for an integer one are stored as
    SQLite's type affinity stores them, on both engines."""
    db = await store.open(tmp_path / "fit")
    try:
        await db.execute(
            "INSERT INTO audit (at, platform, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            ("5", 7, "8", "x", "{}"),
        )
        row = await db.fetchone("SELECT at, platform, actor FROM audit WHERE action = 'x'")
        assert tuple(row) == (5, "7", 8)
        assert row["platform"] == "7" and list(row.keys()) == ["at", "platform", "actor"]
        total = await db.fetchone("SELECT SUM(at), AVG(at) FROM audit")
        assert (total[0], total[1]) == (5, 5.0) and isinstance(total[0], int)
    finally:
        await db.close()


def test_backup_on_postgres_names_the_engines_tools(tmp_path: Path, store: Store) -> None:
    """`homebiz backup` on PostgreSQL copies nothing and says to use pg_dump or base backups."""
    if not store.postgres:
        pytest.skip("SQLite's backup: tests/test_migrations.py")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", store.target(tmp_path / "b"), "backup", "x.dump"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "pg_dump" in result.stderr and "pg_basebackup" in result.stderr
    assert not (tmp_path / "x.dump").exists()


async def test_open_database_picks_the_engine(tmp_path: Path, store: Store) -> None:
    """A postgresql:// URL opens PostgreSQL, a path SQLite; both at the newest version."""
    db = await open_database(store.target(tmp_path / "pick.sqlite3"))
    try:
        assert db.dialect.postgres == store.postgres
        assert await db.version() == LATEST
    finally:
        await db.close()
