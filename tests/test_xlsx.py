"""The streaming XLSX writer: well-formed parts, text that stays text, Excel's limits."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from bot.staffdesk.xlsx import MAX_CELL_TEXT, XlsxWriter, column_letter, sheet_title


def _book(rows: list[list[object]], **options: object) -> bytes:
    """A one-sheet workbook in memory."""
    buffer = io.BytesIO()
    book = XlsxWriter(buffer, **options)  # type: ignore[arg-type]
    book.add_sheet("داده", ["a", "b", "c"], text_columns=[1])
    book.append_rows(rows)
    book.close()
    return buffer.getvalue()


def test_every_part_is_well_formed_xml_and_the_package_is_complete() -> None:
    """The parts Excel needs are there, [Content_Types].xml first, each parses as XML."""
    data = _book([[1, "x & <y>", None]])
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
        assert names[0] == "[Content_Types].xml"
        assert set(names) == {
            "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml",
        }  # fmt: skip
        for name in names:
            ElementTree.fromstring(package.read(name))


def test_values_round_trip_and_text_never_becomes_a_formula() -> None:
    """Numbers stay numbers, text stays text (also "=1+2" and "0912…"), control characters
    XML cannot hold are dropped, empty cells stay empty."""
    rows = [
        [1, "0912 345 6789", 2.5],
        ["=1+2", "۰۹۱۲۳۴۵۶۷۸۹", None],
        ["bell\x07 and tab\t", "  padded  ", ""],
        [True, "x" * (MAX_CELL_TEXT + 10), -3],
    ]
    wb = load_workbook(io.BytesIO(_book(rows, rtl=True)))
    ws = wb["داده"]
    assert ws.sheet_view.rightToLeft and ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["a", "b", "c"] and ws["A1"].font.b
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert values[0] == [1, "0912 345 6789", 2.5]
    assert values[1] == ["=1+2", "۰۹۱۲۳۴۵۶۷۸۹", None]
    assert ws["A3"].data_type == "s"
    assert values[2] == ["bell and tab\t", "  padded  ", None]
    assert values[3][0] is True and len(values[3][1]) == MAX_CELL_TEXT and values[3][2] == -3
    assert ws["B2"].number_format == "@" and ws["A2"].number_format == "General"


def test_sheet_titles_are_valid_and_unique() -> None:
    """Characters Excel refuses become spaces, titles are cut to 31 and never repeat."""
    assert sheet_title("a/b:c*d?e[f]g\\h") == "a b c d e f g h"
    assert len(sheet_title("x" * 40)) == 31
    buffer = io.BytesIO()
    book = XlsxWriter(buffer)
    for _ in range(3):
        book.add_sheet("y" * 40, ["h"])
    book.close()
    names = load_workbook(io.BytesIO(buffer.getvalue())).sheetnames
    assert names == ["y" * 31, "y" * 29 + " 2", "y" * 29 + " 3"]


def test_column_letters() -> None:
    """A…Z, then AA, AZ, BA … as Excel names columns."""
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"
    ]  # fmt: skip


def test_rows_without_a_sheet_are_refused() -> None:
    """Appending before add_sheet is a programming error, not a broken file."""
    book = XlsxWriter(io.BytesIO())
    with pytest.raises(RuntimeError):
        book.append_rows([[1]])
    book.abort()
