"""/broadcasts: the list, one broadcast's live progress, its cancel, and its attached file.

The same broadcasts as /broadcast in the chat (bot.repo.broadcasts). A county-scoped member sees
only broadcasts whose audience is limited to their counties; any other id answers 404, exactly
like a missing one.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.core.text import parse_id
from bot.repo.broadcast_files import BroadcastFileRepo, StoredFile, stored_id
from bot.repo.broadcasts import Broadcast, BroadcastRepo
from bot.staffdesk import broadcasts as desk
from scheduler.broadcasts import show_cancelled, when_text
from web.broadcast_view import (
    FINAL,
    Desk,
    audience_text,
    desk_of,
    figures,
    monitor,
    size_text,
    who_text,
)
from web.keys import BOTS
from web.render import render

PAGE = 50


async def _visible(request: web.Request, d: Desk) -> Broadcast:
    """The broadcast named in the path, if this member may see it; else 404."""
    bid = parse_id(request.match_info["id"])
    b = await BroadcastRepo(d.svc.db).get(bid) if bid is not None else None
    if b is None or not desk.visible_to(d.staff.scope, b.audience):
        raise web.HTTPNotFound()
    return b


async def listing(request: web.Request) -> web.StreamResponse:
    """Every broadcast this member may see, newest first, fifty a page."""
    d = desk_of(request)
    before = parse_id(request.query.get("before", ""))
    found = await BroadcastRepo(d.svc.db).page(d.staff.scope.counties, before, PAGE + 1)
    rows = [
        {
            "id": b.id,
            "who": who_text(d, b, name),
            "send_at": b.send_at,
            "audience": audience_text(d, b.audience),
            **figures(d, b),
        }
        for b, name in found[:PAGE]
    ]
    older = found[PAGE - 1][0].id if len(found) > PAGE else None
    return render(
        request,
        "broadcasts.html",
        rows=rows,
        older=older,
        paged=before is not None,
        scoped=d.staff.scope.counties is not None,
        no_bot=not request.app[BOTS],
    )


async def _attachment(d: Desk, b: Broadcast) -> tuple[StoredFile | None, bool]:
    """The console-uploaded file a broadcast carries, and whether it carries one from the chat."""
    for key in ("photo", "document"):
        value = b.content.get(key)
        pk = stored_id(value)
        if pk is not None:
            return await BroadcastFileRepo(d.svc.db).get(pk), False
        if value:
            return None, True
    return None, False


async def detail(request: web.Request) -> web.StreamResponse:
    """One broadcast: who, when, audience, message, live figures, and Cancel while it runs."""
    d = desk_of(request)
    b = await _visible(request, d)
    author = await d.svc.users.find(b.platform, b.created_by)
    stored, from_chat = await _attachment(d, b)
    done = request.query.get("done", "")
    return render(
        request,
        "broadcast.html",
        b=b,
        who=who_text(d, b, author.full_name if author else None),
        audience=audience_text(d, b.audience),
        fig=figures(d, b),
        texts=b.content.get("texts") or {},
        stored=stored,
        stored_size=size_text(d, stored.size) if stored else "",
        from_chat=from_chat,
        notice=_notice(d, b, done),
        transient=done in ("sent", "scheduled"),
        no_bot=not request.app[BOTS],
    )


async def progress(request: web.Request) -> web.StreamResponse:
    """The figures as JSON, for the page's script to show without a reload."""
    d = desk_of(request)
    b = await _visible(request, d)
    return web.json_response(figures(d, b), headers={"Cache-Control": "no-store"})


async def cancel(request: web.Request) -> web.StreamResponse:
    """Cancel a scheduled or running broadcast; without ``confirm=yes`` first ask."""
    d = desk_of(request)
    b = await _visible(request, d)
    form = await request.post()
    if b.status in FINAL:
        raise web.HTTPSeeOther(f"/broadcasts/{b.id}?done=over")
    if form.get("confirm") != "yes":
        return render(request, "broadcast_cancel.html", b=b)
    running = monitor(request, b.platform)
    actor = (d.staff.platform, d.staff.user_id)
    now = d.svc.clock.timestamp()
    cancelled = await desk.cancel(d.svc.db, b, actor, now, wait=running is None, via="web")
    if cancelled is None:
        raise web.HTTPSeeOther(f"/broadcasts/{b.id}?done=over")
    if running is not None:
        running.wake()  # its pending rows are cancelled in the background
    app = request.app[BOTS].get(b.platform)
    if app is not None:  # the status message in the chat, if it was made there
        await show_cancelled(app.bot, d.svc, b, cancelled.figures)
    raise web.HTTPSeeOther(f"/broadcasts/{b.id}?done=cancelled")


def _notice(d: Desk, b: Broadcast, done: str) -> str:
    """The line that says what just happened (the address names it by a word, not a text)."""
    if done == "cancelled":
        return d.t("web.broadcasts.detail.cancelled", id=d.num(b.id))
    if done == "over":
        return d.t("web.broadcasts.detail.already_over", id=d.num(b.id))
    if done in ("sent", "scheduled") and b.status in FINAL:
        return ""  # it has ended since: the figures say the rest
    if done == "sent":
        return d.t("web.broadcasts.detail.sent_now", id=d.num(b.id), count=d.num(b.total))
    if done == "scheduled":
        when = when_text(d.svc.i18n, d.lang, b.send_at)
        return d.t("web.broadcasts.detail.scheduled", id=d.num(b.id), when=when,
                   count=d.num(b.total))  # fmt: skip
    return ""


async def stored_file(request: web.Request) -> web.StreamResponse:
    """An uploaded file: to its uploader while it is a draft, then to whoever may see its
    broadcast. Photos open in the page; documents download."""
    d = desk_of(request)
    pk = parse_id(request.match_info["pk"])
    repo = BroadcastFileRepo(d.svc.db)
    found = await repo.get(pk) if pk is not None else None
    if found is None:
        raise web.HTTPNotFound()
    if found.broadcast_id is None:
        if (found.platform, found.created_by) != (d.staff.platform, d.staff.user_id):
            raise web.HTTPNotFound()
    else:
        b = await BroadcastRepo(d.svc.db).get(found.broadcast_id)
        if b is None or not desk.visible_to(d.staff.scope, b.audience):
            raise web.HTTPNotFound()
    data = await repo.data(found.id)
    if data is None:
        raise web.HTTPNotFound()
    how = "inline" if found.kind == "photo" else "attachment"
    return web.Response(
        body=data,
        content_type=found.mime,
        headers={
            "Content-Disposition": f"{how}; filename*=UTF-8''{quote(found.name)}",
            "Cache-Control": "private, max-age=300",
        },
    )


def setup(app: web.Application) -> None:
    """Add the broadcast list, detail, progress, cancel and file routes."""
    app.router.add_get("/broadcasts", listing)
    app.router.add_get(r"/broadcasts/{id:\d+}", detail)
    app.router.add_get(r"/broadcasts/{id:\d+}/progress", progress)
    app.router.add_post(r"/broadcasts/{id:\d+}/cancel", cancel)
    app.router.add_get(r"/broadcasts/files/{pk:\d+}", stored_file)
