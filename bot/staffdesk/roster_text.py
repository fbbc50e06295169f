"""The roster's figures in the staff member's words: /roster stats, the survival blocks /stats
adds when a roster exists, and the labelled data of the chart's survival panel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.jalali import format_date
from bot.core.text import format_number, truncate
from bot.staffdesk.reports import MAX_COHORTS, MESSAGE_LIMIT, percent
from bot.staffdesk.roster_report import Reach, RosterFigures, Survival, SurvivalTable

__all__ = [
    "SurvivalPanel",
    "cohort_name",
    "format_reach",
    "format_survival",
    "roster_stats_blocks",
    "survival_panel",
]

#: What the survival blocks can break a horizon down by, in this order.
PARTS: tuple[str, ...] = ("cohort", "county", "field")


def cohort_name(key: int, i18n: I18n, lang: str) -> str:
    """A cohort key (14031) as "۱۴۰۳ فروردین تا شهریور" / "1403 Farvardin–Shahrivar"."""
    year, half = divmod(key, 10)
    return i18n.t(lang, f"roster_figures.cohort_{half}", year=year)


class _Names:
    """County and field names from the content, in one language."""

    def __init__(self, content: Content, i18n: I18n, lang: str) -> None:
        """Look the names up once."""
        self.i18n, self.lang = i18n, lang
        self.counties = {c.id: c.name.get(lang) for c in content.counties}
        self.fields = {f.id: f.name.get(lang) for f in content.fields}

    def of(self, kind: str, key: str | int | None) -> str:
        """The name of a county, field or cohort key; "not set" for None."""
        if key is None:
            return self.i18n.t(self.lang, "roster_figures.not_set")
        if kind == "cohort":
            return cohort_name(int(key), self.i18n, self.lang)
        names = self.counties if kind == "county" else self.fields
        return names.get(str(key), str(key))


def _reach_line(name: str, r: Reach, t: Callable[..., str], n: Callable[[int], str]) -> str:
    """ "• Karaj: 50 · invited 30 · joined 20 · not on Bale 4 · declined 1"."""
    return t(
        "roster_figures.reach_line",
        name=name,
        listed=n(r.listed),
        invited=n(r.invited),
        reached=n(r.reached),
        not_on_bale=n(r.not_on_bale),
        declined=n(r.declined),
    )


def format_reach(figures: RosterFigures, content: Content, i18n: I18n, lang: str) -> str:
    """Imported, invited (per channel), reached, linked (per way), not on Bale and declined, in
    total and per county and field, as one message."""
    t = partial(i18n.t, lang)
    n = partial(format_number, lang=lang)
    names = _Names(content, i18n, lang)
    r = figures.reach
    lines = [
        t("roster_figures.title"),
        t("roster_figures.date", date=format_date(figures.generated_at, lang)),
        "",
        t("roster_figures.listed", n=n(r.listed)),
        t(
            "roster_figures.invited",
            n=n(r.invited),
            safir=n(r.invited_safir),
            link=n(r.invited_link),
        ),
        t("roster_figures.reached", n=n(r.reached), pct=percent(r.reached, r.listed, lang)),
        t(
            "roster_figures.linked",
            contact=n(r.linked_contact),
            link=n(r.linked_link),
            imported=n(r.linked_import),
        ),
        t("roster_figures.not_on_bale", n=n(r.not_on_bale)),
        t("roster_figures.declined", n=n(r.declined)),
        "",
        t("roster_figures.by_county"),
        *(_reach_line(names.of("county", k), v, t, n) for k, v in figures.reach_by_county),
        "",
        t("roster_figures.by_field"),
        *(_reach_line(names.of("field", k), v, t, n) for k, v in figures.reach_by_field),
    ]
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def _rates(s: Survival, t: Callable[..., str], lang: str) -> str:
    """ "operating among those who answered 67% | operating at least, of the whole list 29%"."""
    return t(
        "roster_figures.rates",
        answered=percent(s.still_operating, s.answered, lang),
        listed=percent(s.still_operating, s.listed, lang),
    )


def _full_lines(name: str, s: Survival, t: Callable[..., str], lang: str) -> list[str]:
    """A group's counts and both rates, on two lines."""
    n = partial(format_number, lang=lang)
    counts = t(
        "roster_figures.survival_line",
        name=name,
        listed=n(s.listed),
        reached=n(s.reached),
        answered=n(s.answered),
        operating=n(s.operating),
        problems=n(s.problems),
        paused=n(s.paused),
        closed=n(s.closed),
        no_answer=n(s.no_answer),
    )
    return [counts, _rates(s, t, lang)]


