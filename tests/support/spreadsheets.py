"""Spreadsheets as staff's programs save them, for the roster import's tests and benchmark.

``write_excel_like`` writes a workbook the way Excel does: every text in the shared-string table
(`t="s"` cells), numbers as numbers, merged ranges after the rows, cells with a style each; the
project's own writer (inline strings) and openpyxl's (inline strings too) cover the other shape.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bot.staffdesk.xlsx import column_letter

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def write_excel_like(
    path: Path,
    rows: Iterable[Sequence[Any]],
    *,
    merges: Sequence[str] = (),
    sheet: str = "Sheet1",
) -> Path:
    """Write ``rows`` (None: an empty cell; a row of Nones: an empty line) as Excel would:
    text through the shared-string table, rows numbered from 1, ``merges`` like "A1:J1"."""
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(
                (
                    _HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
                    '<sheetViews><sheetView rightToLeft="1" workbookViewId="0"/></sheetViews>'
                    '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
                ).encode()
            )
            out: list[str] = []
            for number, row in enumerate(rows, start=1):
                cells = []
                for index, value in enumerate(row):
                    ref = f"{column_letter(index)}{number}"
                    if value is None:
                        continue
                    if isinstance(value, str):
                        at = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{ref}" s="1" t="s"><v>{at}</v></c>')
                    else:
                        cells.append(f'<c r="{ref}" s="1"><v>{value}</v></c>')
                spans = f' spans="1:{max(len(row), 1)}"'
                out.append(f'<row r="{number}"{spans}>{"".join(cells)}</row>')
                if len(out) >= 2000:
                    part.write("".join(out).encode())
                    out = []
            tail = "</sheetData>"
            if merges:
                refs = "".join(f'<mergeCell ref="{m}"/>' for m in merges)
                tail += f'<mergeCells count="{len(merges)}">{refs}</mergeCells>'
            part.write(("".join(out) + tail + "</worksheet>").encode())
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                (_HEAD + f'<sst xmlns="{_MAIN}" count="{len(strings)}" '
                 f'uniqueCount="{len(strings)}">').encode()
            )
            batch: list[str] = []
            for text in strings:
                space = ' xml:space="preserve"' if text != text.strip() else ""
                batch.append(f"<si><t{space}>{escape(text)}</t></si>")
                if len(batch) >= 5000:
                    part.write("".join(batch).encode())
                    batch = []
            part.write(("".join(batch) + "</sst>").encode())
        book.writestr(
            "xl/workbook.xml",
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        book.writestr(
            "xl/_rels/workbook.xml.rels",
            _HEAD + f'<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        book.writestr(
            "xl/styles.xml",
            _HEAD + f'<styleSheet xmlns="{_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" '
            'borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" '
            'fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" fontId="0" fillId="0" '
            'borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1">'
            '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
        )
        book.writestr(
            "[Content_Types].xml",
            _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
            '.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{_TYPE}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{_TYPE}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>',
        )
        book.writestr(
            "_rels/.rels",
            _HEAD + f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
    return path


def write_csv(
    path: Path, rows: Iterable[Sequence[Any]], *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> Path:
    """Write ``rows`` as CSV in an encoding (None: an empty cell)."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def national_code(serial: int) -> str:
    """A valid national code (its check digit computed) for a serial number below 10**9."""
    body = f"{serial:09d}"
    rest = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rest if rest < 2 else 11 - rest)
