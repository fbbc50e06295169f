"""Tests for staff statistics: ReportRepo figures, the report message and the status chart."""

from __future__ import annotations

import datetime as dt
import io
import json
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import jdatetime
import pytest
from matplotlib.ft2font import FT2Font, LoadFlags
from PIL import Image

from bot.content.loader import load_content
from bot.content.model import Content
from bot.core.i18n import load_i18n
from bot.core.text import utf16_len
from bot.db.engine import Database
from bot.repo.reports import (
    STATUSES,
    ReportData,
    ReportRepo,
    RoundCounts,
    UserCounts,
    loan_cohort,
    months_before,
    survival_from,
)
from bot.staffdesk.charts import chart_font_path, render_status_chart
from bot.staffdesk.reports import Stats, build_stats, format_stats, label, percent
from tests.support import stores

# Every test opens a database: each runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("store")

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)  # 1405/09/08 11:30 Tehran
DAY = 86_400
T0 = int(dt.datetime(2025, 9, 1, tzinfo=dt.UTC).timestamp())


@dataclass(frozen=True)
class Group:
    """Users alike: profile, loan date and check-in history (status, day) in insert order."""

    count: int
    field: str | None
    county: str | None
    stage: str | None
    loan_on: str | None = None
    history: tuple[tuple[str, int], ...] = ()
    proactive: int = 1
    unreachable: bool = False
    checkins_closed: int = 0
    open_round: bool = False
    steps: tuple[str, ...] = ()
    followup: str | None = None


# 40 users over 3 fields and 2 counties; loans in Mehr 1404, Farvardin 1405, Shahrivar 1405.
GROUPS: tuple[Group, ...] = (
    Group(6, "handicrafts", "karaj", "operating", "2025-10-05", (("operating", 40),),
          steps=("register", "training")),
    Group(2, "handicrafts", "fardis", "operating", "2025-10-20",
          (("operating", 40), ("closed", 130)), proactive=0, checkins_closed=1, followup="closed"),
    Group(2, "handicrafts", "karaj", "loan", "2026-04-10", (("problems", 250),),
          followup="problems"),
    Group(3, "food", "karaj", "loan", "2026-04-10", (("no_answer", 250), ("operating", 280))),
    # Inserted newest first: the latest answer is the one answered last, not the last id.
    Group(2, "food", "fardis", "loan", "2026-04-10", (("paused", 310), ("operating", 280))),
    Group(3, "food", "fardis", "loan", "2026-08-29", (("operating", 390), ("no_answer", 420)),
          unreachable=True),
    Group(2, "food", "karaj", "loan", "2026-09-10", open_round=True),
    Group(4, "services", "karaj", "loan", "2026-09-10", (("problems", 400), ("operating", 430))),
    Group(2, "services", "fardis", "loan", "2025-10-05"),
    Group(5, "services", "fardis", "applying"),
    Group(4, "food", "karaj", "idea", proactive=0),
    Group(3, "handicrafts", "fardis", "permit", steps=("register",)),
    Group(2, None, None, None),
)  # fmt: skip


async def seed(db: Database) -> None:
    """Insert GROUPS with plain SQL: users, rounds, answers, step progress and follow-ups."""
    pk = 0
    async with db.transaction() as conn:
        for g in GROUPS:
            for _ in range(g.count):
                pk += 1
                name = "=1+2" if pk == 7 else f"متقاضی {pk}"
                await conn.execute(
                    "INSERT INTO users (id, platform, user_id, chat_id, lang, full_name, mobile,"
                    " county, field, stage, proactive, unreachable_at, loan_on, checkins_closed,"
                    " consent_at, created_at, updated_at) VALUES (?, 'telegram', ?, ?, 'fa', ?,"
                    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (pk, 1000 + pk, 1000 + pk, name, f"0912000{pk:04d}", g.county, g.field,
                     g.stage, g.proactive, T0 + 500 * DAY if g.unreachable else None, g.loan_on,
                     g.checkins_closed, T0 + pk * 3600, T0 + pk * 3600, T0 + pk * 3600),
                )  # fmt: skip
                for status, day in g.history:
                    round_status = "no_answer" if status == "no_answer" else "answered"
                    at = T0 + day * DAY
                    cur = await conn.execute(
                        "INSERT INTO checkin_rounds (user_pk, due_at, sent_at, status, closed_at)"
                        " VALUES (?, ?, ?, ?, ?) RETURNING id",
                        (pk, at - DAY, at - DAY, round_status, at),
                    )
                    detail = json.dumps({"note": "تست"}, ensure_ascii=False)
                    await conn.execute(
                        "INSERT INTO checkin_answers (round_id, user_pk, status, detail,"
                        " answered_at) VALUES (?, ?, ?, ?, ?)",
                        (cur.rows[0][0], pk, status, detail, at),
                    )
                if g.open_round:
                    await conn.execute(
                        "INSERT INTO checkin_rounds (user_pk, due_at, sent_at) VALUES (?, ?, ?)",
                        (pk, T0 + 440 * DAY, T0 + 440 * DAY),
                    )
                for i, step in enumerate(g.steps):
                    await conn.execute(
                        "INSERT INTO step_progress (user_pk, step_id, started_at, done_at)"
                        " VALUES (?, ?, ?, ?)",
                        (pk, step, T0 + i * DAY, T0 + (i + 1) * DAY if i == 0 else None),
                    )
                if g.followup:
                    await conn.execute(
                        "INSERT INTO followups (user_pk, kind, detail, created_at)"
                        " VALUES (?, ?, '{}', ?)",
                        (pk, g.followup, T0 + 300 * DAY),
                    )


