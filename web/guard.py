"""Every console request: find its session, refuse strangers and forged forms, add safe headers."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.staffdesk.console_access import load_session, same_token
from web.keys import SERVICES, STAFF
from web.render import SECURITY_HEADERS, render

log = logging.getLogger(__name__)
COOKIE = "hb_session"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def public(handler: Handler) -> Handler:
    """Mark a route that answers without a session (sign-in pages, static files)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


def admin_only(handler: Handler) -> Handler:
    """Mark a route only admins may use."""
    handler.admin_only = True  # type: ignore[attr-defined]
    return handler


class AttemptLimiter:
    """At most ``limit`` failed sign-ins per address in any ``window`` seconds."""

    def __init__(self, limit: int = 10, window: float = 600.0) -> None:
        """Start with no failures."""
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        """The failures of an address still inside the window."""
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= time.monotonic() - self.window:
            times.popleft()
        return times

    def blocked(self, address: str) -> bool:
        """Whether this address has failed too often lately."""
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        """Count a failed attempt."""
        self._recent(address).append(time.monotonic())
        if len(self._failures) > 10_000:  # forget the quiet ones; never grow without bound
            self._failures = {a: t for a in list(self._failures) if (t := self._recent(a))}


async def _form_token(request: web.Request) -> str | None:
    """The CSRF token a form or script sent (header first: it needs no body read)."""
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.post()).get("_csrf")
        return value if isinstance(value, str) else None
    return None


def _same_origin(request: web.Request) -> bool:
    """A browser's Origin header, when sent, names this console."""
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.split("://", 1)[-1] == request.host


def message(request: web.Request, key: str, status: int, **values: Any) -> web.Response:
    """A short page saying one thing."""
    lang = request[STAFF].lang if request.get(STAFF) else None
    text = request.app[SERVICES].i18n.t(lang or _default_lang(request), key, **values)
    return render(request, "message.html", status=status, message=text)


def _default_lang(request: web.Request) -> str:
    """The bot's default language."""
    return request.app[SERVICES].settings.default_locale


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session; require one (and the right role) unless the route is public; check
    the CSRF token of every form; add the security headers."""
    svc = request.app[SERVICES]
    cookie = request.cookies.get(COOKIE)
    request[STAFF] = await load_session(svc.db, cookie, svc.clock.timestamp()) if cookie else None
    route = request.match_info.handler
    try:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if not _same_origin(request):
                response: web.StreamResponse = message(request, "web.errors.csrf", 403)
                return _secured(response)
            if request[STAFF] is not None and not same_token(
                await _form_token(request), request[STAFF].csrf
            ):
                return _secured(message(request, "web.errors.csrf", 403))
        if not (getattr(route, "public", False) or request.path.startswith("/static/")):
            if request[STAFF] is None:
                return _secured(
                    render(
                        request,
                        "message.html",
                        status=401,
                        heading=_t(request, "web.signin.title"),
                        message=_t(request, "web.signin.how"),
                    )
                )
            if getattr(route, "admin_only", False) and not request[STAFF].admin:
                return _secured(message(request, "web.errors.forbidden", 403))
        response = await handler(request)
    except web.HTTPNotFound:
        response = message(request, "web.errors.not_found", 404)
    except web.HTTPForbidden:
        response = message(request, "web.errors.forbidden", 403)
    except web.HTTPRequestEntityTooLarge:
        response = message(request, "web.errors.too_large", 413)
    except web.HTTPException as exc:
        if exc.status >= 400:
            exc.headers.update(SECURITY_HEADERS)
        raise
    except Exception as exc:
        log.error(
            "console error on %s %s: %s",
            request.method,
            request.match_info.route.resource and request.match_info.route.resource.canonical,
            type(exc).__name__,
        )
        response = message(request, "web.errors.server", 500)
    return _secured(response)


def _t(request: web.Request, key: str) -> str:
    """A text in the request's language."""
    lang = request[STAFF].lang if request.get(STAFF) else _default_lang(request)
    return request.app[SERVICES].i18n.t(lang, key)


def _secured(response: web.StreamResponse) -> web.StreamResponse:
    """Add the security headers (static files keep their own caching)."""
    for name, value in SECURITY_HEADERS.items():
        if name == "Cache-Control" and "Cache-Control" in response.headers:
            continue
        response.headers.setdefault(name, value)
    return response
