"""Follow-ups at a desk: who waits for a human (oldest first, a day is too long), grouped as
operating with problems, closed, no answer, asked for help and the loan list's claims; each
marked handled with a note, who and when."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.repo.followups import FOLLOWUP_GROUPS, GROUP_OF, PAGE, Followup, FollowupRepo
from bot.repo.staff import StaffRepo
from bot.repo.ticket_desk import TicketDeskRepo
from bot.staffdesk.cards import followup_subject
from web.guard import message
from web.keys import services, staff
from web.pages.desk import (
    age_text,
    county_name,
    done_notice,
    form_text,
    number,
    staff_label,
    too_long,
)
from web.render import render

NOTE_LIMIT = 500
SHOWS = ("waiting", "handled")
CURSOR = re.compile(r"([0-9]{1,12})-([0-9]{1,18})")


def _cursor(value: str | None) -> tuple[int, int] | None:
    """A page cursor "time-id" from the address."""
    found = CURSOR.fullmatch(value or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def _group(value: str | None) -> str | None:
    """A known group of the address, else None (every group)."""
    return value if value in FOLLOWUP_GROUPS else None


async def followup_list(request: web.Request) -> web.StreamResponse:
    """/followups?kind=GROUP&show=waiting|handled: a page of follow-ups."""
    session = staff(request)
    svc = services(request)
    group = _group(request.query.get("kind"))
    show = request.query.get("show", "waiting")
    show = show if show in SHOWS else "waiting"
    repo = FollowupRepo(svc.db)
    cursor = _cursor(request.query.get("from"))
    if show == "waiting":
        items = await repo.waiting_page(session.scope, group, cursor)
    else:
        items = await repo.handled_page(session.scope, group, cursor)
    waiting = await repo.waiting(session.scope)
    names = await TicketDeskRepo(svc.db).names()
    now = svc.clock.timestamp()
    rows = [_row(request, item, names, now) for item in items]
    more = None
    if len(items) == PAGE:
        last = items[-1]
        more = f"{last.created_at if show == 'waiting' else last.closed_at}-{last.id}"
    total = sum(w.count for w in waiting.values())
    oldest = min((w.oldest_at for w in waiting.values() if w.oldest_at), default=None)
    return render(
        request,
        "followups.html",
        group=group or "",
        groups=list(FOLLOWUP_GROUPS),
        show=show,
        rows=rows,
        more=more,
        waiting={g: {"count": w.count, "age": w.oldest_age(now)} for g, w in waiting.items()},
        total=total,
        oldest=None if oldest is None else now - oldest,
        done=done_notice(request),
        age=age_text(request),
        too_long=too_long,
        note_limit=NOTE_LIMIT,
    )


def _row(
    request: web.Request, item: Followup, names: dict[tuple[str, int], str], now: int
) -> dict[str, Any]:
    """One follow-up as the template shows it."""
    svc = services(request)
    lang = staff(request).lang
    subject = followup_subject(svc.content, lang, item.kind, item.detail)
    roster = item.detail.get("roster")
    if not subject and isinstance(roster, int):
        subject = svc.i18n.t(lang, "web.followups.roster_row", row=roster)
    kind_key = f"inbox.kind.{item.kind}"
    by = None
    if item.handled_by is not None and item.handled_platform:
        by = staff_label(request, (item.handled_platform, item.handled_by), names)
    return {
        "id": item.id,
        "user_pk": item.user_pk,
        "name": item.full_name,
        "county": county_name(request, item.county),
        "kind": svc.i18n.t(lang, kind_key) if svc.i18n.has(kind_key) else item.kind,
        "group": GROUP_OF.get(item.kind, ""),
        "subject": subject,
        "created_at": item.created_at,
        "waited": (item.closed_at or now) - item.created_at,
        "ticket": item.ticket_id,
        "ticket_status": item.ticket_status,
        "handled": item.handled,
        "handled_at": item.closed_at,
        "handled_by": by,
        "note": item.handled_note,
    }


async def _followup(request: web.Request) -> Followup:
    """The follow-up of the address, within the member's counties (else 404, as if missing)."""
    followup_id = number(request.match_info.get("id"))
    found = await FollowupRepo(services(request).db).get(followup_id) if followup_id else None
    if found is None or not staff(request).scope.allows(found.county):
        raise web.HTTPNotFound()
    return found


async def _back(request: web.Request, done: str) -> web.HTTPSeeOther:
    """Back to the list the form was on, saying what was done."""
    group = _group(await form_text(request, "kind"))
    show = await form_text(request, "show")
    where = f"kind={group}&" if group else ""
    if show in SHOWS:
        where += f"show={show}&"
    return web.HTTPSeeOther(f"/followups?{where}done={done}")


async def handle(request: web.Request) -> web.StreamResponse:
    """Mark a waiting follow-up handled, with a note."""
    item = await _followup(request)
    note = " ".join((await form_text(request, "note")).split())
    if len(note) > NOTE_LIMIT:
        return message(request, "web.tickets.errors.too_long", 400, limit=NOTE_LIMIT)
    session = staff(request)
    svc = services(request)
    now = svc.clock.timestamp()
    if not await FollowupRepo(svc.db).handle(
        item.id, session.platform, session.user_id, note or None, now
    ):
        return message(request, "web.followups.already_handled", 409)
    await StaffRepo(svc.db).audit(
        session.platform,
        session.user_id,
        "followup_handled",
        {"followup": item.id, "via": "web"},
        now,
    )
    raise await _back(request, "handled")


async def reopen(request: web.Request) -> web.StreamResponse:
    """Put a handled follow-up back on the waiting list."""
    item = await _followup(request)
    session = staff(request)
    svc = services(request)
    if not await FollowupRepo(svc.db).reopen(item.id):
        return message(request, "web.followups.already_waiting", 409)
    await StaffRepo(svc.db).audit(
        session.platform,
        session.user_id,
        "followup_reopened",
        {"followup": item.id, "via": "web"},
        svc.clock.timestamp(),
    )
    raise await _back(request, "waiting")


def setup(app: web.Application) -> None:
    """Add the follow-up routes."""
    app.router.add_get("/followups", followup_list)
    app.router.add_post(r"/followups/{id:\d+}/handled", handle)
    app.router.add_post(r"/followups/{id:\d+}/reopen", reopen)
