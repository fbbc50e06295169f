"""The composition root: assemble one PTB Application per platform around shared services."""

from __future__ import annotations

import logging

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest

from bot.services import Services

log = logging.getLogger(__name__)
COMMANDS = ("start", "menu", "steps", "progress", "settings", "help", "cancel", "stop", "delete")


async def set_commands(app: Application) -> None:
    """Publish the command list in both languages; best effort (Bale may lack the method)."""
    services: Services = app.bot_data["services"]
    for lang in services.i18n.languages:
        commands = [BotCommand(c, services.i18n.t(lang, f"commands.{c}")) for c in COMMANDS]
        try:
            if lang == services.settings.default_locale:
                await app.bot.set_my_commands(commands)
            await app.bot.set_my_commands(commands, language_code=lang)
        except TelegramError as exc:
            log.info("setMyCommands not available on %s: %s", app.bot_data["platform"], exc)
            return


def build_application(
    services: Services,
    platform: str,
    *,
    token: str,
    base_url: str,
    base_file_url: str,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    with_updater: bool = True,
    with_jobs: bool = True,
) -> Application:
    """An Application wired to the handlers and the scheduler, sharing the given services."""
    from handlers import build_registry
    from handlers.router import install

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    if not with_updater:
        builder = builder.updater(None)
    if not with_jobs:
        builder = builder.job_queue(None)
    app = builder.build()
    registry = build_registry()
    app.bot_data["services"] = services
    app.bot_data["platform"] = platform
    app.bot_data["router"] = install(app, registry)
    return app
