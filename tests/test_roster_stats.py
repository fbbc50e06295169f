"""/roster stats and /stats with a roster, through the real Application and the `homebiz`
command: who may ask, what arrives, in which words and digits."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.core.clock import ManualClock
from bot.core.text import utf16_len
from bot.db.engine import Database
from bot.messengers.fakeapi.model import FakeMessage
from bot.repo.staff import StaffRepo
from tests.conftest import Bot, no_errors
from tests.support.roster_cohort import seed_roster
from tests.support.stores import Store

ROOT = Path(__file__).resolve().parent.parent
ADMIN, STAFF, STRANGER = 1, 2, 3


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin and a staff member, on an empty list."""
    instance = Bot(
        db_path=tmp_path / "desk.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    await StaffRepo(instance.svc.db).add("telegram", STAFF, "staff", ADMIN, 0)
    yield instance
    await instance.stop()


def _texts(replies: list[FakeMessage]) -> list[str]:
    """The text messages of a reply, in order."""
    return [m.content for m in replies if m.kind == "text"]


def _lines(replies: list[FakeMessage]) -> list[str]:
    """Every line of every text message of a reply."""
    return [line for text in _texts(replies) for line in text.splitlines()]


async def test_roster_stats_in_persian(desk: Bot) -> None:
    """Staff get the list's reach and its survival by cohort, county and field: Persian digits
    only, names from the content, both rates on the line under each cohort."""
    await seed_roster(desk.svc.db)
    staff = desk.client(STAFF, lang="fa")
    with no_errors():
        replies = await staff.send("/roster stats")
    texts = _texts(replies)
    assert texts and len(texts) == len(replies)  # joined into as few messages as fit
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert not any(ch in "".join(texts) for ch in "0123456789"), "a Latin digit in Persian"
    lines = _lines(replies)
    for line in (
        "📋 آمار فهرست طرح",
        "🗓 تاریخ: ۱۴۰۵/۰۹/۰۸",
        "👥 در فهرست: ۱۶",
        "✉️ دعوت‌شده: ۴ (سفیر بله: ۱، پیوند شخصی: ۳)",
        "🤝 به ربات پیوسته‌اند: ۹ (۵۶٪ فهرست)",
        "🔗 شیوهٔ پیوستن: با شمارهٔ همراه خودشان ۵، با پیوند شخصی ۳، هنگام ورود فهرست ۱",
        "📵 در بله نیستند: ۱",
        "🚫 نمی‌خواهند پیامی بگیرند: ۱",
        "• کرج: ۸ نفر · دعوت ۳ · پیوسته ۵ · در بله نیست ۱ · انصراف ۱",
        "• فردیس: ۸ نفر · دعوت ۱ · پیوسته ۴ · در بله نیست ۰ · انصراف ۰",
        "• سایر رشته‌ها: ۱ نفر · دعوت ۰ · پیوسته ۰ · در بله نیست ۰ · انصراف ۰",
        "۱ نفر از فهرست تاریخ وام ندارند و در این ارقام نیستند.",
        "🕒 ۳ ماه پس از وام",
        "• ۱۴۰۴ فروردین تا شهریور: ۷ · ۵ · ۳ | ✅ ۱ ⚠️ ۱ ⏸ ۱ ⛔ ۰ 📭 ۴",
        "• ۱۴۰۵ فروردین تا شهریور: ۴ · ۲ · ۱ | ✅ ۱ ⚠️ ۰ ⏸ ۰ ⛔ ۰ 📭 ۳",
        "• همه: ۱۳ · ۸ · ۵ | ✅ ۲ ⚠️ ۱ ⏸ ۱ ⛔ ۱ 📭 ۸",
        "   فعال از پاسخ‌دهندگان ۶۰٪ | دست‌کم فعال از کل فهرست ۲۳٪",
        "• کرج: ۶ نفر، ۳ پاسخ — فعال از پاسخ‌دهندگان ۱۰۰٪ | دست‌کم ۵۰٪ از فهرست",
        "🕒 ۱۲ ماه پس از وام",
        "• همه: ۹ · ۶ · ۵ | ✅ ۱ ⚠️ ۰ ⏸ ۱ ⛔ ۳ 📭 ۴",
        "   فعال از پاسخ‌دهندگان ۲۰٪ | دست‌کم فعال از کل فهرست ۱۱٪",
    ):
        assert line in lines, line
    first_half = lines.index("• ۱۴۰۴ فروردین تا شهریور: ۷ · ۵ · ۳ | ✅ ۱ ⚠️ ۱ ⏸ ۱ ⛔ ۰ 📭 ۴")
    assert lines[first_half + 1] == "   فعال از پاسخ‌دهندگان ۶۷٪ | دست‌کم فعال از کل فهرست ۲۹٪"


async def test_roster_stats_in_english_and_the_usage(desk: Bot) -> None:
    """An English admin gets English words and Latin digits; /roster alone lists "stats"."""
    await seed_roster(desk.svc.db)
    admin = desk.client(ADMIN, lang="en")
    lines = _lines(await admin.send("/roster stats"))
    assert "👥 On the list: 16" in lines
    assert "• Karaj: 8 on the list · invited 3 · joined 5 · not on Bale 1 · declined 1" in lines
    assert "• 1404 Mehr–Esfand: 2 · 1 · 1 | ✅ 0 ⚠️ 0 ⏸ 0 ⛔ 1 📭 1" in lines
    assert (
        "   operating among those who answered 60% | operating at least, of the whole list 23%"
        in lines
    )
    usage = _lines(await admin.send("/roster"))
    assert usage[0] == desk.svc.i18n.t("en", "roster.usage")
    assert desk.svc.i18n.t("en", "roster.help.stats") in usage


async def test_roster_stats_is_for_staff_only_and_says_when_the_list_is_empty(desk: Bot) -> None:
    """A stranger is told the command is unknown; staff on an empty list are told it is empty."""
    stranger = desk.client(STRANGER, lang="en")
    unknown = _texts(await stranger.send("/roster stats"))
    assert "do not know that command" in unknown[0]
    staff = desk.client(STAFF, lang="fa")
    assert _texts(await staff.send("/roster stats")) == [
        desk.svc.i18n.t("fa", "roster_figures.empty")
    ]


async def test_stats_adds_survival_over_the_list_when_there_is_one(desk: Bot) -> None:
    """/stats without a roster: the applicants' figures and the chart as before. With one: the
    survival over the whole list by cohort follows, and the chart gains both rates' panel."""
    staff = desk.client(STAFF, lang="fa")
    before = await staff.send("/stats")
    assert [m.kind for m in before] == ["text", "photo"]
    assert "ماندگاری پس از وام، بر پایهٔ کل فهرست طرح" not in before[0].content
    plain = desk.emulator.calls_to("sendPhoto")[-1]["photo"]["size"]

    await seed_roster(desk.svc.db)
    after = await staff.send("/stats")
    assert after[-1].kind == "photo"
    lines = _lines(after[:-1])
    assert "👥 کل متقاضیان: ۹" in lines  # the linked people are applicants too
    assert "⏳ ماندگاری پس از وام، بر پایهٔ کل فهرست طرح" in lines
    assert "• ۱۴۰۴ مهر تا اسفند: ۲ · ۱ · ۱ | ✅ ۰ ⚠️ ۰ ⏸ ۰ ⛔ ۱ 📭 ۱" in lines
    assert "   فعال از پاسخ‌دهندگان ۶۷٪ | دست‌کم فعال از کل فهرست ۳۳٪" in lines  # 6 months
    assert "📍 بر اساس شهرستان" not in lines  # /roster stats has those
    upload = desk.emulator.calls_to("sendPhoto")[-1]["photo"]
    assert upload["size"] > plain


def _homebiz(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    """The real command line on ``db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BALE_"))}
    env.update(HOMEBIZ_DB=str(db), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=db.parent,
        env=env,
        timeout=120,
    )


def test_homebiz_roster_stats_and_stats_chart(tmp_path: Path) -> None:
    """`homebiz roster stats` prints /roster stats; `homebiz stats --chart` adds the survival
    over the list to the text and its panel to the chart."""
    db_path = tmp_path / "cli.sqlite3"

    async def seed() -> None:
        database = await Database.open(db_path)
        try:
            await seed_roster(database)
        finally:
            await database.close()

    asyncio.run(seed())
    result = _homebiz(["roster", "stats"], db_path)
    assert result.returncode == 0, result.stderr
    assert "👥 در فهرست: ۱۶" in result.stdout.splitlines()
    assert "🕒 ۳ ماه پس از وام" in result.stdout.splitlines()
    english = _homebiz(["roster", "stats", "--lang", "en"], db_path)
    assert "👥 On the list: 16" in english.stdout.splitlines()
    chart = tmp_path / "chart.png"
    stats = _homebiz(["stats", "--lang", "en", "--chart", str(chart)], db_path)
    assert stats.returncode == 0, stats.stderr
    assert "⏳ Survival after the loan, over the whole programme list" in stats.stdout
    with Image.open(io.BytesIO(chart.read_bytes())) as image:
        assert image.size[1] > 700  # the status panel and the survival panel
