"""Pages from Jinja2 templates, escaped by default, in the staff member's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from bot.core.clock import from_ts
from bot.core.jalali import format_date, format_datetime
from bot.core.labels import format_mobile
from bot.core.text import format_number, localize_digits
from bot.staffdesk.reports import percent
from web.keys import SERVICES, STAFF, TEMPLATES
from web.nav import visible_entries

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # Origin stays on same-site forms
    "Cache-Control": "no-store",
}


def environment() -> Environment:
    """The template environment: files under web/templates, every value escaped."""
    env = Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _helpers(lang: str, request: web.Request) -> dict[str, Any]:
    """What every template may call: translations, numbers, dates, mobiles."""
    i18n = request.app[SERVICES].i18n

    def t(key: str, **values: Any) -> str:
        """A console text in the staff member's language."""
        return i18n.t(lang, key, **values)

    def num(n: int | float | None) -> str:
        """A count with grouped digits, Persian digits in Persian."""
        if n is None:
            return "—"
        if isinstance(n, float) and not n.is_integer():
            return localize_digits(f"{n:.1f}", lang)
        return format_number(int(n), lang)

    def pct(part: int, whole: int) -> str:
        """A share as a whole percentage, as the bot's reports write it."""
        return percent(part, whole, lang)

    def date(ts: int | dt.date | None) -> str:
        """A Solar Hijri date."""
        if ts is None:
            return "—"
        return format_date(ts if isinstance(ts, dt.date) else from_ts(ts), lang)  # type: ignore[arg-type]

    def when(ts: int | None) -> str:
        """A Solar Hijri date and Tehran time."""
        moment = from_ts(ts)
        return "—" if moment is None else format_datetime(moment, lang)

    def mobile(stored: str | None) -> str:
        """A mobile as people write it."""
        return format_mobile(stored, lang) if stored else "—"

    def digits(text: object) -> str:
        """Any text with its digits in the page's language."""
        return localize_digits(str(text), lang)

    return {
        "t": t,
        "num": num,
        "pct": pct,
        "date": date,
        "when": when,
        "mobile": mobile,
        "digits": digits,
    }


def page_lang(request: web.Request) -> str:
    """The language of a page: the session's, else the bot's default."""
    session = request.get(STAFF)
    if session is not None:
        return str(session.lang)
    return request.app[SERVICES].settings.default_locale


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A whole page."""
    lang = page_lang(request)
    session = request.get(STAFF)
    values: dict[str, Any] = {
        "lang": lang,
        "dir": "rtl" if lang == "fa" else "ltr",
        "staff": session,
        "csrf": session.csrf if session else "",
        "nav": visible_entries(session) if session else [],
        "path": request.path,
        **_helpers(lang, request),
        **context,
    }
    html = request.app[TEMPLATES].get_template(template).render(values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
