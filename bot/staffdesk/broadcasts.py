"""Broadcasts as staff make them, in the chat (/broadcast) or in the console: the builder's
choices, the audience within a staff member's counties, the texts' limits, the counts, and the
launch and the cancel, each audited. Both front doors call these; neither keeps its own copy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.content.model import Content
from bot.core.config import Settings
from bot.core.i18n import I18n
from bot.core.text import utf16_len
from bot.db.engine import Database
from bot.repo.audiences import CHECKIN_VALUES, DIMENSIONS, LANG_VALUES, AudienceRepo
from bot.repo.broadcast_files import BroadcastFileRepo, stored_id
from bot.repo.broadcasts import SCHEDULED, Broadcast, BroadcastRepo, Cancellation, Draft
from bot.repo.staff import StaffRepo
from bot.rules.scope import Scope
from bot.rules.stages import STAGES

MAX_TEXT, MAX_CAPTION = 4096, 1024  # the Bot API's limits for a message and a caption


class OutOfScope(ValueError):
    """Counties a staff member chose that they may not reach."""

    def __init__(self, counties: Sequence[str]) -> None:
        """Name them."""
        super().__init__(", ".join(counties))
        self.counties = list(counties)


@dataclass(frozen=True)
class Counts:
    """How many an audience holds: in all, per language and per messenger."""

    total: int
    by_lang: dict[str, int]
    by_messenger: dict[str, int]


def served(settings: Settings, platform: str) -> list[str]:
    """The messengers this bot serves (the one in use when none is configured)."""
    return [p.name for p in settings.platforms] or [platform]


def dimensions(messengers: Sequence[str]) -> list[str]:
    """The builder's filters (the messenger only where there is a choice)."""
    return [d for d in DIMENSIONS if d != "platform" or len(messengers) > 1]


def choices(
    content: Content,
    i18n: I18n,
    lang: str,
    dim: str,
    messengers: Sequence[str],
    scope: Scope,
) -> list[tuple[str, str]]:
    """The (value, label) choices of one filter; the counties only those within ``scope``."""
    if dim == "county":
        return [(c.id, c.name.get(lang)) for c in content.counties if scope.allows(c.id)]
    if dim == "field":
        return [(f.id, f.name.get(lang)) for f in content.fields]
    if dim == "stage":
        return [(s, i18n.t(lang, f"stages.{s}")) for s in STAGES]
    if dim == "checkin":
        return [(c, i18n.t(lang, f"broadcast.checkin.{c}")) for c in CHECKIN_VALUES]
    if dim == "platform":
        return [(p, i18n.t(lang, f"broadcast.platform.{p}")) for p in messengers]
    return [(code, i18n.t(lang, f"broadcast.lang.{code}")) for code in LANG_VALUES]


def reachable(audience: Mapping[str, Sequence[str]], scope: Scope) -> dict[str, list[str]]:
    """The chosen filters without counties out of ``scope`` (a draft older than a new scope)."""
    found = {k: list(v) for k, v in audience.items() if v}
    if scope.counties is not None and found.get("county"):
        found["county"] = [c for c in found["county"] if c in scope.counties]
    return {k: v for k, v in found.items() if v}


def target(
    audience: Mapping[str, Sequence[str]], messengers: Sequence[str], scope: Scope
) -> dict[str, list[str]]:
    """The audience to count and queue: every messenger served unless staff chose, and for a
    scoped member their counties (those chosen, else all of theirs); OutOfScope if a chosen
    county is not theirs."""
    found = {k: list(v) for k, v in audience.items() if v}
    if not found.get("platform"):
        found["platform"] = list(messengers)
    if scope.counties is not None:
        outside = [c for c in found.get("county", []) if c not in scope.counties]
        if outside:
            raise OutOfScope(outside)
        found["county"] = found.get("county") or sorted(scope.counties)
    return found


def visible_to(scope: Scope, audience: Mapping[str, Sequence[str]]) -> bool:
    """Whether a staff member may see a broadcast: unscoped, or its audience is limited to
    counties of theirs (the SQL twin is BroadcastRepo.page's condition)."""
    if scope.counties is None:
        return True
    counties = list(audience.get("county") or ())
    return bool(counties) and all(c in scope.counties for c in counties)


def text_problem(text: str, limit: int) -> tuple[str, dict[str, int]] | None:
    """Why a text cannot go out as it is (a locale key and its values), or None."""
    if not text.strip():
        return "broadcast.empty", {}
    if utf16_len(text) > limit:
        return "broadcast.too_long", {"length": utf16_len(text), "limit": limit}
    return None


def text_limit(content: Mapping[str, Any]) -> int:
    """The longest text a broadcast may carry: a caption's under a photo or document."""
    return MAX_CAPTION if content.get("photo") or content.get("document") else MAX_TEXT


async def counts(db: Database, platform: str, audience: Mapping[str, Sequence[str]]) -> Counts:
    """How many the audience holds, per language and per messenger (from the summary cells)."""
    repo = AudienceRepo(db)
    by_lang = await repo.languages(platform, audience)
    by_messenger = await repo.messengers(platform, audience)
    return Counts(sum(by_lang.values()), by_lang, by_messenger)


def per_version(texts: Mapping[str, str], by_lang: Mapping[str, int]) -> dict[str, int]:
    """How many get each written version: their own language's, else the Persian one, else the
    only one written (payload_for's choice)."""
    found = {lang: 0 for lang in texts}
    for lang, n in by_lang.items():
        version = lang if texts.get(lang) else "fa" if texts.get("fa") else next(iter(texts))
        found[version] = found.get(version, 0) + n
    return found


async def launch(db: Database, draft: Draft, now: int, *, via: str = "") -> Broadcast | None:
    """Store a broadcast to queue (now or at its time) and audit it; None when no one matches.
    A stored file it carries stays as long as it does."""
    repo = BroadcastRepo(db)
    launched = await repo.launch(draft, now)
    if launched is None:
        return None
    bid, count = launched
    for key in ("photo", "document"):
        pk = stored_id(draft.content.get(key))
        if pk is not None:
            await BroadcastFileRepo(db).attach(pk, bid)
    b = await repo.get(bid)
    assert b is not None
    action = "broadcast_scheduled" if b.status == SCHEDULED else "broadcast_sent"
    detail: dict[str, Any] = {"id": bid, "count": count, "send_at": draft.send_at}
    if via:
        detail["via"] = via
    await StaffRepo(db).audit(draft.platform, draft.created_by, action, detail, now)
    return b


async def cancel(
    db: Database,
    b: Broadcast,
    actor: tuple[str, int],
    now: int,
    *,
    wait: bool,
    via: str = "",
) -> Cancellation | None:
    """Cancel a scheduled or running broadcast and audit it; None if it had already ended.
    ``wait``: cancel its pending rows before returning (no monitor will do it)."""
    cancelled = await BroadcastRepo(db).cancel(b.id, now, wait=wait)
    if cancelled is None:
        return None
    detail: dict[str, Any] = {"id": b.id, "cancelled": cancelled.count}
    if via:
        detail["via"] = via
    await StaffRepo(db).audit(actor[0], actor[1], "broadcast_cancelled", detail, now)
    return cancelled
