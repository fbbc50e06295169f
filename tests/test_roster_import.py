"""Roster import: the template round trip, a messy real-looking file with its exact rejected rows,
other encodings, and re-imports that change only what changed (with history)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.content.loader import default_content_path, load_content
from bot.content.model import Content
from bot.core.i18n import I18n, load_i18n
from bot.core.validators import ERROR_CODES
from bot.db.engine import Database
from bot.repo.roster import RosterRepo
from bot.repo.roster_imports import RosterImportRepo
from bot.repo.staff import StaffRepo
from bot.roster.importer import (
    Actor,
    DryRun,
    commit,
    describe,
    discard,
    dry_run,
    write_rejected,
)
from bot.roster.model import COLUMNS, RosterRecord
from bot.roster.reader import UnreadableFile, open_sheet
from bot.roster.template import write_template
from tests.support import stores
from tests.support.spreadsheets import national_code, write_csv, write_excel_like

NOW = int(dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC).timestamp())  # 1405/09/08
STAFF = Actor("telegram", 1, "en")
SERIALS = (1234567, 7654321, 2345678, 3456789, 4567891, 5678912)
A, B, C, D, E, F = (national_code(n) for n in SERIALS)
BANNER = "فهرست دریافت‌کنندگان تسهیلات مشاغل خانگی — استان البرز"
# Two header rows, as offices lay them out: most headers merged down over both rows, "loan" merged
# across its date, amount and bank. The headers' words are not the template's.
HEADER = [
    ["ردیف", "کد ملي", "نام و نام خانوادگی", "شماره همراه", "شهرستان", "رشته",
     "تاریخ صدور مجوز", "تسهیلات", None, None, "شماره پرونده"],
    [None, None, None, None, None, None, None, "تاریخ", "مبلغ (ریال)", "بانک عامل", None],
]  # fmt: skip
MERGES = ["A1:K1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:F3", "G2:G3", "H2:J2", "K2:K3"]
GAP = [None] * 11


def messy_rows(*, excel: bool) -> list[list[Any]]:
    """The list as a county office might send it (``excel``: cells Excel made numbers of)."""
    return [
        [BANNER, *[None] * 10],
        *HEADER,
        # 4: valid — Arabic ي/ك, spaces in the mobile, Persian digits, ISO-like Solar Hijri date
        [1, A, "زهرا احمدي", "0912 123 4567", "كرج", "صنایع دستی و هنرهای سنتی", "۱۴۰۲/۰۵/۱۲",
         "1403-01-20", "۲٬۰۰۰٬۰۰۰٬۰۰۰", "ملی", "P-1"],
        # 5: valid — English names; Excel dropped the code's zeros and made the date a day number
        [2, int(B) if excel else B, "Reza Karimi", "+98 935 111 2233", "Fardis",
         "Clothing, sewing and textiles", 45000 if excel else "2023-03-15", "2024-08-02",
         2000000000, "ملت", "P-2"],
        GAP,  # 6: an empty line
        [3, A, "زهرا احمدی", "09121234567", "کرج", *[None] * 6],  # 7: row 4's code again
        [4, C, "مریم رضایی", "۰۹۱۲۳۴۵۶۷۸۹", "تهران", "آشپزی", *[None] * 5],  # 8: unknown names
        [5, "0012345678", "Ali", "021 2222 3333", *[None] * 7],  # 9: check digit, landline
        [6, D, "سارا", "09121112233", "نظرآباد", None, "1388/12/29", "1406/01/01", None, None,
         None],  # 10: before the law, in the future
        [7, *[None] * 10],  # 11: only the office's own row number: skipped like an empty line
        [8, E, "", "09121112234", *[None] * 7],  # 12: no name
        [9, E, "کاوه", "09121112235", *[None] * 7],  # 13: row 12's code again
        [10, F, "کاوه ک", "00989121234567", "ساوجبلاغ", None, None, None, "12.5", None, None],
    ]  # fmt: skip


# (row, column, problem, earlier row)
MESSY_PROBLEMS = [
    (7, "national_code", "duplicate", 4),
    (8, "county", "county.unknown", None),
    (8, "field", "field.unknown", None),
    (9, "national_code", "national_code.invalid", None),
    (9, "mobile", "mobile.landline", None),
    (10, "permit_on", "date.too_old", None),
    (10, "loan_on", "date.future", None),
    (12, "full_name", "empty", None),
    (13, "national_code", "duplicate", 12),
    (14, "loan_amount", "int.format", None),
]
ZAHRA = RosterRecord(A, "زهرا احمدی", "+989121234567", "karaj", "handicrafts", "2023-08-03",
                     "2024-04-08", 2_000_000_000, "ملی", "P-1")  # fmt: skip
REZA = RosterRecord(B, "Reza Karimi", "+989351112233", "fardis", "textiles_clothing",
                    "2023-03-15", "2024-08-02", 2_000_000_000, "ملت", "P-2")  # fmt: skip


@dataclass
class World:
    """A migrated database with the real content and texts."""

    db: Database
    content: Content
    i18n: I18n
    tmp: Path

    async def dry(self, path: Path, actor: Actor = STAFF) -> DryRun:
        """A dry run of a file."""
        return await dry_run(self.db, self.content, self.i18n, path, actor, NOW)

    async def roster(self) -> list[RosterRecord]:
        """The roster's records, by national code."""
        rows = await self.db.fetchall(
            f"SELECT {', '.join(COLUMNS)} FROM roster ORDER BY national_code"
        )
        return [RosterRecord(*row) for row in rows]

    async def count(self, table: str) -> int:
        """Rows in a table."""
        row = await self.db.fetchone(f"SELECT COUNT(*) FROM {table}")
        return int(row[0]) if row else -1

    async def problems(self, import_id: int) -> list[tuple[Any, ...]]:
        """(row, column, code, arg) of an import's problems."""
        found = await RosterImportRepo(self.db).problems(import_id)
        return [(p.line, p.column, p.code, p.arg) for p in found]


