"""Questions at a desk: open / mine / closed lists, a ticket's conversation, internal notes,
assignment, saved replies, replying, closing and reopening — the same tickets as the staff
group, through the same reply and close functions (bot/staffdesk/ticket_replies.py)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web

from bot.repo.followups import FollowupRepo
from bot.repo.staff import StaffRepo
from bot.repo.ticket_desk import PAGE, VIEWS, Said, TicketDeskRepo, TicketLine, TicketView
from bot.repo.tickets import Ticket, TicketRepo
from bot.staffdesk.cards import followup_subject
from bot.staffdesk.ticket_replies import StaffReply, close_ticket, reopen_ticket, send_reply
from web.guard import message
from web.keys import BOTS, services, staff
from web.pages.desk import (
    actor,
    age_text,
    colleagues,
    county_name,
    done_notice,
    form_text,
    number,
    staff_label,
)
from web.render import render

REPLY_LIMIT = 3800  # the answer's header and the text fit one message (4096)
NOTE_LIMIT = 2000
TITLE_LIMIT = 100
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
MEDIA = ("photo", "voice", "document", "video", "audio")


def _kind_label(request: web.Request, kind: str) -> str:
    """A ticket kind ("question", "problems"…) as staff read it."""
    i18n = services(request).i18n
    key = f"inbox.kind.{kind}"
    return i18n.t(staff(request).lang, key) if i18n.has(key) else kind


def _said(request: web.Request, kind: str | None, text: str | None) -> str:
    """A message as words: its text, a photo/voice/… label before any caption."""
    lang = staff(request).lang
    body = (text or "").strip()
    if kind in MEDIA:
        label = services(request).i18n.t(lang, f"web.tickets.media.{kind}")
        return f"{label} {body}".strip()
    return body or "—"


async def _ticket(request: web.Request) -> TicketView:
    """The ticket of the address, within the member's counties (else 404, as if missing)."""
    ticket_id = number(request.match_info.get("id"))
    found = await TicketDeskRepo(services(request).db).view(ticket_id) if ticket_id else None
    if found is None or not staff(request).scope.allows(found.county):
        raise web.HTTPNotFound()
    return found


async def _plain(request: web.Request, view: TicketView) -> Ticket:
    """The ticket as the reply and close functions take it."""
    ticket = await TicketRepo(services(request).db).get(view.id)
    if ticket is None:
        raise web.HTTPNotFound()
    return ticket


def _bot(request: web.Request, platform: str) -> Any:
    """The running bot of a platform, if any (under `homebiz web` alone: none)."""
    return request.app[BOTS].get(platform)


def _back(ticket_id: int, done: str, anchor: str = "") -> web.HTTPSeeOther:
    """Back to the ticket's page, saying what was done."""
    return web.HTTPSeeOther(f"/tickets/{ticket_id}?done={done}{anchor}")


# --- the lists -------------------------------------------------------------------------------
async def ticket_list(request: web.Request) -> web.StreamResponse:
    """/tickets?view=open|mine|closed: a page of tickets."""
    session = staff(request)
    svc = services(request)
    view = request.query.get("view", "open")
    view = view if view in VIEWS else "open"
    repo = TicketDeskRepo(svc.db)
    cursor = number(request.query.get("from"))
    me = (session.platform, session.user_id)
    lines = await repo.lines(session.scope, view, me, cursor)
    names = await repo.names()
    now = svc.clock.timestamp()
    rows = [_line(request, line, names, now) for line in lines]
    more = lines[-1].id if len(lines) == PAGE else None
    return render(
        request, "tickets.html", view=view, views=VIEWS, rows=rows, more=more, age=age_text(request)
    )


def _line(
    request: web.Request, line: TicketLine, names: dict[tuple[str, int], str], now: int
) -> dict[str, Any]:
    """One list row as the template shows it."""
    who = (line.assignee_platform, line.assignee_id)
    assignee = staff_label(request, who, names) if line.assignee_id is not None else None  # type: ignore[arg-type]
    return {
        "id": line.id,
        "user_pk": line.user_pk,
        "name": line.full_name,
        "county": county_name(request, line.county),
        "kind": _kind_label(request, line.kind),
        "preview": _said(request, line.last_kind, line.last_text),
        "from_staff": line.last_direction == "out",
        "age": now - line.created_at,
        "assignee": assignee,
    }


