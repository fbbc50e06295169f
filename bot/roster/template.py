"""The roster spreadsheet's columns: the template staff fill, and finding them again in a file.

A column is recognised by the template's header in any language (``roster_import.column.*`` in
the locale files) or by one of ALIASES, the other words county offices head these columns
with; spaces, ZWNJ, "(…)", "*" and Arabic ي/ك do not matter. A header may sit below a title
row, span two rows (a merged "loan" cell above "date" and "amount") and have its columns in
any order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from bot.core.i18n import I18n
from bot.core.text import ZWNJ, normalize_input
from bot.roster.model import COLUMNS, REQUIRED
from bot.roster.reader import Cell, Row
from bot.staffdesk.xlsx import XlsxWriter

__all__ = [
    "ALIASES",
    "HEADER_ROWS",
    "Header",
    "HeaderWords",
    "find_header",
    "header_key",
    "write_template",
]

#: The header must be within the first rows with a value (a title or two may come first).
HEADER_ROWS = 10
#: Columns kept as text in the template, so Excel keeps their leading zeros and slashes.
TEXT_COLUMNS = ("national_code", "mobile", "permit_on", "loan_on", "case_no")
#: Other headers staff lists use for each column (read, never shown: the official files' words,
#: «تسهیلات» among them, whatever the bot's own voice says).
ALIASES: dict[str, tuple[str, ...]] = {
    "national_code": (
        "کد ملی متقاضی", "شماره ملی", "کد ملی وام گیرنده", "national id", "national no",
        "nid", "code melli", "melli code", "id number",
    ),
    "full_name": (
        "نام", "نام کامل", "نام متقاضی", "نام و نام خانوادگی متقاضی", "نام ونام خانوادگی",
        "متقاضی", "نام وام گیرنده", "name", "name and surname", "first and last name",
        "applicant", "applicant name",
    ),
    "mobile": (
        "موبایل", "شماره موبایل", "شماره همراه", "همراه", "تلفن", "شماره تلفن", "شماره تماس",
        "تلفن تماس", "شماره تلفن همراه", "mobile number", "mobile phone", "cell", "cell phone",
        "cellphone", "phone", "phone number", "telephone",
    ),
    "county": ("شهر", "نام شهرستان", "محل اجرا", "شهرستان محل اجرا", "city", "town",
               "county name", "township"),
    "field": (
        "رشته شغلی", "عنوان رشته", "زمینه فعالیت", "عنوان شغل", "شغل", "رشته فعالیت",
        "نوع فعالیت", "عنوان طرح", "business field", "field of activity", "activity",
        "occupation", "job", "business",
    ),
    "permit_on": (
        "تاریخ مجوز", "تاریخ صدور", "تاریخ صدور پروانه", "تاریخ پروانه", "مجوز",
        "permit issued", "permit issue date", "date of permit", "licence date", "license date",
        "permit",
    ),
    "loan_on": (
        "تاریخ وام", "تاریخ پرداخت", "تاریخ پرداخت تسهیلات", "تاریخ تسهیلات",
        "تاریخ دریافت وام", "تاریخ دریافت تسهیلات", "تاریخ واریز", "loan paid",
        "loan payment date", "date of loan", "loan received", "payment date", "loan",
    ),
    "loan_amount": (
        "مبلغ", "مبلغ تسهیلات", "مبلغ پرداختی", "مبلغ وام پرداختی", "مبلغ تسهیلات پرداختی",
        "amount", "amount of loan", "sum", "amount in rials",
    ),
    "bank": ("بانک", "نام بانک", "بانک عامل پرداخت", "bank", "lending bank", "bank name"),
    "case_no": (
        "پرونده", "کد پرونده", "شماره پرونده متقاضی", "کد رهگیری", "شماره رهگیری", "case",
        "case no", "file number", "file no", "reference", "reference number", "tracking code",
    ),
}  # fmt: skip
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DROP = str.maketrans("", "", " " + ZWNJ + "*:.-_/#")


def header_key(value: Cell) -> str:
    """A header cell as compared: normalised letters and digits only, no "(rials)", lower case."""
    if value is None:
        return ""
    text = _BRACKETS.sub("", normalize_input(str(value)))
    return text.translate(_DROP).casefold()


class HeaderWords:
    """Every accepted header word, in every language, by its key."""

    def __init__(self, i18n: I18n) -> None:
        """Collect the template's headers in every language, then the aliases."""
        self.columns: dict[str, str] = {}
        for name in COLUMNS:
            for lang in i18n.languages:
                header = i18n.t(lang, f"roster_import.column.{name}")
                self.columns.setdefault(header_key(header), name)
        for name in COLUMNS:
            for word in ALIASES[name]:
                self.columns.setdefault(header_key(word), name)
        self.columns.pop("", None)

    def column(self, *texts: Cell) -> str | None:
        """The column the first recognised text names, or None."""
        for text in texts:
            found = self.columns.get(header_key(text))
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class Header:
    """Where the columns are: the header's last row, and column index → roster column."""

    row: int
    columns: dict[int, str]
    ignored: tuple[str, ...] = ()  # header texts that name no roster column
    missing: tuple[str, ...] = field(default=())  # required columns not found (then unusable)

    @property
    def usable(self) -> bool:
        """Whether every required column was found."""
        return not self.missing


