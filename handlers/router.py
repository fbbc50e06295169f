"""Turns every update into a call on the right flow, so each input gets a polite answer."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.repo.users import User
from handlers.commands import COMMAND, command_of
from handlers.keyboards import leave_question
from handlers.registry import Registry
from handlers.staff import make_gate
from handlers.turn import Turn

log = logging.getLogger(__name__)
MAX_INPUT = 1000
# Questions to staff (typed at the menu too) and broadcast texts check their own limits.
LONG_TEXT_STATES = ("ask", "bc", "menu", "typed")


async def load_turn(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Turn | None:
    """The Turn of the person behind a private update (a visitor without a row on first contact:
    the row comes with the first thing worth remembering, see ``bot.repo.users``)."""
    tg_user = update.effective_user
    chat = update.effective_chat
    if tg_user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    svc = context.application.bot_data["services"]
    platform = context.application.bot_data["platform"]
    code = (tg_user.language_code or "").lower()
    lang = "en" if code.startswith("en") else svc.settings.default_locale
    now = svc.clock.timestamp()
    cache = context.application.bot_data.get("prefetched", {})
    if update.update_id in cache:  # the gate read the row (or found none) for this very update
        prefetched = cache.pop(update.update_id)
        if prefetched is None:
            return Turn(update, context, User.visitor(platform, tg_user.id, chat.id, lang, now))
        if prefetched.user_id == tg_user.id:
            return Turn(update, context, prefetched)
    user = await svc.users.find_or_visitor(platform, tg_user.id, chat.id, lang, now)
    return Turn(update, context, user)


class Router:
    """Dispatches private updates by the person's stored state."""

    def __init__(self, registry: Registry) -> None:
        """Use the filled registry."""
        self.reg = registry

    def _may_converse(self, turn: Turn) -> bool:
        """Consent opens every flow; staff states (already through the gate) need none."""
        if turn.user.consent_at is not None:
            return True
        prefix = turn.user.state.split(":", 1)[0]
        return bool(prefix) and f"@{prefix}" in self.reg.staff_only

    async def ask_current(self, turn: Turn) -> None:
        """Ask the person's current question again, or show where they are."""
        if not self._may_converse(turn) and not turn.user.state.startswith("start"):
            await turn.set_state("start:lang")
        prefix = turn.user.state.split(":", 1)[0]
        flow = self.reg.flows.get(prefix)
        if flow is None:
            await self.reg.flows["menu"].ask(turn)
        else:
            await flow.ask(turn)

    async def on_command(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, forced_unknown: bool = False
    ) -> None:
        """A /command in a private chat (forced_unknown: the gate refused a staff command)."""
        turn = await load_turn(update, context)
        if turn is None or update.effective_message is None:
            return
        command = command_of(update.effective_message)
        word = command[0] if command is not None else ""
        action = None if forced_unknown else self.reg.commands.get(word)
        staff = f"/{word}" in self.reg.staff_only
        async with turn:
            if action is None:
                await turn.say(turn.t("errors.unknown_command"))
                await self.ask_current(turn)
            elif (
                word != "start"
                and not staff
                and turn.user.consent_at is None
                and word not in ("delete", "help", "faq")
            ):
                await self.ask_current(turn)
            else:
                await action(turn)

    async def on_callback(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, forced_stale: bool = False
    ) -> None:
        """A pressed inline button (possibly stale or forged, or refused by the gate)."""
        turn = await load_turn(update, context)
        query = update.callback_query
        if turn is None or query is None:
            if query is not None:
                await query.answer()
            return
        namespace, *args = (query.data or "").split(":")
        action = None if forced_stale else self.reg.callbacks.get(namespace)
        open_ns = ("lang", "priv", "del", "faq")  # reading the FAQ needs no consent
        staff = f"{namespace}:" in self.reg.staff_only
        async with turn:
            if action is None or (
                turn.user.consent_at is None and namespace not in open_ns and not staff
            ):
                await self.stale(turn)
            else:
                await action(turn, args)

    async def stale(self, turn: Turn) -> None:
        """Answer a button that no longer means anything, then ask the current question."""
        await turn.ack(turn.t("errors.stale_button"))
        await turn.say(turn.t("errors.stale_button"))
        await self.ask_current(turn)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Typed text (or a reply-keyboard button)."""
        turn = await load_turn(update, context)
        message = update.effective_message
        if turn is None or message is None or message.text is None:
            return
        async with turn:
            await self._text(turn, message.text.strip())

    async def _text(self, turn: Turn, text: str) -> None:
        """A menu label, an answer to the current question, or something to ask again for."""
        if turn.user.consent_at is not None:
            for key, action in self.reg.menu.items():
                if text in turn.svc.i18n.variants(key):
                    if turn.user.profile_done:  # (while onboarding, the profile goes on)
                        await leave_question(turn)
                    await turn.clear_state()
                    await action(turn)
                    return
        prefix = turn.user.state.split(":", 1)[0] or "menu"
        may = self._may_converse(turn) or prefix == "start"
        flow = self.reg.flows.get(prefix) if may else None
        if len(text) > MAX_INPUT and prefix not in LONG_TEXT_STATES:
            await turn.say(turn.t("errors.too_long", limit=MAX_INPUT))
            await self.ask_current(turn)
        elif not text or flow is None:
            await self.ask_current(turn)
        else:
            await flow.on_text(turn, text)

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared contact card."""
        turn = await load_turn(update, context)
        message = update.effective_message
        if turn is None or message is None or message.contact is None:
            return
        flow = self.reg.flows.get(turn.user.state.split(":", 1)[0])
        async with turn:
            if flow is not None and flow.on_contact is not None and turn.user.consent_at:
                await flow.on_contact(turn, message.contact.phone_number)
            else:
                await turn.say(turn.t("errors.unexpected_media"))
                await self.ask_current(turn)

    async def on_other(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, plain: bool = False
    ) -> None:
        """Stickers, photos, voice, locations, documents and anything else that is not text
        (plain: the gate refused a staff-only document; it gets the answer anyone gets)."""
        turn = await load_turn(update, context)
        if turn is None:
            return
        flow = self.reg.flows.get(turn.user.state.split(":", 1)[0])
        message = update.effective_message
        async with turn:
            if flow is not None and flow.on_media is not None and self._may_converse(turn):
                await flow.on_media(turn)
            elif (
                not plain
                and self.reg.document is not None
                and message is not None
                and message.document is not None
                and not self.reg.takes_files(turn.user.state)
            ):  # the gate let it through: a staff member's file
                await self.reg.document(turn)
            else:
                await turn.say(turn.t("errors.unexpected_media"))
                await self.ask_current(turn)

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: we keep what was first sent and say so."""
        turn = await load_turn(update, context)
        if turn is None:
            return
        async with turn:
            await turn.say(turn.t("errors.edited"))
            await self.ask_current(turn)

    async def on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command or mention in a group: point the person to a private chat."""
        message = update.effective_message
        if message is None or update.effective_chat is None:
            return
        svc = context.application.bot_data["services"]
        code = (update.effective_user.language_code or "") if update.effective_user else ""
        lang = "en" if code.lower().startswith("en") else svc.settings.default_locale
        await message.reply_text(svc.i18n.t(lang, "errors.group_chat"))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log it, and tell the person something went wrong."""
    log.error("update failed: %r", context.error, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    svc = context.application.bot_data["services"]
    lang = svc.settings.default_locale
    try:
        user = await svc.users.find(
            context.application.bot_data["platform"], update.effective_user.id
        )
        lang = user.lang if user else lang
        await context.bot.send_message(
            chat_id=update.effective_chat.id, text=svc.i18n.t(lang, "errors.internal")
        )
    except Exception as exc:  # the error path must never raise
        log.warning("could not tell the person about the error: %r", exc)


def install(app: Application, registry: Registry, *, group: int = 0) -> Router:
    """Add the router's handlers to an Application."""
    router = Router(registry)
    private = filters.ChatType.PRIVATE
    app.add_handler(TypeHandler(Update, _drop_channel_posts), group=-100)
    app.add_handler(TypeHandler(Update, make_gate(registry)), group=-10)
    app.add_handler(MessageHandler(filters.UpdateType.EDITED & private, router.on_edited), group)
    app.add_handler(MessageHandler(private & COMMAND, router.on_command), group)
    app.add_handler(CallbackQueryHandler(router.on_callback), group)
    app.add_handler(MessageHandler(private & filters.CONTACT, router.on_contact), group)
    app.add_handler(MessageHandler(private & filters.TEXT, router.on_text), group)
    app.add_handler(MessageHandler(private & filters.ALL, router.on_other), group)
    app.add_handler(
        MessageHandler(filters.ChatType.GROUPS & COMMAND, router.on_group), group
    )
    for handler, handler_group in registry.extra:
        app.add_handler(handler, handler_group)
    app.add_error_handler(on_error)
    return router


async def _drop_channel_posts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ignore channel posts and updates without a person behind them."""
    if update.channel_post or update.edited_channel_post or update.effective_user is None:
        raise ApplicationHandlerStop