# Rows that are not applicants and must change no figure: two visitors (one picked a language,
# one declined before this version erased such rows) and a staff member who also went through
# the guide, with a loan and an answered check-in.
NON_APPLICANTS = 3


async def seed_non_applicants(db: Database) -> None:
    """Two visitors without consent and one consented staff member, after GROUPS' rows."""
    first = sum(g.count for g in GROUPS) + 1
    async with db.transaction() as conn:
        for pk, consent in ((first, None), (first + 1, None), (first + 2, T0)):
            await conn.execute(
                "INSERT INTO users (id, platform, user_id, chat_id, lang, county, field, stage,"
                " loan_on, consent_at, created_at, updated_at) VALUES (?, 'telegram', ?, ?, 'fa',"
                " 'karaj', 'food', 'loan', '2025-10-05', ?, ?, ?)",
                (pk, 1000 + pk, 1000 + pk, consent, T0, T0),
            )
        staff_pk = first + 2
        await conn.execute(
            "INSERT INTO staff (platform, user_id, role, added_at) VALUES ('telegram', ?, 'staff',"
            " ?)",
            (1000 + staff_pk, T0),
        )
        cur = await conn.execute(
            "INSERT INTO checkin_rounds (user_pk, due_at, sent_at, status, closed_at)"
            " VALUES (?, ?, ?, 'answered', ?) RETURNING id",
            (staff_pk, T0 + 40 * DAY, T0 + 40 * DAY, T0 + 41 * DAY),
        )
        await conn.execute(
            "INSERT INTO checkin_answers (round_id, user_pk, status, answered_at)"
            " VALUES (?, ?, 'operating', ?)",
            (cur.rows[0][0], staff_pk, T0 + 41 * DAY),
        )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database seeded with GROUPS, and with rows that are not applicants beside them."""
    database = await stores.current.open(tmp_path / "reports.sqlite3")
    await seed(database)
    await seed_non_applicants(database)
    yield database
    await database.close()


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped programme content."""
    return load_content(ROOT / "locales" / "content.yaml")


@pytest.fixture
async def data(db: Database) -> ReportData:
    """The raw report figures for the seeded database at NOW."""
    return await ReportRepo(db).snapshot(NOW)


@pytest.fixture
def stats(data: ReportData, content: Content) -> Stats:
    """The labelled report figures, stage names from the locale files."""
    return build_stats(data, content, load_i18n())


# ------------------------------------------------------------------ pure helpers


def test_months_before_clamps_to_month_end() -> None:
    """Calendar months back, the day clamped to the shorter month."""
    assert months_before(dt.date(2026, 11, 29), 3) == dt.date(2026, 8, 29)
    assert months_before(dt.date(2026, 11, 29), 12) == dt.date(2025, 11, 29)
    assert months_before(dt.date(2026, 5, 31), 3) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 2, 15), 2) == dt.date(2025, 12, 15)


def test_loan_cohort_is_the_jalali_month() -> None:
    """The cohort is the Solar Hijri (year, month) of the loan date."""
    assert loan_cohort("2025-10-05") == (1404, 7)
    assert loan_cohort("2026-04-10") == (1405, 1)
    assert loan_cohort("2026-08-29") == (1405, 6)
    assert loan_cohort("2026-03-20") == (1404, 12)
    assert loan_cohort(None) is None
    assert loan_cohort("not a date") is None


