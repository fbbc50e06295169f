"""The console's broadcast form: what staff typed, ticked and attached, checked by the bot's own
rules (bot.staffdesk.broadcasts, parse_when) before anything is counted or queued.

An attached file is kept as soon as the form carrying it arrives (a browser cannot fill a file
field again), and the form then names it by id; only its uploader may name it, and only until a
broadcast takes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from bot.core.jalali import format_date, tehran_today
from bot.core.text import localize_digits, parse_id, to_latin_digits
from bot.core.validators import ValidationError
from bot.repo.broadcast_files import BroadcastFileRepo, StoredFile
from bot.repo.staff import StaffRepo
from bot.rules.broadcast_files import DOCUMENT_MAX, FileRefused, check_upload
from bot.staffdesk import broadcasts as desk
from scheduler.broadcasts import parse_when
from web.broadcast_view import Desk

LANGS = ("fa", "en")


@dataclass
class Compose:
    """One state of the form, with what is wrong with it."""

    texts: dict[str, str] = field(default_factory=lambda: dict.fromkeys(LANGS, ""))
    filters: dict[str, list[str]] = field(default_factory=dict)
    when: str = "now"
    date: str = ""
    time: str = ""
    file: StoredFile | None = None
    errors: list[str] = field(default_factory=list)
    refused: bool = False  # a county out of the member's reach was sent (a forged form)
    send_at: int | None = None

    @property
    def written(self) -> dict[str, str]:
        """The versions written, by language."""
        return {lang: text for lang, text in self.texts.items() if text.strip()}

    def content(self) -> dict[str, Any]:
        """The broadcast's content as /broadcast stores it."""
        ref = self.file.ref if self.file else None
        kind = self.file.kind if self.file else ""
        return {
            "texts": self.written,
            "photo": ref if kind == "photo" else None,
            "document": ref if kind == "document" else None,
        }

    @property
    def status(self) -> int:
        """The HTTP status of the form shown again: refused, wrong, or fine."""
        return 403 if self.refused else 400 if self.errors else 200


def _text(form: MultiMapping[Any], name: str) -> str:
    """A text field as typed (line ends made plain), or ""."""
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def read_filters(d: Desk, form: MultiMapping[Any], compose: Compose) -> None:
    """The ticked filter values; unknown ones are an error, another county a refusal."""
    for dim in desk.dimensions(d.served):
        chosen = list(dict.fromkeys(v for v in form.getall(dim, []) if isinstance(v, str)))
        known = {value for value, _ in d.choices(dim, everywhere=True)}
        if set(chosen) - known:
            compose.errors.append(d.t("web.broadcasts.errors.value"))
            chosen = [v for v in chosen if v in known]
        if chosen:
            compose.filters[dim] = chosen
    try:
        desk.target(compose.filters, d.served, d.staff.scope)
    except desk.OutOfScope:
        compose.refused = True
        compose.errors.append(d.t("web.broadcasts.errors.scope"))


async def _read_file(d: Desk, form: MultiMapping[Any], compose: Compose, now: int) -> None:
    """The attachment: a new upload (kept at once), the one kept before, or none."""
    repo = BroadcastFileRepo(d.svc.db)
    upload = form.get("file")
    if isinstance(upload, web.FileField) and upload.filename:
        data = upload.file.read(DOCUMENT_MAX + 1)
        try:
            attachment = check_upload(upload.filename, data)
        except FileRefused as exc:
            compose.errors.append(d.t(f"web.broadcasts.errors.file.{exc.code}", **exc.values))
            return
        session = d.staff
        stored = await repo.add(session.platform, session.user_id, attachment, data, now)
        detail = {"id": stored.id, "kind": stored.kind, "size": stored.size, "via": "web"}
        await StaffRepo(d.svc.db).audit(
            session.platform, session.user_id, "broadcast_file", detail, now
        )
        compose.file = stored
        return
    kept = parse_id(_text(form, "stored"))
    if kept is None or form.get("drop_file"):
        return
    found = await repo.get(kept)
    me = (d.staff.platform, d.staff.user_id)
    if found is None or (found.platform, found.created_by) != me or found.broadcast_id:
        compose.errors.append(d.t("web.broadcasts.errors.file.gone"))
        return
    compose.file = found


async def read_form(d: Desk, form: MultiMapping[Any], now: int) -> Compose:
    """The form as sent: texts, filters (checked), schedule fields and attachment (kept)."""
    compose = Compose(texts={lang: _text(form, f"text_{lang}") for lang in LANGS})
    compose.when = "at" if form.get("when") == "at" else "now"
    compose.date, compose.time = _text(form, "date").strip(), _text(form, "time").strip()
    read_filters(d, form, compose)
    await _read_file(d, form, compose, now)
    return compose


def examples(d: Desk, now: dt.datetime) -> dict[str, str]:
    """A date (tomorrow, Solar Hijri) and a time to show as examples, in the member's digits."""
    day = format_date(tehran_today(now) + dt.timedelta(days=1), "fa")
    return {
        "date": localize_digits(to_latin_digits(day), d.lang),
        "time": localize_digits("09:30", d.lang),
    }


def check(d: Desk, compose: Compose, now: dt.datetime) -> None:
    """Everything a broadcast needs before a preview or a launch: a text within its limit in at
    least one language, and a time that has not passed (within 60 days)."""
    written = compose.written
    if not written:
        compose.errors.append(d.t("web.broadcasts.errors.no_text"))
    limit = desk.text_limit(compose.content())
    for lang, text in written.items():
        problem = desk.text_problem(text, limit)
        if problem:
            key, values = problem
            shown = {k: d.num(v) for k, v in values.items()}
            compose.errors.append(
                d.t(f"web.broadcasts.errors.text_{lang}", problem=d.t(key, **shown))
            )
    if compose.when != "at":
        compose.send_at = None
        return
    if not compose.date or not compose.time:
        compose.errors.append(d.t("web.broadcasts.errors.when_missing"))
        return
    try:
        compose.send_at = parse_when(f"{compose.date} {compose.time}", now)
    except ValidationError as exc:
        compose.errors.append(_when_error(d, exc.code, now))


def _when_error(d: Desk, code: str, now: dt.datetime) -> str:
    """The message of a refused time, in the member's language."""
    if code.startswith("broadcast."):
        return d.t(code)
    if code == "datetime.format":
        return d.t("web.broadcasts.errors.when_format", **examples(d, now))
    key = f"validation.{code}"
    return d.t(key if d.svc.i18n.has(key) else "validation.datetime.invalid")


def hidden_fields(compose: Compose) -> list[tuple[str, str]]:
    """The form as hidden fields, to carry it through the preview."""
    fields = [(f"text_{lang}", text) for lang, text in compose.texts.items()]
    fields += [(dim, v) for dim, values in compose.filters.items() for v in values]
    fields += [("when", compose.when), ("date", compose.date), ("time", compose.time)]
    if compose.file is not None:
        fields.append(("stored", str(compose.file.id)))
    return fields