@pytest.fixture
async def world(tmp_path: Path, store: stores.Store) -> AsyncIterator[World]:
    """A fresh database."""
    db = await stores.current.open(tmp_path / "roster.sqlite3")
    yield World(db, load_content(default_content_path()), load_i18n(), tmp_path)
    await db.close()


# --- the template ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_template_round_trip(world: World, lang: str) -> None:
    """The template, filled in by a spreadsheet program, imports into exactly those rows."""
    buffer = io.BytesIO()
    write_template(buffer, world.i18n, lang)
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers == [world.i18n.t(lang, f"roster_import.column.{c}") for c in COLUMNS]
    assert bool(sheet.sheet_view.rightToLeft) is (lang == "fa")
    assert sheet.column_dimensions["A"].number_format == "@"  # codes keep their leading zeros
    guide = book.worksheets[1]
    assert guide.max_row == len(COLUMNS) + 1
    for record in (ZAHRA, REZA):
        sheet.append(
            [record.national_code, record.full_name, record.mobile, record.county,
             record.field, record.permit_on, record.loan_on, record.loan_amount, record.bank,
             record.case_no]
        )  # fmt: skip
    filled = world.tmp / "filled.xlsx"
    book.save(filled)
    result = await world.dry(filled)
    assert (result.rows, result.rejected, result.tally.new) == (2, 0, 2)
    assert await world.roster() == []  # a dry run writes nothing to the roster
    assert result.import_id is not None
    await commit(world.db, result.import_id, STAFF, NOW)
    assert await world.roster() == sorted([ZAHRA, REZA], key=lambda r: r.national_code)


# --- a messy file ---------------------------------------------------------------------------


async def test_messy_workbook_rejects_exactly_the_bad_rows(world: World) -> None:
    """Merged two-row headers under a title, Persian and Latin digits, Arabic ي/ك, spaces in
    mobiles, numbers Excel made of codes and dates, empty lines, unknown names, duplicates: the
    two good rows pass, every other row is rejected with its row, column and problem."""
    path = write_excel_like(world.tmp / "messy.xlsx", messy_rows(excel=True), merges=MERGES)
    result = await world.dry(path)
    assert result.header.row == 3 and result.header.ignored == ("ردیف",)
    assert (result.rows, result.rejected, result.tally.new, result.valid) == (9, 7, 2, 2)
    assert result.unmatched == {"county": [("تهران", 1)], "field": [("آشپزی", 1)]}
    assert result.import_id is not None
    assert await world.problems(result.import_id) == MESSY_PROBLEMS

    rejected = await write_rejected(
        world.db, result.import_id, world.i18n, "en", world.tmp / "rejected.xlsx"
    )
    assert rejected.stat().st_mode & 0o777 == 0o600
    table = [[c.value for c in row] for row in load_workbook(rejected).worksheets[0].iter_rows()]
    assert table[0] == ["Row", "Column", "Problem", "The cell held"]
    assert table[1] == [7, "National code", "the same national code as row 4", A]
    assert table[5] == [9, "Mobile", "a landline number, not a mobile", "021 2222 3333"]
    assert table[8] == [12, "Full name", "empty, but required", None]
    assert [r[0] for r in table[1:]] == [p[0] for p in MESSY_PROBLEMS]

    assert await commit(world.db, result.import_id, STAFF, NOW) is None  # rows were rejected
    assert await world.roster() == []
    done = await commit(world.db, result.import_id, STAFF, NOW, partial=True)
    assert done is not None and done.info.partial and done.info.tally.new == 2
    assert await world.roster() == [ZAHRA, REZA]
    assert await world.problems(result.import_id) == []  # staged personal data is gone
    audit = await StaffRepo(world.db).latest(5)
    assert [e.action for e in audit[:2]] == ["roster_import", "roster_dry_run"]
    assert audit[0].detail == {
        "import": result.import_id, "new": 2, "updated": 0, "unchanged": 0, "rejected": 7,
        "partial": 1, "linked": 0,
    }  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "utf-16"])
