"""Applicants: identity, profile, settings and conversation state.

A person who has not agreed to the privacy notice is a *visitor*: they have no row until there
is something to remember (the language they picked, where they are in a conversation), the row
then holds only that, and it goes when they decline or after a day without a word from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.db.engine import Database


def applicants_only(alias: str = "u") -> str:
    """SQL condition: the row is an applicant — they agreed to the privacy notice and are not
    on the staff. Every figure about applicants (stats, exports, audiences) counts only these."""
    return (
        f"{alias}.consent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff s"
        f" WHERE s.platform = {alias}.platform AND s.user_id = {alias}.user_id)"
    )


#: A visitor's row (no consent, not staff) is erased after this long without an update.
VISITOR_TTL = 24 * 3600
_FLAGS = frozenset({"profile_done", "proactive", "mobile_verified"})
PROFILE_FIELDS = ("full_name", "mobile", "national_code", "county", "field", "stage")
_UPDATABLE = frozenset(
    {
        *PROFILE_FIELDS,
        "lang",
        "consent_at",
        "profile_done",
        "proactive",
        "unreachable_at",
        "chat_id",
        "permit_on",
        "loan_on",
        "operating_since",
        "keyboard",
        "mobile_verified",
        "dates_from",
    }
)


@dataclass
class User:
    """One applicant on one platform, as stored."""

    id: int
    platform: str
    user_id: int
    chat_id: int
    lang: str
    consent_at: int | None
    full_name: str | None
    mobile: str | None
    national_code: str | None
    county: str | None
    field: str | None
    stage: str | None
    profile_done: bool
    proactive: bool
    unreachable_at: int | None
    state: str
    state_data: dict[str, Any] = field(default_factory=dict)
    created_at: int = 0
    updated_at: int = 0
    permit_on: str | None = None
    loan_on: str | None = None
    operating_since: str | None = None
    keyboard: str | None = None
    mobile_verified: bool = False
    dates_from: str = "self"

    @property
    def stored(self) -> bool:
        """Whether the person has a row (a visitor may have none yet)."""
        return self.id != 0

    @classmethod
    def visitor(cls, platform: str, user_id: int, chat_id: int, lang: str, now: int) -> User:
        """Someone without a row, at the language question: nothing is written until there is
        something to remember (the language they pick)."""
        return cls(
            id=0, platform=platform, user_id=user_id, chat_id=chat_id, lang=lang,
            consent_at=None, full_name=None, mobile=None, national_code=None, county=None,
            field=None, stage=None, profile_done=False, proactive=True, unreachable_at=None,
            state="start:lang", created_at=now, updated_at=now,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Any) -> User:
        """Build from a database row."""
        keys = row.keys()
        return cls(
            id=row["id"],
            platform=row["platform"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            lang=row["lang"],
            consent_at=row["consent_at"],
            full_name=row["full_name"],
            mobile=row["mobile"],
            national_code=row["national_code"],
            county=row["county"],
            field=row["field"],
            stage=row["stage"],
            profile_done=bool(row["profile_done"]),
            proactive=bool(row["proactive"]),
            unreachable_at=row["unreachable_at"],
            state=row["state"],
            state_data=json.loads(row["state_data"] or "{}"),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            permit_on=row["permit_on"] if "permit_on" in keys else None,
            loan_on=row["loan_on"] if "loan_on" in keys else None,
            operating_since=row["operating_since"] if "operating_since" in keys else None,
            keyboard=row["keyboard"] if "keyboard" in keys else None,
            mobile_verified=bool(row["mobile_verified"]) if "mobile_verified" in keys else False,
            dates_from=row["dates_from"] if "dates_from" in keys else "self",
        )


class UserRepo:
    """SQL for the users table."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def get(self, pk: int) -> User | None:
        """One user by primary key."""
        row = await self.db.fetchone("SELECT * FROM users WHERE id = ?", (pk,))
        return User.from_row(row) if row else None

    async def find(self, platform: str, user_id: int) -> User | None:
        """One user by platform identity."""
        row = await self.db.fetchone(
            "SELECT * FROM users WHERE platform = ? AND user_id = ?", (platform, user_id)
        )
        return User.from_row(row) if row else None

    async def find_or_visitor(
        self, platform: str, user_id: int, chat_id: int, lang: str, now: int
    ) -> User:
        """The stored user, or a visitor without a row (see ``User.visitor``)."""
        user = await self.find(platform, user_id)
        return user if user is not None else User.visitor(platform, user_id, chat_id, lang, now)

    async def _store(self, user: User, now: int) -> None:
        """Give a visitor a row (their first write); the object gets its id."""
        if user.stored:
            return
        stored = await self.get_or_create(user.platform, user.user_id, user.chat_id, user.lang, now)
        user.id = stored.id

    async def get_or_create(
        self, platform: str, user_id: int, chat_id: int, lang: str, now: int
    ) -> User:
        """The stored user, created on first contact with the given language."""
        user = await self.find(platform, user_id)
        if user is not None:
            return user
        await self.db.execute(
            "INSERT INTO users (platform, user_id, chat_id, lang, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO NOTHING",
            (platform, user_id, chat_id, lang, now, now),
        )
        created = await self.find(platform, user_id)
        assert created is not None
        return created

    async def update(self, user: User, now: int, **values: Any) -> None:
        """Set columns on one user and mirror them on the object."""
        bad = set(values) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        if not values:
            return
        await self._store(user, now)
        cols = ", ".join(f"{k} = ?" for k in values)
        await self.db.execute(
            f"UPDATE users SET {cols}, updated_at = ? WHERE id = ?",
            (*values.values(), now, user.id),
        )
        for key, value in values.items():
            setattr(user, key, bool(value) if key in _FLAGS else value)
        user.updated_at = now

    async def update_and_move(
        self, user: User, now: int, state: str, data: dict[str, Any], **values: Any
    ) -> None:
        """Set columns and the conversation state in one statement (one answer, one write)."""
        bad = set(values) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        await self._store(user, now)
        cols = "".join(f"{k} = ?, " for k in values)
        await self.db.execute(
            f"UPDATE users SET {cols}state = ?, state_data = ?, updated_at = ? WHERE id = ?",
            (*values.values(), state, payload, now, user.id),
        )
        for key, value in values.items():
            setattr(user, key, bool(value) if key in _FLAGS else value)
        user.state, user.state_data, user.updated_at = state, data, now

    async def set_state(self, user: User, state: str, data: dict[str, Any], now: int) -> None:
        """Store where the person is in a conversation."""
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        await self._store(user, now)
        await self.db.execute(
            "UPDATE users SET state = ?, state_data = ?, updated_at = ? WHERE id = ?",
            (state, payload, now, user.id),
        )
        user.state, user.state_data, user.updated_at = state, data, now

    async def delete(self, user: User) -> bool:
        """Erase the person and, by cascade, everything keyed to them, from the files too.

        The connection runs with secure_delete (the freed space is zeroed); the checkpoint then
        truncates the -wal, which still holds earlier images of the pages. False when a reader
        kept the checkpoint from finishing (the rows are gone; old page images may remain).
        """
        await self.db.execute("DELETE FROM users WHERE id = ?", (user.id,))
        return await self.db.checkpoint()

    async def forget_visitor(self, user: User) -> None:
        """Erase a visitor's row (they declined the privacy notice), from the files too."""
        if user.stored and user.consent_at is None:
            await self.db.execute(
                "DELETE FROM users WHERE id = ? AND consent_at IS NULL", (user.id,)
            )
            user.id = 0
            await self.db.checkpoint()

    async def forget_visitors(self, before: int) -> int:
        """Erase visitors' rows untouched since ``before`` (staff keep theirs); how many went."""
        erased = await self.db.changes(
            "DELETE FROM users WHERE consent_at IS NULL AND updated_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM staff s WHERE s.platform = users.platform"
            " AND s.user_id = users.user_id)",
            (before,),
            slow=True,
        )
        if erased:
            await self.db.checkpoint()
        return erased

    async def platforms(self) -> set[str]:
        """Platforms that have users (so a sweep knows whom to visit)."""
        rows = await self.db.fetchall("SELECT DISTINCT platform FROM users")
        return {r[0] for r in rows if r[0] != "local"}
