"""The console's aiohttp application: pages, static files, the guard."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aiohttp import web
from telegram.ext import Application

from bot.entry.services import Services
from web.guard import AttemptLimiter, guard
from web.keys import BOTS, LIMITER, SERVICES, TEMPLATES
from web.pages import (
    applicants,
    audit,
    broadcast_new,
    broadcasts,
    exports,
    followups,
    overview,
    roster,
    session,
    tickets,
)
from web.render import environment

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD = 50 * 1024 * 1024  # a loan list of a few hundred thousand rows fits
PAGES = (
    session,
    overview,
    applicants,
    broadcast_new,
    broadcasts,
    tickets,
    followups,
    roster,
    exports,
    audit,
)


def build_console(
    services: Services, bots: Mapping[str, Application] | None = None
) -> web.Application:
    """The console over the bot's services (``bots``: the running Applications, if any)."""
    app = web.Application(middlewares=[guard], client_max_size=MAX_UPLOAD)
    app[SERVICES] = services
    app[BOTS] = bots if bots is not None else {}  # filled as platforms start
    app[TEMPLATES] = environment()
    app[LIMITER] = AttemptLimiter()
    app.router.add_static("/static", STATIC)  # public (see web.guard): fonts, styles, script
    for page in PAGES:
        page.setup(app)
    return app