def test_survival_counts_a_loan_exactly_on_the_cutoff() -> None:
    """A loan exactly M months old is eligible; one day younger is not."""
    data = {"2026-08-29": {"operating": 1}, "2026-08-30": {"closed": 1}, "bad": {"none": 5}}
    (three,) = survival_from(data, dt.date(2026, 11, 29), (3,))
    assert (three.eligible, three.operating, three.unknown) == (1, 1, 0)
    assert three.cutoff == dt.date(2026, 8, 29)


def test_percent_in_both_languages() -> None:
    """Whole percentages, Persian digits and sign for Persian."""
    assert percent(11, 17, "en") == "65%"
    assert percent(11, 17, "fa") == "۶۵٪"
    assert percent(1, 0, "fa") == "–"


# ------------------------------------------------------------------ repository figures


async def test_only_consented_applicants_are_counted_or_exported(db: Database) -> None:
    """Visitors and staff are in the table but in no figure: 40 applicants of 43 rows."""
    rows = await db.fetchone("SELECT COUNT(*) FROM users")
    assert rows[0] == 40 + NON_APPLICANTS
    repo = ReportRepo(db)
    assert (await repo.user_counts()).total == 40
    assert sum((await repo.by_stage()).values()) == 40
    assert sum((await repo.latest_statuses()).values()) == 40
    assert (await repo.round_counts()).answered == 30
    exported = [row["id"] async for row in repo.applicants(page_size=7)]
    assert exported == list(range(1, 41))


async def test_counts_by_stage_county_field(db: Database) -> None:
    """Head counts come out of GROUP BY exactly."""
    repo = ReportRepo(db)
    assert await repo.by_stage() == {
        "operating": 8, "loan": 18, "applying": 5, "idea": 4, "permit": 3, None: 2,
    }  # fmt: skip
    assert await repo.by_county() == {"karaj": 21, "fardis": 17, None: 2}
    assert await repo.by_field() == {"handicrafts": 13, "food": 14, "services": 11, None: 2}
    assert await repo.user_counts() == UserCounts(
        total=40, unreachable=3, stopped=6, checkins_closed=2
    )


async def test_latest_status_uses_the_last_answer(db: Database) -> None:
    """Only the latest answer counts (by answered_at, not by insertion order)."""
    repo = ReportRepo(db)
    assert await repo.latest_statuses() == {
        "operating": 13, "problems": 2, "paused": 2, "closed": 2, "no_answer": 3, "none": 18,
    }  # fmt: skip
    assert await repo.status_by_field() == {
        "handicrafts": {"operating": 6, "closed": 2, "problems": 2, "none": 3},
        "food": {"operating": 3, "paused": 2, "no_answer": 3, "none": 6},
        "services": {"operating": 4, "none": 7},
        None: {"none": 2},
    }


async def test_status_by_loan_cohort(db: Database) -> None:
    """Loan dates are grouped in SQL, then into Solar Hijri months."""
    assert await ReportRepo(db).status_by_loan_cohort() == {
        (1404, 7): {"operating": 6, "closed": 2, "none": 2},
        (1405, 1): {"problems": 2, "operating": 3, "paused": 2},
        (1405, 6): {"no_answer": 3, "none": 2, "operating": 4},
    }


async def test_response_rate(db: Database) -> None:
    """Answered rounds over finished (answered or expired) rounds; open ones left out."""
    rounds = await ReportRepo(db).round_counts()
    assert rounds == RoundCounts(answered=30, no_answer=6, open=2)
    assert rounds.closed == 36
    assert rounds.rate == pytest.approx(30 / 36)


async def test_survival(db: Database) -> None:
    """Still operating (latest operating or problems) among loans 3/6/12 months old."""
    three, six, twelve = await ReportRepo(db).survival(NOW)
    assert (three.months, three.cutoff) == (3, dt.date(2026, 8, 29))
    assert (three.eligible, three.operating, three.unknown) == (20, 11, 2)
    assert (six.eligible, six.operating, six.unknown) == (17, 11, 2)
    assert (twelve.eligible, twelve.operating, twelve.unknown) == (10, 6, 2)
    assert twelve.rate == pytest.approx(0.6)


