"""Follow-ups recorded by the check-ins become tickets with a card in the staff group."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import Application

from bot.entry.services import Services
from bot.repo.tickets import TicketRepo
from bot.staffdesk.cards import card_text, followup_subject

log = logging.getLogger(__name__)
# Cards per minute tick. Telegram lets a bot post 20 messages a minute in a group, and the
# pacer holds a card until the group's window allows it, so a tick posting more would hold the
# minute's sweep (same job) for minutes; ten a minute leave room for questions' cards too.
CARDS_PER_TICK = 10


async def post_followups(app: Application, svc: Services, platform: str) -> int:
    """Open a ticket and post a card for each new follow-up; return how many were posted."""
    chat = svc.settings.staff_chats.get(platform)
    if chat is None:
        return 0
    repo = TicketRepo(svc.db)
    lang = svc.settings.default_locale
    posted = 0
    for item in await repo.unposted_followups(platform, limit=CARDS_PER_TICK):
        now = svc.clock.timestamp()
        info = await repo.card_info(item["user_pk"])
        if info is None:
            continue
        ticket = await repo.create(
            platform, item["user_pk"], now, kind=item["kind"], followup_id=item["id"]
        )
        body = followup_subject(svc.content, lang, item["kind"], item["detail"])
        button = InlineKeyboardButton(
            svc.i18n.t(lang, "inbox.close"), callback_data=f"tk:close:{ticket.id}"
        )
        try:
            sent = await app.bot.send_message(
                chat_id=chat,
                text=card_text(svc.content, svc.i18n, lang, ticket, info, body)[:4096],
                reply_markup=InlineKeyboardMarkup([[button]]),
            )
        except TelegramError as exc:
            log.warning("follow-up %s not posted: %s", item["id"], exc)
            await repo.close(ticket.id, 0, now)
            return posted
        await repo.add_message(
            ticket.id,
            "card",
            "card",
            body,
            now,
            staff_chat_id=chat,
            staff_message_id=sent.message_id,
        )
        await repo.mark_posted(item["id"], now)
        posted += 1
    return posted
