"""What each export sheet holds, in the staff member's language: headers, and the words the bot
showed instead of stored codes (stages, steps, answers, check-in details, follow-up subjects)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jdatetime

from bot.content.model import Choice, Content
from bot.core.i18n import I18n
from bot.core.jalali import TEHRAN
from bot.core.labels import card_national_code, national_mobile, staff_count_label
from bot.core.text import localize_digits
from bot.repo.reports import (
    APPLICANT_COLUMNS,
    CHECKIN_COLUMNS,
    DATE_COLUMNS,
    FOLLOWUP_COLUMNS,
    STEP_COLUMNS,
    TICKET_COLUMNS,
    TIMESTAMP_COLUMNS,
    ReportRepo,
)
from bot.repo.roster_figures import ROSTER_COLUMNS, ROSTER_TIMESTAMP_COLUMNS, RosterFiguresRepo
from bot.staffdesk.reports import ALL_STATUSES, STAGES, label

__all__ = ["SHEET_NAMES", "ExportSheet", "export_sheets", "jalali_date", "jalali_timestamp"]

Row = dict[str, Any]
#: Makes the cells of one stored column (one, or two for dates: Solar Hijri then ISO).
CellMaker = Callable[[Row], Sequence[Any]]
#: The tables, in sheet order; each name is also the end of its CSV file's name.
SHEET_NAMES: tuple[str, ...] = (
    "applicants",
    "steps",
    "checkins",
    "followups",
    "tickets",
    "roster",
)
#: Keys of a check-in answer's detail, each in its own column(s), in this order.
DETAIL_KEYS: tuple[str, ...] = ("staff", "sales", "problem", "reason", "restart", "note")
_ROWS: dict[str, Callable[[ReportRepo, int], AsyncIterator[Row]]] = {
    "applicants": lambda repo, size: repo.applicants(size),
    "steps": lambda repo, size: repo.step_progress(size),
    "checkins": lambda repo, size: repo.checkins(size),
    "followups": lambda repo, size: repo.followups(size),
    "tickets": lambda repo, size: repo.tickets(size),
    "roster": lambda repo, size: RosterFiguresRepo(repo.db).sheet(size, repo.scope),
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "applicants": APPLICANT_COLUMNS,
    "steps": STEP_COLUMNS,
    "checkins": CHECKIN_COLUMNS,
    "followups": FOLLOWUP_COLUMNS,
    "tickets": TICKET_COLUMNS,
    "roster": ROSTER_COLUMNS,
}
#: Columns holding Unix seconds, in any sheet.
_TIMESTAMPS = TIMESTAMP_COLUMNS | ROSTER_TIMESTAMP_COLUMNS
# Columns formatted as text in the workbook, so that a cell edited in Excel stays text.
_DIGITS = frozenset({"mobile", "national_code"})


@functools.lru_cache(maxsize=8192)
def _jalali_day(day: dt.date) -> str:
    """A Gregorian date as Solar Hijri "YYYY/MM/DD" with Latin digits (cached: days repeat)."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{j.year:04d}/{j.month:02d}/{j.day:02d}"


def jalali_timestamp(ts: int | None) -> tuple[str | None, str | None]:
    """Unix seconds as Tehran time: ("1405/09/08 11:30", "2026-11-29T11:30:00+03:30")."""
    if ts is None:
        return None, None
    local = dt.datetime.fromtimestamp(ts, TEHRAN)
    return f"{_jalali_day(local.date())} {local.hour:02d}:{local.minute:02d}", local.isoformat()


def jalali_date(iso: str | None) -> tuple[str | None, str | None]:
    """An ISO date as ("1405/09/08", "2026-11-29"); a malformed one keeps only its text."""
    if not iso:
        return None, iso or None
    try:
        day = dt.date.fromisoformat(iso)
    except ValueError:
        return None, iso
    return _jalali_day(day), iso


def _detail(raw: Any) -> dict[str, Any]:
    """A stored JSON detail as a dict; text that is not a JSON object is kept under "raw"."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {"raw": raw}
    return value if isinstance(value, dict) else {"raw": raw}


def _rest(detail: dict[str, Any], shown: Iterable[str]) -> str | None:
    """Detail keys no column shows, as "key: value; …" (so nothing stored is left out)."""
    rest = [f"{k}: {v}" for k, v in detail.items() if k not in shown]
    return "; ".join(rest) or None


@dataclass(frozen=True)
class ExportSheet:
    """One table of an export in one language: its title, header and how rows become cells."""

    name: str
    title: str
    header: tuple[str, ...]
    makers: tuple[CellMaker, ...]
    text_columns: frozenset[int]
    source: Callable[[ReportRepo, int], AsyncIterator[Row]]

    def rows(self, repo: ReportRepo, page_size: int) -> AsyncIterator[Row]:
        """The repository's rows of this table, paged."""
        return self.source(repo, page_size)

    def cells(self, row: Row) -> list[Any]:
        """One repository row as the sheet's cells, in header order."""
        out: list[Any] = []
        for make in self.makers:
            out.extend(make(row))
        return out