# --- one ticket ------------------------------------------------------------------------------
async def ticket_page(request: web.Request) -> web.StreamResponse:
    """/tickets/<id>: the conversation, notes, assignment, saved replies and the reply box."""
    view = await _ticket(request)
    svc = services(request)
    repo = TicketDeskRepo(svc.db)
    names = await repo.names()
    saved = await repo.saved_replies()
    use = number(request.query.get("use"))
    draft = next((s.body for s in saved if s.id == use), "")
    people = await colleagues(request, {view.platform})
    session = staff(request)
    now = svc.clock.timestamp()
    lang = session.lang
    followup = await FollowupRepo(svc.db).get(view.followup_id) if view.followup_id else None
    subject = (
        followup_subject(svc.content, lang, followup.kind, followup.detail) if followup else ""
    )
    conversation = [_message(request, said) for said in await repo.conversation(view.id)]
    notes = [
        {
            "text": note.text,
            "at": note.at,
            "author": staff_label(request, (note.platform, note.author_id), names),
        }
        for note in await repo.notes(view.id)
    ]
    assignee = (
        staff_label(request, (view.assignee_platform, view.assignee_id), names)  # type: ignore[arg-type]
        if view.assignee_id is not None
        else None
    )
    choices = [
        {"value": f"{p}:{u}", "label": staff_label(request, (p, u), names)}
        for p, u in people
        if (p, u) != (view.assignee_platform, view.assignee_id)
    ]
    return render(
        request,
        "ticket.html",
        ticket=view,
        kind=_kind_label(request, view.kind),
        subject=subject,
        county=county_name(request, view.county),
        field=_field(request, view.field, lang),
        conversation=conversation,
        notes=notes,
        assignee=assignee,
        mine=(view.assignee_platform, view.assignee_id) == (session.platform, session.user_id),
        choices=choices,
        saved=saved,
        draft=draft,
        nonce=secrets.token_urlsafe(16),
        done=done_notice(request),
        waited=now - view.created_at,
        age=age_text(request),
        reply_limit=REPLY_LIMIT,
        note_limit=NOTE_LIMIT,
    )


def _field(request: web.Request, field: str | None, lang: str) -> str:
    """A business field id as its name."""
    found = services(request).content.field(field) if field else None
    return found.name.get(lang) if found else (field or "—")


def _message(request: web.Request, said: Said) -> dict[str, Any]:
    """One message of the conversation as the template shows it."""
    return {
        "direction": said.direction,
        "text": _said(request, said.kind, said.text) if said.text or said.kind != "card" else "",
        "at": said.at,
        "delivery": said.delivery,
        "from_group": said.from_group,
    }


async def reply(request: web.Request) -> web.StreamResponse:
    """Send a reply to the applicant: the same path as a reply in the staff group."""
    view = await _ticket(request)
    text = await form_text(request, "text")
    nonce = await form_text(request, "nonce")
    if view.status != "open":
        return message(request, "web.tickets.errors.closed", 409)
    if not text:
        return message(request, "web.tickets.errors.empty", 400)
    if len(text) > REPLY_LIMIT:
        return message(request, "web.tickets.errors.too_long", 400, limit=REPLY_LIMIT)
    if not NONCE.fullmatch(nonce):
        nonce = secrets.token_urlsafe(16)
    svc = services(request)
    ticket = await _plain(request, view)
    info = await TicketRepo(svc.db).card_info(ticket.user_pk)
    if info is None:
        raise web.HTTPNotFound()
    await send_reply(
        svc,
        ticket,
        info,
        StaffReply(text),
        await actor(request),
        svc.clock.timestamp(),
        dedupe=f"web:{nonce}",
        app=_bot(request, ticket.platform),
    )  # the same form sent twice (a double click, a reload) is queued once
    raise _back(view.id, "replied", "#conversation")


async def add_note(request: web.Request) -> web.StreamResponse:
    """An internal note: staff only, never sent to the applicant."""
    view = await _ticket(request)
    text = await form_text(request, "text")
    if not text:
        return message(request, "web.tickets.errors.empty", 400)
    if len(text) > NOTE_LIMIT:
        return message(request, "web.tickets.errors.too_long", 400, limit=NOTE_LIMIT)
    svc = services(request)
    session = staff(request)
    now = svc.clock.timestamp()
    await TicketDeskRepo(svc.db).add_note(view.id, session.platform, session.user_id, text, now)
    await _audit(request, "ticket_note", {"ticket": view.id})
    raise _back(view.id, "noted", "#notes")


async def assign(request: web.Request) -> web.StreamResponse:
    """Give the ticket to myself, a colleague (who sees its county) or nobody."""
    view = await _ticket(request)
    choice = await form_text(request, "to")
    session = staff(request)
    svc = services(request)
    target: tuple[str, int] | None
    if choice == "me":
        target = (session.platform, session.user_id)
    elif not choice:
        target = None
    else:
        platform, _, raw = choice.partition(":")
        user_id = number(raw)
        target = (platform, user_id) if user_id is not None else None
        staff_repo = StaffRepo(svc.db)
        if (
            target is None
            or await staff_repo.role(*target) is None
            or not (await staff_repo.scope(*target)).allows(view.county)
        ):
            return message(request, "web.tickets.errors.not_staff", 400)
    await TicketDeskRepo(svc.db).assign(view.id, target, svc.clock.timestamp())
    to = f"{target[0]}:{target[1]}" if target else None
    await _audit(request, "ticket_assigned", {"ticket": view.id, "to": to})
    raise _back(view.id, "assigned")


