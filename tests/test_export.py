"""Tests for staff exports: the workbook and the CSV files, checked cell by cell."""

from __future__ import annotations

import csv
import datetime as dt
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
from openpyxl import Workbook, load_workbook

from bot import export
from bot.content import Content, load_content
from bot.db import Database
from bot.export import SHEETS, export_columns, write_csv, write_xlsx
from bot.repo.reports import TIMESTAMP_COLUMNS, ReportRepo
from tests.test_reports import GROUPS, ROOT, seed

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
BOM = b"\xef\xbb\xbf"

# What each sheet should hold, read straight from the tables.
EXPECTED_SQL = {
    "applicants": "SELECT * FROM users ORDER BY id",
    "steps": "SELECT * FROM step_progress ORDER BY user_pk, step_id",
    "checkins": (
        "SELECT a.*, r.status AS round_status, r.due_at AS round_due_at,"
        " r.sent_at AS round_sent_at, r.reminders_sent AS round_reminders_sent,"
        " r.closed_at AS round_closed_at"
        " FROM checkin_answers a LEFT JOIN checkin_rounds r ON r.id = a.round_id ORDER BY a.id"
    ),
    "followups": "SELECT * FROM followups ORDER BY id",
    "tickets": (
        "SELECT t.id, t.platform, t.user_pk, t.kind, t.followup_id, t.status, t.created_at,"
        " t.closed_at, t.closed_by,"
        " SUM(CASE WHEN m.direction = 'in' THEN 1 ELSE 0 END) AS messages_in,"
        " SUM(CASE WHEN m.direction = 'out' THEN 1 ELSE 0 END) AS messages_out,"
        " (SELECT text FROM ticket_messages WHERE ticket_id = t.id AND direction = 'in'"
        "  ORDER BY id LIMIT 1) AS first_text"
        " FROM tickets t LEFT JOIN ticket_messages m ON m.ticket_id = t.id"
        " GROUP BY t.id ORDER BY t.id"
    ),
}