class _Words:
    """Stored codes as the words the bot shows, in one language; built once per export."""

    def __init__(self, content: Content, i18n: I18n, lang: str) -> None:
        """Look every label up once, so that rows only read dictionaries."""
        self.content, self.i18n, self.lang = content, i18n, lang
        t = functools.partial(i18n.t, lang)
        self.t = t
        self.counties = {c.id: c.name.get(lang) for c in content.counties}
        self.fields = {f.id: f.name.get(lang) for f in content.fields}
        self.steps = {s.id: s.title.get(lang) for s in content.steps}
        self.stages = {s: t(f"stages.{s}") for s in STAGES if i18n.has(f"stages.{s}")}
        self.statuses = {s: label(lang, f"status.{s}") for s in ALL_STATUSES}
        self.platforms = {p: t(f"export.platform.{p}") for p in ("telegram", "bale")}
        self.languages = {code: t(f"export.language.{code}") for code in ("fa", "en")}
        self.rounds = {r: t(f"export.round.{r}") for r in ("open", "answered", "no_answer")}
        self.states = {s: t(f"export.{s}") for s in ("open", "closed")}
        self.kinds = {k.removeprefix("inbox.kind."): t(k) for k in i18n.keys("inbox.kind.")}
        self.yes_no = {True: t("export.yes"), False: t("export.no")}
        self.on_off = {True: t("settings.state_on"), False: t("settings.state_off")}
        self.links = {k: t(f"export.link.{k}") for k in ("contact", "link", "import", "none")}
        self.invites = {k: t(f"export.invite.{k}") for k in ("safir", "link")}
        self.on_bale = {None: t("export.unknown"), 0: t("export.no"), 1: t("export.yes")}
        checkin = content.checkin
        self.sales = self._choices(checkin.sales_bands)
        self.problems = self._choices(checkin.problems)
        self.reasons = {
            "paused": self._choices(checkin.pause_reasons),
            "closed": self._choices(checkin.closed_reasons),
        }

    def _choices(self, choices: Iterable[Choice]) -> dict[str, str]:
        """Choice ids as their button labels."""
        return {c.id: c.label.get(self.lang) for c in choices}

    def header(self, key: str) -> str:
        """A column's header."""
        return self.t(f"export.column.{key}")

    def mobile(self, value: Any) -> str | None:
        """A mobile as text that keeps its leading zero in any spreadsheet, CSV included:
        "۰۹۱۲۱۲۳۴۵۶۷" in a Persian sheet (Persian digits are never read as a number; unbroken,
        since a right-to-left cell would lay groups out from the right), "0912 123 4567" in
        an English one (the spaces keep it text)."""
        if value is None or value == "":
            return None
        if self.lang == "fa":
            return localize_digits(national_mobile(str(value)) or "", "fa")
        return national_mobile(str(value), grouped=True)

    def national_code(self, value: Any) -> str | None:
        """A national code as text that keeps its leading zeros: Persian digits in a Persian
        sheet, "001-234567-8" (as on the card) in an English one."""
        if value is None or value == "":
            return None
        if self.lang == "fa":
            return localize_digits(str(value), "fa")
        return card_national_code(str(value))

    def staff(self, value: Any) -> str | None:
        """A staff count as the button that was pressed."""
        return None if value is None else staff_count_label(value, self.lang)


def _lookup(source: str, words: dict[Any, str]) -> CellMaker:
    """A cell with the label of a stored code; an unknown code shows as stored."""
    get = words.get

    def make(row: Row) -> tuple[Any]:
        """The label, or the code itself."""
        value = row[source]
        return (None if value is None else get(value, value),)

    return make


def _flag(source: str, words: dict[bool, str]) -> CellMaker:
    """A cell with the word for a stored 0/1."""

    def make(row: Row) -> tuple[Any]:
        """Yes or no (on or off)."""
        value = row[source]
        return (None if value is None else words[bool(value)],)

    return make


def _plain(source: str) -> CellMaker:
    """A cell with the stored value."""
    return lambda row: (row[source],)