async def test_empty_database(tmp_path: Path, content: Content) -> None:
    """No users: zeros everywhere, no division by zero, a short message."""
    database = await stores.current.open(tmp_path / "empty.sqlite3")
    try:
        data = await ReportRepo(database).snapshot(NOW)
    finally:
        await database.close()
    assert data.users == UserCounts(0, 0, 0, 0)
    assert data.rounds.rate is None
    assert all(s.eligible == 0 and s.rate is None for s in data.survival)
    stats = build_stats(data, content)
    text = format_stats(stats, content, "en")
    assert "No check-in round has finished yet." in text
    assert "3 months after the loan: nobody there yet" in text
    assert render_status_chart(stats, "fa").startswith(b"\x89PNG")


# ------------------------------------------------------------------ the message


async def test_stats_order_and_labels(stats: Stats) -> None:
    """Counties and fields in content order, stages in path order, cohorts by time."""
    assert [c.key for c in stats.by_stage] == [
        "idea", "applying", "permit", "loan", "operating", None,
    ]  # fmt: skip
    assert [c.key for c in stats.by_county[:2]] == ["karaj", "fardis"]
    assert [c.count for c in stats.by_county if c.key in ("karaj", "fardis", None)] == [21, 17, 2]
    assert [r.key for r in stats.status_by_field] == ["handicrafts", "food", "services", None]
    assert [r.label.get("fa") for r in stats.status_by_cohort] == [
        "مهر ۱۴۰۴", "فروردین ۱۴۰۵", "شهریور ۱۴۰۵",
    ]  # fmt: skip
    assert [r.label.get("en") for r in stats.status_by_cohort] == [
        "Mehr 1404", "Farvardin 1405", "Shahrivar 1405",
    ]  # fmt: skip
    assert stats.status_total.counts["none"] == 18


async def test_format_stats_persian(stats: Stats, content: Content) -> None:
    """Persian digits, Jalali date and every section with exact figures."""
    text = format_stats(stats, content, "fa")
    assert utf16_len(text) < 4096
    assert not any(ch in text for ch in "0123456789"), "Latin digit in the Persian report"
    for line in (
        "🗓 تاریخ: ۱۴۰۵/۰۹/۰۸",
        "👥 کل متقاضیان: ۴۰",
        "📵 در دسترس نیستند: ۳",
        "🔕 پیام‌های پیگیری را قطع کرده‌اند: ۶",
        "• وام گرفته‌ام: ۱۸",
        "• نامشخص: ۲",
        "• کرج: ۲۱",
        "• فردیس: ۱۷",
        "• طالقان: ۰",
        "• صنایع دستی و هنرهای سنتی: ۱۳",
        "• تولید خانگی مواد غذایی: ۱۴",
        "پاسخ داده‌اند: ۳۰ از ۳۶ نوبت پایان‌یافته (۸۳٪)",
        "نوبت‌های هنوز باز: ۲",
        "• صنایع دستی و هنرهای سنتی (۱۳): ✅ ۶  ⚠️ ۲  ⏸ ۰  ⛔ ۲  📭 ۰  ➖ ۳",
        "• تولید خانگی مواد غذایی (۱۴): ✅ ۳  ⚠️ ۰  ⏸ ۲  ⛔ ۰  📭 ۳  ➖ ۶",
        "• همه (۴۰): ✅ ۱۳  ⚠️ ۲  ⏸ ۲  ⛔ ۲  📭 ۳  ➖ ۱۸",
        "• مهر ۱۴۰۴ (۱۰): ✅ ۶  ⚠️ ۰  ⏸ ۰  ⛔ ۲  📭 ۰  ➖ ۲",
        "• فروردین ۱۴۰۵ (۷): ✅ ۳  ⚠️ ۲  ⏸ ۲  ⛔ ۰  📭 ۰  ➖ ۰",
        "• شهریور ۱۴۰۵ (۹): ✅ ۴  ⚠️ ۰  ⏸ ۰  ⛔ ۰  📭 ۳  ➖ ۲",
        "۳ ماه پس از وام: هنوز فعال ۱۱ از ۲۰ (۵۵٪)، ۲ نفر بدون پاسخ",
        "۶ ماه پس از وام: هنوز فعال ۱۱ از ۱۷ (۶۵٪)، ۲ نفر بدون پاسخ",
        "۱۲ ماه پس از وام: هنوز فعال ۶ از ۱۰ (۶۰٪)، ۲ نفر بدون پاسخ",
    ):
        assert line in text.splitlines(), line


