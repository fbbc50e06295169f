"""Ask a question: applicants' messages become tickets in the staff group; replies come back."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, ContextTypes, MessageHandler
from telegram.ext import filters as tg_filters

from bot.core.text import parse_id
from bot.entry.services import Services
from bot.repo.ticket_desk import TicketDeskRepo
from bot.repo.tickets import StaffCopy, Ticket, TicketRepo
from bot.staffdesk.cards import card_text
from bot.staffdesk.ticket_replies import (
    Actor,
    GroupMessage,
    StaffReply,
    close_ticket,
    send_reply,
)
from handlers.commands import COMMAND
from handlers.contact import contact_page
from handlers.keyboards import main_keyboard
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline

log = logging.getLogger(__name__)
MAX_QUESTION = 3500
BOT_DELETE_WINDOW = 48 * 3600  # how long a bot may delete its own messages in a group


def staff_chat(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """This platform's staff group, if configured."""
    svc: Services = context.application.bot_data["services"]
    return svc.settings.staff_chats.get(context.application.bot_data["platform"])


async def begin(turn: Turn) -> None:
    """Menu → Ask a question: the contact, the FAQ, and an invitation to write."""
    await turn.set_state("ask")
    await turn.say(contact_page(turn), inline([[(turn.t("buttons.faq"), "faq:list")]]))
    await ask(turn)


async def ask(turn: Turn) -> None:
    """Invite the question."""
    ticket = await TicketRepo(turn.svc.db).open_ticket(turn.user.id)
    key = "inbox.ask_more" if ticket else "inbox.ask"
    await turn.say(turn.t(key, id=ticket.id if ticket else 0))


def _kind(message: Message) -> str | None:
    """What kind of message can be forwarded to staff."""
    for kind in ("photo", "voice", "document", "video", "audio"):
        if getattr(message, kind):
            return kind
    return "text" if message.text else None


async def on_text(turn: Turn, text: str) -> None:
    """A typed question."""
    if len(text) > MAX_QUESTION:
        await turn.say(turn.t("errors.too_long", limit=MAX_QUESTION))
        await ask(turn)
        return
    await _submit(turn, "text", text)


async def on_media(turn: Turn) -> None:
    """A photo, voice note, document, video or audio as (part of) a question."""
    message = turn.update.effective_message
    kind = _kind(message) if message else None
    if message is None or kind is None:
        await turn.say(turn.t("inbox.unsupported"))
        await ask(turn)
        return
    await _submit(turn, kind, message.caption or "")


async def _submit(turn: Turn, kind: str, text: str) -> None:
    """Join the open ticket (or open one), copy the message to the staff group, confirm."""
    ticket = await file_question(turn, kind, text, copy=True)
    await turn.clear_state()
    await turn.say(turn.t("inbox.sent", id=ticket.id), main_keyboard(turn))


async def file_question(turn: Turn, kind: str, text: str, *, copy: bool) -> Ticket:
    """Join the open ticket (or open one) and put the question in the staff group.

    copy: the update's own message is the question (it is copied under the card); otherwise
    the text is one kept from earlier messages and is posted as a new message.
    """
    repo = TicketRepo(turn.svc.db)
    ticket = await repo.open_ticket(turn.user.id)
    if ticket is None:
        ticket = await repo.create(turn.platform, turn.user.id, turn.now)
    message = turn.update.effective_message if copy else None
    await _post(turn, repo, ticket, kind, text, message)
    return ticket


