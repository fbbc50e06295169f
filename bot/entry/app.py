"""The composition root: assemble one PTB Application per platform around shared services."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter
from telegram.request import BaseRequest

from bot.entry.services import Services
from bot.messengers.budget import shared_budget
from bot.messengers.http import AiohttpRequest
from bot.messengers.pacer import Limits, Pacer
from bot.messengers.ratelimit import PacedLimiter
from bot.messengers.update_order import PersonOrderedProcessor

log = logging.getLogger(__name__)
COMMANDS = (
    "start", "menu", "steps", "progress", "faq", "settings", "help", "cancel", "stop", "delete",
)  # fmt: skip


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
    limits: Limits | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> Application:
    """An Application wired to the handlers and the scheduler, sharing the given services.

    Every Bot API call goes through one pacer per platform (``limits``: the platform's flood
    limits, Telegram's by default), and different people's updates are handled concurrently,
    each person's in order, so a reply waiting for its chat's limit holds nobody else.
    ``rate_limiter`` replaces the pacer (only the benchmarks do, to compare with PTB's own).
    """
    from handlers import build_registry
    from handlers.router import install

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(rate_limiter or paced_limiter(services, platform, limits or Limits()))
        .concurrent_updates(PersonOrderedProcessor())
    )
    own: tuple[BaseRequest, ...] = ()
    if request is None:  # PTB's HTTP layer on aiohttp (bot/messengers/http.py)
        request, updates_request = AiohttpRequest(), AiohttpRequest(connection_pool_size=2)
        own = (request, updates_request)
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
    app.bot_data["http"] = own
    return app


def paced_limiter(services: Services, platform: str, limits: Limits) -> PacedLimiter:
    """The platform's pacer as PTB's limiter; on PostgreSQL its bot-wide window is shared with
    every replica through the database (bot/messengers/budget.py), on SQLite it is in memory."""
    return PacedLimiter(Pacer(limits, shared_budget(services.db, platform, limits)),
                        platform=platform)  # fmt: skip


async def close_http(app: Application) -> None:
    """Close the HTTP sessions this module opened for an Application, whatever state it reached
    (PTB leaves them open when its start-up call was refused, e.g. for a rejected token)."""
    for request in app.bot_data.get("http", ()):
        await request.shutdown()


def pacer_of(app: Application) -> Pacer:
    """The pacer every send of this Application goes through."""
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, PacedLimiter)
    return limiter.pacer