def _short_line(name: str, s: Survival, t: Callable[..., str], lang: str) -> str:
    """A group's size, answers and both rates, on one line."""
    n = partial(format_number, lang=lang)
    return t(
        "roster_figures.short_line",
        name=name,
        listed=n(s.listed),
        answered=n(s.answered),
        answered_rate=percent(s.still_operating, s.answered, lang),
        listed_rate=percent(s.still_operating, s.listed, lang),
    )


def _horizon_block(
    table: SurvivalTable, parts: Sequence[str], names: _Names, t: Callable[..., str], lang: str
) -> str:
    """One horizon: by cohort (counts and rates), then per county and field (one line each)."""
    months = format_number(table.months, lang)
    if not table.total.listed:
        return t("roster_figures.horizon_none", months=months)
    lines = [t("roster_figures.horizon", months=months)]
    if "cohort" in parts:
        cohorts = table.by_cohort
        if len(cohorts) > MAX_COHORTS:
            earlier = len(cohorts) - MAX_COHORTS
            lines.append(t("roster_figures.earlier", n=format_number(earlier, lang)))
        for key, s in cohorts[-MAX_COHORTS:]:
            lines += _full_lines(names.of("cohort", key), s, t, lang)
    lines += _full_lines(t("roster_figures.all"), table.total, t, lang)
    for kind, groups in (("county", table.by_county), ("field", table.by_field)):
        if kind in parts and groups:
            lines.append(t(f"roster_figures.by_{kind}"))
            lines += [_short_line(names.of(kind, k), s, t, lang) for k, s in groups]
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def format_survival(
    figures: RosterFigures,
    content: Content,
    i18n: I18n,
    lang: str,
    parts: Sequence[str] = ("cohort",),
) -> list[str]:
    """Survival over the whole list: a heading block, then one block per horizon (each a
    message of its own at most); ``parts`` picks cohort, county and/or field breakdowns."""
    t = partial(i18n.t, lang)
    names = _Names(content, i18n, lang)
    head = [
        t("roster_figures.survival_title"),
        t("roster_figures.survival_note"),
        t("roster_figures.legend"),
    ]
    if figures.undated:
        head.append(t("roster_figures.undated", n=format_number(figures.undated, lang)))
    blocks = ["\n".join(head)]
    blocks += [_horizon_block(table, parts, names, t, lang) for table in figures.survival]
    return blocks


def roster_stats_blocks(
    figures: RosterFigures, content: Content, i18n: I18n, lang: str
) -> list[str]:
    """/roster stats: the reach, then survival by cohort, county and field."""
    return [
        format_reach(figures, content, i18n, lang),
        *format_survival(figures, content, i18n, lang, PARTS),
    ]


@dataclass(frozen=True)
class SurvivalPanel:
    """What the chart's survival panel draws, labelled in one language: per horizon, the
    operating rate among those who answered and over the whole list (None: no one to count)."""

    title: str
    axis: str
    answered_label: str
    listed_label: str
    horizons: tuple[str, ...]
    answered: tuple[float | None, ...]
    listed: tuple[float | None, ...]
    notes: tuple[str, ...]  # per horizon: "answered n of m on the list"


def survival_panel(figures: RosterFigures, i18n: I18n, lang: str) -> SurvivalPanel:
    """The survival panel's data: the whole list's two rates at each horizon."""
    t = partial(i18n.t, lang)
    n = partial(format_number, lang=lang)
    tables = figures.survival
    return SurvivalPanel(
        title=t("roster_figures.chart_title"),
        axis=t("roster_figures.chart_axis"),
        answered_label=t("roster_figures.chart_answered"),
        listed_label=t("roster_figures.chart_listed"),
        horizons=tuple(t("roster_figures.chart_horizon", months=n(s.months)) for s in tables),
        answered=tuple(s.total.rate_answered for s in tables),
        listed=tuple(s.total.rate_listed for s in tables),
        notes=tuple(
            t("roster_figures.chart_note", answered=n(s.total.answered), listed=n(s.total.listed))
            for s in tables
        ),
    )