async def test_format_stats_english(stats: Stats, content: Content) -> None:
    """The English report has Latin digits and the Gregorian date beside the Jalali one."""
    text = format_stats(stats, content, "en")
    lines = text.splitlines()
    assert "🗓 Date: 1405/09/08 (2026-11-29)" in lines
    assert "• Handicrafts and traditional arts: 13" in lines
    assert "Answered 30 of 36 finished rounds (83%)" in lines
    assert "• Mehr 1404 (10): ✅ 6  ⚠️ 0  ⏸ 0  ⛔ 2  📭 0  ➖ 2" in lines
    assert "12 months after the loan: still operating 6 of 10 (60%), 2 without an answer" in lines


def test_format_stats_stays_under_the_limit(data: ReportData, content: Content) -> None:
    """Many loan months: only the latest twelve are listed, the rest summarised."""
    many = {f"{2020 + m // 12}-{m % 12 + 1:02d}-15": {"operating": m + 1} for m in range(60)}
    big = build_stats(replace(data, status_by_loan_on=many), content)
    text = format_stats(big, content, "fa")
    assert utf16_len(text) < 4096
    assert "… و ۴۸ ماه قدیمی‌تر" in text.splitlines()


# ------------------------------------------------------------------ the chart


def _chart_texts(content: Content) -> list[str]:
    """Every Persian text the status chart can draw."""
    texts = [f.name.fa for f in content.fields]
    texts += [label("fa", k) for k in ("chart_title", "chart_axis", "chart_empty")]
    texts += [label("fa", f"status.{s}") for s in STATUSES]
    return [*texts, "۰۱۲۳۴۵۶۷۸۹/ —()"]


def test_chart_font_has_every_persian_glyph(content: Content) -> None:
    """DejaVu Sans (bundled with matplotlib) has every letter and digit the chart draws."""
    path = chart_font_path()
    assert Path(path).name == "DejaVuSans.ttf"
    charmap = FT2Font(path).get_charmap()
    drawn = "".join(_chart_texts(content))
    assert not {ch for ch in drawn if ord(ch) not in charmap}


def _drawn(text: str) -> tuple[str, str]:
    """matplotlib's own layout of ``text``: its characters in visual order (left to right),
    and the brackets as drawn (a mirrored bracket is drawn with the other one's glyph)."""
    font = FT2Font(chart_font_path())
    items = list(font._layout(text, LoadFlags.NO_HINTING))
    glyphs = {font.get_char_index(ord(b)): b for b in "()"}
    brackets = "".join(glyphs[i.glyph_index] for i in items if i.glyph_index in glyphs)
    return "".join(item.char for item in items), brackets


def test_matplotlib_draws_persian_right_to_left_and_joined() -> None:
    """Logical text in, first letter rightmost and letters joined out (libraqm, matplotlib 3.11)."""
    font = FT2Font(chart_font_path())
    order, _ = _drawn("فعال ۱۲")
    assert order == "۱۲ لاعف"  # visual order, left to right
    items = list(font._layout("فعال", LoadFlags.NO_HINTING))
    feh = next(item for item in items if item.char == "ف")
    assert feh.glyph_index != font.get_char_index(ord("ف"))  # initial form, not isolated


def test_the_axis_label_keeps_its_brackets_the_right_way_round() -> None:
    """«تعداد افراد (آخرین پاسخ پیگیری)» reads with its brackets around the note: drawn left to
    right as "(…) … تعداد"; matplotlib 3.10 drew ")…(" (hence matplotlib >= 3.11)."""
    text = label("fa", "chart_axis")
    assert text == "تعداد افراد (آخرین پاسخ پیگیری)"
    order, brackets = _drawn(text)
    assert order.endswith("دادعت")  # the first word is drawn rightmost
    assert brackets == "()"


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_status_chart_png(stats: Stats, lang: str, tmp_path: Path) -> None:
    """A PNG of reasonable size, drawn without any warning (e.g. "Glyph … missing")."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_status_chart(stats, lang)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 15_000
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    assert width > 800 and height > 300
    (tmp_path / f"status_{lang}.png").write_bytes(png)


def test_cohort_labels_match_jdatetime() -> None:
    """The test's loan dates really fall in the months the figures assume."""
    months = {jdatetime.date.fromgregorian(date=dt.date.fromisoformat(g.loan_on)).month
              for g in GROUPS if g.loan_on}  # fmt: skip
    assert months == {7, 1, 6}
