"""The platform's bot-wide flood budget shared by replicas on PostgreSQL: ``send_slots``.

One row per message the platform allows in a window (``Limits.bot_count``). A send takes a free
slot (its ``busy_until`` has passed) atomically, skipping rows another replica is taking at the
same moment (FOR UPDATE SKIP LOCKED), and marks it busy for a crash bound while its call is in
flight; when the call has answered the slot is freed ``period`` seconds later, by the database
server's clock, which every replica reads alike. PostgreSQL only (SQLite paces in memory). The
table is UNLOGGED (no WAL flush per send; empty again after a server crash).
"""

from __future__ import annotations

from bot.db.postgres import PostgresDatabase

_NOW = "extract(epoch FROM clock_timestamp())::float8"
_TAKE_SQL = (
    "WITH pick AS (SELECT slot FROM send_slots WHERE platform = ?1 AND slot < ?2 "
    f"AND busy_until <= {_NOW} ORDER BY busy_until, slot LIMIT 1 FOR UPDATE SKIP LOCKED), "
    f"took AS (UPDATE send_slots AS s SET busy_until = {_NOW} + ?3, holder = ?4 FROM pick "
    "WHERE s.platform = ?1 AND s.slot = pick.slot RETURNING s.slot) "
    "SELECT (SELECT slot FROM took), (SELECT MIN(busy_until) FROM send_slots "
    f"WHERE platform = ?1 AND slot < ?2) - {_NOW}"
)


class SendSlotRepo:
    """SQL for ``send_slots``."""

    def __init__(self, db: PostgresDatabase) -> None:
        """Use one PostgreSQL database."""
        self.db = db

    async def ensure(self, platform: str, count: int) -> None:
        """Make sure slots 0 … count-1 exist (slots past ``count`` are never taken)."""
        await self.db.execute(
            "INSERT INTO send_slots (platform, slot) SELECT ?1, g "
            "FROM generate_series(0, ?2::bigint - 1) AS g ON CONFLICT DO NOTHING",
            (platform, count),
        )

    async def take(
        self, platform: str, cap: int, hold: float, holder: str
    ) -> tuple[int | None, float | None]:
        """Take a free slot below ``cap`` for ``holder``, busy for ``hold`` seconds (the crash
        bound) unless given back sooner: (the slot, 0), or (None, seconds until the earliest
        busy slot frees, as far as now known), or (None, None) when the platform has no slots
        (the unlogged table came back empty after a server crash: ``ensure`` again)."""
        row = await self.db.fetchone(_TAKE_SQL, (platform, cap, hold, holder))
        if row is None or row[1] is None:
            return None, None
        if row[0] is None:
            return None, float(row[1])
        return int(row[0]), 0.0

    async def give_back(self, platform: str, slot: int, holder: str, after: float) -> None:
        """``holder``'s send has answered: its slot frees ``after`` seconds from now (no-op
        when the slot was taken over after its crash bound)."""
        await self.db.execute(
            f"UPDATE send_slots SET busy_until = {_NOW} + ?, holder = NULL "
            "WHERE platform = ? AND slot = ? AND holder = ?",
            (after, platform, slot, holder),
        )
