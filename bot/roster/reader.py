"""Spreadsheet rows streamed from an XLSX or CSV file, in constant memory whatever its length.

XLSX is read by this module rather than by openpyxl: its read-only mode took about 3 ms a row
on this machine (200,000 rows: over a minute before any validation), this reader about 0.1 ms
(bench/roster_import.py measures both). A worksheet is a ZIP entry of SpreadsheetML; it is
inflated a megabyte at a time and its cells picked out with one regular expression, never held
whole. What it understands: shared and inline strings, numbers, booleans, formula results,
merged cells (their ranges, for the header) and the first worksheet of the workbook. The
shared-string table is the one part a workbook needs whole; it is kept as one UTF-8 buffer with
offsets (about a quarter of a list of str).

CSV may be UTF-8 (with or without BOM), UTF-16 (with BOM, or without it when the NULs show) or
Windows-1256 (Excel's "CSV" on a Persian Windows); the delimiter is the first line's commonest
of comma, semicolon and tab.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import html
import io
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["MAX_COLUMNS", "Cell", "Row", "Sheet", "UnreadableFile", "column_index", "open_sheet"]

Cell = str | int | float | None
Row = tuple[int, list[Cell]]  # the row number a spreadsheet shows (1-based), cells by column
#: Columns read per row; cells further right are ignored (a roster has ten).
MAX_COLUMNS = 64
#: Rows of a worksheet in which merged ranges matter (the header is within them).
MERGE_ROWS = 12
#: One row's XML or one CSV field may not exceed this (a broken or hostile file otherwise
#: makes the reader hold it all).
MAX_ROW_BYTES = 4 << 20
CHUNK = 1 << 20

_MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW_END = b"</row>"
_TOKEN = re.compile(
    rb"(<row)\b([^>]*?)/?>"  # a row starts (or is empty)
    # a cell as Excel, LibreOffice and most writers put it: a number, a shared string's index
    # or an inline string, picked out by the expression itself (one Python step per cell)
    rb'|<c r="([A-Z]{1,3})[0-9]+"(?: s="[0-9]+")?(?: t="([a-zA-Z]+)")?>'
    rb'(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)</c>'
    rb"|<c\b([^>]*?)(?:/>|>(.*?)</c>)",  # any other cell (formulas, rich text, empty …)
    re.S,
)
_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
_ROW_REF = re.compile(rb'\br="([0-9]+)"')
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_TEXT = re.compile(rb"<t\b[^>]*>([^<]*)</t>|<t\b[^>]*/>")
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_SI = re.compile(
    rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>'  # plain text: most strings
    rb"|<si\b[^>]*>(.*?)</si>|<si\b[^>]*/>",  # rich text, phonetic runs, empty
    re.S,
)
_MERGE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]{1,3})([0-9]+):([A-Z]{1,3})([0-9]+)"')
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SHEET = re.compile(rb"<sheet\b[^>]*?\br:id=\"([^\"]+)\"|<sheet\b[^>]*?\bid=\"([^\"]+)\"")
_RELATION = re.compile(rb"<Relationship\b([^>]*)/?>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


class UnreadableFile(Exception):
    """The file is no spreadsheet this reader knows; ``code`` says why (for the staff's text)."""

    def __init__(self, code: str) -> None:
        """Keep the machine-readable reason: xls, not_xlsx, no_sheet, row_too_long."""
        super().__init__(code)
        self.code = code


@dataclass
class Sheet:
    """An open spreadsheet: its kind, its merged ranges near the top, and its rows (once)."""

    kind: str
    rows: Iterator[Row]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2


def column_index(letters: bytes | str) -> int:
    """The 0-based index of a column's letters: A → 0, Z → 25, AA → 26."""
    index = 0
    for ch in letters if isinstance(letters, str) else letters.decode("ascii"):
        index = index * 26 + ord(ch) - 64
    return index - 1


def kind_of(path: Path) -> str:
    """"xlsx" (a ZIP), "xls" (the old binary format, refused) or "csv" (anything else)."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "csv"


@contextlib.contextmanager
def open_sheet(path: str | Path) -> Iterator[Sheet]:
    """Open a spreadsheet file for one pass over its rows."""
    file = Path(path)
    kind = kind_of(file)
    if kind == "xls":
        raise UnreadableFile("xls")
    if kind == "csv":
        with file.open("rb") as raw:
            yield Sheet("csv", _csv_rows(raw))
        return
    try:
        book = zipfile.ZipFile(file)
    except zipfile.BadZipFile:
        raise UnreadableFile("not_xlsx") from None
    with book:
        sheet_path, strings_path = _parts(book)
        strings = _shared_strings(book, strings_path)
        merges = _merges(book, sheet_path)
        yield Sheet("xlsx", _xlsx_rows(book, sheet_path, strings), merges)


# --- XLSX -----------------------------------------------------------------------------------


def _parts(book: zipfile.ZipFile) -> tuple[str, str | None]:
    """The first worksheet's path and the shared strings' path inside the package."""
    names = set(book.namelist())
    if "xl/workbook.xml" not in names:
        raise UnreadableFile("not_xlsx")
    targets: dict[bytes, tuple[bytes, bytes]] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for match in _RELATION.finditer(book.read("xl/_rels/workbook.xml.rels")):
            attrs = dict(_ATTR.findall(match.group(1)))
            targets[attrs.get(b"Id", b"")] = (attrs.get(b"Type", b""), attrs.get(b"Target", b""))
    strings = next(
        (_inside(t) for kind, t in targets.values() if kind.endswith(b"/sharedStrings")),
        "xl/sharedStrings.xml",
    )
    first = _SHEET.search(book.read("xl/workbook.xml"))
    sheet = None
    if first is not None:
        rel = first.group(1) or first.group(2)
        if rel in targets:
            sheet = _inside(targets[rel][1])
    if sheet not in names:
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        if not sheets:
            raise UnreadableFile("no_sheet")
        sheet = "xl/worksheets/sheet1.xml" if "xl/worksheets/sheet1.xml" in names else sheets[0]
    return sheet, strings if strings in names else None


def _inside(target: bytes) -> str:
    """A relationship's target as a path in the package (relative to xl/, or absolute)."""
    text = target.decode("utf-8")
    return text.lstrip("/") if text.startswith("/") else "xl/" + text


def _text(raw: bytes) -> str:
    """XML text (escaped) as str: entities and OOXML's _xHHHH_ escapes undone."""
    text = raw.decode("utf-8", "replace")
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _chunks(part: IO[bytes], end: bytes) -> Iterator[bytes]:
    """The entry's bytes in blocks that each finish just after an ``end`` tag."""
    rest = b""
    while True:
        data = part.read(CHUNK)
        if not data:
            if rest:
                yield rest
            return
        rest += data
        cut = rest.rfind(end)
        if cut < 0:
            if len(rest) > MAX_ROW_BYTES:
                raise UnreadableFile("row_too_long")
            continue
        cut += len(end)
        yield rest[:cut]
        rest = rest[cut:]


class SharedStrings:
    """The workbook's shared strings, packed: one UTF-8 buffer and where each string ends."""

    def __init__(self) -> None:
        """Empty."""
        self.blob = bytearray()
        self.ends = array("Q")  # 8 bytes a string; the blob may pass 4 GB on a hostile file

    def add(self, text: str) -> None:
        """Append the next string."""
        self.add_raw(text.encode("utf-8"))

    def add_raw(self, data: bytes) -> None:
        """Append the next string, as UTF-8."""
        self.blob += data
        self.ends.append(len(self.blob))

    def __len__(self) -> int:
        """How many strings."""
        return len(self.ends)

    def __getitem__(self, index: int) -> str:
        """The string at ``index``."""
        start = self.ends[index - 1] if index else 0
        return self.blob[start : self.ends[index]].decode("utf-8")


def _shared_strings(book: zipfile.ZipFile, path: str | None) -> SharedStrings:
    """Read the shared-string table, streamed."""
    table = SharedStrings()
    if path is None:
        return table
    with book.open(path) as part:
        for block in _chunks(part, b"</si>"):
            for plain, body in _SI.findall(block):
                if plain and b"&" not in plain and b"_x" not in plain:
                    table.add_raw(plain)  # UTF-8 already, nothing to undo
                    continue
                body = plain or body
                if b"<rPh" in body:
                    body = _PHONETIC.sub(b"", body)
                table.add(_text(b"".join(_TEXT.findall(body)) if not plain else body))
    return table


def _merges(book: zipfile.ZipFile, path: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges that start in the first MERGE_ROWS rows (they follow the rows in the XML,
    so the entry is inflated once more: cheap next to reading its cells)."""
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    with book.open(path) as part:
        while True:
            data = part.read(CHUNK)
            if not data:
                break
            block = tail + data
            if b"<mergeCell" in block:
                for c1, r1, c2, r2 in _MERGE.findall(block):
                    if int(r1) <= MERGE_ROWS and len(found) < 1000:
                        found.append((int(r1), column_index(c1), int(r2), column_index(c2)))
                cut = block.rfind(b"<mergeCell")
                tail = block[cut:] if block.find(b"/>", cut) < 0 else b""
            else:
                tail = block[-64:]
    return sorted(set(found))


def _number(raw: bytes) -> int | float | str:
    """A numeric cell's value: an int when whole, else a float (text when not a number)."""
    try:
        if b"." not in raw and b"E" not in raw and b"e" not in raw:
            return int(raw)
        value = float(raw)
    except ValueError:
        return raw.decode("ascii", "replace")
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _cell(attrs: bytes, body: bytes, strings: SharedStrings) -> Cell:
    """One cell's value from its attributes and content."""
    if b't="s"' in attrs:  # a shared string: most text in a workbook Excel saved
        raw = body[3:-4] if body[:3] == b"<v>" and body[-4:] == b"</v>" else _value(body)
        index = int(raw) if raw and raw.isdigit() else -1
        return strings[index] if 0 <= index < len(strings) else None
    if b't="' not in attrs or b't="n"' in attrs:
        raw = body[3:-4] if body[:3] == b"<v>" and body[-4:] == b"</v>" else _value(body)
        return _number(raw) if raw else None
    if b't="inlineStr"' in attrs:
        if body[:6] == b"<is><t" and body[-9:] == b"</t></is>" and body.count(b"<t") == 1:
            return _text(body[body.index(b">", 6) + 1 : -9])
        if b"<rPh" in body:
            body = _PHONETIC.sub(b"", body)
        return _text(b"".join(_TEXT.findall(body)))
    raw = _value(body)
    if raw is None:
        return None
    if b't="b"' in attrs:
        return "TRUE" if raw == b"1" else "FALSE"
    return _text(raw)  # str (a formula's text), e (an error), d (an ISO date)


def _value(body: bytes) -> bytes | None:
    """The text of a cell's <v> element, if it has one."""
    found = _VALUE.search(body)
    return found.group(1) if found else None


def _xlsx_rows(book: zipfile.ZipFile, path: str, strings: SharedStrings) -> Iterator[Row]:
    """The worksheet's rows with at least one value, in order (the loop every cell of a
    200,000-row list goes through: kept to a few steps per cell)."""
    number, cells, column = 0, [], -1
    columns: dict[bytes, int] = {}
    blob, ends = strings.blob, strings.ends
    value: Cell
    with book.open(path) as part:
        for block in _chunks(part, _ROW_END):
            for row, row_attrs, letters, kind, raw, inline, attrs, body in _TOKEN.findall(block):
                if row:
                    if cells:
                        yield number, cells
                    ref = _ROW_REF.search(row_attrs)
                    number = int(ref.group(1)) if ref else number + 1
                    cells, column = [], -1
                    continue
                if letters:
                    column = columns.get(letters, -1)
                    if column < 0:
                        column = columns[letters] = column_index(letters)
                    if kind == b"s":
                        try:
                            index = int(raw)
                            if index < 0:
                                raise IndexError(index)
                            value = blob[ends[index - 1] if index else 0 : ends[index]].decode()
                        except (ValueError, IndexError):
                            value = None
                    elif inline:
                        value = _text(inline)
                    elif raw and kind in (b"", b"n"):
                        value = _number(raw)
                    else:
                        value = _cell(b' t="%s"' % kind, b"<v>%s</v>" % raw, strings)
                else:
                    ref = _REF.search(attrs)
                    column = column_index(ref.group(1)) if ref else column + 1
                    value = _cell(attrs, body, strings) if body else None
                if value is None or value == "" or column >= MAX_COLUMNS:
                    continue
                have = len(cells)
                if have == column:
                    cells.append(value)
                elif have < column:
                    cells.extend([None] * (column - have))
                    cells.append(value)
                else:
                    cells[column] = value
    if cells:
        yield number, cells


# --- CSV ------------------------------------------------------------------------------------


def _encoding(raw: IO[bytes]) -> str:
    """The text encoding of a CSV file (the stream is left at its start)."""
    head = raw.read(4096)
    raw.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.count(b"\0") > len(head) // 4:  # UTF-16 without a BOM: ASCII's other byte is 0
        zeros_odd = head[1::2].count(b"\0")
        return "utf-16-le" if zeros_odd >= head[0::2].count(b"\0") else "utf-16-be"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while data := raw.read(CHUNK):
            decoder.decode(data)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1256"
    finally:
        raw.seek(0)
    return "utf-8"


def _delimiter(first_line: str) -> str:
    """The commonest of comma, semicolon and tab in the header line (comma on a tie)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _csv_rows(raw: IO[bytes]) -> Iterator[Row]:
    """Each CSV record with a value, numbered as a spreadsheet shows it (header = row 1)."""
    encoding = _encoding(raw)
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    sample = text.read(64 * 1024)
    text.seek(0)
    first = next((line for line in sample.splitlines() if line.strip()), "")
    reader = csv.reader(text, delimiter=_delimiter(first))
    limit = csv.field_size_limit()
    csv.field_size_limit(min(limit, MAX_ROW_BYTES))
    try:
        for number, record in enumerate(reader, start=1):
            cells: list[Cell] = [v if v.strip() else None for v in record[:MAX_COLUMNS]]
            if any(v is not None for v in cells):
                yield number, cells
    except csv.Error:
        raise UnreadableFile("row_too_long") from None
    finally:
        csv.field_size_limit(limit)
        text.detach()
