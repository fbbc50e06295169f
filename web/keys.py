"""Typed keys of what the console's aiohttp application and requests carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from jinja2 import Environment
from telegram.ext import Application

from bot.entry.services import Services
from bot.staffdesk.console_access import StaffSession

SERVICES = web.AppKey("services", Services)
#: the bot's Applications by platform (empty for `homebiz web` alone: replies wait in the outbox)
BOTS = web.AppKey("bots", Mapping[str, Application])  # type: ignore[type-abstract]
TEMPLATES = web.AppKey("templates", Environment)
LIMITER = web.AppKey("limiter", Any)
#: the StaffSession of a signed-in request (None: nobody signed in)
STAFF = web.RequestKey("staff", StaffSession | None)  # type: ignore[arg-type]


def services(request: web.Request) -> Services:
    """The bot's services."""
    return request.app[SERVICES]


def staff(request: web.Request) -> StaffSession:
    """The signed-in staff member (the session middleware guarantees one on private pages)."""
    session = request.get(STAFF)
    assert isinstance(session, StaffSession)
    return session
