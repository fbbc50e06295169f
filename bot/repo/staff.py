"""Staff roles and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database
from bot.rules.scope import Scope

ROLES = ("staff", "admin")


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action."""

    at: int
    platform: str
    actor: int
    action: str
    detail: dict[str, Any]


class StaffRepo:
    """SQL for the staff and audit tables."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def role(self, platform: str, user_id: int) -> str | None:
        """'admin', 'staff' or None."""
        row = await self.db.fetchone(
            "SELECT role FROM staff WHERE platform = ? AND user_id = ?", (platform, user_id)
        )
        return str(row[0]) if row else None

    async def ensure_admins(self, admins: frozenset[tuple[str, int]], now: int) -> None:
        """Make every configured admin an admin in the database."""
        await self.db.executemany(
            "INSERT INTO staff (platform, user_id, role, added_at) VALUES (?, ?, 'admin', ?) "
            "ON CONFLICT (platform, user_id) DO UPDATE SET role = 'admin'",
            [(platform, user_id, now) for platform, user_id in admins],
        )

    async def add(self, platform: str, user_id: int, role: str, by: int, now: int) -> None:
        """Add (or change the role of) a staff member."""
        if role not in ROLES:
            raise ValueError(role)
        await self.db.execute(
            "INSERT INTO staff (platform, user_id, role, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (platform, user_id) DO UPDATE SET role = excluded.role",
            (platform, user_id, role, by, now),
        )

    async def remove(self, platform: str, user_id: int) -> bool:
        """Remove a staff member (not an admin); False when there was none."""
        changed = await self.db.execute(
            "DELETE FROM staff WHERE platform = ? AND user_id = ? AND role = 'staff'",
            (platform, user_id),
        )
        return changed > 0

    async def leave(self, platform: str, user_id: int) -> str | None:
        """Remove someone's role, whichever it is (they erased their data); the role they had."""
        row = await self.db.fetchone(
            "DELETE FROM staff WHERE platform = ? AND user_id = ? RETURNING role",
            (platform, user_id),
        )
        return str(row[0]) if row else None

    async def members(self, platform: str) -> list[tuple[int, str]]:
        """(user id, role) of everyone on a platform's staff."""
        rows = await self.db.fetchall(
            "SELECT user_id, role FROM staff WHERE platform = ? ORDER BY role, user_id", (platform,)
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def scope(self, platform: str, user_id: int) -> Scope:
        """The counties a staff member is limited to (none: every county)."""
        rows = await self.db.fetchall(
            "SELECT county FROM staff_counties WHERE platform = ? AND user_id = ?",
            (platform, user_id),
        )
        return Scope.of(str(r[0]) for r in rows)

    async def set_scope(self, platform: str, user_id: int, counties: list[str]) -> None:
        """Limit a staff member to these counties (an empty list: every county)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM staff_counties WHERE platform = ? AND user_id = ?",
                (platform, user_id),
            )
            await tx.executemany(
                "INSERT INTO staff_counties (platform, user_id, county) VALUES (?, ?, ?)",
                [(platform, user_id, c) for c in dict.fromkeys(counties)],
            )

    async def audit(
        self, platform: str, actor: int, action: str, detail: dict[str, Any], now: int
    ) -> None:
        """Record who did what."""
        await self.db.execute(
            "INSERT INTO audit (at, platform, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
            (now, platform, actor, action, json.dumps(detail, ensure_ascii=False)),
        )

    async def latest(self, limit: int = 20, action: str | None = None) -> list[AuditEntry]:
        """The newest audit entries, newest first."""
        where, params = ("WHERE action = ?", (action, limit)) if action else ("", (limit,))
        rows = await self.db.fetchall(
            "SELECT at, platform, actor, action, detail FROM audit "
            f"{where} ORDER BY id DESC LIMIT ?",
            params,
        )
        return [AuditEntry(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def forget_denied(self, platform: str, actor: int) -> int:
        """Remove one person's refused attempts (their data goes when they /delete)."""
        return await self.db.changes(
            "DELETE FROM audit WHERE platform = ? AND actor = ? AND action = 'denied'",
            (platform, actor),
        )