async def _post(
    turn: Turn, repo: TicketRepo, ticket: Ticket, kind: str, text: str, message: Message | None
) -> None:
    """Put the message in the staff group, under the ticket's card (created on first use)."""
    chat = staff_chat(turn.context)
    staff_ids: tuple[int | None, int | None] = (None, None)
    if chat is not None and (message is not None or kind == "text"):
        try:
            card = await repo.card_message(ticket.id)
            if card is None:
                info = await repo.card_info(turn.user.id)
                assert info is not None
                lang = turn.svc.settings.default_locale
                body = text if kind == "text" else ""
                sent = await turn.context.bot.send_message(
                    chat_id=chat,
                    text=card_text(turn.svc.content, turn.svc.i18n, lang, ticket, info, body)[
                        :4096
                    ],
                    reply_markup=inline([[(turn.t("inbox.close"), f"tk:close:{ticket.id}")]]),
                )
                await repo.add_message(
                    ticket.id,
                    "card",
                    "card",
                    None,
                    turn.now,
                    staff_chat_id=chat,
                    staff_message_id=sent.message_id,
                )
                card = (chat, sent.message_id)
                if kind == "text":
                    staff_ids = card
            if staff_ids == (None, None) and message is not None:
                copy = await turn.context.bot.copy_message(
                    chat_id=chat,
                    from_chat_id=turn.user.chat_id,
                    message_id=message.message_id,
                    reply_to_message_id=card[1],
                )
                staff_ids = (chat, copy.message_id)
            elif staff_ids == (None, None):
                posted = await turn.context.bot.send_message(
                    chat_id=chat, text=text[:4096], reply_to_message_id=card[1]
                )
                staff_ids = (chat, posted.message_id)
        except TelegramError as exc:
            log.warning("could not post ticket %s to the staff group: %s", ticket.id, exc)
    await repo.add_message(
        ticket.id,
        "in",
        kind,
        text,
        turn.now,
        staff_chat_id=staff_ids[0],
        staff_message_id=staff_ids[1],
    )


