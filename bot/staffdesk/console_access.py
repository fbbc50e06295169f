"""Who may open the staff console: one-time login links from the bot, sessions, roles, scope."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from bot.db.engine import Database
from bot.repo.staff import StaffRepo
from bot.repo.web_sessions import WebSessionRepo
from bot.rules.scope import Scope

LINK_TTL = 600  # a login link opens a session within 10 minutes, once
LINKS_PER_WINDOW = 5  # at most this many links per staff member …
LINK_WINDOW = 600  # … in any 10 minutes
IDLE = 10 * 3600  # a session ends after a working day without a request
TOUCH_EVERY = 60  # a request renews the session at most once a minute (one write)


@dataclass(frozen=True)
class StaffSession:
    """The staff member behind a console request."""

    id_hash: str
    platform: str
    user_id: int
    role: str
    scope: Scope
    lang: str
    csrf: str

    @property
    def admin(self) -> bool:
        """Whether this member is an admin."""
        return self.role == "admin"


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """An unguessable token (256 bits)."""
    return secrets.token_urlsafe(32)


async def issue_link(db: Database, platform: str, user_id: int, now: int) -> str | None:
    """A fresh login token for a staff member, or None when they asked too often."""
    repo = WebSessionRepo(db)
    if await repo.logins_since(platform, user_id, now - LINK_WINDOW) >= LINKS_PER_WINDOW:
        return None
    token = new_token()
    await repo.add_login(digest(token), platform, user_id, now, now + LINK_TTL)
    return token


async def redeem(db: Database, token: str, now: int, lang: str) -> tuple[str, StaffSession] | None:
    """Spend a login token: (cookie value, session), or None when it is unknown, used, expired
    or its owner is no longer staff."""
    repo = WebSessionRepo(db)
    owner = await repo.use_login(digest(token), now)
    if owner is None:
        return None
    platform, user_id = owner
    staff = StaffRepo(db)
    role = await staff.role(platform, user_id)
    if role is None:
        return None
    cookie, csrf = new_token(), new_token()
    await repo.open_session(
        digest(cookie), platform, user_id, csrf=csrf, lang=lang, now=now, idle_until=now + IDLE
    )
    scope = await staff.scope(platform, user_id)
    return cookie, StaffSession(digest(cookie), platform, user_id, role, scope, lang, csrf)


async def load_session(db: Database, cookie: str, now: int) -> StaffSession | None:
    """The session a cookie opens, while it is fresh and its owner still has a role."""
    repo = WebSessionRepo(db)
    id_hash = digest(cookie)
    row = await repo.session(id_hash, now)
    if row is None:
        return None
    staff = StaffRepo(db)
    role = await staff.role(row.platform, row.user_id)
    if role is None:  # removed from the staff: the session ends with the role
        await repo.close_session(id_hash)
        return None
    if now - row.seen_at >= TOUCH_EVERY:
        await repo.touch(id_hash, now, now + IDLE)
    scope = await staff.scope(row.platform, row.user_id)
    return StaffSession(id_hash, row.platform, row.user_id, role, scope, row.lang, row.csrf)


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())