async def test_messy_csv_gives_the_same_rows(world: World, encoding: str) -> None:
    """The same list saved as CSV (with or without BOM, or UTF-16): the two header rows are
    found without merges, and the rejected rows are the same."""
    path = write_csv(world.tmp / "messy.csv", messy_rows(excel=False), encoding=encoding)
    result = await world.dry(path)
    assert result.kind == "csv" and result.header.row == 3
    assert result.import_id is not None
    assert await world.problems(result.import_id) == MESSY_PROBLEMS
    await commit(world.db, result.import_id, STAFF, NOW, partial=True)
    assert await world.roster() == [ZAHRA, REZA]


async def test_windows_1256_csv_with_semicolons(world: World) -> None:
    """Excel's CSV on a Persian Windows: Windows-1256 (which has Arabic ي/ك only), semicolons."""
    rows = [
        ["كد ملي", "نام", "موبايل", "شهرستان"],
        [A, "زهرا احمدي", "09121234567", "كرج"],
        [B, "رضا كريمي", "09351112233", "فرديس"],
    ]
    path = write_csv(world.tmp / "win.csv", rows, encoding="cp1256", delimiter=";")
    result = await world.dry(path)
    assert (result.rows, result.rejected, result.tally.new) == (2, 0, 2)
    assert result.import_id is not None
    await commit(world.db, result.import_id, STAFF, NOW)
    assert [(r.full_name, r.county) for r in await world.roster()] == [
        ("زهرا احمدی", "karaj"),
        ("رضا کریمی", "fardis"),
    ]


async def test_a_file_without_the_required_columns_is_not_staged(world: World) -> None:
    """No header naming the required columns: nothing staged, and what was missing is said."""
    path = write_csv(world.tmp / "bad.csv", [["نام", "شهرستان"], ["زهرا", "کرج"]])
    result = await world.dry(path)
    assert result.import_id is None and not result.header.usable
    assert result.header.missing == ("national_code", "mobile")
    assert await world.count("roster_imports") == 0


async def test_headers_without_rows_say_so(world: World) -> None:
    """Only the header (and empty lines): no rows, said as such, nothing left waiting."""
    path = write_csv(world.tmp / "empty.csv", [["کد ملی", "نام", "موبایل"], [None, None, None]])
    result = await world.dry(path)
    assert result.rows == 0 and not result.undecided
    assert describe(result, world.i18n, "en") == world.i18n.t("en", "roster_import.no_rows")


async def test_old_excel_files_are_named_not_guessed(world: World) -> None:
    """An .xls (the old binary format) is refused by name; a broken zip too."""
    old = world.tmp / "old.xlsx"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(UnreadableFile) as caught:
        await world.dry(old)
    assert caught.value.code == "xls"
    broken = world.tmp / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableFile) as caught:
        await world.dry(broken)
    assert caught.value.code == "not_xlsx"


async def test_a_file_broken_further_down_leaves_nothing_staged(world: World) -> None:
    """A row far too long for a roster (a broken or hostile file) below good rows: the dry
    run stops with the reason and drops what it had staged."""
    rows = [["کد ملی", "نام", "موبایل"]]
    rows += [[national_code(n), "زهرا احمدی", f"0912123{n:04d}"] for n in range(100, 120)]
    rows += [[B, "x" * (5 * 2**20), "09351112233"]]  # below the rows the header is sought in
    path = write_csv(world.tmp / "broken.csv", rows)
    with pytest.raises(UnreadableFile) as caught:
        await world.dry(path)
    assert caught.value.code == "row_too_long"
    info = await RosterImportRepo(world.db).get(1)
    assert info is not None and info.status == "discarded"
    assert await world.count("roster_import_rows") == 0


