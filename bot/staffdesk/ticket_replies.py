"""One way a staff reply reaches an applicant, and one way a ticket closes or opens again,
whether the staff member works in the staff group or in the web console.

Everything goes through the outbox (bot/repo/outbox.py): the answer to the applicant, the copy
of a console reply under the ticket's card in the staff group, and the card's new text when the
ticket closes or opens again. So it survives a restart, waits for the pacer, and under
`homebiz web` alone (no bot running) waits in the outbox until `homebiz run` sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application

from bot.entry.services import Services
from bot.repo.followups import FollowupRepo
from bot.repo.outbox import PRIORITY_NORMAL, OutboxRepo, Payload, make_payload
from bot.repo.staff import StaffRepo
from bot.repo.tickets import CardInfo, Ticket, TicketRepo
from bot.staffdesk.cards import card_text

REPLY_KIND = "reply"  # outbox rows to the applicant (answers, the closing notice)
COPY_KIND = "ticket_copy"  # a console reply shown under the card (migration 018 indexes it)
CARD_KIND = "ticket_card"  # a card's new text
TEXT_LIMIT = 4000  # an answer's text (the Bot API allows 4096)
CAPTION_LIMIT = 1000  # a photo's or file's caption (1024)


@dataclass(frozen=True)
class Actor:
    """A staff member acting on a ticket, and where: "group" (the staff group) or "web"."""

    platform: str
    user_id: int
    name: str
    via: str


@dataclass(frozen=True)
class StaffReply:
    """What a staff member answers: text, or a photo or file (by the messenger's file id) with
    the text as its caption."""

    text: str
    kind: str = "text"
    photo: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class GroupMessage:
    """Where a reply typed in the staff group sits."""

    chat_id: int
    message_id: int


def wake(app: Application | None) -> None:
    """Tell a running bot's outbox sender that rows are waiting (nothing runs: they wait)."""
    proactive = app.bot_data.get("proactive") if app is not None else None
    if proactive is not None:
        proactive.sender.notify()


def _answer(
    svc: Services, ticket: Ticket, info: CardInfo, reply: StaffReply, correction: bool
) -> Payload:
    """The applicant's message: the header in their language, then the staff's words."""
    key = "inbox.answer_correction_header" if correction else "inbox.answer_header"
    header = svc.i18n.t(info.lang, key, id=ticket.id)
    limit = TEXT_LIMIT if reply.kind == "text" else CAPTION_LIMIT
    return make_payload(
        f"{header}\n{reply.text}".strip()[:limit], photo=reply.photo, document=reply.document
    )


async def send_reply(
    svc: Services,
    ticket: Ticket,
    info: CardInfo,
    reply: StaffReply,
    actor: Actor,
    now: int,
    *,
    dedupe: str,
    typed_in: GroupMessage | None = None,
    correction: bool = False,
    app: Application | None = None,
) -> int | None:
    """Queue a staff reply to the applicant, record it on the ticket, and audit it; a reply
    typed anywhere but the staff group is also copied there under the ticket's card.

    ``dedupe`` names this very reply (a group message and its edit, or a console form): the
    same reply twice is queued once, and the second call returns None. Otherwise the new
    ticket message's id.
    """
    outbox = OutboxRepo(svc.db)
    queued = await outbox.enqueue(
        platform=ticket.platform,
        chat_id=info.chat_id,
        user_pk=ticket.user_pk,
        kind=REPLY_KIND,
        payload=dict(_answer(svc, ticket, info, reply, correction)),
        priority=PRIORITY_NORMAL,
        not_before=now,
        now=now,
        dedupe_key=dedupe,
    )
    if queued is None:
        return None
    repo = TicketRepo(svc.db)
    copy = None if typed_in else await _copy_to_group(svc, repo, ticket, reply, actor, now, dedupe)
    message_id = await repo.add_message(
        ticket.id,
        "out",
        reply.kind,
        reply.text,
        now,
        staff_chat_id=typed_in.chat_id if typed_in else None,
        staff_message_id=typed_in.message_id if typed_in else None,
        outbox_id=queued,
        copy_outbox_id=copy,
    )
    detail: dict[str, object] = {"ticket": ticket.id, "via": actor.via}
    if correction:
        detail["edit"] = True
    await StaffRepo(svc.db).audit(actor.platform, actor.user_id, "ticket_reply", detail, now)
    wake(app)
    return message_id


async def _copy_to_group(
    svc: Services,
    repo: TicketRepo,
    ticket: Ticket,
    reply: StaffReply,
    actor: Actor,
    now: int,
    dedupe: str,
) -> int | None:
    """Queue the staff group's copy of a reply typed elsewhere, under the ticket's card."""
    chat = svc.settings.staff_chats.get(ticket.platform)
    if chat is None:
        return None
    card = await repo.card_message(ticket.id)
    lang = svc.settings.default_locale
    head = svc.i18n.t(lang, "web.tickets.group_copy", id=ticket.id, name=actor.name)
    return await OutboxRepo(svc.db).enqueue(
        platform=ticket.platform,
        chat_id=chat,
        user_pk=None,
        kind=COPY_KIND,
        payload=dict(
            make_payload(
                f"{head}\n{reply.text}"[:TEXT_LIMIT],
                reply_to=card[1] if card and card[0] == chat else None,
            )
        ),
        not_before=now,
        now=now,
        dedupe_key=f"{dedupe}:copy",
    )


async def close_ticket(
    svc: Services,
    ticket: Ticket,
    actor: Actor,
    now: int,
    *,
    card_shown: str | None = None,
    app: Application | None = None,
) -> bool:
    """Close an open ticket: audited, its follow-up handled, its card in the staff group says
    who closed it (and loses its Close button), and the applicant is told. False when it was
    not open.

    ``card_shown``: the card's text as the group shows it now (a press on its button carries
    it); otherwise the card is written again from the ticket.
    """
    repo = TicketRepo(svc.db)
    if not await repo.close(ticket.id, actor.user_id, now):
        return False
    await StaffRepo(svc.db).audit(
        actor.platform, actor.user_id, "ticket_closed", {"ticket": ticket.id, "via": actor.via}, now
    )
    if ticket.followup_id is not None:
        await FollowupRepo(svc.db).handled_with_ticket(
            ticket.followup_id, actor.platform, actor.user_id, now
        )
    lang = svc.settings.default_locale
    shown = card_shown if card_shown is not None else await _card(svc, repo, ticket)
    closed = svc.i18n.t(lang, "inbox.closed_by", name=actor.name)
    if shown is not None:
        await _edit_card(svc, repo, ticket, f"{shown}\n\n{closed}", now, buttons=False)
    info = await repo.card_info(ticket.user_pk)
    if info is not None:
        await OutboxRepo(svc.db).enqueue(
            platform=ticket.platform,
            chat_id=info.chat_id,
            user_pk=ticket.user_pk,
            kind=REPLY_KIND,
            payload=dict(make_payload(svc.i18n.t(info.lang, "inbox.closed_notice", id=ticket.id))),
            not_before=now,
            now=now,
            dedupe_key=f"closed:{ticket.id}:{now}",
        )
    wake(app)
    return True


async def reopen_ticket(
    svc: Services, ticket: Ticket, actor: Actor, now: int, *, app: Application | None = None
) -> bool:
    """Open a closed ticket again: audited, and its card gets its Close button back and says
    who reopened it. False when it was not closed."""
    repo = TicketRepo(svc.db)
    if not await repo.reopen(ticket.id):
        return False
    await StaffRepo(svc.db).audit(
        actor.platform,
        actor.user_id,
        "ticket_reopened",
        {"ticket": ticket.id, "via": actor.via},
        now,
    )
    shown = await _card(svc, repo, ticket)
    if shown is not None:
        again = svc.i18n.t(svc.settings.default_locale, "web.tickets.reopened_by", name=actor.name)
        await _edit_card(svc, repo, ticket, f"{shown}\n\n{again}", now, buttons=True)
    wake(app)
    return True


async def _card(svc: Services, repo: TicketRepo, ticket: Ticket) -> str | None:
    """The card's text written again from the ticket (None: no card, or the person is gone)."""
    info = await repo.card_info(ticket.user_pk)
    if info is None or await repo.card_message(ticket.id) is None:
        return None
    body = await repo.card_body(ticket.id)
    lang = svc.settings.default_locale
    return card_text(svc.content, svc.i18n, lang, ticket, info, body)


async def _edit_card(
    svc: Services, repo: TicketRepo, ticket: Ticket, text: str, now: int, *, buttons: bool
) -> None:
    """Queue the card's new text, with or without its Close button."""
    card = await repo.card_message(ticket.id)
    if card is None:
        return
    lang = svc.settings.default_locale
    rows = [[(svc.i18n.t(lang, "inbox.close"), f"tk:close:{ticket.id}")]] if buttons else None
    payload: Payload = make_payload(text[:4096], buttons=rows, edit=card[1])
    await OutboxRepo(svc.db).enqueue(
        platform=ticket.platform,
        chat_id=card[0],
        user_pk=None,
        kind=CARD_KIND,
        payload=dict(payload),
        not_before=now,
        now=now,
    )
