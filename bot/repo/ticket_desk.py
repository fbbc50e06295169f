"""Tickets at a desk: the console's lists, a ticket's conversation, notes and assignment, and
the staff's names and saved replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database
from bot.repo.scope_sql import county_clause
from bot.rules.scope import Scope

PAGE = 50
PREVIEW = 120  # characters of the latest message a list shows
VIEWS = ("open", "mine", "closed")


@dataclass(frozen=True)
class TicketLine:
    """One row of a ticket list."""

    id: int
    platform: str
    user_pk: int
    kind: str
    status: str
    created_at: int
    closed_at: int | None
    assignee_platform: str | None
    assignee_id: int | None
    full_name: str | None
    county: str | None
    last_direction: str | None
    last_kind: str | None
    last_text: str | None
    last_at: int | None


@dataclass(frozen=True)
class TicketView:
    """A ticket with its applicant, as its page shows it."""

    id: int
    platform: str
    user_pk: int
    kind: str
    followup_id: int | None
    status: str
    created_at: int
    closed_at: int | None
    closed_by: int | None
    assignee_platform: str | None
    assignee_id: int | None
    assigned_at: int | None
    full_name: str | None
    mobile: str | None
    county: str | None
    field: str | None
    stage: str | None
    lang: str


@dataclass(frozen=True)
class Said:
    """One message of a conversation; ``delivery`` is the outbox status of a staff reply."""

    id: int
    direction: str
    kind: str
    text: str | None
    at: int
    delivery: str | None
    from_group: bool


@dataclass(frozen=True)
class Note:
    """An internal note on a ticket."""

    id: int
    platform: str
    author_id: int
    text: str
    at: int


@dataclass(frozen=True)
class SavedReply:
    """A reusable reply text."""

    id: int
    title: str
    body: str
    updated_platform: str
    updated_by: int
    updated_at: int


_LINE = (
    "SELECT t.id, t.platform, t.user_pk, t.kind, t.status, t.created_at, t.closed_at,"
    " t.assignee_platform, t.assignee_id, u.full_name, u.county,"
    f" m.direction, m.kind, substr(m.text, 1, {PREVIEW}), m.at"
    " FROM tickets t JOIN users u ON u.id = t.user_pk"
    " LEFT JOIN ticket_messages m ON m.id = (SELECT x.id FROM ticket_messages x"
    "  WHERE x.ticket_id = t.id ORDER BY x.direction = 'card', x.id DESC LIMIT 1)"
)


class TicketDeskRepo:
    """SQL for the console's tickets pages."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def lines(
        self, scope: Scope, view: str, me: tuple[str, int], cursor: int | None = None
    ) -> list[TicketLine]:
        """A page of a list: open (oldest first), mine (my open ones, oldest first) or closed
        (latest first), within ``scope``, after (or for closed: before) ticket ``cursor``."""
        where, params = county_clause(scope, "u.county")
        args: list[Any] = []
        if view == "closed":
            sql = " WHERE t.status = 'closed'"
            order = " ORDER BY t.id DESC"
            if cursor is not None:
                sql, args = sql + " AND t.id < ?", [cursor]
        else:
            sql = " WHERE t.status = 'open'"
            if view == "mine":
                sql += " AND t.assignee_platform = ? AND t.assignee_id = ?"
                args += list(me)
            order = " ORDER BY t.id"
            if cursor is not None:
                sql, args = sql + " AND t.id > ?", [*args, cursor]
        rows = await self.db.fetchall(f"{_LINE}{sql}{where}{order} LIMIT ?", (*args, *params, PAGE))
        return [TicketLine(*r) for r in rows]

    async def view(self, ticket_id: int) -> TicketView | None:
        """A ticket and its applicant."""
        row = await self.db.fetchone(
            "SELECT t.id, t.platform, t.user_pk, t.kind, t.followup_id, t.status, t.created_at,"
            " t.closed_at, t.closed_by, t.assignee_platform, t.assignee_id, t.assigned_at,"
            " u.full_name, u.mobile, u.county, u.field, u.stage, u.lang"
            " FROM tickets t JOIN users u ON u.id = t.user_pk WHERE t.id = ?",
            (ticket_id,),
        )
        return TicketView(*row) if row else None

    async def conversation(self, ticket_id: int) -> list[Said]:
        """Every message of a ticket in order: the card's subject, questions, staff replies."""
        rows = await self.db.fetchall(
            "SELECT m.id, m.direction, m.kind, m.text, m.at, o.status,"
            " m.direction = 'out' AND m.staff_message_id IS NOT NULL"
            " FROM ticket_messages m LEFT JOIN outbox o ON o.id = m.outbox_id"
            " WHERE m.ticket_id = ? ORDER BY m.id",
            (ticket_id,),
        )
        return [Said(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    async def notes(self, ticket_id: int) -> list[Note]:
        """A ticket's internal notes, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id, platform, author_id, text, at FROM ticket_notes WHERE ticket_id = ?"
            " ORDER BY id",
            (ticket_id,),
        )
        return [Note(*r) for r in rows]

    async def add_note(
        self, ticket_id: int, platform: str, author: int, text: str, now: int
    ) -> int:
        """Add an internal note; its id."""
        return await self.db.execute(
            "INSERT INTO ticket_notes (ticket_id, platform, author_id, text, at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (ticket_id, platform, author, text, now),
        )

    async def assign(self, ticket_id: int, to: tuple[str, int] | None, now: int) -> None:
        """Give a ticket to a staff member (None: to nobody)."""
        platform, user_id = to if to else (None, None)
        await self.db.execute(
            "UPDATE tickets SET assignee_platform = ?, assignee_id = ?, assigned_at = ?"
            " WHERE id = ?",
            (platform, user_id, now if to else None, ticket_id),
        )

    # --- the staff's names ---------------------------------------------------------------
    async def remember_name(self, platform: str, user_id: int, name: str) -> None:
        """Keep a staff member's name as their messenger shows it."""
        await self.db.execute(
            "UPDATE staff SET name = ? WHERE platform = ? AND user_id = ? "
            "AND name IS DISTINCT FROM ?",
            (name[:100], platform, user_id, name[:100]),
        )

    async def names(self) -> dict[tuple[str, int], str]:
        """Every named staff member's name by (platform, user id)."""
        rows = await self.db.fetchall(
            "SELECT platform, user_id, name FROM staff WHERE name IS NOT NULL"
        )
        return {(str(r[0]), int(r[1])): str(r[2]) for r in rows}

    # --- saved replies -------------------------------------------------------------------
    async def saved_replies(self) -> list[SavedReply]:
        """Every saved reply, by title."""
        rows = await self.db.fetchall(
            "SELECT id, title, body, updated_platform, updated_by, updated_at FROM saved_replies"
            " ORDER BY title, id"
        )
        return [SavedReply(*r) for r in rows]

    async def saved_reply(self, reply_id: int) -> SavedReply | None:
        """One saved reply."""
        row = await self.db.fetchone(
            "SELECT id, title, body, updated_platform, updated_by, updated_at FROM saved_replies"
            " WHERE id = ?",
            (reply_id,),
        )
        return SavedReply(*row) if row else None

    async def save_reply(
        self, reply_id: int | None, title: str, body: str, by: tuple[str, int], now: int
    ) -> int | None:
        """Add a saved reply (``reply_id`` None) or change one; its id, None when it is gone."""
        if reply_id is None:
            return await self.db.execute(
                "INSERT INTO saved_replies (title, body, updated_platform, updated_by, updated_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (title, body, *by, now),
            )
        changed = await self.db.execute(
            "UPDATE saved_replies SET title = ?, body = ?, updated_platform = ?, updated_by = ?,"
            " updated_at = ? WHERE id = ?",
            (title, body, *by, now, reply_id),
        )
        return reply_id if changed else None

    async def delete_reply(self, reply_id: int) -> bool:
        """Delete a saved reply; False when there was none."""
        return await self.db.execute("DELETE FROM saved_replies WHERE id = ?", (reply_id,)) > 0