async def close(request: web.Request) -> web.StreamResponse:
    """Close the ticket as the card's button does: the card says so, the applicant is told."""
    view = await _ticket(request)
    svc = services(request)
    ticket = await _plain(request, view)
    done = await close_ticket(
        svc, ticket, await actor(request), svc.clock.timestamp(), app=_bot(request, view.platform)
    )
    if not done:
        return message(request, "web.tickets.errors.already_closed", 409)
    raise _back(view.id, "closed")


async def reopen(request: web.Request) -> web.StreamResponse:
    """Open a closed ticket again (its card gets its Close button back)."""
    view = await _ticket(request)
    svc = services(request)
    ticket = await _plain(request, view)
    done = await reopen_ticket(
        svc, ticket, await actor(request), svc.clock.timestamp(), app=_bot(request, view.platform)
    )
    if not done:
        return message(request, "web.tickets.errors.already_open", 409)
    raise _back(view.id, "reopened")


async def _audit(request: web.Request, action: str, detail: dict[str, Any]) -> None:
    """Record a console action."""
    session = staff(request)
    await StaffRepo(services(request).db).audit(
        session.platform,
        session.user_id,
        action,
        {**detail, "via": "web"},
        services(request).clock.timestamp(),
    )


# --- saved replies ---------------------------------------------------------------------------
async def saved_replies(request: web.Request) -> web.StreamResponse:
    """/tickets/replies: every saved reply, to add, change or delete."""
    repo = TicketDeskRepo(services(request).db)
    names = await repo.names()
    replies = [
        {"reply": r, "by": staff_label(request, (r.updated_platform, r.updated_by), names)}
        for r in await repo.saved_replies()
    ]
    return render(
        request,
        "saved_replies.html",
        replies=replies,
        done=done_notice(request),
        title_limit=TITLE_LIMIT,
        reply_limit=REPLY_LIMIT,
    )


async def _saved_form(request: web.Request) -> tuple[str, str] | web.Response:
    """A saved reply's title and text from the form, or the page saying what is wrong."""
    title = " ".join((await form_text(request, "title")).split())
    body = await form_text(request, "body")
    if not title or not body:
        return message(request, "web.tickets.errors.empty", 400)
    if len(title) > TITLE_LIMIT or len(body) > REPLY_LIMIT:
        limit = TITLE_LIMIT if len(title) > TITLE_LIMIT else REPLY_LIMIT
        return message(request, "web.tickets.errors.too_long", 400, limit=limit)
    return title, body


async def save_reply(request: web.Request) -> web.StreamResponse:
    """Add a saved reply, or change one (/tickets/replies/<id>)."""
    form = await _saved_form(request)
    if isinstance(form, web.Response):
        return form
    reply_id = number(request.match_info.get("rid")) if "rid" in request.match_info else None
    if "rid" in request.match_info and reply_id is None:
        raise web.HTTPNotFound()
    session = staff(request)
    svc = services(request)
    saved = await TicketDeskRepo(svc.db).save_reply(
        reply_id, *form, (session.platform, session.user_id), svc.clock.timestamp()
    )
    if saved is None:
        raise web.HTTPNotFound()
    action = "saved_reply_added" if reply_id is None else "saved_reply_changed"
    await _audit(request, action, {"reply": saved})
    raise web.HTTPSeeOther("/tickets/replies?done=saved")


async def delete_reply(request: web.Request) -> web.StreamResponse:
    """Delete a saved reply."""
    reply_id = number(request.match_info.get("rid"))
    if reply_id is None or not await TicketDeskRepo(services(request).db).delete_reply(reply_id):
        raise web.HTTPNotFound()
    await _audit(request, "saved_reply_deleted", {"reply": reply_id})
    raise web.HTTPSeeOther("/tickets/replies?done=deleted")


def setup(app: web.Application) -> None:
    """Add the tickets routes."""
    app.router.add_get("/tickets", ticket_list)
    app.router.add_get("/tickets/replies", saved_replies)
    app.router.add_post("/tickets/replies", save_reply)
    app.router.add_post(r"/tickets/replies/{rid:\d+}", save_reply)
    app.router.add_post(r"/tickets/replies/{rid:\d+}/delete", delete_reply)
    app.router.add_get(r"/tickets/{id:\d+}", ticket_page)
    app.router.add_post(r"/tickets/{id:\d+}/reply", reply)
    app.router.add_post(r"/tickets/{id:\d+}/note", add_note)
    app.router.add_post(r"/tickets/{id:\d+}/assign", assign)
    app.router.add_post(r"/tickets/{id:\d+}/close", close)
    app.router.add_post(r"/tickets/{id:\d+}/reopen", reopen)
