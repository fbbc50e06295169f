"""The overview in the staff member's words: labels, Persian digits, links to the people behind
each figure (the applicants URL contract) and the SVG charts (web.svg)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.jalali import format_month, jalali_month_name
from bot.core.text import format_number, localize_digits
from bot.repo.followups import Waiting
from bot.repo.reports import STILL_OPERATING
from bot.staffdesk.overview import Horizon, Overview, Rate
from bot.staffdesk.reports import ALL_STATUSES, MAX_COHORTS, label
from bot.staffdesk.roster_text import cohort_name
from web import svg

__all__ = ["Cell", "Chart", "Line", "people", "present"]

DAY = 86_400
#: The check-in filter of "still operating" (as survival counts it).
OPERATING = STILL_OPERATING


def people(**filters: str | int | Sequence[str] | None) -> str:
    """An /applicants link with these filters (repeated values: any of them); ids only."""
    pairs: list[tuple[str, str]] = []
    for key, value in filters.items():
        if value is None:
            continue
        values = [value] if isinstance(value, str | int) else list(value)
        pairs += [(key, str(v)) for v in values]
    return "/applicants" + ("?" + urlencode(pairs) if pairs else "")


@dataclass(frozen=True)
class Cell:
    """A figure in a table: its text, tooltip and link (None: no one to show)."""

    text: str
    href: str | None = None
    tip: str = ""


@dataclass(frozen=True)
class Chart:
    """A chart and its legend (HTML; None for a single series)."""

    svg: Markup
    legend: Markup | None = None


def _chart(series: Sequence[svg.Series], drawn: Markup) -> Chart:
    """A chart with the legend of its series."""
    return Chart(drawn, svg.legend(series) if len(series) > 1 else None)


@dataclass(frozen=True)
class Line:
    """A table row: its name (and link) and its cells."""

    name: str
    href: str | None
    cells: Sequence[Cell]
    css: str = ""


class _Words:
    """Texts, numbers and names in one language."""

    def __init__(self, content: Content, i18n: I18n, lang: str) -> None:
        """Look the names up once."""
        self.content, self.i18n, self.lang = content, i18n, lang
        self.counties = {c.id: c.name.get(lang) for c in content.counties}
        self.fields = {f.id: f.name.get(lang) for f in content.fields}
        self.steps = {s.id: s.title.get(lang) for s in content.steps}

    def t(self, key: str, **values: Any) -> str:
        """A console text."""
        return self.i18n.t(self.lang, key, **values)

    def n(self, value: int) -> str:
        """A count."""
        return format_number(value, self.lang)

    def pct(self, share: float | None) -> str:
        """A share as a whole percentage ("—" of nothing)."""
        if share is None:
            return "—"
        text = localize_digits(str(round(100 * share)), self.lang)
        return f"{text}٪" if self.lang == "fa" else f"{text}%"

    def name(self, kind: str, key: str | int | None) -> str:
        """A county, field, cohort or step name; "not set" for None; unknown ids as they are."""
        if key is None:
            return self.t("web.overview.not_set")
        if kind == "cohort":
            return localize_digits(cohort_name(int(key), self.i18n, self.lang), self.lang)
        names = {"county": self.counties, "field": self.fields, "step": self.steps}[kind]
        return names.get(str(key), str(key))

    def status(self, status: str) -> str:
        """A check-in status as /stats names it."""
        return label(self.lang, f"status.{status}")


def _rate_cell(w: _Words, name: str, months: int, r: Rate | None, href: str | None) -> Cell:
    """ "60٪ (12 از 20)" with its tooltip; "—" when nobody is counted."""
    if r is None or not r.base:
        return Cell("—", None, w.t("web.overview.survival.none"))
    tip = w.t(
        "web.overview.survival.tip",
        name=name,
        months=w.n(months),
        n=w.n(r.operating),
        m=w.n(r.base),
        pct=w.pct(r.rate),
        silent=w.n(r.silent),
    )
    text = w.t("web.overview.survival.cell", pct=w.pct(r.rate), n=w.n(r.operating), m=w.n(r.base))
    return Cell(text, href, tip)


def _survival_lines(
    w: _Words, kind: str, survival: Sequence[Horizon], part: Callable[[Horizon], Iterable[Any]]
) -> list[Line]:
    """One row per cohort (oldest first), county or field: its rate at each horizon, linked to
    its people."""
    keys: list[Any] = []
    per: list[dict[Any, Rate]] = []
    for h in survival:
        found = dict(part(h))
        per.append(found)
        keys += [k for k in found if k not in keys]
    if kind == "cohort":
        keys.sort()
    lines = []
    for key in keys:
        name = w.name(kind, key)
        where = {kind: key} if key is not None else None
        cells = [
            _rate_cell(
                w,
                name,
                h.months,
                per[i].get(key),
                people(**where, checkin=OPERATING) if where else None,
            )
            for i, h in enumerate(survival)
        ]
        lines.append(Line(name, people(**where) if where else None, cells))
    return lines


def _survival_chart(w: _Words, survival: Sequence[Horizon], rtl: bool) -> Chart | None:
    """Grouped bars per loan cohort (the latest MAX_COHORTS): the rate at each horizon."""
    cohorts = sorted({k for h in survival for k, _ in h.by_cohort})[-MAX_COHORTS:]
    if not cohorts:
        return None
    series = [
        svg.Series(w.t("web.overview.survival.horizon", months=w.n(h.months)), f"h{i}")
        for i, h in enumerate(survival)
    ]
    rows = []
    for key in cohorts:
        name = w.name("cohort", key)
        bars = []
        for h in survival:
            r = dict(h.by_cohort).get(key)
            cell = _rate_cell(w, name, h.months, r, people(cohort=key, checkin=OPERATING))
            bars.append(svg.Bar(r.rate or 0 if r else 0, cell.tip, cell.href, cell.text))
        rows.append(svg.Row(name, bars, href=people(cohort=key)))
    drawn = svg.hbars(
        rows,
        series,
        title=w.t("web.overview.survival.chart"),
        desc=w.t("web.overview.survival.chart_desc"),
        rtl=rtl,
        mode="grouped",
        scale=1.0,
    )
    return _chart(series, drawn)


def _status_chart(w: _Words, o: Overview, rtl: bool) -> Chart | None:
    """Stacked bars per county: applicants by their latest check-in status."""
    rows = []
    for county, counts in o.status_by_county:
        name = w.name("county", county)
        where = county if county is not None else None
        bars = [
            svg.Bar(
                counts.get(s, 0),
                w.t(
                    "web.overview.checkins.tip",
                    name=name,
                    status=w.status(s),
                    n=w.n(counts.get(s, 0)),
                ),
                people(county=where, checkin=s) if where else None,
            )
            for s in ALL_STATUSES
        ]
        total = sum(counts.values())
        rows.append(svg.Row(name, bars, w.n(total), people(county=where) if where else None))
    if not any(sum(b.value for b in r.bars) for r in rows):
        return None
    series = [svg.Series(w.status(s), f"st-{s}") for s in ALL_STATUSES]
    drawn = svg.hbars(
        rows,
        series,
        title=w.t("web.overview.checkins.chart"),
        desc=w.t("web.overview.checkins.chart_desc"),
        rtl=rtl,
    )
    return _chart(series, drawn)


def _steps(w: _Words, o: Overview, rtl: bool) -> tuple[list[Line], Chart | None]:
    """The funnel as a table of every step (the longest median wait marked) and bars per step
    someone is at."""
    worst = max((s.median_days or 0 for s in o.steps if s.people), default=0)
    lines, rows = [], []
    for s in o.steps:
        name = w.name("step", s.step_id)
        track = w.t(f"web.overview.steps.track_{s.track}") if s.track in ("permit", "loan") else ""
        days = (
            (
                w.t("web.overview.steps.days", n=w.n(s.median_days)),
                w.t("web.overview.steps.days", n=w.n(s.oldest_days)),
            )
            if s.people and s.median_days is not None and s.oldest_days is not None
            else ("—", "—")
        )
        href = people(step=s.step_id) if s.people else None
        stuck = bool(s.people) and worst > 0 and s.median_days == worst
        lines.append(
            Line(
                name,
                href,
                [Cell(track), Cell(w.n(s.people), href), Cell(days[0]), Cell(days[1])],
                "stuck" if stuck else "",
            )
        )
        if not s.people:
            continue
        tip = w.t("web.overview.steps.tip", name=name, n=w.n(s.people), days=days[0])
        rows.append(
            svg.Row(
                name,
                [svg.Bar(s.people, tip, href, css=f"track-{s.track or 'other'}")],
                w.n(s.people),
                href,
            )
        )
    chart = None
    if any(s.people for s in o.steps):
        series = [
            svg.Series(w.t("web.overview.steps.track_permit"), "track-permit"),
            svg.Series(w.t("web.overview.steps.track_loan"), "track-loan"),
        ]
        drawn = svg.hbars(
            rows,
            series,
            title=w.t("web.overview.steps.chart"),
            desc=w.t("web.overview.steps.chart_desc"),
            rtl=rtl,
        )
        chart = _chart(series, drawn)
    return lines, chart


def _trend(w: _Words, o: Overview, rtl: bool) -> dict[str, Any]:
    """New applicants per month (a line) and answers per month by status (stacked bars)."""
    months = o.months
    high = max((m.joined for m in months), default=0)
    step = max(1, -(-high // 3)) if high else 1
    ticks = [(v, w.n(v)) for v in range(0, step * 4, step)] if high else [(0, w.n(0))]
    points = [
        svg.Point(
            jalali_month_name(m.month.month, w.lang) if i % 2 == (len(months) - 1) % 2 else "",
            m.joined,
            w.t(
                "web.overview.trend.joined_tip",
                month=format_month(m.month.first_day, w.lang),
                n=w.n(m.joined),
            ),
        )
        for i, m in enumerate(months)
    ]
    joined = svg.line(
        points,
        title=w.t("web.overview.trend.joined_chart"),
        desc=w.t("web.overview.trend.joined_desc"),
        rtl=rtl,
        ticks=ticks,
    )
    statuses = [s for s in ALL_STATUSES if s != "none"]
    rows = []
    for m in months:
        name = format_month(m.month.first_day, w.lang)
        bars = [
            svg.Bar(
                m.answers.get(s, 0),
                w.t(
                    "web.overview.trend.answers_tip",
                    month=name,
                    status=w.status(s),
                    n=w.n(m.answers.get(s, 0)),
                ),
            )
            for s in statuses
        ]
        rows.append(svg.Row(name, bars, w.n(m.answered)))
    answers = None
    if any(m.answered for m in months):
        series = [svg.Series(w.status(s), f"st-{s}") for s in statuses]
        drawn = svg.hbars(
            rows,
            series,
            title=w.t("web.overview.trend.answers_chart"),
            desc=w.t("web.overview.trend.answers_desc"),
            rtl=rtl,
        )
        answers = _chart(series, drawn)
    table = [
        Line(
            format_month(m.month.first_day, w.lang),
            None,
            [Cell(w.n(m.joined)), Cell(w.n(m.answered))]
            + [Cell(w.n(m.answers.get(s, 0))) for s in statuses],
        )
        for m in months
    ]
    return {
        "joined_chart": Chart(joined),
        "answers_chart": answers,
        "table": table,
        "statuses": [w.status(s) for s in statuses],
    }


def _age(w: _Words, seconds: int | None) -> str:
    """How long the oldest one has waited: hours within a day, then days."""
    if seconds is None:
        return "—"
    if seconds < DAY:
        return w.t("web.overview.waiting.hours", n=w.n(seconds // 3600))
    return w.t("web.overview.steps.days", n=w.n(seconds // DAY))


def _waiting(w: _Words, waiting: Mapping[str, Waiting], now: int) -> list[Line]:
    """The follow-ups waiting per group (as /followups groups them), linked to their list."""
    lines = []
    for group, found in waiting.items():
        href = f"/followups?{urlencode({'kind': group})}"
        name = w.t(f"web.followups.groups.{group}")
        cells = [Cell(w.n(found.count), href if found.count else None)]
        lines.append(Line(name, href, [*cells, Cell(_age(w, found.oldest_age(now)))]))
    return lines


def present(
    o: Overview,
    waiting: Mapping[str, Waiting],
    now: int,
    content: Content,
    i18n: I18n,
    lang: str,
) -> dict[str, Any]:
    """Everything the overview template shows (``waiting``: bot.repo.followups, read now)."""
    w = _Words(content, i18n, lang)
    rtl = lang == "fa"
    last = o.survival[-1] if o.survival else None
    ages = [a for a in (found.oldest_age(now) for found in waiting.values()) if a is not None]
    rounds = [
        Line(
            w.name("county", county),
            people(county=county) if county is not None else None,
            [
                Cell(w.pct(r.rate)),
                Cell(
                    w.n(r.answered),
                    people(
                        county=county,
                        checkin=[s for s in ("operating", "problems", "paused", "closed")],
                    )
                    if county
                    else None,
                ),
                Cell(
                    w.n(r.no_answer), people(county=county, checkin="no_answer") if county else None
                ),
                Cell(w.n(r.open)),
            ],
        )
        for county, r in o.rounds_by_county
    ]
    steps, steps_chart = _steps(w, o, rtl)
    return {
        "o": o,
        "cards": {
            "applicants": Cell(w.n(o.applicants), people()),
            "response": Cell(w.pct(o.rounds.rate), people(checkin="no_answer")),
            "response_sub": w.t(
                "web.overview.cards.response_sub",
                answered=w.n(o.rounds.answered),
                closed=w.n(o.rounds.closed),
            ),
            "waiting": Cell(w.n(sum(found.count for found in waiting.values())), "/followups"),
            "oldest": _age(w, max(ages)) if ages else None,
            "survival": _rate_cell(
                w, w.t("web.overview.all"), last.months, last.total, people(checkin=OPERATING)
            )
            if last
            else None,
            "survival_months": w.n(last.months) if last else "",
        },
        "horizons": [
            w.t("web.overview.survival.horizon", months=w.n(h.months)) for h in o.survival
        ],
        "survival_total": Line(
            w.t("web.overview.all"),
            None,
            [
                _rate_cell(w, w.t("web.overview.all"), h.months, h.total, people(checkin=OPERATING))
                for h in o.survival
            ],
        ),
        "survival_chart": _survival_chart(w, o.survival, rtl),
        "by_cohort": _survival_lines(w, "cohort", o.survival, lambda h: h.by_cohort),
        "by_county": _survival_lines(w, "county", o.survival, lambda h: h.by_county),
        "by_field": _survival_lines(w, "field", o.survival, lambda h: h.by_field),
        "status_chart": _status_chart(w, o, rtl),
        "rounds": rounds,
        "steps": steps,
        "steps_chart": steps_chart,
        "trend": _trend(w, o, rtl),
        "waiting": _waiting(w, waiting, now),
        "undated": w.n(o.undated) if o.undated else None,
    }