async def on_staff_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in the staff group: a reply to a card or a copy goes to the applicant."""
    chat = staff_chat(context)
    message = update.effective_message
    if chat is None or message is None or update.effective_chat is None:
        return
    if update.effective_chat.id != chat:
        return
    original = message.reply_to_message
    if original is None or update.effective_user is None:
        raise ApplicationHandlerStop
    svc: Services = context.application.bot_data["services"]
    repo = TicketRepo(svc.db)
    ticket = await repo.by_staff_message(chat, original.message_id)
    lang = svc.settings.default_locale
    if ticket is None:
        if await repo.was_erased(chat, original.message_id):
            await message.reply_text(svc.i18n.t(lang, "inbox.person_erased"))
        raise ApplicationHandlerStop
    now = svc.clock.timestamp()
    if ticket.status != "open":
        await message.reply_text(svc.i18n.t(lang, "inbox.ticket_closed", id=ticket.id))
        raise ApplicationHandlerStop
    info = await repo.card_info(ticket.user_pk)
    kind = _kind(message)
    if info is None or kind not in ("text", "photo", "document"):
        await message.reply_text(svc.i18n.t(lang, "inbox.reply_unsupported"))
        raise ApplicationHandlerStop
    dedupe = f"reply:{message.chat_id}:{message.message_id}"
    if update.edited_message is not None:  # a corrected reply: a new message, marked as one
        stamp = int(message.edit_date.timestamp()) if message.edit_date else 0
        dedupe += f":edit:{stamp}:{update.update_id}"
    reply = StaffReply(
        message.text or message.caption or "",
        kind,
        photo=message.photo[-1].file_id if kind == "photo" else None,
        document=message.document.file_id if kind == "document" and message.document else None,
    )
    actor = await _actor(context, update)
    sent = await send_reply(
        svc,
        ticket,
        info,
        reply,
        actor,
        now,
        dedupe=dedupe,
        typed_in=GroupMessage(chat, message.message_id),
        correction=update.edited_message is not None,
        app=context.application,
    )
    if sent is None:
        raise ApplicationHandlerStop  # this very message (or edit) was queued and confirmed before
    key = "inbox.correction_queued" if update.edited_message else "inbox.reply_queued"
    await message.reply_text(svc.i18n.t(lang, key, id=ticket.id))
    raise ApplicationHandlerStop


async def _actor(context: ContextTypes.DEFAULT_TYPE, update: Update) -> Actor:
    """The staff member acting in the group (their name kept for the console's lists)."""
    svc: Services = context.application.bot_data["services"]
    platform = context.application.bot_data["platform"]
    user = update.effective_user
    assert user is not None
    await TicketDeskRepo(svc.db).remember_name(platform, user.id, user.full_name)
    return Actor(platform, user.id, user.full_name, "group")


async def on_close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Close button on a card (staff only: the gate has checked)."""
    query = update.callback_query
    if query is None or update.effective_user is None or not (query.data or "").startswith("tk:"):
        return  # PTB hands empty callback data to every pattern handler
    svc: Services = context.application.bot_data["services"]
    lang = svc.settings.default_locale
    parts = (query.data or "").split(":")
    repo = TicketRepo(svc.db)
    ticket_id = parse_id(parts[2]) if len(parts) == 3 else None
    ticket = await repo.get(ticket_id) if ticket_id is not None else None
    now = svc.clock.timestamp()
    shown = query.message.text if isinstance(query.message, Message) else None
    if ticket is None or not await close_ticket(
        svc, ticket, await _actor(context, update), now, card_shown=shown, app=context.application
    ):
        key = "inbox.already_closed"
        if ticket is None and isinstance(query.message, Message):
            erased = await repo.was_erased(query.message.chat.id, query.message.message_id)
            key = "inbox.person_erased" if erased else key
        await query.answer(svc.i18n.t(lang, key))
        raise ApplicationHandlerStop
    await query.answer(svc.i18n.t(lang, "inbox.closed_ok"))
    raise ApplicationHandlerStop


async def erase_staff_copies(turn: Turn) -> None:
    """/delete: the bot's cards and copies leave the staff group; where they sat is kept."""
    repo = TicketRepo(turn.svc.db)
    copies = await repo.staff_copies(turn.user.id)
    if not copies:
        return
    await repo.remember_erased(copies)
    tombstone = turn.svc.i18n.t(turn.svc.settings.default_locale, "inbox.card_erased")
    outcomes = [
        await _clear_copy(turn, copy, tombstone) for copy in copies if copy.direction != "out"
    ]  # "out" rows are the staff's own replies: not the bot's messages to delete
    if "failed" in outcomes:
        log.warning("/delete: %d staff-group cards stayed as they were", outcomes.count("failed"))


async def _clear_copy(turn: Turn, copy: StaffCopy, tombstone: str) -> str:
    """Delete one of the bot's staff-group messages, or else turn a card into a tombstone."""
    bot = turn.context.bot
    if turn.now - copy.at < BOT_DELETE_WINDOW:
        try:
            await bot.delete_message(chat_id=copy.chat_id, message_id=copy.message_id)
            return "deleted"
        except TelegramError as exc:
            log.info("staff-group message not deleted: %s", exc)
    if copy.direction != "card":
        return "kept"  # a copied photo, voice or text older than the window stays
    try:
        await bot.edit_message_text(
            chat_id=copy.chat_id, message_id=copy.message_id, text=tombstone
        )
        return "tombstoned"
    except TelegramError as exc:
        log.info("staff-group card not edited: %s", exc)
        return "failed"


def register(reg: Registry) -> None:
    """Add the applicant's question flow and the staff group's reply and close handlers."""
    reg.flow("ask", Flow(ask=ask, on_text=on_text, on_media=on_media))
    reg.menu["menu.ask"] = begin
    reg.staff_only["tk:"] = "staff"
    reg.staff_only["#staffchat"] = "staff"
    reg.on("before_delete", erase_staff_copies)
    reg.extra.append((CallbackQueryHandler(on_close, pattern=r"^tk:"), -5))
    reg.extra.append(
        (MessageHandler(tg_filters.ChatType.GROUPS & ~COMMAND, on_staff_message), -5)
    )
