"""Staff exports: one .xlsx workbook and a CSV per table, streamed page by page from the database.

Both formats are written in one pass: each page of rows is read once, turned into the staff
member's words once (bot.staffdesk.export_sheets) and appended to the workbook and to the CSV files.
Every file is owner-only (0600) from its creation and appears under its name only when complete.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.private_files import owner_only, temporary
from bot.repo.reports import PAGE_SIZE, ReportRepo
from bot.staffdesk.export_sheets import SHEET_NAMES, ExportSheet, export_sheets
from bot.staffdesk.xlsx import MAX_ROWS, XlsxWriter

__all__ = ["MAX_SHEET_ROWS", "export_paths", "write_csv", "write_export", "write_xlsx"]

#: Excel's limit of rows per worksheet (header included); longer tables continue on a
#: further sheet "<title> 2", "<title> 3", … each with its own header.
MAX_SHEET_ROWS = MAX_ROWS
# Text starting with these may be run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_paths(base: str | Path, names: Sequence[str]) -> tuple[Path, list[Path]]:
    """PATH → (PATH.xlsx, [PATH-applicants.csv, …]); a trailing .xlsx is the workbook's own."""
    target = Path(base)
    stem = target.with_suffix("") if target.suffix.lower() == ".xlsx" else target
    workbook = stem.with_name(stem.name + ".xlsx")
    return workbook, [stem.with_name(f"{stem.name}-{name}.csv") for name in names]


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


@dataclass
class _Workbook:
    """The workbook being written: a sheet per table, continued past Excel's row limit."""

    writer: XlsxWriter
    max_rows: int
    sheet: ExportSheet | None = None
    parts: int = 0

    def start(self, sheet: ExportSheet) -> None:
        """Begin a table on its own sheet."""
        self.sheet, self.parts = sheet, 0
        self._next_part()

    def _next_part(self) -> None:
        """Open the table's next sheet, with the header."""
        assert self.sheet is not None
        self.parts += 1
        title = self.sheet.title if self.parts == 1 else f"{self.sheet.title} {self.parts}"
        widths = [min(max(len(h) + 2, 10), 40) for h in self.sheet.header]
        self.writer.add_sheet(
            title, self.sheet.header, text_columns=self.sheet.text_columns, widths=widths
        )

    def append(self, rows: list[list[Any]]) -> None:
        """Append rows, starting another sheet when this one is full."""
        while rows:
            room = self.max_rows - self.writer.rows
            if room <= 0:
                self._next_part()
                continue
            self.writer.append_rows(rows[:room])
            rows = rows[room:]


@dataclass
class _Files:
    """Temporary files of one export, renamed into place together when all is written."""

    done: list[tuple[Path, Path]] = field(default_factory=list)  # (temporary, final)
    handles: list[IO[Any]] = field(default_factory=list)

    def open(self, final: Path, mode: str, **kwargs: Any) -> IO[Any]:
        """A new owner-only temporary file for ``final``."""
        staging = temporary(final)
        handle = owner_only(staging, mode, **kwargs)
        self.done.append((staging, final))
        self.handles.append(handle)
        return handle

    def commit(self) -> list[Path]:
        """Close every file and move each to its name."""
        for handle in self.handles:
            handle.close()
        for staging, final in self.done:
            staging.replace(final)
        return [final for _, final in self.done]

    def discard(self) -> None:
        """Close and remove whatever was not committed."""
        for handle in self.handles:
            handle.close()
        for staging, _ in self.done:
            staging.unlink(missing_ok=True)


def _write_page(
    sheet: ExportSheet, page: list[dict[str, Any]], book: _Workbook | None, table: Any
) -> None:
    """Turn one page into cells and append it to the workbook and the CSV (a worker thread)."""
    rows = [sheet.cells(row) for row in page]
    if book is not None:
        book.append(rows)
    if table is not None:
        table.writerows([[_csv_cell(value) for value in row] for row in rows])


async def write_export(
    repo: ReportRepo,
    *,
    content: Content,
    i18n: I18n,
    lang: str = "fa",
    workbook: Path | None = None,
    csvs: Sequence[Path] | None = None,
    page_size: int = PAGE_SIZE,
    max_rows: int = MAX_SHEET_ROWS,
) -> list[Path]:
    """Write every table to the workbook and/or one CSV per table, in one pass; their paths.

    Headers and words are in ``lang``; sheets read right to left for Persian; dates and
    times appear as Solar Hijri text (Tehran time, Latin digits) next to their ISO form.
    CSVs are UTF-8 with a BOM (for Excel); text starting with = + - @ (and not a number)
    gets an apostrophe so spreadsheet programs show it, not run it. Pages are turned into
    cells and written in a worker thread so the event loop stays responsive.
    """
    sheets = export_sheets(content, i18n, lang)
    if csvs is not None and len(csvs) != len(sheets):
        raise ValueError(f"{len(sheets)} CSV paths needed, {len(csvs)} given")
    files = _Files()
    book: _Workbook | None = None
    try:
        if workbook is not None:
            writer = XlsxWriter(files.open(workbook, "wb"), rtl=lang == "fa")
            book = _Workbook(writer, max_rows)
        tables = [
            csv.writer(files.open(path, "w", encoding="utf-8-sig", newline=""))
            for path in csvs or ()
        ]
        for index, sheet in enumerate(sheets):
            table = tables[index] if tables else None
            if book is not None:
                book.start(sheet)
            if table is not None:
                table.writerow(sheet.header)
            async for page in _pages(sheet.rows(repo, page_size), page_size):
                await asyncio.to_thread(_write_page, sheet, page, book, table)
        if book is not None:
            await asyncio.to_thread(book.writer.close)
            book = None
        return files.commit()
    finally:
        if book is not None:
            book.writer.abort()
        files.discard()


async def write_xlsx(
    repo: ReportRepo, path: str | Path, *, content: Content, i18n: I18n, **options: Any
) -> Path:
    """Only the workbook (see write_export)."""
    written = await write_export(repo, content=content, i18n=i18n, workbook=Path(path), **options)
    return written[0]


async def write_csv(
    repo: ReportRepo, base: str | Path, *, content: Content, i18n: I18n, **options: Any
) -> list[Path]:
    """Only the CSVs, named ``<base>-<table>.csv`` (see write_export)."""
    _book, csvs = export_paths(base, SHEET_NAMES)
    return await write_export(repo, content=content, i18n=i18n, csvs=csvs, **options)
