"""Staff exports: headers and words in the staff member's language, every row, both formats."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import stat
import subprocess
import sys
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jdatetime
import pytest
from openpyxl import load_workbook

from bot.content.loader import load_content
from bot.content.model import Content
from bot.core.i18n import I18n, load_i18n
from bot.db.engine import Database
from bot.repo.reports import ReportRepo
from bot.repo.roster import RosterRepo
from bot.roster.model import RosterRecord
from bot.staffdesk import export
from bot.staffdesk.export import export_paths, write_csv, write_export, write_xlsx
from bot.staffdesk.export_sheets import SHEET_NAMES
from tests.support import stores
from tests.support.roster_cohort import national_code
from tests.test_reports import ROOT, T0, seed

# Every test opens a database: each runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("store")

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
BOM = b"\xef\xbb\xbf"
FA_TITLES = [
    "متقاضیان", "مراحل", "پاسخ‌های پیگیری", "فهرست پیگیری کارشناسان", "پرسش‌ها", "فهرست طرح",
]  # fmt: skip
TABLES = {
    "applicants": "users",
    "steps": "step_progress",
    "checkins": "checkin_answers",
    "followups": "followups",
    "tickets": "tickets",
    "roster": "roster",
}


#: People on the programme's list (none of them a bot user here).
ROSTER = [
    RosterRecord(national_code(7), "فهرست یک", "+989120000007", "karaj", loan_on="2025-06-01"),
    RosterRecord(national_code(8), "=SUM(A1)", "+989120000008"),
]


async def seed_more(database: Database) -> None:
    """Two tickets (one answered and closed), national codes, and check-in answers and
    follow-ups with every kind of detail the conversations store."""
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT INTO tickets (platform, user_pk, kind, status, created_at, closed_at,"
            " closed_by) VALUES ('bale', 1, 'question', 'closed', 1760000000, 1760003600, 7)"
        )
        await conn.execute(
            "INSERT INTO tickets (platform, user_pk, kind, created_at)"
            " VALUES ('telegram', 2, 'no_answer', 1760000100)"
        )
        for direction, text in (("in", "کارت ملی لازم است؟"), ("out", "بله"), ("in", "سپاس")):
            await conn.execute(
                "INSERT INTO ticket_messages (ticket_id, direction, kind, text, at)"
                " VALUES (1, ?, 'text', ?, 1760000000)",
                (direction, text),
            )
        await conn.execute("UPDATE users SET national_code = '0013542419' WHERE id = 1")
        await conn.execute("UPDATE users SET mobile = '+989121234567' WHERE id = 2")
        details = {
            (1, "operating"): {"staff": 2, "sales": "m10_50"},
            (9, "problems"): {"problem": "other", "note": "مشتری کم است", "extra": 1},
            (14, "paused"): {"reason": "seasonal", "restart": "2027-03-21"},
            (7, "closed"): {"reason": "costs"},
        }
        for (user_pk, status), detail in details.items():
            await conn.execute(
                "UPDATE checkin_answers SET detail = ? WHERE user_pk = ? AND status = ?",
                (json.dumps(detail, ensure_ascii=False), user_pk, status),
            )
        await conn.execute("UPDATE followups SET detail = ? WHERE kind = 'closed'",
                           (json.dumps({"round": 3, "reason": "costs"}),))  # fmt: skip
        await conn.execute("UPDATE followups SET detail = ? WHERE kind = 'problems'",
                           (json.dumps({"round": 5, "problem": "raw_materials"}),))  # fmt: skip


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database seeded like the report tests, and more."""
    database = await stores.current.open(tmp_path / "export.sqlite3")
    await seed(database)
    await seed_more(database)
    await RosterRepo(database).add_many(ROSTER, now=T0)
    yield database
    await database.close()


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped programme content."""
    return load_content(ROOT / "locales" / "content.yaml")


@pytest.fixture(scope="module")
def i18n() -> I18n:
    """The shipped locale files."""
    return load_i18n()


def rows_of(path: Path, title: str) -> list[dict[str, Any]]:
    """A sheet's rows as {header: value}."""
    wb = load_workbook(path)
    try:
        values = list(wb[title].iter_rows(values_only=True))
    finally:
        wb.close()
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


