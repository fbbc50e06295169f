"""The audit log (admins only): newest first, keyset pages, filtered by action and by actor,
every detail shown as text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.core.text import parse_id, to_latin_digits
from bot.repo.audit_log import AuditFilter, AuditLogRepo, AuditRow
from web.guard import admin_only
from web.keys import services, staff
from web.render import render

#: The longest a detail's value is shown (the entry itself keeps it whole).
VALUE_CUT = 300
ACTION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _filter(request: web.Request) -> AuditFilter:
    """The filters in the query string; anything malformed is no filter."""
    action = request.query.get("action", "").strip()
    if not action or len(action) > 64 or not set(action) <= ACTION_CHARS:
        action = ""
    platform, _, user = to_latin_digits(request.query.get("actor", "")).strip().rpartition(":")
    actor = parse_id(user.strip())
    platform = platform.strip()
    valid_platform = platform.isascii() and platform.isalnum() and len(platform) <= 20
    return AuditFilter(
        action=action or None,
        platform=platform if actor is not None and valid_platform else None,
        actor=actor,
    )


def _shown(value: Any) -> str:
    """A detail's value as text: numbers and words as they are, anything else as JSON."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None or isinstance(value, int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= VALUE_CUT else text[: VALUE_CUT - 1] + "…"


def _entry(row: AuditRow, key_label: Callable[[str], str]) -> dict[str, Any]:
    """One entry for the template: a detail is (its key, the key in words, its value)."""
    return {
        "id": row.id,
        "at": row.at,
        "who": f"{row.platform}:{row.actor}",
        "theirs": _link(AuditFilter(platform=row.platform, actor=row.actor)),
        "action": row.action,
        "detail": [(str(k), key_label(str(k)), _shown(v)) for k, v in row.detail.items()],
    }


def _link(where: AuditFilter, **cursor: int) -> str:
    """/audit with these filters and a page cursor."""
    query: dict[str, Any] = {}
    if where.action:
        query["action"] = where.action
    if where.actor is not None:
        query["actor"] = f"{where.platform}:{where.actor}" if where.platform else where.actor
    query.update(cursor)
    return "/audit" + ("?" + urlencode(query) if query else "")


@admin_only
async def show(request: web.Request) -> web.StreamResponse:
    """GET /audit: a page of entries, newest first."""
    svc = services(request)
    repo = AuditLogRepo(svc.db)
    where = _filter(request)
    before = parse_id(request.query.get("before", ""))
    after = parse_id(request.query.get("after", "")) if before is None else None
    rows = await repo.page(where, before=before, after=after)
    newer = older = None
    if rows:
        if await repo.exists(where, after=rows[0].id):
            newer = _link(where, after=rows[0].id)
        if await repo.exists(where, before=rows[-1].id):
            older = _link(where, before=rows[-1].id)
    lang = staff(request).lang
    actions = await repo.actions()
    labels = {
        action: svc.i18n.t(lang, f"web.audit.actions.{action}")
        for action in actions
        if svc.i18n.has(f"web.audit.actions.{action}")
    }

    def key_label(key: str) -> str:
        """A detail's key in words, when the console knows it."""
        known = f"web.audit.keys.{key}"
        return svc.i18n.t(lang, known) if svc.i18n.has(known) else key

    return render(
        request,
        "audit.html",
        entries=[_entry(r, key_label) for r in rows],
        where=where,
        chosen_actor=f"{where.platform}:{where.actor}" if where.actor is not None else "",
        actions=actions,
        actors=[f"{p}:{u}" for p, u in await repo.actors()],
        labels=labels,
        newer=newer,
        older=older,
        newest=_link(where) if (before or after) else None,
    )


def setup(app: web.Application) -> None:
    """Add /audit."""
    app.router.add_get("/audit", show)
