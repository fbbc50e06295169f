"""Staff statistics: label and order the report figures, and format them as one message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import jdatetime

from bot.content.model import Content, LText
from bot.core.i18n import I18n
from bot.core.jalali import format_date, format_month
from bot.core.text import format_number, localize_digits, truncate
from bot.repo.reports import (
    NO_STATUS,
    STATUSES,
    ReportData,
    RoundCounts,
    Survival,
    UserCounts,
    loan_cohort,
)
from bot.rules.scope import EVERYWHERE, Scope

__all__ = [
    "ALL_STATUSES",
    "MAX_COHORTS",
    "STAGES",
    "Count",
    "Stats",
    "StatusRow",
    "build_stats",
    "format_stats",
    "label",
    "percent",
    "scope_line",
]

#: Applicant stage ids in the order people go through them (locales/*.yaml ``stages``).
STAGES: tuple[str, ...] = ("idea", "applying", "permit", "loan", "operating")
#: Check-in statuses plus "no answer recorded yet", in display order.
ALL_STATUSES: tuple[str, ...] = (*STATUSES, NO_STATUS)
#: Loan cohorts shown in the message (the most recent ones).
MAX_COHORTS = 12
#: Telegram's limit on a message, in UTF-16 units.
MESSAGE_LIMIT = 4096

# Report wording, kept here until it moves to locales/fa.yaml and locales/en.yaml.
_LABELS: dict[str, dict[str, str]] = {
    "fa": {
        "title": "📊 گزارش {programme}",
        "date": "🗓 تاریخ: {date}",
        "scope": "📍 فقط شهرستان‌های شما: {counties}",
        "total": "👥 کل متقاضیان: {n}",
        "unreachable": "📵 در دسترس نیستند: {n}",
        "stopped": "🔕 پیام‌های پیگیری را قطع کرده‌اند: {n}",
        "by_stage": "🚩 متقاضیان بر اساس مرحله",
        "by_county": "📍 متقاضیان بر اساس شهرستان",
        "by_field": "🧵 متقاضیان بر اساس رشته",
        "response": "📨 نرخ پاسخ به پیگیری‌ها",
        "response_line": "پاسخ داده‌اند: {answered} از {closed} نوبت پایان‌یافته ({pct})",
        "response_open": "نوبت‌های هنوز باز: {n}",
        "response_none": "هنوز هیچ نوبت پیگیری پایان نیافته است.",
        "status_field": "📈 وضعیت کسب‌وکار بر اساس رشته",
        "status_cohort": "💰 وضعیت بر اساس ماه دریافت وام",
        "no_loans": "هنوز تاریخ وامی ثبت نشده است.",
        "earlier": "… و {n} ماه قدیمی‌تر",
        "survival": "⏳ ماندگاری پس از وام",
        "survival_line": "{months} ماه پس از وام: هنوز فعال {n} از {m} ({pct})",
        "survival_unknown": "، {n} نفر بدون پاسخ",
        "survival_none": "{months} ماه پس از وام: هنوز کسی به این زمان نرسیده",
        "not_set": "نامشخص",
        "all": "همه",
        "chart_title": "وضعیت کسب‌وکارها بر اساس رشته",
        "chart_axis": "تعداد افراد (آخرین پاسخ پیگیری)",
        "chart_empty": "هنوز پاسخی ثبت نشده است",
        "status.operating": "فعال",
        "status.problems": "فعال با مشکل",
        "status.paused": "متوقف موقت",
        "status.closed": "تعطیل",
        "status.no_answer": "پاسخ نداد",
        "status.none": "هنوز پاسخی ثبت نشده",
        "stage.idea": "فقط ایده دارم",
        "stage.applying": "درخواست مجوز در جریان است",
        "stage.permit": "مجوز گرفته‌ام",
        "stage.loan": "وام گرفته‌ام",
        "stage.operating": "کسب‌وکارم فعال است",
    },
    "en": {
        "title": "📊 {programme}: report",
        "date": "🗓 Date: {date}",
        "scope": "📍 Only your counties: {counties}",
        "total": "👥 Applicants: {n}",
        "unreachable": "📵 Unreachable: {n}",
        "stopped": "🔕 Stopped follow-up messages: {n}",
        "by_stage": "🚩 Applicants by stage",
        "by_county": "📍 Applicants by county",
        "by_field": "🧵 Applicants by field",
        "response": "📨 Check-in response rate",
        "response_line": "Answered {answered} of {closed} finished rounds ({pct})",
        "response_open": "Rounds still open: {n}",
        "response_none": "No check-in round has finished yet.",
        "status_field": "📈 Business status by field",
        "status_cohort": "💰 Status by month of the loan",
        "no_loans": "No loan dates recorded yet.",
        "earlier": "… and {n} earlier months",
        "survival": "⏳ Survival after the loan",
        "survival_line": "{months} months after the loan: still operating {n} of {m} ({pct})",
        "survival_unknown": ", {n} without an answer",
        "survival_none": "{months} months after the loan: nobody there yet",
        "not_set": "Not set",
        "all": "All",
        "chart_title": "Business status by field",
        "chart_axis": "People (latest check-in answer)",
        "chart_empty": "No answers recorded yet",
        "status.operating": "Operating",
        "status.problems": "Operating with problems",
        "status.paused": "Paused",
        "status.closed": "Closed",
        "status.no_answer": "Did not reply",
        "status.none": "No answer yet",
        "stage.idea": "Only an idea",
        "stage.applying": "Permit application in progress",
        "stage.permit": "Permit issued",
        "stage.loan": "Loan received",
        "stage.operating": "Operating",
    },
}
_ICONS: dict[str, str] = {
    "operating": "✅",
    "problems": "⚠️",
    "paused": "⏸",
    "closed": "⛔",
    "no_answer": "📭",
    NO_STATUS: "➖",
}


def label(lang: str, key: str, **values: Any) -> str:
    """A report text in lang (Persian for unknown languages), formatted with values."""
    text = _LABELS.get(lang, _LABELS["fa"])[key]
    return text.format(**values) if values else text


def scope_line(scope: Scope, content: Content, lang: str) -> str | None:
    """ "📍 Only your counties: Karaj, Fardis" for a county-scoped staff member; None for all."""
    if scope.counties is None:
        return None
    names = [c.name.get(lang) for c in content.counties if c.id in scope.counties]
    names += sorted(c for c in scope.counties if c not in {k.id for k in content.counties})
    return label(lang, "scope", counties=("، " if lang == "fa" else ", ").join(names))


def _ltext(key: str) -> LText:
    """A report text in both languages."""
    return LText(fa=label("fa", key), en=label("en", key))


def percent(part: int, whole: int, lang: str) -> str:
    """``part`` of ``whole`` as a whole percentage: "60%" or "۶۰٪"; "–" when whole is 0."""
    if not whole:
        return "–"
    value = round(100 * part / whole)
    return f"{localize_digits(str(value), 'fa')}٪" if lang == "fa" else f"{value}%"


@dataclass(frozen=True)
class Count:
    """A number of applicants under a labelled key (None: not set)."""

    key: str | None
    label: LText
    count: int


@dataclass(frozen=True)
class StatusRow:
    """Applicants per latest check-in status under a labelled key."""

    key: Any
    label: LText
    counts: Mapping[str, int]

    def get(self, status: str) -> int:
        """The number of applicants whose latest status is ``status``."""
        return self.counts.get(status, 0)

    @property
    def total(self) -> int:
        """Applicants in this row, answered or not."""
        return sum(self.counts.values())

    @property
    def answered(self) -> int:
        """Applicants in this row with at least one check-in answer."""
        return sum(self.get(s) for s in STATUSES)


@dataclass(frozen=True)
class Stats:
    """The labelled, ordered figures of one staff report (labels in every language)."""

    generated_at: dt.datetime
    users: UserCounts
    by_stage: tuple[Count, ...]
    by_county: tuple[Count, ...]
    by_field: tuple[Count, ...]
    status_total: StatusRow
    status_by_field: tuple[StatusRow, ...]
    status_by_cohort: tuple[StatusRow, ...]
    rounds: RoundCounts
    survival: tuple[Survival, ...]


def _ordered(
    counts: Mapping[str | None, int], known: Iterable[tuple[str, LText]]
) -> list[tuple[str | None, LText]]:
    """Known keys in their order, then unknown ids found in counts, then None if present."""
    order = [(key, text) for key, text in known]
    seen = {key for key, _ in order}
    extra = sorted(k for k in counts if k is not None and k not in seen)
    order += [(k, LText(fa=k, en=k)) for k in extra]
    if None in counts:
        order.append((None, _ltext("not_set")))
    return order


def _stage_names(i18n: I18n | None) -> list[tuple[str, LText]]:
    """Stage ids with their names, from the locale files when given, else from this module."""
    names = []
    for stage in STAGES:
        key = f"stages.{stage}"
        if i18n is not None and i18n.has(key):
            names.append((stage, LText(fa=i18n.t("fa", key), en=i18n.t("en", key))))
        else:
            names.append((stage, _ltext(f"stage.{stage}")))
    return names


def _cohort_label(cohort: tuple[int, int] | None) -> LText:
    """ "آذر ۱۴۰۵" / "Azar 1405" for a Solar Hijri (year, month); "not set" for None."""
    if cohort is None:
        return _ltext("not_set")
    first = jdatetime.date(cohort[0], cohort[1], 1).togregorian()
    return LText(fa=format_month(first, "fa"), en=format_month(first, "en"))


def build_stats(
    data: ReportData, content: Content, i18n: I18n | None = None, scope: Scope = EVERYWHERE
) -> Stats:
    """Order and label the raw figures: content order for counties/fields, time for cohorts;
    a county-scoped report lists only the scope's counties."""
    counties = [(c.id, c.name) for c in content.counties if scope.allows(c.id)]
    fields = [(f.id, f.name) for f in content.fields]
    field_totals = {k: sum(v.values()) for k, v in data.status_by_field.items()}
    by_field = tuple(
        Count(k, text, field_totals.get(k, 0)) for k, text in _ordered(field_totals, fields)
    )
    status_by_field = tuple(
        StatusRow(k, text, dict(data.status_by_field.get(k, {})))
        for k, text in _ordered(field_totals, fields)
        if field_totals.get(k, 0)
    )
    total: dict[str, int] = {}
    for counts in data.status_by_field.values():
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    cohorts: dict[tuple[int, int] | None, dict[str, int]] = {}
    for loan_on, counts in data.status_by_loan_on.items():
        bucket = cohorts.setdefault(loan_cohort(loan_on), {})
        for status, n in counts.items():
            bucket[status] = bucket.get(status, 0) + n
    cohort_keys: list[tuple[int, int] | None] = sorted(k for k in cohorts if k is not None)
    if None in cohorts:
        cohort_keys.append(None)
    return Stats(
        generated_at=data.generated_at,
        users=data.users,
        by_stage=tuple(
            Count(k, text, data.by_stage.get(k, 0))
            for k, text in _ordered(data.by_stage, _stage_names(i18n))
        ),
        by_county=tuple(
            Count(k, text, data.by_county.get(k, 0))
            for k, text in _ordered(data.by_county, counties)
        ),
        by_field=by_field,
        status_total=StatusRow("all", _ltext("all"), total),
        status_by_field=status_by_field,
        status_by_cohort=tuple(StatusRow(k, _cohort_label(k), cohorts[k]) for k in cohort_keys),
        rounds=data.rounds,
        survival=data.survival,
    )