async def test_repo_pages_are_complete_and_in_order(db: Database) -> None:
    """Keyset pages of any size give the same rows, composite keys included."""
    repo = ReportRepo(db)
    for name, size in (("applicants", 8), ("step_progress", 2), ("checkins", 7)):
        small = [row async for row in getattr(repo, name)(size)]
        whole = [row async for row in getattr(repo, name)()]
        assert small == whole, name
    assert len([r async for r in repo.applicants(8)]) == 40
    assert len([r async for r in repo.step_progress(2)]) == 15
    assert len([r async for r in repo.followups(1)]) == 4


def test_export_paths_sit_beside_the_workbook(tmp_path: Path) -> None:
    """PATH (or PATH.xlsx) → PATH.xlsx and PATH-<table>.csv, never a bare applicants.csv."""
    for given in ("staff", "staff.xlsx", "staff.XLSX"):
        book, csvs = export_paths(tmp_path / given, SHEET_NAMES)
        assert book == tmp_path / "staff.xlsx"
        assert [p.name for p in csvs] == [f"staff-{n}.csv" for n in SHEET_NAMES]
    book, csvs = export_paths(tmp_path / "march.2026", ["applicants"])
    assert (book.name, csvs[0].name) == ("march.2026.xlsx", "march.2026-applicants.csv")


