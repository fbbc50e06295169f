"""The roster's figures: the window rules, the repository's groups against the rules, the
hand-computed survival table of a seeded list (tests/support/roster_cohort.py), the chart's
survival panel and the roster export sheet."""

from __future__ import annotations

import datetime as dt
import io
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import jdatetime
import pytest
from openpyxl import load_workbook
from PIL import Image

from bot.content.loader import load_content
from bot.content.model import Content
from bot.core.i18n import I18n, load_i18n
from bot.core.text import localize_digits
from bot.db.engine import Database
from bot.repo.reports import ReportRepo
from bot.repo.roster_figures import RosterFiguresRepo
from bot.rules.roster_survival import (
    ANSWERED,
    cohort_key,
    cohort_of,
    cohort_start,
    loan_days,
    months_after,
    status_at,
    window,
)
from bot.staffdesk.charts import render_status_chart
from bot.staffdesk.export import write_xlsx
from bot.staffdesk.reports import build_stats
from bot.staffdesk.roster_report import Reach, RosterFigures, Survival, build_roster_figures
from bot.staffdesk.roster_text import survival_panel
from tests.support import stores
from tests.support.roster_cohort import NOW, PEOPLE, at, national_code, seed_roster

# Every test opens a database: each runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("store")

ROOT = Path(__file__).resolve().parent.parent
A1, A2, B1 = 14041, 14042, 14051  # the cohorts: 1404 first half, 1404 second half, 1405 first


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped programme content."""
    return load_content(ROOT / "locales" / "content.yaml")


@pytest.fixture(scope="module")
def i18n() -> I18n:
    """The shipped locale files."""
    return load_i18n()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A database holding the seeded list, its bot users and their answers."""
    database = await stores.current.open(tmp_path / "roster.sqlite3")
    await seed_roster(database)
    yield database
    await database.close()


async def figures_of(db: Database, content: Content) -> RosterFigures:
    """The figures at NOW, gathered as the bot gathers them (through the read-only reader)."""
    repo = RosterFiguresRepo(db.reader())
    calendar = loan_days(await repo.loan_days(), NOW)
    return build_roster_figures(
        NOW, await repo.reach(calendar), await repo.statuses(calendar), content
    )


# ------------------------------------------------------------------ the rules


def test_cohorts_are_solar_hijri_half_years() -> None:
    """Farvardin–Shahrivar is half 1, Mehr–Esfand half 2, switching exactly on 1 Farvardin and
    1 Mehr (whichever Gregorian day they fall on), for twenty years of loans."""
    for year in range(1396, 1416):
        for month, half, before in ((1, 1, (year - 1, 2)), (7, 2, (year, 1))):
            first = jdatetime.date(year, month, 1).togregorian()
            assert cohort_of(first) == (year, half)
            assert cohort_of(first - dt.timedelta(days=1)) == before
            assert cohort_start(cohort_key((year, half))) == first
    assert cohort_of(dt.date(2025, 6, 1)) == (1404, 1)
    assert cohort_of(dt.date(2025, 10, 5)) == (1404, 2)
    assert cohort_of(dt.date(2026, 3, 20)) == (1404, 2)  # 29 Esfand 1404
    assert cohort_of(dt.date(2026, 3, 21)) == (1405, 1)