def _filled(rows: Sequence[Row], merges: Sequence[tuple[int, int, int, int]]) -> list[list[Cell]]:
    """The rows' cells with every merged range's value copied into each of its cells."""
    grid = {number: list(cells) for number, cells in rows}
    for r1, c1, r2, c2 in merges:
        top = grid.get(r1)
        if top is None or c1 >= len(top) or top[c1] is None:
            continue
        for number in range(r1, r2 + 1):
            cells = grid.get(number)
            if cells is None:
                continue
            if len(cells) <= c2:
                cells.extend([None] * (c2 + 1 - len(cells)))
            for column in range(c1, c2 + 1):
                if cells[column] is None:
                    cells[column] = top[c1]
    return [grid[number] for number, _ in rows]


def _read_as_header(cells: list[Cell], above: list[Cell], words: HeaderWords) -> Header:
    """What a row names when taken as the header (``above``: the row over it, for two-row
    headers: its text joined to the cell's, or alone under an empty cell)."""
    found: dict[int, str] = {}
    ignored: list[str] = []
    for index in range(max(len(cells), len(above))):
        own = cells[index] if index < len(cells) else None
        parent = above[index] if index < len(above) else None
        if own is None:
            texts: tuple[Cell, ...] = (parent,)
        elif parent is None or parent == own:
            texts = (own,)
        else:
            texts = (own, f"{parent} {own}", f"{own} {parent}")
        name = words.column(*texts)
        if name is not None and name not in found.values():
            found[index] = name
        elif own is not None and name is None:
            ignored.append(normalize_input(str(own)))
    missing = tuple(c for c in REQUIRED if c not in found.values())
    return Header(0, found, tuple(ignored), missing)


def find_header(
    rows: Sequence[Row], merges: Sequence[tuple[int, int, int, int]], words: HeaderWords
) -> Header:
    """The header among the first rows: the row naming the most columns, all required ones
    among them (the earliest on a tie); else the best try, with what it misses."""
    grid = _filled(rows[:HEADER_ROWS], merges)
    best: Header | None = None
    for i, cells in enumerate(grid):
        above = grid[i - 1] if i else []
        found = _read_as_header(cells, above, words)
        found = Header(rows[i][0], found.columns, found.ignored, found.missing)
        if best is None or (found.usable, len(found.columns)) > (best.usable, len(best.columns)):
            best = found
    return best or Header(0, {}, (), REQUIRED)


def write_template(target: IO[bytes], i18n: I18n, lang: str) -> None:
    """The template workbook: the header to fill (sheet 1) and what each column takes (sheet 2)."""
    header = [i18n.t(lang, f"roster_import.column.{name}") for name in COLUMNS]
    writer = XlsxWriter(target, rtl=lang == "fa")
    try:
        writer.add_sheet(
            i18n.t(lang, "roster_import.template.sheet"),
            header,
            text_columns=[COLUMNS.index(name) for name in TEXT_COLUMNS],
            widths=[max(14.0, len(h) + 4.0) for h in header],
        )
        guide = [i18n.t(lang, f"roster_import.template.{key}") for key in ("what", "need", "how")]
        writer.add_sheet(i18n.t(lang, "roster_import.template.guide"), guide, widths=[24, 12, 70])
        need = {True: "roster_import.template.required", False: "roster_import.template.optional"}
        writer.append_rows(
            [
                header[i],
                i18n.t(lang, need[name in REQUIRED]),
                i18n.t(lang, f"roster_import.template.about.{name}"),
            ]
            for i, name in enumerate(COLUMNS)
        )
    except BaseException:
        writer.abort()
        raise
    writer.close()
