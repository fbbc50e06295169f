"""How the console shows broadcasts: who, the audience in words, the state, the figures, the
sizes; and the running bot's broadcast monitor, where this process has one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from bot.core.text import format_number, localize_digits
from bot.entry.services import Services
from bot.repo.broadcasts import CANCELLED, DONE, Broadcast
from bot.rules.scope import EVERYWHERE
from bot.staffdesk import broadcasts as desk
from bot.staffdesk.console_access import StaffSession
from web.keys import BOTS, services, staff

FINAL = (DONE, CANCELLED)
TAGS = {"scheduled": "warn", "queueing": "", "queued": "", DONE: "good", CANCELLED: "bad"}
FIGURES = ("rows", "sent", "failed", "unreachable", "stopped", "cancelled", "remaining")


@dataclass(frozen=True)
class Desk:
    """What a broadcast page needs of its request: services, the member, messengers served."""

    svc: Services
    staff: StaffSession
    served: list[str]

    @property
    def lang(self) -> str:
        """The member's language."""
        return str(self.staff.lang)

    def t(self, key: str, **values: Any) -> str:
        """A text in the member's language."""
        return self.svc.i18n.t(self.lang, key, **values)

    def num(self, n: int) -> str:
        """A count with grouped digits in the member's language."""
        return format_number(n, self.lang)

    def choices(self, dim: str, *, everywhere: bool = False) -> list[tuple[str, str]]:
        """A filter's (value, label) choices: the counties within reach unless ``everywhere``."""
        scope = EVERYWHERE if everywhere else self.staff.scope
        return desk.choices(self.svc.content, self.svc.i18n, self.lang, dim, self.served, scope)


def desk_of(request: web.Request) -> Desk:
    """The broadcast pages' view of a request."""
    svc, session = services(request), staff(request)
    return Desk(svc, session, desk.served(svc.settings, session.platform))


def monitor(request: web.Request, platform: str) -> Any:
    """The running bot's broadcast monitor of a messenger, or None (``homebiz web`` alone)."""
    app = request.app[BOTS].get(platform)
    proactive = app.bot_data.get("proactive") if app is not None else None
    return getattr(proactive, "broadcasts", None)


def audience_text(d: Desk, audience: Mapping[str, Sequence[str]]) -> str:
    """ "County: Karaj, Fardis · Stage: …", or "Everyone"; the messengers only when they are a
    choice and not all were chosen."""
    parts = []
    for dim in desk.dimensions(d.served):
        chosen = list(audience.get(dim) or ())
        if not chosen or (dim == "platform" and set(d.served) <= set(chosen)):
            continue
        labels = dict(d.choices(dim, everywhere=True))
        sep = "، " if d.lang == "fa" else ", "
        values = sep.join(labels.get(v, v) for v in chosen)
        parts.append(d.t("web.broadcasts.summary_part", dim=d.t(f"web.broadcasts.dim.{dim}"),
                         values=values))  # fmt: skip
    return " · ".join(parts) or d.t("web.broadcasts.everyone")


def who_text(d: Desk, b: Broadcast, name: str | None) -> str:
    """The author: their name, else messenger:id."""
    return name or localize_digits(f"{b.platform}:{b.created_by}", d.lang)


def figures(d: Desk, b: Broadcast) -> dict[str, Any]:
    """A broadcast's state and figures as the detail page and its script show them."""
    f = b.figures if b.status in FINAL else b.outlook
    if b.status == CANCELLED and b.unqueued:  # stopped before all were queued: those never go
        f = replace(f, rows=f.rows + b.unqueued, cancelled=f.cancelled + b.unqueued)
    values = {name: getattr(f, name) for name in FIGURES}
    return {
        "status": b.status,
        "final": b.status in FINAL,
        "state": d.t(f"web.broadcasts.state.{b.status}"),
        "tag": TAGS.get(b.status, ""),
        "done": f.finished,
        "total": f.rows,
        "text": {name: d.num(value) for name, value in values.items()},
    }


def size_text(d: Desk, size: int) -> str:
    """A file's size in MB or KB."""
    if size >= 1024 * 1024:
        n = localize_digits(f"{size / (1024 * 1024):.1f}", d.lang)
        return d.t("web.broadcasts.size.mb", n=n)
    return d.t("web.broadcasts.size.kb", n=d.num(max(1, round(size / 1024))))