def _checkin_detail(words: _Words) -> CellMaker:
    """A check-in answer's detail as one column per key, in the words of its buttons."""

    def make(row: Row) -> list[Any]:
        """Staff, sales, problem, reason, restart (Solar Hijri, ISO), note, anything else."""
        detail = _detail(row["detail"])
        reason = detail.get("reason")
        reasons = words.reasons.get(row["status"], {})
        restart = detail.get("restart")
        return [
            words.staff(detail.get("staff")),
            words.sales.get(detail.get("sales"), detail.get("sales")),
            words.problems.get(detail.get("problem"), detail.get("problem")),
            reasons.get(reason, reason),
            *jalali_date(restart if isinstance(restart, str) else None),
            detail.get("note"),
            _rest(detail, DETAIL_KEYS),
        ]

    return make


def _followup_detail(words: _Words) -> CellMaker:
    """A follow-up's detail: its check-in round, and its subject in the bot's words."""

    def make(row: Row) -> list[Any]:
        """Round, subject (problem, reason for closing, or the step), anything else."""
        detail = _detail(row["detail"])
        kind = row["kind"]
        subject: Any = None
        if kind == "problems":
            subject = words.problems.get(detail.get("problem"), detail.get("problem"))
        elif kind == "closed":
            closed = words.reasons["closed"]
            subject = closed.get(detail.get("reason"), detail.get("reason"))
        elif kind == "step_help":
            subject = words.steps.get(detail.get("step"), detail.get("step"))
        shown = {"round", "problem", "reason", "step"}
        return [detail.get("round"), subject, _rest(detail, shown)]

    return make


def _column(sheet: str, source: str, words: _Words) -> tuple[list[str], CellMaker]:
    """The header(s) and cell maker of one stored column."""
    head = words.header
    if source in _TIMESTAMPS or source in DATE_COLUMNS:
        name = head(source)
        twin = jalali_timestamp if source in _TIMESTAMPS else jalali_date
        headers = [words.t("export.jalali", column=name), words.t("export.iso", column=name)]
        return headers, lambda row: twin(row[source])
    if sheet == "checkins" and source == "detail":
        headers = [head(k) for k in DETAIL_KEYS[:4]]
        restart = head("restart")
        headers += [words.t("export.jalali", column=restart), words.t("export.iso", column=restart)]
        return [*headers, head("note"), head("more")], _checkin_detail(words)
    if sheet == "followups" and source == "detail":
        return [head("round_id"), head("subject"), head("more")], _followup_detail(words)
    if source == "mobile":
        return [head(source)], lambda row: (words.mobile(row[source]),)
    if source == "national_code":
        return [head(source)], lambda row: (words.national_code(row[source]),)
    lookups: dict[str, dict[Any, str]] = {
        "platform": words.platforms,
        "lang": words.languages,
        "county": words.counties,
        "field": words.fields,
        "stage": words.stages,
        "step_id": words.steps,
        "latest_status": words.statuses,
        "round_status": words.rounds,
        "kind": words.kinds,
        "link_status": words.links,
        "invited_via": words.invites,
    }
    if sheet == "checkins" and source == "status":
        return [head("answer")], _lookup(source, words.statuses)
    if source == "status":
        return [head(source)], _lookup(source, words.states)
    if source in lookups:
        return [head(source)], _lookup(source, lookups[source])
    if source == "on_bale":
        return [head(source)], lambda row: (words.on_bale.get(row[source], row[source]),)
    if source in ("profile_done", "checkins_closed", "do_not_contact"):
        return [head(source)], _flag(source, words.yes_no)
    if source == "proactive":
        return [head(source)], _flag(source, words.on_off)
    return [head(source)], _plain(source)


def export_sheets(content: Content, i18n: I18n, lang: str) -> list[ExportSheet]:
    """Every table of an export, with headers and words in ``lang``."""
    words = _Words(content, i18n, lang)
    sheets = []
    for name in SHEET_NAMES:
        header: list[str] = []
        makers: list[CellMaker] = []
        text_columns: set[int] = set()
        for source in _COLUMNS[name]:
            headers, make = _column(name, source, words)
            if source in _DIGITS:
                text_columns.add(len(header))
            header += headers
            makers.append(make)
        sheets.append(
            ExportSheet(
                name=name,
                title=words.t(f"export.sheet.{name}"),
                header=tuple(header),
                makers=tuple(makers),
                text_columns=frozenset(text_columns),
                source=_ROWS[name],
            )
        )
    return sheets
