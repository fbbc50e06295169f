"""The support inbox: tickets, their messages, and the staff-chat messages that point at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database


@dataclass(frozen=True)
class Ticket:
    """One conversation between an applicant and the staff."""

    id: int
    platform: str
    user_pk: int
    kind: str
    followup_id: int | None
    status: str
    created_at: int
    closed_at: int | None
    closed_by: int | None


@dataclass(frozen=True)
class CardInfo:
    """What a staff card shows about the applicant."""

    full_name: str | None
    mobile: str | None
    county: str | None
    field: str | None
    stage: str | None
    lang: str
    chat_id: int
    latest_status: str | None
    latest_at: int | None


@dataclass(frozen=True)
class StaffCopy:
    """A message of a ticket in the staff chat: a card, a copied question or a staff reply."""

    chat_id: int
    message_id: int
    direction: str
    at: int


_COLUMNS = "id, platform, user_pk, kind, followup_id, status, created_at, closed_at, closed_by"
_T_COLUMNS = ", ".join("t." + c.strip() for c in _COLUMNS.split(","))


class TicketRepo:
    """SQL for tickets and ticket messages."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def open_ticket(self, user_pk: int) -> Ticket | None:
        """The person's open question ticket, if any."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM tickets WHERE user_pk = ? AND status = 'open' "
            "AND kind = 'question' ORDER BY id DESC LIMIT 1",
            (user_pk,),
        )
        return Ticket(*row) if row else None

    async def get(self, ticket_id: int) -> Ticket | None:
        """One ticket by id."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM tickets WHERE id = ?", (ticket_id,))
        return Ticket(*row) if row else None

    async def create(
        self,
        platform: str,
        user_pk: int,
        now: int,
        *,
        kind: str = "question",
        followup_id: int | None = None,
    ) -> Ticket:
        """A new open ticket."""
        ticket_id = await self.db.execute(
            "INSERT INTO tickets (platform, user_pk, kind, followup_id, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (platform, user_pk, kind, followup_id, now),
        )
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def add_message(
        self,
        ticket_id: int,
        direction: str,
        kind: str,
        text: str | None,
        now: int,
        *,
        staff_chat_id: int | None = None,
        staff_message_id: int | None = None,
        outbox_id: int | None = None,
        copy_outbox_id: int | None = None,
    ) -> int:
        """Record one message of a ticket (and where its copy sits in the staff chat; for a
        staff reply, the outbox rows carrying it to the applicant and to the staff group)."""
        return await self.db.execute(
            "INSERT INTO ticket_messages (ticket_id, direction, kind, text, staff_chat_id, "
            "staff_message_id, at, outbox_id, copy_outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                ticket_id, direction, kind, text, staff_chat_id, staff_message_id, now,
                outbox_id, copy_outbox_id,
            ),
        )  # fmt: skip

    async def by_staff_message(self, staff_chat_id: int, message_id: int) -> Ticket | None:
        """The ticket a staff-chat message (a card, a copy, or the bot's copy of a reply typed
        in the console) belongs to."""
        row = await self.db.fetchone(
            f"SELECT {_T_COLUMNS} FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
            "WHERE m.staff_chat_id = ? AND m.staff_message_id = ? LIMIT 1",
            (staff_chat_id, message_id),
        )
        if row is None:
            row = await self.db.fetchone(
                f"SELECT {_T_COLUMNS} FROM outbox o "
                "JOIN ticket_messages m ON m.copy_outbox_id = o.id "
                "JOIN tickets t ON t.id = m.ticket_id "
                "WHERE o.kind = 'ticket_copy' AND o.chat_id = ? AND o.message_id = ? LIMIT 1",
                (staff_chat_id, message_id),
            )
        return Ticket(*row) if row else None

    async def card_message(self, ticket_id: int) -> tuple[int, int] | None:
        """(staff chat id, message id) of a ticket's card."""
        row = await self.db.fetchone(
            "SELECT staff_chat_id, staff_message_id FROM ticket_messages "
            "WHERE ticket_id = ? AND direction = 'card' ORDER BY id LIMIT 1",
            (ticket_id,),
        )
        return (int(row[0]), int(row[1])) if row and row[0] is not None else None

    async def close(self, ticket_id: int, by: int, now: int) -> bool:
        """Close an open ticket; False when it was not open."""
        changed = await self.db.execute(
            "UPDATE tickets SET status = 'closed', closed_at = ?, closed_by = ? "
            "WHERE id = ? AND status = 'open'",
            (now, by, ticket_id),
        )
        return changed > 0

    async def reopen(self, ticket_id: int) -> bool:
        """Open a closed ticket again; False when it was not closed."""
        changed = await self.db.execute(
            "UPDATE tickets SET status = 'open', closed_at = NULL, closed_by = NULL "
            "WHERE id = ? AND status = 'closed'",
            (ticket_id,),
        )
        return changed > 0

    async def card_body(self, ticket_id: int) -> str:
        """What a ticket's card shows under the profile: the follow-up's subject kept on the
        card, or the question typed with it (the message posted as the card itself)."""
        row = await self.db.fetchone(
            "SELECT c.text, (SELECT m.text FROM ticket_messages m WHERE m.ticket_id = c.ticket_id"
            " AND m.direction = 'in' AND m.kind = 'text' AND m.staff_chat_id = c.staff_chat_id"
            " AND m.staff_message_id = c.staff_message_id ORDER BY m.id LIMIT 1)"
            " FROM ticket_messages c WHERE c.ticket_id = ? AND c.direction = 'card'"
            " ORDER BY c.id LIMIT 1",
            (ticket_id,),
        )
        if row is None:
            return ""
        return str(row[0] or row[1] or "")

    async def staff_copies(self, user_pk: int) -> list[StaffCopy]:
        """Every staff-chat message of a person's tickets, once each (a card wins over a copy)."""
        rows = await self.db.fetchall(
            "SELECT m.staff_chat_id, m.staff_message_id, MIN(m.direction), MIN(m.at) "
            "FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id "
            "WHERE t.user_pk = ? AND m.staff_message_id IS NOT NULL "
            "GROUP BY m.staff_chat_id, m.staff_message_id ORDER BY MIN(m.id)",
            (user_pk,),
        )
        return [StaffCopy(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    async def remember_erased(self, copies: list[StaffCopy]) -> None:
        """Keep where an erased person's staff-chat messages sat (their ids only)."""
        await self.db.executemany(
            "INSERT INTO erased_staff_messages (staff_chat_id, staff_message_id) VALUES (?, ?) "
            "ON CONFLICT DO NOTHING",
            [(c.chat_id, c.message_id) for c in copies],
        )

    async def was_erased(self, staff_chat_id: int, message_id: int) -> bool:
        """Whether a staff-chat message belonged to a person who has since used /delete."""
        row = await self.db.fetchone(
            "SELECT 1 FROM erased_staff_messages WHERE staff_chat_id = ? AND staff_message_id = ?",
            (staff_chat_id, message_id),
        )
        return row is not None

    async def card_info(self, user_pk: int) -> CardInfo | None:
        """The applicant's profile and latest check-in answer, for a staff card."""
        row = await self.db.fetchone(
            "SELECT u.full_name, u.mobile, u.county, u.field, u.stage, u.lang, u.chat_id, "
            "a.status, a.answered_at FROM users u LEFT JOIN checkin_answers a ON a.id = "
            "(SELECT MAX(id) FROM checkin_answers WHERE user_pk = u.id) WHERE u.id = ?",
            (user_pk,),
        )
        return CardInfo(*row) if row else None

    async def unposted_followups(self, platform: str, limit: int = 50) -> list[dict[str, Any]]:
        """Follow-ups not yet shown to the staff chat."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.user_pk, f.kind, f.detail FROM followups f "
            "JOIN users u ON u.id = f.user_pk WHERE f.posted_at IS NULL AND u.platform = ? "
            "ORDER BY f.id LIMIT ?",
            (platform, limit),
        )
        return [{**dict(r), "detail": json.loads(r["detail"])} for r in rows]

    async def mark_posted(self, followup_id: int, now: int) -> None:
        """A follow-up has its ticket and card."""
        await self.db.execute("UPDATE followups SET posted_at = ? WHERE id = ?", (now, followup_id))