async def test_persian_headers_and_every_row(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """Persian sheets by default: Persian titles and headers, right to left, frozen header,
    and every database row, in order."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "out.xlsx", content=content, i18n=i18n,
                            page_size=7)  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if "sqlite3" not in p.name] == ["out.xlsx"]
    wb = load_workbook(path)
    try:
        assert wb.sheetnames == FA_TITLES
        for title, name in zip(FA_TITLES, SHEET_NAMES, strict=True):
            ws = wb[title]
            assert ws.sheet_view.rightToLeft is True
            assert ws.freeze_panes == "A2"
            assert all(cell.font.b for cell in ws[1])
            (count,) = await db.fetchone(f"SELECT COUNT(*) FROM {TABLES[name]}")
            assert count > 1 and ws.max_row == count + 1, name
        header = [cell.value for cell in wb["متقاضیان"][1]]
    finally:
        wb.close()
    assert header[:12] == [
        "شناسه", "پیام‌رسان", "شناسه کاربر در پیام‌رسان", "زبان", "نام و نام خانوادگی",
        "شماره همراه", "کد ملی", "شهرستان", "رشته کسب‌وکار", "مرحله", "نمایه کامل است",
        "پیام‌های یادآوری و پیگیری",
    ]  # fmt: skip
    assert "تاریخ دریافت وام" in header and "تاریخ دریافت وام (میلادی)" in header
    assert not [h for h in header if h.isascii()], "a header left in code"
    ids = [row["شناسه"] for row in rows_of(path, "متقاضیان")]
    assert ids == list(range(1, 41))


def _jalali(ts: int) -> tuple[str, str]:
    """A timestamp as the export should show it, worked out with jdatetime alone."""
    moment = dt.datetime.fromtimestamp(ts, TEHRAN)
    return jdatetime.datetime.fromgregorian(datetime=moment).strftime("%Y/%m/%d %H:%M"), (
        moment.isoformat()
    )


async def test_codes_become_the_words_the_bot_shows(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """Stages, counties, fields, steps, statuses, check-in details and follow-up subjects are
    the labels of the bot's own buttons and messages; unknown codes stay as stored."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "out.xlsx", content=content, i18n=i18n)
    people = rows_of(path, "متقاضیان")
    first = people[0]
    assert first["نام و نام خانوادگی"] == "متقاضی 1"
    assert first["شهرستان"] == content.county("karaj").name.fa
    assert first["رشته کسب‌وکار"] == content.field("handicrafts").name.fa
    assert first["مرحله"] == i18n.t("fa", "stages.operating") == "کسب‌وکارم فعال است"
    assert first["آخرین پاسخ پیگیری"] == "فعال"
    assert (first["نمایه کامل است"], first["پیام‌های یادآوری و پیگیری"]) == ("خیر", "روشن")
    assert first["کد ملی"] == "۰۰۱۳۵۴۲۴۱۹"  # text, leading zeros kept
    assert people[1]["شماره همراه"] == "۰۹۱۲۱۲۳۴۵۶۷"  # stored +989121234567
    assert people[0]["شماره همراه"] == "۰۹۱۲۰۰۰۰۰۰۱"
    assert (first["تاریخ ثبت"], first["تاریخ ثبت (میلادی)"]) == _jalali(T0 + 3600)
    assert (first["تاریخ دریافت وام"], first["تاریخ دریافت وام (میلادی)"]) == (
        "1404/07/13", "2025-10-05"
    )  # fmt: skip
    assert people[6]["نام و نام خانوادگی"] == "=1+2"  # text, never a formula
    assert people[-1]["مرحله"] is None and people[-1]["آخرین پاسخ پیگیری"] == "هنوز پاسخی ثبت نشده"
    steps = rows_of(path, "مراحل")
    assert {row["مرحله"] for row in steps} == {"register", "training"}  # not in the content
    answers = {(r["شناسه متقاضی"], r["پاسخ"]): r for r in rows_of(path, "پاسخ‌های پیگیری")}
    sales = content.sales_band("m10_50").label.fa
    operating = answers[1, "فعال"]
    assert (operating["تعداد افراد"], operating["فروش ماهانه"]) == ("۲", sales)
    assert operating["وضعیت نوبت"] == "پاسخ داده شد"
    problems = answers[9, "فعال با مشکل"]
    assert problems["مشکل"] == content.problem("other").label.fa
    assert problems["توضیح متقاضی"] == "مشتری کم است"
    assert problems["جزئیات دیگر"] == "extra: 1"  # nothing stored is left out
    paused = answers[14, "متوقف موقت"]
    assert paused["دلیل"] == content.pause_reason("seasonal").label.fa
    assert (paused["شروع دوباره"], paused["شروع دوباره (میلادی)"]) == ("1406/01/01", "2027-03-21")
    assert answers[7, "تعطیل"]["دلیل"] == content.closed_reason("costs").label.fa
    assert answers[11, "پاسخ نداد"]["وضعیت نوبت"] == "بی‌پاسخ ماند"
    followups = rows_of(path, "فهرست پیگیری کارشناسان")
    assert [(f["نام و نام خانوادگی"], f["شهرستان"]) for f in followups] == [
        ("=1+2", "فردیس"), ("متقاضی 8", "فردیس"), ("متقاضی 9", "کرج"), ("متقاضی 10", "کرج")
    ]  # fmt: skip
    closed = followups[0]
    assert (closed["نوع"], closed["موضوع"], closed["نوبت پیگیری"], closed["وضعیت"]) == (
        "پیگیری: تعطیل شده", content.closed_reason("costs").label.fa, 3, "باز"
    )  # fmt: skip
    assert followups[2]["موضوع"] == content.problem("raw_materials").label.fa
    assert followups[0]["شماره همراه"] == "۰۹۱۲۰۰۰۰۰۰۷"
    tickets = rows_of(path, "پرسش‌ها")
    assert [(t["پیام‌رسان"], t["نوع"], t["وضعیت"]) for t in tickets] == [
        ("بله", "پرسش", "بسته"), ("تلگرام", "پیگیری: بی‌پاسخ", "باز")
    ]  # fmt: skip
    assert (tickets[0]["پیام‌های متقاضی"], tickets[0]["نخستین پیام"]) == (2, "کارت ملی لازم است؟")


async def test_english_export_for_an_english_admin(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """lang="en": English titles, headers and words, left to right, mobiles in groups."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "en.xlsx", content=content, i18n=i18n,
                            lang="en")  # fmt: skip
    wb = load_workbook(path)
    try:
        assert wb.sheetnames == [
            "Applicants", "Steps", "Check-in answers", "Staff follow-ups", "Questions",
            "Programme list",
        ]  # fmt: skip
        assert not wb["Applicants"].sheet_view.rightToLeft
    finally:
        wb.close()
    first, second = rows_of(path, "Applicants")[:2]
    assert (first["County"], first["Stage"], first["Latest check-in answer"]) == (
        "Karaj", "Operating", "Operating"
    )  # fmt: skip
    assert (first["National code"], second["Mobile"]) == ("001-354241-9", "0912 123 4567")
    answer = rows_of(path, "Check-in answers")[0]
    assert (answer["People working"], answer["Monthly sales"]) == (
        "2", content.sales_band("m10_50").label.en
    )  # fmt: skip


async def test_mobiles_and_national_codes_are_text(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """Their cells are strings in text format, so Excel keeps the leading zero, also when
    someone edits the cell; in the CSV they are text no spreadsheet reads as a number."""
    for lang in ("fa", "en"):
        path = await write_xlsx(ReportRepo(db), tmp_path / f"{lang}.xlsx", content=content,
                                i18n=i18n, lang=lang)  # fmt: skip
        wb = load_workbook(path)
        try:
            ws = wb.worksheets[0]
            header = [cell.value for cell in ws[1]]
            for column in (header.index(i18n.t(lang, "export.column.mobile")),
                           header.index(i18n.t(lang, "export.column.national_code"))):  # fmt: skip
                cell = ws.cell(row=2, column=column + 1)
                assert (cell.data_type, cell.number_format) == ("s", "@"), (lang, cell.value)
        finally:
            wb.close()


def _as_csv(value: Any) -> str:
    """A cell as the CSV should hold it."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith("=") else text


async def test_csv_equals_the_workbook(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """One pass writes both; each CSV (UTF-8 with BOM) holds its sheet's cells as text, and
    text a spreadsheet would run as a formula gets an apostrophe."""
    book, csvs = export_paths(tmp_path / "all", SHEET_NAMES)
    written = await write_export(ReportRepo(db), content=content, i18n=i18n, workbook=book,
                                 csvs=csvs, page_size=5)  # fmt: skip
    assert written == [book, *csvs]
    assert sorted(p.name for p in tmp_path.iterdir() if "sqlite3" not in p.name) == sorted(
        p.name for p in written
    )
    for title, path in zip(FA_TITLES, csvs, strict=True):
        assert path.read_bytes().startswith(BOM)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.DictReader(handle))
        sheet = rows_of(book, title)
        expected = [{k: _as_csv(v) for k, v in row.items()} for row in sheet]
        assert table == expected, path.name
    with csvs[0].open(encoding="utf-8-sig", newline="") as handle:
        names = [row["نام و نام خانوادگی"] for row in csv.DictReader(handle)]
    assert names[6] == "'=1+2"  # neutralised for spreadsheets
    alone = await write_csv(ReportRepo(db), tmp_path / "only", content=content, i18n=i18n)
    assert [p.name for p in alone] == [f"only-{n}.csv" for n in SHEET_NAMES]
    assert alone[0].read_bytes() == csvs[0].read_bytes()


async def test_xlsx_splits_at_the_row_limit(
    db: Database, content: Content, i18n: I18n, tmp_path: Path
) -> None:
    """A table longer than a sheet continues on numbered sheets, each with the header."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "split.xlsx", content=content, i18n=i18n,
                            page_size=4, max_rows=10)  # fmt: skip
    wb = load_workbook(path)
    try:
        parts = [name for name in wb.sheetnames if name.startswith("متقاضیان")]
        assert parts == ["متقاضیان", "متقاضیان 2", "متقاضیان 3", "متقاضیان 4", "متقاضیان 5"]
        header = [cell.value for cell in wb["متقاضیان"][1]]
        ids = []
        for name in parts:
            values = list(wb[name].iter_rows(values_only=True))
            assert list(values[0]) == header
            assert 1 < len(values) <= 10
            ids += [row[0] for row in values[1:]]
        assert ids == list(range(1, 41))
    finally:
        wb.close()


async def test_export_of_an_empty_database(content: Content, i18n: I18n, tmp_path: Path) -> None:
    """No rows: every sheet and file still exists with its header."""
    database = await stores.current.open(tmp_path / "empty.sqlite3")
    try:
        book, csvs = export_paths(tmp_path / "empty", SHEET_NAMES)
        await write_export(ReportRepo(database), content=content, i18n=i18n, workbook=book,
                           csvs=csvs)  # fmt: skip
    finally:
        await database.close()
    wb = load_workbook(book)
    try:
        assert wb.sheetnames == FA_TITLES
        assert all(wb[title].max_row == 1 for title in FA_TITLES)
    finally:
        wb.close()
    lines = [len(p.read_text(encoding="utf-8-sig").splitlines()) for p in csvs]
    assert lines == [1] * len(SHEET_NAMES)


async def test_a_failed_export_leaves_no_file(
    db: Database, content: Content, i18n: I18n, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure half-way removes every temporary; no partial file appears under its name."""

    def broken(*args: Any) -> None:
        """Fail like a full disk."""
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "_write_page", broken)
    book, csvs = export_paths(tmp_path / "out", SHEET_NAMES)
    with pytest.raises(OSError):
        await write_export(ReportRepo(db), content=content, i18n=i18n, workbook=book, csvs=csvs)
    # only the database's own files (none on PostgreSQL) are left
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("export.sqlite3")] == []