def _status_line(row: StatusRow, lang: str) -> str:
    """ "• name (total): ✅ 3  ⚠️ 1 …" with every status, zeros included."""
    cells = "  ".join(f"{_ICONS[s]} {format_number(row.get(s), lang)}" for s in ALL_STATUSES)
    return f"• {row.label.get(lang)} ({format_number(row.total, lang)}): {cells}"


def _count_lines(rows: Iterable[Count], lang: str) -> list[str]:
    """ "• name: n" per row."""
    return [f"• {r.label.get(lang)}: {format_number(r.count, lang)}" for r in rows]


def format_stats(stats: Stats, content: Content, lang: str, scope: Scope = EVERYWHERE) -> str:
    """The report as one plain-text Telegram message in lang, under 4096 UTF-16 units; a
    county-scoped report says so under its title."""
    n = partial(format_number, lang=lang)
    scoped = scope_line(scope, content, lang)
    lines = [
        label(lang, "title", programme=content.programme.name.get(lang)),
        label(lang, "date", date=format_date(stats.generated_at, lang)),
        *([scoped] if scoped else []),
        "",
        label(lang, "total", n=n(stats.users.total)),
        label(lang, "unreachable", n=n(stats.users.unreachable)),
        label(lang, "stopped", n=n(stats.users.stopped)),
        "",
        label(lang, "by_stage"),
        *_count_lines(stats.by_stage, lang),
        "",
        label(lang, "by_county"),
        *_count_lines(stats.by_county, lang),
        "",
        label(lang, "by_field"),
        *_count_lines(stats.by_field, lang),
        "",
        label(lang, "response"),
    ]
    rounds = stats.rounds
    if rounds.closed:
        pct = percent(rounds.answered, rounds.closed, lang)
        lines.append(
            label(
                lang, "response_line", answered=n(rounds.answered), closed=n(rounds.closed), pct=pct
            )
        )
    else:
        lines.append(label(lang, "response_none"))
    lines.append(label(lang, "response_open", n=n(rounds.open)))
    legend = "  ".join(f"{_ICONS[s]} {label(lang, f'status.{s}')}" for s in ALL_STATUSES)
    lines += ["", label(lang, "status_field"), legend, _status_line(stats.status_total, lang)]
    lines += [_status_line(row, lang) for row in stats.status_by_field]
    lines += ["", label(lang, "status_cohort")]
    cohorts = stats.status_by_cohort
    if not cohorts:
        lines.append(label(lang, "no_loans"))
    dated = [c for c in cohorts if c.key is not None]
    if len(dated) > MAX_COHORTS:
        lines.append(label(lang, "earlier", n=n(len(dated) - MAX_COHORTS)))
    shown = dated[-MAX_COHORTS:] + [c for c in cohorts if c.key is None]
    lines += [_status_line(row, lang) for row in shown]
    lines += ["", label(lang, "survival")]
    for s in stats.survival:
        months = n(s.months)
        if not s.eligible:
            lines.append(label(lang, "survival_none", months=months))
            continue
        line = label(
            lang,
            "survival_line",
            months=months,
            n=n(s.operating),
            m=n(s.eligible),
            pct=percent(s.operating, s.eligible, lang),
        )
        if s.unknown:
            line += label(lang, "survival_unknown", n=n(s.unknown))
        lines.append(line)
    return truncate("\n".join(lines), MESSAGE_LIMIT)
