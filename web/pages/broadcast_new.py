"""/broadcasts/new: compose a broadcast (texts, a photo or document, the audience with its count,
the time), preview it, send it; /broadcasts/count: the live count for the page's script.

Everything goes through the bot's own rules and functions (bot.staffdesk.broadcasts): the same
filters, counts, limits, time parsing and launch as /broadcast, audited with "via": "web".
Without script the page works by its buttons: "count again", "preview", "send".
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.repo.broadcasts import SCHEDULED, Draft
from bot.rules.broadcast_files import DOCUMENT_MAX, MB, PHOTO_MAX
from bot.staffdesk import broadcasts as desk
from scheduler.broadcasts import when_text
from web.broadcast_form import Compose, check, examples, hidden_fields, read_filters, read_form
from web.broadcast_view import Desk, audience_text, desk_of, monitor, size_text
from web.render import render


def _target(d: Desk, compose: Compose) -> dict[str, list[str]]:
    """The audience to count: the form's, or (refused) the member's own counties."""
    try:
        return desk.target(compose.filters, d.served, d.staff.scope)
    except desk.OutOfScope:
        return desk.target({}, d.served, d.staff.scope)


def _dims(d: Desk) -> list[dict[str, Any]]:
    """The filters the page offers, each with its choices (the counties within reach)."""
    return [
        {"name": dim, "label": d.t(f"web.broadcasts.dim.{dim}"), "choices": d.choices(dim)}
        for dim in desk.dimensions(d.served)
    ]


async def _form(request: web.Request, d: Desk, compose: Compose) -> web.Response:
    """The compose page for this state of the form, with its count and its errors."""
    counts = await desk.counts(d.svc.db, d.staff.platform, _target(d, compose))
    scope = d.staff.scope
    scope_note = ""
    if scope.counties is not None:
        sep = "، " if d.lang == "fa" else ", "
        names = sep.join(label for _, label in d.choices("county"))
        scope_note = d.t("web.broadcasts.compose.scope_note", counties=names)
    limits = {"photo": d.num(PHOTO_MAX // MB), "document": d.num(DOCUMENT_MAX // MB)}
    return render(
        request,
        "broadcast_new.html",
        status=compose.status,
        compose=compose,
        dims=_dims(d),
        count_text=d.t("web.broadcasts.compose.count", count=d.num(counts.total)),
        scope_note=scope_note,
        file_hint=d.t(
            "web.broadcasts.compose.file_hint", caption=d.num(desk.MAX_CAPTION), **limits
        ),
        file_size=size_text(d, compose.file.size) if compose.file else "",
        examples=examples(d, d.svc.clock.now()),
    )


async def compose_page(request: web.Request) -> web.StreamResponse:
    """An empty form: everyone within reach, now."""
    d = desk_of(request)
    return await _form(request, d, Compose())


async def compose_post(request: web.Request) -> web.StreamResponse:
    """The form's buttons: count again (or change), preview, send."""
    d = desk_of(request)
    form = await request.post()
    now = d.svc.clock.timestamp()
    compose = await read_form(d, form, now)
    action = form.get("action")
    if action not in ("preview", "send") or compose.refused:
        return await _form(request, d, compose)
    check(d, compose, d.svc.clock.now())
    target = _target(d, compose)
    counts = await desk.counts(d.svc.db, d.staff.platform, target)
    if not compose.errors and not counts.total:
        compose.errors.append(d.t("web.broadcasts.errors.no_one"))
    if compose.errors:
        return await _form(request, d, compose)
    if action == "preview":
        return _preview(request, d, compose, counts, target)
    session = d.staff
    send_at = max(compose.send_at or now, now)
    draft = Draft(session.platform, session.user_id, compose.content(), target, send_at)
    b = await desk.launch(d.svc.db, draft, now, via="web")
    if b is None:
        compose.errors.append(d.t("web.broadcasts.errors.no_one"))
        return await _form(request, d, compose)
    running = monitor(request, session.platform)
    if running is not None and b.status != SCHEDULED:
        running.wake()  # queue it now rather than at the next tick
    done = "scheduled" if b.status == SCHEDULED else "sent"
    raise web.HTTPSeeOther(f"/broadcasts/{b.id}?done={done}")


def _preview(
    request: web.Request,
    d: Desk,
    compose: Compose,
    counts: desk.Counts,
    target: dict[str, list[str]],
) -> web.Response:
    """How the message will look in each language written, who gets which, and when."""
    per = desk.per_version(compose.written, counts.by_lang)
    versions = [
        {
            "lang": lang,
            "label": d.t(f"web.broadcasts.version.{lang}"),
            "text": text,
            "gets": d.t("web.broadcasts.preview.gets", count=d.num(per.get(lang, 0))),
        }
        for lang, text in compose.written.items()
    ]
    by_messenger = ""
    if len(d.served) > 1:
        parts = " · ".join(
            d.t("web.broadcasts.preview.on_messenger",
                messenger=d.t(f"broadcast.platform.{p}"),
                count=d.num(counts.by_messenger.get(p, 0)))
            for p in d.served
        )  # fmt: skip
        by_messenger = d.t("web.broadcasts.preview.by_messenger", parts=parts)
    total = d.num(counts.total)
    if compose.send_at is None:
        when, button = d.t("web.broadcasts.preview.when_now"), "send_now"
    else:
        shown = when_text(d.svc.i18n, d.lang, compose.send_at)
        when, button = d.t("web.broadcasts.preview.when_at", when=shown), "send_at"
    return render(
        request,
        "broadcast_preview.html",
        compose=compose,
        versions=versions,
        total=d.t("web.broadcasts.preview.total", count=total),
        by_messenger=by_messenger,
        audience=audience_text(d, target),
        when_text=when,
        send_label=d.t(f"web.broadcasts.preview.{button}", count=total),
        hidden=hidden_fields(compose),
        file_size=size_text(d, compose.file.size) if compose.file else "",
    )


async def count(request: web.Request) -> web.StreamResponse:
    """The live count of the filters in the query (the page's script asks as boxes are ticked)."""
    d = desk_of(request)
    compose = Compose()
    read_filters(d, request.query, compose)
    if compose.errors:
        return web.json_response({"error": compose.errors[0]}, status=compose.status)
    counts = await desk.counts(d.svc.db, d.staff.platform, _target(d, compose))
    text = d.t("web.broadcasts.compose.count", count=d.num(counts.total))
    return web.json_response({"total": counts.total, "text": text})


def setup(app: web.Application) -> None:
    """Add the compose page and the live count."""
    app.router.add_get("/broadcasts/new", compose_page)
    app.router.add_post("/broadcasts/new", compose_post)
    app.router.add_get("/broadcasts/count", count)