async def seed_tickets(database: Database) -> None:
    """Two tickets: an answered, closed question and an open follow-up with no messages."""
    async with database.transaction() as conn:
        await conn.execute(
            "INSERT INTO tickets (platform, user_pk, kind, status, created_at, closed_at,"
            " closed_by) VALUES ('telegram', 1, 'question', 'closed', 1760000000, 1760003600, 7)"
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


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database seeded like the report tests."""
    database = await Database.open(tmp_path / "export.sqlite3")
    await seed(database)
    await seed_tickets(database)
    yield database
    await database.close()


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped programme content."""
    return load_content(ROOT / "locales" / "content.yaml")


def latest_statuses() -> dict[int, str]:
    """Each seeded user's latest check-in status, worked out from GROUPS ('none' if none)."""
    out: dict[int, str] = {}
    pk = 0
    for group in GROUPS:
        for _ in range(group.count):
            pk += 1
            history = sorted(group.history, key=lambda answer: answer[1])
            out[pk] = history[-1][0] if history else "none"
    return out


def expected_cells(row: dict[str, Any], columns: list[str], content: Content) -> list[Any]:
    """The cells an exported row should have, computed independently of bot.export."""
    cells: list[Any] = []
    for column in columns:
        if column in ("county_name", "field_name"):
            source = column.removesuffix("_name")
            item = content.county(row[source]) if source == "county" else content.field(row[source])
            cells.append(item.name.fa if item else None)
        elif column.endswith("_jalali"):
            value = row[column.removesuffix("_jalali")]
            if value is None:
                cells.append(None)
            elif column.removesuffix("_jalali") in TIMESTAMP_COLUMNS:
                moment = dt.datetime.fromtimestamp(value, TEHRAN)
                j = jdatetime.datetime.fromgregorian(datetime=moment)
                cells.append(j.strftime("%Y/%m/%d %H:%M"))
            else:
                j = jdatetime.date.fromgregorian(date=dt.date.fromisoformat(value))
                cells.append(j.strftime("%Y/%m/%d"))
        elif column in TIMESTAMP_COLUMNS and row[column] is not None:
            cells.append(dt.datetime.fromtimestamp(row[column], TEHRAN).isoformat())
        else:
            cells.append(row[column])
    return cells


async def expected_rows(db: Database, sheet: str, content: Content) -> list[list[Any]]:
    """Every row a sheet should hold, from plain SQL on the seeded tables."""
    columns = export_columns(next(s.columns for s in SHEETS if s.name == sheet), content)
    statuses = latest_statuses()
    rows = []
    for record in await db.fetchall(EXPECTED_SQL[sheet]):
        row = dict(record)
        if sheet == "applicants":
            row["latest_status"] = statuses[row["id"]]
            answered = await db.fetchone(
                "SELECT MAX(answered_at) FROM checkin_answers WHERE user_pk = ?", (row["id"],)
            )
            row["latest_answered_at"] = answered[0] if answered else None
        rows.append(expected_cells(row, columns, content))
    return rows


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


async def test_xlsx_matches_the_database(db: Database, content: Content, tmp_path: Path) -> None:
    """Each sheet: header, then every database row, cell by cell; right to left for Persian."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "out.xlsx", content=content, page_size=7)
    assert path == tmp_path / "out.xlsx"
    assert [p.name for p in tmp_path.iterdir() if "sqlite3" not in p.name] == ["out.xlsx"]
    wb = load_workbook(path)
    try:
        assert wb.sheetnames == ["applicants", "steps", "checkins", "followups", "tickets"]
        for sheet in SHEETS:
            ws = wb[sheet.name]
            assert ws.sheet_view.rightToLeft is True
            assert ws.freeze_panes == "A2"
            values = [list(row) for row in ws.iter_rows(values_only=True)]
            assert values[0] == export_columns(sheet.columns, content)
            assert values[1:] == await expected_rows(db, sheet.name, content), sheet.name
    finally:
        wb.close()


async def test_xlsx_known_cells(db: Database, content: Content, tmp_path: Path) -> None:
    """Spot checks: Jalali and ISO dates, names, and text that looks like a formula."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "out.xlsx", content=content)
    wb = load_workbook(path)
    try:
        ws = wb["applicants"]
        header = [cell.value for cell in ws[1]]
        first = {h: cell.value for h, cell in zip(header, ws[2], strict=True)}
        assert first["full_name"] == "متقاضی 1"
        assert first["county_name"] == "کرج"
        assert first["field_name"] == "صنایع دستی و هنرهای سنتی"
        assert first["created_at_jalali"] == "1404/06/10 04:30"
        assert first["created_at"] == "2025-09-01T04:30:00+03:30"
        assert first["loan_on_jalali"] == "1404/07/13"
        assert first["loan_on"] == "2025-10-05"
        assert first["latest_status"] == "operating"
        formula = ws.cell(row=8, column=header.index("full_name") + 1)
        assert (formula.value, formula.data_type) == ("=1+2", "s")
    finally:
        wb.close()


async def test_xlsx_in_english_without_content(db: Database, tmp_path: Path) -> None:
    """Without content there are no name columns; English sheets run left to right."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "en.xlsx", lang="en")
    wb = load_workbook(path, read_only=False)
    try:
        ws = wb["applicants"]
        assert not ws.sheet_view.rightToLeft
        header = [cell.value for cell in ws[1]]
        assert "county_name" not in header
        assert header == export_columns(SHEETS[0].columns)
        assert ws.max_row == 41
    finally:
        wb.close()


async def test_csv_has_bom_and_round_trips(db: Database, content: Content, tmp_path: Path) -> None:
    """One CSV per sheet, UTF-8 with BOM, equal to the workbook's cells as text."""
    repo = ReportRepo(db)
    paths = await write_csv(repo, tmp_path / "csv", content=content, page_size=5)
    assert [p.name for p in paths] == [
        "applicants.csv", "steps.csv", "checkins.csv", "followups.csv", "tickets.csv",
    ]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == sorted(p.name for p in paths)
    for sheet, path in zip(SHEETS, paths, strict=True):
        assert path.read_bytes().startswith(BOM)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        expected = await expected_rows(db, sheet.name, content)
        assert rows[0] == export_columns(sheet.columns, content)
        as_text = [["" if v is None else str(v) for v in row] for row in expected]
        if sheet.name == "applicants":
            as_text[6][rows[0].index("full_name")] = "'=1+2"  # neutralised for spreadsheets
        assert rows[1:] == as_text, sheet.name
    assert "متقاضی 1" in paths[0].read_text(encoding="utf-8-sig")


async def test_xlsx_splits_at_the_row_limit(db: Database, tmp_path: Path) -> None:
    """A table longer than a sheet continues on numbered sheets, each with the header."""
    path = await write_xlsx(ReportRepo(db), tmp_path / "split.xlsx", page_size=4, max_rows=10)
    wb = load_workbook(path)
    try:
        parts = [name for name in wb.sheetnames if name.startswith("applicants")]
        assert parts == [
            "applicants",
            "applicants_2",
            "applicants_3",
            "applicants_4",
            "applicants_5",
        ]
        header = export_columns(SHEETS[0].columns)
        ids = []
        for name in parts:
            values = list(wb[name].iter_rows(values_only=True))
            assert list(values[0]) == header
            assert 1 < len(values) <= 10
            ids += [row[0] for row in values[1:]]
        assert ids == list(range(1, 41))
    finally:
        wb.close()


async def test_export_of_an_empty_database(tmp_path: Path) -> None:
    """No rows: every sheet and file still exists with its header."""
    database = await Database.open(tmp_path / "empty.sqlite3")
    try:
        repo = ReportRepo(database)
        path = await write_xlsx(repo, tmp_path / "empty.xlsx")
        paths = await write_csv(repo, tmp_path / "csv")
    finally:
        await database.close()
    wb = load_workbook(path)
    try:
        assert wb.sheetnames == [sheet.name for sheet in SHEETS]
        assert all(wb[sheet.name].max_row == 1 for sheet in SHEETS)
    finally:
        wb.close()
    assert [len(p.read_text(encoding="utf-8-sig").splitlines()) for p in paths] == [1, 1, 1, 1, 1]


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
    tmp_path: Path,
    open_umask: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each file is 0600 before its first byte is written (no chmod after), and stays so."""
    seen: dict[str, int] = {}
    real_save, real_pages = Workbook.save, export._pages

    def watching_save(wb: Workbook, target: Any) -> None:
        """Note the temporary workbook's mode before openpyxl writes anything."""
        seen.update(_modes(tmp_path, ".*.tmp"))
        real_save(wb, target)

    async def watching_pages(rows: Any, size: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Note every temporary CSV's mode while its pages are written."""
        async for page in real_pages(rows, size):
            seen.update(_modes(tmp_path / "csv", ".*.tmp"))
            yield page

    monkeypatch.setattr(Workbook, "save", watching_save)
    monkeypatch.setattr(export, "_pages", watching_pages)
    repo = ReportRepo(db)
    book = await write_xlsx(repo, tmp_path / "export.xlsx", content=content)
    csvs = await write_csv(repo, tmp_path / "csv", content=content)
    assert f".export.xlsx.{os.getpid()}.tmp" in seen
    assert {f".{s.name}.csv.{os.getpid()}.tmp" for s in SHEETS} <= set(seen)
    assert set(seen.values()) == {0o600}, seen
    finals = [book, *csvs]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in finals} == {
        p.name: 0o600 for p in finals
    }


def test_homebiz_export_writes_owner_only_files(tmp_path: Path, open_umask: None) -> None:
    """`homebiz export` under umask 0: the workbook and every CSV are 0600."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BALE_"))}
    env.update(HOMEBIZ_DB=str(tmp_path / "bot.sqlite3"), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "export", str(tmp_path / "out" / "staff.xlsx")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == sorted(
        ["staff.xlsx", *(f"{s.name}.csv" for s in SHEETS)]
    )
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: "0o600" for p in written
    }
