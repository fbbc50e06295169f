"""What the tickets and follow-ups pages share: who is acting, staff names, ages, labels."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.core.text import normalize_input, parse_id, to_latin_digits
from bot.repo.staff import StaffRepo
from bot.repo.ticket_desk import TicketDeskRepo
from bot.rules.waiting import age_unit, overdue
from bot.staffdesk.ticket_replies import Actor
from web.keys import services, staff

#: Notices a page may show after an action (?done=KEY); anything else shows nothing.
DONE = frozenset(
    {"replied", "noted", "assigned", "closed", "reopened", "saved", "deleted", "handled", "waiting"}
)


def staff_label(
    request: web.Request, who: tuple[str, int], names: dict[tuple[str, int], str]
) -> str:
    """A staff member as colleagues know them: their name, else "Staff <platform:id>"."""
    if who in names:
        return names[who]
    svc = services(request)
    return svc.i18n.t(staff(request).lang, "web.signed_in_as", who=f"{who[0]}:{who[1]}")


async def actor(request: web.Request) -> Actor:
    """The signed-in staff member acting from the console."""
    session = staff(request)
    me = (session.platform, session.user_id)
    names = await TicketDeskRepo(services(request).db).names()
    return Actor(session.platform, session.user_id, staff_label(request, me, names), "web")


async def colleagues(request: web.Request, platforms: set[str]) -> list[tuple[str, int]]:
    """Every staff member of these platforms (and of the signed-in member's own)."""
    svc = services(request)
    repo = StaffRepo(svc.db)
    wanted = {staff(request).platform, *platforms, *(p.name for p in svc.settings.platforms)}
    found: list[tuple[str, int]] = []
    for platform in sorted(wanted):
        found += [(platform, user_id) for user_id, _ in await repo.members(platform)]
    return found


def age_text(request: web.Request) -> Callable[[int | None], str]:
    """A template helper: seconds waited as "3 days", "5 hours"…"""
    svc = services(request)
    lang = staff(request).lang

    def text(seconds: int | None) -> str:
        """The wait in words."""
        if seconds is None:
            return "—"
        unit, count = age_unit(seconds)
        return svc.i18n.t(lang, f"web.tickets.age.{unit}", n=count)

    return text


def too_long(seconds: int | None) -> bool:
    """Whether a wait is past a day (marked on the page)."""
    return seconds is not None and overdue(seconds)


def county_name(request: web.Request, county: str | None) -> str:
    """A county id as its name in the page's language."""
    if not county:
        return "—"
    found = services(request).content.county(county)
    return found.name.get(staff(request).lang) if found else county


def number(value: object) -> int | None:
    """A positive id from a path, query or form value (any digits), else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    found = parse_id(to_latin_digits(normalize_input(value)))
    return found if found is not None and found > 0 else None


def done_notice(request: web.Request) -> str | None:
    """The notice of the action just done, if the address names a known one."""
    key = request.query.get("done")
    return key if key in DONE else None


async def form_text(request: web.Request, name: str) -> str:
    """A text field of the posted form as typed (line breaks kept), trimmed; "" when missing."""
    value = (await request.post()).get(name)
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""