def test_openpyxl_written_workbooks_read_the_same(tmp_path: Path) -> None:
    """A workbook openpyxl wrote (inline strings, merged cells) reads as the same cells."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in messy_rows(excel=True)[:5]:
        sheet.append(row)
    for merge in MERGES:
        sheet.merge_cells(merge)
    book.save(tmp_path / "openpyxl.xlsx")
    excel = write_excel_like(tmp_path / "excel.xlsx", messy_rows(excel=True)[:5], merges=MERGES)
    with open_sheet(tmp_path / "openpyxl.xlsx") as ours, open_sheet(excel) as theirs:
        assert list(ours.rows) == list(theirs.rows)
        assert ours.merges == theirs.merges
    # and openpyxl reads the shared-string workbook as this reader does
    expected = []
    for number, row in enumerate(load_workbook(excel, read_only=True).worksheets[0].iter_rows(
        values_only=True
    ), start=1):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        if cells:
            expected.append((number, cells))
    with open_sheet(excel) as sheet:
        assert list(sheet.rows) == expected


def test_every_problem_has_words() -> None:
    """Each code a validator can give (date-times aside) has a text in both languages."""
    i18n = load_i18n()
    codes = {c for c in ERROR_CODES if not c.startswith("datetime.")}
    codes |= {"county.unknown", "field.unknown", "duplicate", "other"}
    missing = [c for c in sorted(codes) if not i18n.has(f"roster_import.problem.{c}")]
    assert missing == []


# --- re-imports -----------------------------------------------------------------------------


def _list(rows: list[RosterRecord]) -> list[list[Any]]:
    """A plain list of records with the template's English headers."""
    header = ["National code", "Full name", "Mobile", "County", "Field", "Permit date",
              "Loan date", "Loan amount", "Agent bank", "Case number"]  # fmt: skip
    return [header, *[list(r.values()) for r in rows]]


async def test_reimport_is_idempotent_and_keeps_history(world: World) -> None:
    """The same file again changes nothing; a corrected file updates only the changed rows
    and keeps what they held; an empty cell does not erase what the list holds."""
    first = write_csv(world.tmp / "v1.csv", _list([ZAHRA, REZA]))
    result = await world.dry(first)
    assert result.import_id is not None
    await commit(world.db, result.import_id, STAFF, NOW)
    before = {r[0]: r[1] for r in await world.db.fetchall("SELECT id, updated_at FROM roster")}

    again = await world.dry(first)
    assert (again.tally.new, again.tally.updated, again.tally.unchanged) == (0, 0, 2)
    assert not again.undecided

    moved = replace(ZAHRA, mobile="+989121230000", loan_on="2024-05-01")
    blank_bank = replace(REZA, bank=None)
    corrected = write_csv(world.tmp / "v2.csv", _list([moved, blank_bank]))
    later = NOW + 3600
    fix = await dry_run(world.db, world.content, world.i18n, corrected, STAFF, later)
    assert (fix.tally.new, fix.tally.updated, fix.tally.unchanged) == (0, 1, 1)
    assert fix.import_id is not None
    done = await commit(world.db, fix.import_id, STAFF, later)
    assert done is not None and done.info.tally.updated == 1 and done.info.tally.unchanged == 1
    assert await world.roster() == [moved, REZA]  # Reza's bank kept

    zahra = await RosterRepo(world.db).by_national_code(A)
    reza = await RosterRepo(world.db).by_national_code(B)
    assert zahra is not None and reza is not None
    history = await RosterImportRepo(world.db).history(zahra.id)
    assert len(history) == 1
    assert history[0]["changed"] == "mobile,loan_on"
    assert history[0]["mobile"] == ZAHRA.mobile and history[0]["loan_on"] == ZAHRA.loan_on
    assert history[0]["import_id"] == fix.import_id and history[0]["changed_at"] == later
    assert await RosterImportRepo(world.db).history(reza.id) == []
    after = {r[0]: r[1] for r in await world.db.fetchall("SELECT id, updated_at FROM roster")}
    assert after[reza.id] == before[reza.id] and after[zahra.id] == later


async def test_dry_runs_are_discarded_or_expire_without_a_trace(world: World) -> None:
    """Discarding drops the staged rows; a dry run left a day undecided is discarded by the
    next one; neither writes to the roster."""
    path = write_csv(world.tmp / "v1.csv", _list([ZAHRA, REZA]))
    first = await world.dry(path)
    assert first.import_id is not None
    assert await discard(world.db, first.import_id, STAFF, NOW)
    assert not await discard(world.db, first.import_id, STAFF, NOW)  # only once
    assert await world.count("roster_import_rows") == 0
    left = await world.dry(path)
    assert left.import_id is not None and await world.count("roster_import_rows") == 2
    later = NOW + 25 * 3600
    await dry_run(world.db, world.content, world.i18n, path, STAFF, later)
    info = await RosterImportRepo(world.db).get(left.import_id)
    assert info is not None and info.status == "discarded"
    assert await world.roster() == []


async def test_only_the_staff_member_who_ran_it_commits_it(world: World) -> None:
    """Another staff member's press commits nothing."""
    path = write_csv(world.tmp / "v1.csv", _list([ZAHRA]))
    result = await world.dry(path)
    assert result.import_id is not None
    other = Actor("telegram", 2, "fa")
    assert await commit(world.db, result.import_id, other, NOW) is None
    assert not await discard(world.db, result.import_id, other, NOW)
    assert await world.roster() == []