# --- exports hold names, mobiles and national codes: owner-only (0600) from creation -----------
@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so that only explicit modes protect the files."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path, pattern: str) -> dict[str, int]:
    """The permission bits of the files matching ``pattern`` in ``folder``."""
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.glob(pattern)}


async def test_export_files_are_owner_only_from_creation(
    db: Database,
    content: Content,
    i18n: I18n,
    tmp_path: Path,
    open_umask: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each file is 0600 before its first byte is written (no chmod after), and stays so."""
    seen: dict[str, int] = {}
    real_write = export._write_page

    def watching(*args: Any) -> None:
        """Note every temporary's mode while pages are written."""
        seen.update(_modes(tmp_path, ".*.tmp"))
        real_write(*args)

    monkeypatch.setattr(export, "_write_page", watching)
    book, csvs = export_paths(tmp_path / "export", SHEET_NAMES)
    finals = await write_export(ReportRepo(db), content=content, i18n=i18n, workbook=book,
                                csvs=csvs)  # fmt: skip
    assert {f".{p.name}.{os.getpid()}.tmp" for p in finals} <= set(seen)
    assert set(seen.values()) == {0o600}, seen
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in finals} == {
        p.name: 0o600 for p in finals
    }


def _homebiz(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line on a database under tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BALE_"))}
    env.update(HOMEBIZ_DB=str(tmp_path / "bot.sqlite3"), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )


def test_homebiz_export_writes_owner_only_files_beside_the_path(
    tmp_path: Path, open_umask: None
) -> None:
    """`homebiz export out/staff` under umask 0: staff.xlsx and staff-<table>.csv, all 0600,
    in Persian; `--lang en` gives English headers."""
    result = _homebiz(tmp_path, "export", str(tmp_path / "out" / "staff"))
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == sorted(
        ["staff.xlsx", *(f"staff-{name}.csv" for name in SHEET_NAMES)]
    )
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: "0o600" for p in written
    }
    header = (tmp_path / "out" / "staff-applicants.csv").read_text(encoding="utf-8-sig")
    assert header.startswith("شناسه,پیام‌رسان,")
    result = _homebiz(tmp_path, "export", "--lang", "en", str(tmp_path / "en.xlsx"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "en-followups.csv").read_text(encoding="utf-8-sig").startswith(
        "ID,Applicant ID,Full name,Mobile,County,"
    )
    assert not (tmp_path / "applicants.csv").exists()
