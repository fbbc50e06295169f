"""/stats and /export through the real Application: who may, what arrives, what it holds."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.repo.staff import StaffRepo
from bot.staffdesk.export_sheets import SHEET_NAMES
from tests.conftest import Bot
from tests.support.stores import Store
from tests.test_checkins import deliver, loan_holder
from tests.test_onboarding import FA_NAME, onboard

ADMIN, STAFF = 1, 2


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin (from the settings) and a staff member (added by the admin)."""
    instance = Bot(
        db_path=tmp_path / "r.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    await StaffRepo(instance.svc.db).add("telegram", STAFF, "staff", ADMIN, 0)
    yield instance
    await instance.stop()


def _documents(bot: Bot, chat: int) -> dict[str, bytes]:
    """Files the bot sent to a chat, by name."""
    out = {}
    for message in bot.emulator.bot_messages(chat):
        if message.kind == "document":
            record = bot.emulator.files[message.file["file_id"]]
            out[record.filename] = record.content
    return out


async def test_stats_for_staff_with_a_persian_chart(desk: Bot) -> None:
    """Staff get the figures in their language and a PNG chart."""
    for uid in (11, 12, 13):
        await onboard(desk, uid)
    staff = desk.client(STAFF, lang="fa")
    replies = await staff.send("/stats")
    text = replies[0].content
    assert "۳" in text and "3" not in text
    assert "کرج: ۳" in text
    assert replies[-1].kind == "photo"
    upload = desk.emulator.calls_to("sendPhoto")[-1]
    assert upload["photo"]["size"] > 5000


def _sheet(book: Any, title: str) -> list[dict[str, Any]]:
    """A sheet's rows as {header: value}."""
    rows = list(book[title].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _csv(data: bytes) -> list[dict[str, str]]:
    """A CSV file's rows as {header: text}."""
    text = data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def test_export_for_staff_only(desk: Bot) -> None:
    """Staff and admins receive the workbook and CSVs; an applicant is denied and recorded."""
    await onboard(desk, 21, lang="en")
    staff = desk.client(STAFF, lang="en")
    await staff.send("/export")
    assert len(_documents(desk, STAFF)) == 1 + len(SHEET_NAMES)  # unscoped: every county
    applicant = desk.client(21, lang="en")
    replies = await applicant.send("/export")
    assert "do not know that command" in replies[0].content
    denied = [e for e in await StaffRepo(desk.svc.db).latest() if e.action == "denied"]
    assert {e.actor for e in denied} == {21}
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/export")
    files = _documents(desk, ADMIN)
    assert sorted(files) == sorted(
        ["homebiz-1405-09-08.xlsx"]
        + [f"homebiz-1405-09-08-{name}.csv" for name in SHEET_NAMES]
    )
    assert files["homebiz-1405-09-08-applicants.csv"].startswith(b"\xef\xbb\xbf")
    book = load_workbook(io.BytesIO(files["homebiz-1405-09-08.xlsx"]))
    assert book.sheetnames == [
        "Applicants", "Steps", "Check-in answers", "Staff follow-ups", "Questions",
        "Programme list",
    ]  # fmt: skip
    (row,) = [r for r in _sheet(book, "Applicants") if r["User ID in the messenger"] == 21]
    stored = await desk.svc.users.find("telegram", 21)
    assert stored is not None
    assert (row["Full name"], row["Mobile"], row["National code"]) == (
        stored.full_name,
        "0912 345 6789",  # stored as +989123456789
        "001-354241-9",  # as on the national card
    )
    assert [row[k] for k in ("Messenger", "Language", "County", "Business field", "Stage")] == [
        "Telegram",
        "English",
        "Karaj",  # the names in the admin's language
        "Handicrafts and traditional arts",
        "Only an idea",
    ]
    assert "export_taken" in [e.action for e in await StaffRepo(desk.svc.db).latest()]


async def test_figures_count_only_applicants_who_agreed(desk: Bot) -> None:
    """Two applicants, one person who declined, one who stopped at the privacy question and a
    staff member who tried the guide: the figures and the export hold the two applicants."""
    await onboard(desk, 31)
    await onboard(desk, 32)
    declined = desk.client(33, lang="fa")
    await declined.send("/start")
    await declined.press("فارسی")
    await declined.press("موافق نیستم")
    waiting = desk.client(34, lang="fa")
    await waiting.send("/start")
    await waiting.press("فارسی")
    await onboard(desk, STAFF)  # staff try the guide as an applicant would
    stored = await desk.svc.db.fetchone("SELECT COUNT(*) FROM users")
    assert stored[0] == 4  # 31, 32, the one at the privacy question, and the staff member
    staff = desk.client(STAFF, lang="fa")
    lines = (await staff.send("/stats"))[0].content.splitlines()
    assert "👥 کل متقاضیان: ۲" in lines and "• کرج: ۲" in lines
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/export")
    files = _documents(desk, ADMIN)
    book = load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    ws = book.worksheets[0]  # the applicants
    assert ws.max_row == 1 + 2  # the header and the two applicants


async def test_export_cells_are_the_words_the_applicant_saw(desk: Bot) -> None:
    """A Persian admin's export: each cell holds what the bot showed the applicant — the
    county, field and stage buttons, the check-in answers pressed, the mobile as typed — in
    the workbook and in the CSVs alike; the follow-ups carry name, mobile and county."""
    zahra = await loan_holder(desk, 31, lang="fa", loan_date="1405/08/01")
    sara = await loan_holder(desk, 32, lang="fa", loan_date="1405/08/01")
    assert await deliver(desk) == 2
    await zahra.press("✅ فعال است، مثل همیشه")
    staff_button = "۵+"
    assert staff_button in zahra.buttons
    await zahra.press(staff_button)
    band = desk.svc.content.checkin.sales_bands[2].label.fa
    await zahra.press(band)
    await sara.press("⚠️ فعال است ولی با مشکل")
    problem = desk.svc.content.checkin.problems[1].label.fa
    await sara.press(problem)
    admin = desk.client(ADMIN, lang="fa")
    await admin.send("/export")
    files = _documents(desk, ADMIN)
    book = load_workbook(io.BytesIO(files["homebiz-1405-09-08.xlsx"]))
    assert book.sheetnames == [
        "متقاضیان", "مراحل", "پاسخ‌های پیگیری", "فهرست پیگیری کارشناسان", "پرسش‌ها", "فهرست طرح",
    ]  # fmt: skip
    assert all(book[name].sheet_view.rightToLeft for name in book.sheetnames)
    people = {r["شناسه کاربر در پیام‌رسان"]: r for r in _sheet(book, "متقاضیان")}
    person = people[31]
    assert person["نام و نام خانوادگی"] == FA_NAME
    assert person["شماره همراه"] == "۰۹۱۲۳۴۵۶۷۸۹"  # typed as «۰۹۱۲ ۳۴۵ ۶۷۸۹»
    assert person["کد ملی"] == "۰۰۱۳۵۴۲۴۱۹"
    assert [person[k] for k in ("پیام‌رسان", "زبان", "شهرستان", "رشته کسب‌وکار", "مرحله")] == [
        "تلگرام", "فارسی", "کرج", "صنایع دستی و هنرهای سنتی", "کسب‌وکارم فعال است",
    ]  # fmt: skip  (answering "operating" moved her stage forward)
    assert person["تاریخ دریافت وام"] == "1405/08/01"
    assert person["تاریخ دریافت وام (میلادی)"] == "2026-10-23"
    assert (person["آخرین پاسخ پیگیری"], people[32]["آخرین پاسخ پیگیری"]) == (
        "فعال", "فعال با مشکل"
    )  # fmt: skip
    answers = {r["شناسه متقاضی"]: r for r in _sheet(book, "پاسخ‌های پیگیری")}
    mine = answers[person["شناسه"]]
    assert (mine["پاسخ"], mine["تعداد افراد"], mine["فروش ماهانه"]) == (
        "فعال", staff_button, band
    )  # fmt: skip
    assert mine["وضعیت نوبت"] == "پاسخ داده شد"
    assert answers[people[32]["شناسه"]]["مشکل"] == problem
    (followup,) = _sheet(book, "فهرست پیگیری کارشناسان")
    assert [followup[k] for k in ("نام و نام خانوادگی", "شماره همراه", "شهرستان")] == [
        FA_NAME, "۰۹۱۲۳۴۵۶۷۸۹", "کرج"
    ]  # fmt: skip
    assert (followup["نوع"], followup["موضوع"], followup["وضعیت"]) == (
        "پیگیری: مشکل در کار", problem, "باز"
    )  # fmt: skip
    for name, title in zip(SHEET_NAMES, book.sheetnames, strict=True):
        table = _csv(files[f"homebiz-1405-09-08-{name}.csv"])
        sheet = _sheet(book, title)
        as_text = [{k: "" if v is None else str(v) for k, v in row.items()} for row in sheet]
        assert table == as_text, name


