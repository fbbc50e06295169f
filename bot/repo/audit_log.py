"""Read-only SQL for the audit log's page: keyset pages newest first, filtered by action and by
actor, and the actions and actors there are to filter by.

Every query reads the read-only companion connection. A page is one range of an index walked
backwards (``audit_action`` or ``audit_actor`` when filtered, the table's own id otherwise), so
page 1,000 costs what page 1 does; the filters' choices are found by skipping from one distinct
value to the next in those indexes (a few dozen lookups, not a scan of the log).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database

__all__ = ["AuditFilter", "AuditLogRepo", "AuditRow"]

PAGE = 50
MAX_CHOICES = 200  # actions or actors offered in a filter


@dataclass(frozen=True)
class AuditRow:
    """One audit entry with its id (the page's key)."""

    id: int
    at: int
    platform: str
    actor: int
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditFilter:
    """Which entries a page shows: an action, an actor (platform optional), or all."""

    action: str | None = None
    platform: str | None = None
    actor: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions (each starting with AND) and their parameters."""
        sql, params = "", []
        if self.action is not None:
            sql += " AND action = ?"
            params.append(self.action)
        if self.actor is not None:
            if self.platform is not None:
                sql += " AND platform = ?"
                params.append(self.platform)
            sql += " AND actor = ?"
            params.append(self.actor)
        return sql, params


def _detail(raw: str | None) -> dict[str, Any]:
    """A stored detail as a dict (anything else kept under "detail")."""
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"detail": raw}
    return value if isinstance(value, dict) else {"detail": value}


class AuditLogRepo:
    """The audit log, page by page."""

    def __init__(self, db: Database) -> None:
        """Read this database through its read-only companion."""
        self.db = db

    def _index(self, where: AuditFilter) -> str:
        """The index a filtered page walks (SQLite would otherwise pick the id order and skip
        through the whole log looking for a rare action)."""
        if where.actor is not None and where.platform is not None:
            return " INDEXED BY audit_actor"
        if where.action is not None:
            return " INDEXED BY audit_action"
        return ""

    async def page(
        self,
        where: AuditFilter,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = PAGE,
    ) -> list[AuditRow]:
        """Up to ``limit`` entries, newest first: older than ``before``, or (``after``) the
        ones just newer than it."""
        sql, params = where.where()
        columns = "SELECT id, at, platform, actor, action, detail FROM audit" + self._index(where)
        if after is not None:
            query = f"{columns} WHERE id > ?{sql} ORDER BY id ASC LIMIT ?"
            rows = await self.db.reader().fetchall(query, (after, *params, limit))
            rows = list(reversed(rows))
        else:
            query = f"{columns} WHERE id < ?{sql} ORDER BY id DESC LIMIT ?"
            start = before if before is not None else 2**63 - 1
            rows = await self.db.reader().fetchall(query, (start, *params, limit))
        return [
            AuditRow(int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), _detail(r[5]))
            for r in rows
        ]

    async def exists(self, where: AuditFilter, *, before: int | None = None,
                     after: int | None = None) -> bool:  # fmt: skip
        """Whether any entry is older than ``before`` or newer than ``after``."""
        return bool(await self.page(where, before=before, after=after, limit=1))

    async def actions(self) -> list[str]:
        """The actions recorded, in alphabetical order (one index lookup each)."""
        rows = await self.db.reader().fetchall(
            "WITH RECURSIVE a(x) AS (SELECT MIN(action) FROM audit UNION ALL "
            "SELECT (SELECT MIN(action) FROM audit WHERE action > a.x) FROM a "
            "WHERE a.x IS NOT NULL) SELECT x FROM a WHERE x IS NOT NULL LIMIT ?",
            (MAX_CHOICES,),
        )
        return [str(r[0]) for r in rows]

    async def actors(self) -> list[tuple[str, int]]:
        """(platform, user id) of everyone in the log, in that order: the platforms, then each
        platform's actors, one index lookup each (a row-value comparison would scan)."""
        reader = self.db.reader()
        platforms = await reader.fetchall(
            "WITH RECURSIVE a(p) AS (SELECT MIN(platform) FROM audit UNION ALL "
            "SELECT (SELECT MIN(platform) FROM audit WHERE platform > a.p) FROM a "
            "WHERE a.p IS NOT NULL) SELECT p FROM a WHERE p IS NOT NULL LIMIT ?",
            (MAX_CHOICES,),
        )
        found: list[tuple[str, int]] = []
        for (platform,) in platforms:
            rows = await reader.fetchall(
                "WITH RECURSIVE a(u) AS (SELECT MIN(actor) FROM audit WHERE platform = ?1 "
                "UNION ALL SELECT (SELECT MIN(actor) FROM audit WHERE platform = ?1 "
                "AND actor > a.u) FROM a WHERE a.u IS NOT NULL) "
                "SELECT u FROM a WHERE u IS NOT NULL LIMIT ?2",
                (platform, MAX_CHOICES - len(found)),
            )
            found += [(str(platform), int(r[0])) for r in rows]
            if len(found) >= MAX_CHOICES:
                break
        return found