def test_months_after_clamps_to_the_month_end() -> None:
    """Calendar months later; a day the shorter month lacks becomes its last day."""
    assert months_after(dt.date(2025, 6, 1), 3) == dt.date(2025, 9, 1)
    assert months_after(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)
    assert months_after(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)
    assert months_after(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert months_after(dt.date(2025, 10, 5), 12) == dt.date(2026, 10, 5)


def test_the_window_runs_from_the_loan_day_to_the_end_of_the_same_day_later() -> None:
    """[00:00 Tehran on the loan day, 00:00 Tehran the day after the day M months later)."""
    assert window(dt.date(2025, 6, 1), 3) == (at("2025-06-01", 0), at("2025-09-02", 0))
    assert window(dt.date(2025, 8, 31), 6) == (at("2025-08-31", 0), at("2026-03-01", 0))
    assert at("2025-09-02", 0) - at("2025-09-01", 0) == 86_400  # Tehran keeps +03:30


def test_a_status_is_the_latest_answer_inside_the_window() -> None:
    """Latest by time then id; answers before the loan or after the window do not count; an
    expired round is the latest word; no answer in the window is 'none'."""
    loan = dt.date(2025, 6, 1)
    answers = [
        ("operating", at("2025-05-25"), 1),  # before the loan
        ("paused", at("2025-09-01", 23), 2),  # last hour of the 3-month window
        ("operating", at("2025-09-02", 0, 30), 3),  # just after it
        ("no_answer", at("2025-11-20"), 4),
    ]
    assert status_at(answers, loan, 3) == "paused"
    assert status_at(answers, loan, 6) == "no_answer"
    assert status_at(answers[:3], loan, 6) == "operating"
    assert status_at(answers[:1], loan, 12) == "none"
    same_second = [("closed", at("2025-07-01"), 8), ("operating", at("2025-07-01"), 9)]
    assert status_at(same_second, loan, 3) == "operating"  # the later insert wins a tie


def test_a_horizon_counts_a_loan_day_once_its_window_has_closed() -> None:
    """At 11:30 on 2026-11-29 the 3-month window of 2026-08-28 has closed (at 00:00 today) and
    that of 2026-08-29 has not; per horizon the cutoff is the latest day counted."""
    days = ["2025-06-01", "2026-04-15", "2026-05-28", "2026-05-29", "2026-08-28", "2026-08-29"]
    calendar = loan_days([*days, "not a date"], NOW)
    assert [d.day for d in calendar.days] == days
    closed = {d.day: tuple(u is not None for u in d.until) for d in calendar.days}
    assert closed["2025-06-01"] == (True, True, True)
    assert closed["2026-05-28"] == (True, True, False)
    assert closed["2026-05-29"] == (True, False, False)
    assert closed["2026-08-28"] == (True, False, False)
    assert closed["2026-08-29"] == (False, False, False)
    assert calendar.cutoffs() == ("2026-08-28", "2026-05-28", "2025-06-01")
    assert calendar.cohort_starts() == [("2026-03-21", B1), ("2025-03-21", A1)]


# ------------------------------------------------------------------ the repository


async def test_the_repository_applies_the_rule_to_every_linked_person(db: Database) -> None:
    """The SQL groups equal what status_at says of each linked person's own answers."""
    repo = RosterFiguresRepo(db.reader())
    calendar = loan_days(await repo.loan_days(), NOW)
    rows = await db.fetchall(
        "SELECT r.full_name, r.loan_on, a.status, a.answered_at, a.id FROM roster r"
        " JOIN checkin_answers a ON a.user_pk = r.user_pk ORDER BY a.id"
    )
    answers: dict[str, list[tuple[str, int, int]]] = {}
    for name, _, status, when, ident in rows:
        answers.setdefault(name, []).append((status, when, ident))
    windows = {d.day: d.until for d in calendar.days}
    expected: dict[tuple[object, ...], list[list[int]]] = {}
    for p in PEOPLE:
        until = windows.get(p.loan_on or "")
        if p.linked_via is None or until is None or until[0] is None:
            continue
        loan = dt.date.fromisoformat(p.loan_on or "")
        mine = answers.get(f"نفر {p.key}", [])
        key = (cohort_key(cohort_of(loan)), p.county, p.field)
        counts = expected.setdefault(key, [[0] * 5 for _ in calendar.horizons])
        for i, (months, u) in enumerate(zip(calendar.horizons, until, strict=True)):
            if u is None:
                continue
            status = status_at(mine, loan, months)
            counts[i][0] += 1
            if status in ANSWERED:
                counts[i][1 + ANSWERED.index(status)] += 1
    cells = await repo.statuses(calendar)
    got = {(c.cohort, c.county, c.field): [list(h) for h in c.counts] for c in cells}
    assert got == expected
    # a3 paused, closed, closed; a7 no answer (just after the window), operating, paused
    assert got[(A1, "fardis", "handicrafts")] == [[2, 0, 0, 1, 0], [2, 1, 0, 0, 1], [2, 0, 0, 1, 1]]


async def test_the_seeded_list_hand_computed(db: Database, content: Content) -> None:
    """Every figure of the seeded list, worked out by hand in tests/support/roster_cohort.py.
    The rate among those who answered is far above the rate over the list."""
    f = await figures_of(db, content)
    assert f.reach == Reach(16, 4, 1, 3, 9, 5, 3, 1, 1, 1)
    assert dict(f.reach_by_county) == {
        "karaj": Reach(8, 3, 0, 3, 5, 3, 2, 0, 1, 1),
        "fardis": Reach(8, 1, 1, 0, 4, 2, 1, 1, 0, 0),
    }
    assert [k for k, _ in f.reach_by_field] == ["handicrafts", "food", "other"]
    assert f.undated == 1
    three, six, twelve = f.survival
    assert [t.months for t in f.survival] == [3, 6, 12]

    # listed, reached, operating, problems, paused, closed
    assert three.total == Survival(13, 8, 2, 1, 1, 1)
    assert dict(three.by_cohort) == {
        A1: Survival(7, 5, 1, 1, 1, 0),
        A2: Survival(2, 1, 0, 0, 0, 1),
        B1: Survival(4, 2, 1, 0, 0, 0),  # c2 counted (window closed today), c1 and c3 not
    }
    assert dict(three.by_county) == {
        "karaj": Survival(6, 4, 2, 1, 0, 0),
        "fardis": Survival(7, 4, 0, 0, 1, 1),
    }
    assert dict(three.by_field) == {
        "handicrafts": Survival(5, 4, 2, 0, 1, 0),
        "food": Survival(8, 4, 0, 1, 0, 1),
    }
    assert (three.total.answered, three.total.no_answer) == (5, 8)
    assert three.total.rate_answered == pytest.approx(3 / 5)
    assert three.total.rate_listed == pytest.approx(3 / 13)

    assert six.total == Survival(12, 8, 2, 2, 0, 2)
    assert dict(six.by_cohort) == {
        A1: Survival(7, 5, 2, 1, 0, 1),
        A2: Survival(2, 1, 0, 0, 0, 1),
        B1: Survival(3, 2, 0, 1, 0, 0),
    }
    assert (six.total.rate_answered, six.total.rate_listed) == (pytest.approx(4 / 6), 4 / 12)

    assert twelve.total == Survival(9, 6, 1, 0, 1, 3)  # a2's expired round is no answer
    assert dict(twelve.by_cohort) == {
        A1: Survival(7, 5, 1, 0, 1, 2),
        A2: Survival(2, 1, 0, 0, 0, 1),
    }
    assert (twelve.total.rate_answered, twelve.total.rate_listed) == (1 / 5, 1 / 9)


async def test_an_empty_list_has_no_figures(tmp_path: Path, content: Content) -> None:
    """No roster: nothing to show, and the queries cope with no loan days at all."""
    database = await stores.current.open(tmp_path / "empty.sqlite3")
    try:
        repo = RosterFiguresRepo(database.reader())
        assert not await repo.has_rows()
        calendar = loan_days(await repo.loan_days(), NOW)
        assert await repo.reach(calendar) == [] and await repo.statuses(calendar) == []
    finally:
        await database.close()


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
async def test_the_figures_read_one_covering_index(db: Database) -> None:
    """The head counts stream over roster_figures without touching the table or sorting the
    list; each loan day's linked people are one range of the same index."""
    repo = RosterFiguresRepo(db.reader())
    calendar = loan_days(await repo.loan_days(), NOW)
    captured: list[tuple[str, tuple[object, ...]]] = []
    real = db.reader().fetchall

    async def spy(sql: str, params: tuple[object, ...] = (), **kw: object) -> list[object]:
        captured.append((sql, params))
        return await real(sql, params)

    spy_db = {"fetchall": staticmethod(spy), "dialect": db.dialect}
    repo.db = type("Spy", (), spy_db)()  # type: ignore[assignment]
    await repo.reach(calendar)
    await repo.statuses(calendar)
    reach_plan, status_plan = [
        " | ".join(r[3] for r in await db.fetchall("EXPLAIN QUERY PLAN " + sql, params))
        for sql, params in captured
    ]
    assert "SCAN roster USING COVERING INDEX roster_figures" in reach_plan
    assert "SEARCH r USING COVERING INDEX roster_figures (loan_on=?)" in status_plan
    assert "checkin_answers_user" in status_plan


# ------------------------------------------------------------------ chart and export


async def test_the_chart_draws_both_rates(db: Database, content: Content, i18n: I18n) -> None:
    """The survival panel holds, per horizon, the rate among those who answered and the rate
    over the whole list; the chart grows by that panel."""
    figures = await figures_of(db, content)
    panel = survival_panel(figures, i18n, "en")
    assert panel.horizons == ("3 months", "6 months", "12 months")
    assert panel.answered == (pytest.approx(3 / 5), pytest.approx(4 / 6), pytest.approx(1 / 5))
    assert panel.listed == (pytest.approx(3 / 13), pytest.approx(4 / 12), pytest.approx(1 / 9))
    assert panel.notes[0] == "5 answered of 13"
    assert (panel.answered_label, panel.listed_label) == (
        "Operating among those who answered",
        "Operating at least, of the whole list",
    )
    stats = build_stats(await ReportRepo(db.reader()).snapshot(NOW), content, i18n)
    sizes = {}
    for lang in ("fa", "en"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. a glyph missing from the font
            plain = render_status_chart(stats, lang)
            both = render_status_chart(stats, lang, survival_panel(figures, i18n, lang))
        for name, png in (("plain", plain), ("both", both)):
            with Image.open(io.BytesIO(png)) as image:
                sizes[lang, name] = image.size
    for lang in ("fa", "en"):
        assert sizes[lang, "both"][0] == sizes[lang, "plain"][0]
        assert sizes[lang, "both"][1] > sizes[lang, "plain"][1] + 250


async def test_the_roster_sheet(db: Database, content: Content, i18n: I18n, tmp_path: Path) -> None:
    """Persian headers, link status and latest answer in words, mobiles as ۰۹… text, every row
    in order, in pages."""
    repo = RosterFiguresRepo(db)
    assert [r async for r in repo.sheet(page_size=3)] == [r async for r in repo.sheet()]
    path = await write_xlsx(ReportRepo(db), tmp_path / "out.xlsx", content=content, i18n=i18n,
                            page_size=4)  # fmt: skip
    book = load_workbook(path)
    try:
        values = list(book["فهرست طرح"].iter_rows(values_only=True))
        assert book["فهرست طرح"].sheet_view.rightToLeft is True
    finally:
        book.close()
    header, rows = values[0], [dict(zip(values[0], v, strict=True)) for v in values[1:]]
    assert not [h for h in header if str(h).isascii()], "a header left in code"
    assert [r["نام و نام خانوادگی"] for r in rows] == [f"نفر {p.key}" for p in PEOPLE]
    by = {r["نام و نام خانوادگی"]: r for r in rows}
    a1, a2, a5, a6 = (by[f"نفر {k}"] for k in ("a1", "a2", "a5", "a6"))
    assert a1["شماره همراه"] == "۰۹۱۲۰۰۰۰۰۰۰"  # stored +989120000000
    assert a1["کد ملی"] == localize_digits(national_code(100), "fa") == "۰۰۰۰۰۰۱۰۰۷"
    assert (a1["پیوستن به ربات"], a1["آخرین پاسخ پیگیری"]) == ("با شمارهٔ همراه خودش", "تعطیل")
    assert (a1["تاریخ دریافت وام"], a1["شهرستان"]) == ("1404/03/11", "کرج")
    assert (a2["پیوستن به ربات"], a2["آخرین پاسخ پیگیری"]) == ("با پیوند شخصی", "پاسخ نداد")
    assert (a2["دعوت با"], a2["زمان دعوت"]) == ("پیوند شخصی", "1404/02/11 11:00")
    assert by["نفر a3"]["پیوستن به ربات"] == "هنگام ورود فهرست"
    assert by["نفر b2"]["آخرین پاسخ پیگیری"] == "هنوز پاسخی ثبت نشده"  # joined, never answered
    assert (a5["پیوستن به ربات"], a5["آخرین پاسخ پیگیری"], a5["دعوت با"]) == ("نپیوسته", None, None)
    assert by["نفر b3"]["دعوت با"] == "سفیر بله"
    assert [by[f"نفر {k}"]["در بله هست"] for k in ("a5", "b3", "a6")] == ["خیر", "بله", "نامشخص"]
    assert (a6["نمی‌خواهد پیامی بگیرد"], a5["نمی‌خواهد پیامی بگیرد"]) == ("بله", "خیر")
    amount = "مبلغ وام (ریال)"
    assert (a1[amount], by["نفر e1"][amount]) == (2_000_000_000, None)
