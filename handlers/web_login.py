"""`/web`: a one-time link to the staff console; `/web logout`; `/scope`: county scopes."""

from __future__ import annotations

import re

from bot.core.text import normalize_input
from bot.repo.staff import StaffRepo
from bot.repo.ticket_desk import TicketDeskRepo
from bot.repo.web_sessions import WebSessionRepo
from bot.staffdesk.console_access import LINK_TTL, issue_link
from handlers.commands import command_of
from handlers.registry import Registry
from handlers.staff import parse_target
from handlers.turn import Turn

_SEPARATORS = re.compile(r"[,،;؛]")


async def web_link(turn: Turn) -> None:
    """/web — a login link valid 10 minutes, used once; /web logout — end every session."""
    parsed = command_of(turn.update.effective_message)
    words = [w.lower() for w in parsed[1]] if parsed else []
    if words and words[0] == "logout":
        closed = await WebSessionRepo(turn.svc.db).close_all(
            turn.platform, turn.user.user_id, turn.now
        )
        await StaffRepo(turn.svc.db).audit(
            turn.platform, turn.user.user_id, "web_logout", {"sessions": closed}, turn.now
        )
        await turn.say(turn.t("web_login.logged_out", count=closed))
        return
    web = turn.svc.settings.web
    if web is None:
        await turn.say(turn.t("web_login.not_configured"))
        return
    token = await issue_link(turn.svc.db, turn.platform, turn.user.user_id, turn.now)
    if token is None:
        await turn.say(turn.t("web_login.too_many"))
        return
    await StaffRepo(turn.svc.db).audit(turn.platform, turn.user.user_id, "web_link", {}, turn.now)
    person = turn.update.effective_user
    if person is not None:  # colleagues see the name in the console, not a number
        await TicketDeskRepo(turn.svc.db).remember_name(
            turn.platform, turn.user.user_id, person.full_name
        )
    url = f"{web.base_url}/login/{token}"
    await turn.say(turn.t("web_login.link", url=url, minutes=LINK_TTL // 60))


def county_ids(turn: Turn, raw: str) -> tuple[list[str], list[str]]:
    """County ids named in ``raw`` (by id or by name in either language) and the unknown names."""
    known: dict[str, str] = {}
    for county in turn.svc.content.counties:
        for name in (county.id, county.name.fa, county.name.en):
            known[normalize_input(name).casefold()] = county.id
    found: list[str] = []
    unknown: list[str] = []
    for part in _SEPARATORS.split(raw):
        name = normalize_input(part).casefold()
        if not name:
            continue
        if name in known:
            found.append(known[name])
        else:
            unknown.append(part.strip())
    return found, unknown


async def set_scope(turn: Turn) -> None:
    """/scope [platform:]user_id county, county — limit a staff member; no counties: all."""
    parsed = command_of(turn.update.effective_message)
    args = parsed[1] if parsed else []
    target = parse_target(turn, args[0]) if args else None
    if target is None:
        await turn.say(turn.t("web_login.scope_usage"))
        return
    repo = StaffRepo(turn.svc.db)
    if await repo.role(*target) is None:
        await turn.say(turn.t("web_login.scope_not_staff", who=f"{target[0]}:{target[1]}"))
        return
    counties, unknown = county_ids(turn, " ".join(args[1:]))
    if unknown:
        await turn.say(turn.t("web_login.scope_unknown", names="، ".join(unknown)))
        return
    await repo.set_scope(target[0], target[1], counties)
    await repo.audit(
        turn.platform,
        turn.user.user_id,
        "staff_scope",
        {"platform": target[0], "user_id": target[1], "counties": counties},
        turn.now,
    )
    names = "، ".join(c.name.get(turn.lang) for c in turn.svc.content.counties if c.id in counties)
    who = f"{target[0]}:{target[1]}"
    if counties:
        await turn.say(turn.t("web_login.scope_set", who=who, counties=names))
    else:
        await turn.say(turn.t("web_login.scope_all", who=who))


def register(reg: Registry) -> None:
    """Add /web for staff and /scope for admins."""
    reg.staff_command("web", web_link)
    reg.staff_command("scope", set_scope, role="admin")
