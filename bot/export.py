"""Staff exports: an .xlsx workbook or CSV files, streamed page by page from the database."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import jdatetime
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from bot.content import Content
from bot.jalali import TEHRAN
from bot.repo.reports import (
    APPLICANT_COLUMNS,
    CHECKIN_COLUMNS,
    DATE_COLUMNS,
    FOLLOWUP_COLUMNS,
    PAGE_SIZE,
    STEP_COLUMNS,
    TICKET_COLUMNS,
    TIMESTAMP_COLUMNS,
    ReportRepo,
)

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "SHEETS",
    "Sheet",
    "export_columns",
    "export_row",
    "jalali_date",
    "jalali_timestamp",
    "write_csv",
    "write_xlsx",
]

#: Suffix of the Solar Hijri twin of every date or time column.
JALALI_SUFFIX = "_jalali"
#: Excel's limit of rows per worksheet (header included); longer tables continue on a
#: further sheet "<name>_2", "<name>_3", … each with its own header.
MAX_SHEET_ROWS = 1_048_576
#: Columns that get a name column (from the content) right after them.
_NAMED = {"county": "county_name", "field": "field_name"}
# Text starting with these may be run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Sheet:
    """One exported table: its sheet (and CSV file) name, repository rows and columns."""

    name: str
    rows: Callable[[ReportRepo, int], AsyncIterator[dict[str, Any]]]
    columns: tuple[str, ...]


SHEETS: tuple[Sheet, ...] = (
    Sheet("applicants", lambda repo, size: repo.applicants(size), APPLICANT_COLUMNS),
    Sheet("steps", lambda repo, size: repo.step_progress(size), STEP_COLUMNS),
    Sheet("checkins", lambda repo, size: repo.checkins(size), CHECKIN_COLUMNS),
    Sheet("followups", lambda repo, size: repo.followups(size), FOLLOWUP_COLUMNS),
    Sheet("tickets", lambda repo, size: repo.tickets(size), TICKET_COLUMNS),
)


@functools.lru_cache(maxsize=4096)
def _jalali_day(day: dt.date) -> str:
    """A Gregorian date as Solar Hijri "YYYY/MM/DD" with Latin digits (cached: days repeat)."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{j.year:04d}/{j.month:02d}/{j.day:02d}"


def jalali_timestamp(ts: int | None) -> tuple[str | None, str | None]:
    """Unix seconds as Tehran time: ("1405/09/08 11:30", "2026-11-29T11:30:00+03:30")."""
    if ts is None:
        return None, None
    local = dt.datetime.fromtimestamp(ts, TEHRAN)
    return f"{_jalali_day(local.date())} {local.hour:02d}:{local.minute:02d}", local.isoformat()


def jalali_date(iso: str | None) -> tuple[str | None, str | None]:
    """An ISO date as ("1405/09/08", "2026-11-29"); a malformed one keeps only its text."""
    if not iso:
        return None, iso
    try:
        day = dt.date.fromisoformat(iso)
    except ValueError:
        return None, iso
    return _jalali_day(day), iso


def export_columns(columns: Sequence[str], content: Content | None = None) -> list[str]:
    """The header: each date/time column as <name>_jalali then <name> (ISO), plus names."""
    out: list[str] = []
    for column in columns:
        if column in TIMESTAMP_COLUMNS or column in DATE_COLUMNS:
            out += [column + JALALI_SUFFIX, column]
        else:
            out.append(column)
        if content is not None and column in _NAMED:
            out.append(_NAMED[column])
    return out


def _name(content: Content, column: str, value: Any, lang: str) -> str | None:
    """The county or field name for an id, or None when unknown."""
    item = content.county(value) if column == "county" else content.field(value)
    return item.name.get(lang) if item is not None else None


def export_row(
    row: dict[str, Any],
    columns: Sequence[str],
    content: Content | None = None,
    lang: str = "fa",
) -> list[Any]:
    """One repository row as cells in export_columns order."""
    out: list[Any] = []
    for column in columns:
        value = row[column]
        if column in TIMESTAMP_COLUMNS:
            out += jalali_timestamp(value)
        elif column in DATE_COLUMNS:
            out += jalali_date(value)
        else:
            out.append(value)
        if content is not None and column in _NAMED:
            out.append(_name(content, column, value, lang))
    return out


