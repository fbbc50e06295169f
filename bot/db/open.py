"""Open the database HOMEBIZ_DB names: a PostgreSQL URL, else a SQLite file."""

from __future__ import annotations

from pathlib import Path

from bot.core.config import Settings
from bot.db.engine import Database
from bot.db.postgres import PostgresDatabase, is_url

#: Either engine: the same methods (fetchone, fetchall, execute, changes, transaction, …).
AnyDatabase = Database | PostgresDatabase


async def open_database(
    target: Settings | str | Path, *, migrate: bool = True, upto: int | None = None
) -> AnyDatabase:
    """Open (and by default migrate) the database of ``target``: Settings, a
    ``postgresql://`` URL or a SQLite file path."""
    where = target.database if isinstance(target, Settings) else target
    if is_url(where):
        return await PostgresDatabase.open(str(where), migrate=migrate, upto=upto)
    return await Database.open(Path(where), migrate=migrate, upto=upto)
