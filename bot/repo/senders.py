"""Who holds what: outbox senders renew the leases of the rows they hold and, while
`homebiz run` serves a platform, a heartbeat row in ``senders``.

A lease and a heartbeat are both "until" times in Unix seconds of the sender's clock; a sender
that stops renewing (killed, or its database writes keep failing) simply lets them expire.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from bot.db.engine import Database


class SenderRepo:
    """SQL for outbox leases and the ``senders`` heartbeat table."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def renew(
        self,
        platform: str,
        owner: str,
        ids: Collection[int],
        now: int,
        until: int,
        *,
        heartbeat_since: int | None = None,
    ) -> set[int]:
        """Extend ``owner``'s leases on ``ids`` to ``until``; return the ids still its own.

        With ``heartbeat_since`` (a running sender's start), also record that this sender is
        live until ``until`` and forget senders whose heartbeat expired. One transaction; the
        ids travel as one JSON parameter and are looked up by primary key.
        """
        still: set[int] = set()
        async with self.db.transaction() as conn:
            if ids:
                cur = await conn.execute(
                    "UPDATE outbox SET lease_until = ? "
                    f"WHERE id IN ({self.db.dialect.json_ids()}) "
                    "AND status = 'sending' AND lease_owner = ? RETURNING id",
                    (until, json.dumps(sorted(ids)), owner),
                )
                still = {int(r[0]) for r in cur.rows}
            if heartbeat_since is not None:
                await conn.execute(
                    "INSERT INTO senders (platform, owner, started_at, seen_at, live_until) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, owner) DO UPDATE SET "
                    "seen_at = excluded.seen_at, live_until = excluded.live_until",
                    (platform, owner, heartbeat_since, now, until),
                )
                await conn.execute(
                    "DELETE FROM senders WHERE platform = ? AND live_until < ?", (platform, now)
                )
        return still

    async def live(self, platform: str, now: int) -> int:
        """How many running senders of ``platform`` had a live heartbeat at ``now``."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM senders WHERE platform = ? AND live_until >= ?", (platform, now)
        )
        return int(row[0]) if row else 0

    async def forget(self, platform: str, owner: str) -> None:
        """A sender stops: remove its heartbeat (its rows were released or committed)."""
        await self.db.execute(
            "DELETE FROM senders WHERE platform = ? AND owner = ?", (platform, owner)
        )
