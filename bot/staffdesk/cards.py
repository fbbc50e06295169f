"""The card staff see for a ticket: who the applicant is and how their business is doing."""

from __future__ import annotations

import datetime as dt

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.jalali import format_date
from bot.core.labels import format_mobile
from bot.repo.tickets import CardInfo, Ticket


def _label(content: Content, kind: str, value: str | None, lang: str, i18n: I18n) -> str:
    """A county, field or stage id as its label."""
    if not value:
        return "—"
    if kind == "county":
        item = content.county(value)
        return item.name.get(lang) if item else value
    if kind == "field":
        found = content.field(value)
        return found.name.get(lang) if found else value
    key = f"stages.{value}"
    return i18n.t(lang, key) if i18n.has(key) else value


def followup_subject(content: Content, lang: str, kind: str, detail: dict[str, object]) -> str:
    """A short line about what a follow-up is for: the problem, the reason it closed, the step
    the person asked help with ("" when the kind says it all)."""
    if kind == "problems" and (problem := content.problem(str(detail.get("problem", "")))):
        return problem.label.get(lang)
    if kind == "closed" and (reason := content.closed_reason(str(detail.get("reason", "")))):
        return reason.label.get(lang)
    if kind == "step_help" and (step := content.step(str(detail.get("step", "")))):
        return step.title.get(lang)
    return ""


def card_text(
    content: Content, i18n: I18n, lang: str, ticket: Ticket, info: CardInfo, body: str
) -> str:
    """The card: ticket number and kind, the applicant's profile, latest check-in, the message."""
    t = i18n.t
    latest = "—"
    if info.latest_status:
        when = format_date(dt.datetime.fromtimestamp(info.latest_at or 0, dt.UTC), lang)
        latest = f"{t(lang, f'inbox.status.{info.latest_status}')} ({when})"
    lines = [
        t(lang, "inbox.card_title", id=ticket.id, kind=t(lang, f"inbox.kind.{ticket.kind}")),
        f"👤 {info.full_name or '—'} · 📱 {format_mobile(info.mobile, lang)}",
        "📍 "
        + _label(content, "county", info.county, lang, i18n)
        + " · 🧵 "
        + _label(content, "field", info.field, lang, i18n)
        + " · 🚩 "
        + _label(content, "stage", info.stage, lang, i18n),
        t(lang, "inbox.card_latest", status=latest),
    ]
    if body:
        lines += ["", body]
    lines += ["", t(lang, "inbox.card_hint")]
    return "\n".join(lines)
