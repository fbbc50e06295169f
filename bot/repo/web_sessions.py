"""SQL for the staff console's one-time login links and sessions (only token hashes kept)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.engine import Database


@dataclass(frozen=True)
class SessionRow:
    """One open console session."""

    platform: str
    user_id: int
    csrf: str
    lang: str
    seen_at: int
    idle_until: int


class WebSessionRepo:
    """Login links and sessions of the staff console."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def add_login(
        self, token_hash: str, platform: str, user_id: int, now: int, expires_at: int
    ) -> None:
        """Record a login link (its hash) that opens a session once before ``expires_at``."""
        await self.db.execute(
            "DELETE FROM web_logins WHERE expires_at < ?", (now - 86_400,)
        )  # keep the table small: links a day past their expiry are of no use to anyone
        await self.db.execute(
            "INSERT INTO web_logins (token_hash, platform, user_id, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_hash, platform, user_id, now, expires_at),
        )

    async def logins_since(self, platform: str, user_id: int, since: int) -> int:
        """How many links a staff member asked for since ``since``."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM web_logins WHERE platform = ? AND user_id = ? "
            "AND created_at >= ?",
            (platform, user_id, since),
        )
        return int(row[0]) if row else 0

    async def use_login(self, token_hash: str, now: int) -> tuple[str, int] | None:
        """Spend a link: (platform, user id) the first time before it expires, else None."""
        row = await self.db.fetchone(
            "UPDATE web_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at > ? RETURNING platform, user_id",
            (now, token_hash, now),
        )
        return (str(row[0]), int(row[1])) if row else None

    async def open_session(
        self,
        id_hash: str,
        platform: str,
        user_id: int,
        *,
        csrf: str,
        lang: str,
        now: int,
        idle_until: int,
    ) -> None:
        """Start a session."""
        await self.db.execute(
            "INSERT INTO web_sessions (id_hash, platform, user_id, csrf, lang, created_at, "
            "seen_at, idle_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (id_hash, platform, user_id, csrf, lang, now, now, idle_until),
        )

    async def session(self, id_hash: str, now: int) -> SessionRow | None:
        """A session that has not gone idle."""
        row = await self.db.fetchone(
            "SELECT platform, user_id, csrf, lang, seen_at, idle_until FROM web_sessions "
            "WHERE id_hash = ? AND idle_until > ?",
            (id_hash, now),
        )
        return (
            SessionRow(str(row[0]), int(row[1]), *row[2:4], int(row[4]), int(row[5]))
            if row
            else None
        )

    async def touch(self, id_hash: str, now: int, idle_until: int) -> None:
        """Keep a session open after a request."""
        await self.db.execute(
            "UPDATE web_sessions SET seen_at = ?, idle_until = ? WHERE id_hash = ?",
            (now, idle_until, id_hash),
        )

    async def set_lang(self, id_hash: str, lang: str) -> None:
        """The language a session's pages are shown in."""
        await self.db.execute("UPDATE web_sessions SET lang = ? WHERE id_hash = ?", (lang, id_hash))

    async def close_session(self, id_hash: str) -> None:
        """End one session (logout button)."""
        await self.db.execute("DELETE FROM web_sessions WHERE id_hash = ?", (id_hash,))

    async def close_all(self, platform: str, user_id: int, now: int) -> int:
        """End every session of a staff member and void their unused links (/web logout)."""
        await self.db.execute(
            "UPDATE web_logins SET used_at = ? WHERE platform = ? AND user_id = ? "
            "AND used_at IS NULL",
            (now, platform, user_id),
        )
        return await self.db.changes(
            "DELETE FROM web_sessions WHERE platform = ? AND user_id = ?", (platform, user_id)
        )

    async def forget_idle(self, now: int) -> int:
        """Drop sessions that have gone idle."""
        return await self.db.changes("DELETE FROM web_sessions WHERE idle_until <= ?", (now,))