def _xlsx_cell(ws: WriteOnlyWorksheet, value: Any) -> Any:
    """A value safe for a worksheet: text without illegal characters, never a formula."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


def _is_number(text: str) -> bool:
    """Whether text reads as a plain number (e.g. "-5", "+98912…")."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_cell(value: Any) -> Any:
    """A CSV value; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _temporary(path: Path) -> Path:
    """A sibling file to write before renaming over ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _owner_only(path: Path, mode: str, **kwargs: Any) -> IO[Any]:
    """Open a new file that is 0600 from its creation (exports hold personal data)."""
    path.unlink(missing_ok=True)  # a stale temporary from a crash with the same pid
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def _save_workbook(wb: Workbook, path: Path) -> None:
    """Save a workbook into a new owner-only file (run in a worker thread)."""
    with _owner_only(path, "wb") as handle:
        wb.save(handle)


async def _pages(
    rows: AsyncIterator[dict[str, Any]], size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """Group an async row iterator into lists of at most ``size`` rows."""
    page: list[dict[str, Any]] = []
    async for row in rows:
        page.append(row)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


class _XlsxSheet:
    """Appends one table to a write-only workbook, starting a new sheet at Excel's row limit."""

    def __init__(
        self, wb: Workbook, sheet: Sheet, content: Content | None, lang: str, max_rows: int
    ) -> None:
        """Prepare the header; the first worksheet is created by the first write."""
        self.wb = wb
        self.sheet = sheet
        self.content = content
        self.lang = lang
        self.max_rows = max_rows
        self.header = export_columns(sheet.columns, content)
        self.parts = 0
        self.rows = 0
        self.ws: WriteOnlyWorksheet | None = None

    def _new_sheet(self) -> WriteOnlyWorksheet:
        """Open the next worksheet of this table and write its bold, frozen header."""
        self.parts += 1
        name = self.sheet.name if self.parts == 1 else f"{self.sheet.name}_{self.parts}"
        ws = self.wb.create_sheet(name)
        ws.sheet_view.rightToLeft = self.lang == "fa"
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for title in self.header:
            cell = WriteOnlyCell(ws, value=title)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        self.ws, self.rows = ws, 1
        return ws

    def write(self, page: Sequence[dict[str, Any]]) -> None:
        """Append one page of repository rows (run in a worker thread)."""
        ws = self.ws if self.ws is not None else self._new_sheet()
        for row in page:
            if self.rows >= self.max_rows:
                ws = self._new_sheet()
            cells = export_row(row, self.sheet.columns, self.content, self.lang)
            ws.append([_xlsx_cell(ws, value) for value in cells])
            self.rows += 1


async def write_xlsx(
    repo: ReportRepo,
    path: str | Path,
    *,
    content: Content | None = None,
    lang: str = "fa",
    page_size: int = PAGE_SIZE,
    max_rows: int = MAX_SHEET_ROWS,
) -> Path:
    """Write every table to one owner-only (0600) workbook, streamed; return its path.

    Each sheet has a bold, frozen header row and reads right to left for Persian; dates and
    times appear as Solar Hijri text (Tehran time, Latin digits) next to their ISO form. A
    table longer than ``max_rows`` (header included) continues on "<name>_2" and so on.
    Pages are written in a worker thread so the event loop stays responsive; the file
    appears only when complete.
    """
    target = Path(path)
    temporary = _temporary(target)
    wb = Workbook(write_only=True)
    try:
        for sheet in SHEETS:
            table = _XlsxSheet(wb, sheet, content, lang, max_rows)
            async for page in _pages(sheet.rows(repo, page_size), page_size):
                await asyncio.to_thread(table.write, page)
            if table.ws is None:
                table.write(())
        await asyncio.to_thread(_save_workbook, wb, temporary)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _write_csv_page(
    writer: Any, page: Sequence[dict[str, Any]], sheet: Sheet, content: Content | None, lang: str
) -> None:
    """Append one page of repository rows to a CSV writer (run in a worker thread)."""
    for row in page:
        cells = export_row(row, sheet.columns, content, lang)
        writer.writerow([_csv_cell(value) for value in cells])


async def write_csv(
    repo: ReportRepo,
    directory: str | Path,
    *,
    content: Content | None = None,
    lang: str = "fa",
    page_size: int = PAGE_SIZE,
) -> list[Path]:
    """Write one owner-only UTF-8 (BOM, for Excel) CSV per table into directory; return paths.

    Columns match write_xlsx; there is no row limit. Text starting with = + - @ (and not
    a number) is prefixed with an apostrophe so spreadsheet programs show it, not run it.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet in SHEETS:
        target = folder / f"{sheet.name}.csv"
        temporary = _temporary(target)
        try:
            with _owner_only(temporary, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(export_columns(sheet.columns, content))
                async for page in _pages(sheet.rows(repo, page_size), page_size):
                    await asyncio.to_thread(_write_csv_page, writer, page, sheet, content, lang)
            temporary.replace(target)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(target)
    return written
