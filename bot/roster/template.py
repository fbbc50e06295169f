"""The roster spreadsheet's columns: the template staff fill, and finding them again in a file.

The header words live in the locale files (``roster_import.column.*`` is the template's header,
``roster_import.aliases.*`` other words staff use, separated by "|"); every language's words are
accepted whatever the staff member's language. A header may sit below a title row, span two
rows (a merged "loan" cell above "date" and "amount") and have its columns in any order.
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

__all__ = ["HEADER_ROWS", "Header", "HeaderWords", "find_header", "header_key", "write_template"]

#: The header must be within the first rows with a value (a title or two may come first).
HEADER_ROWS = 10
#: Columns kept as text in the template, so Excel keeps their leading zeros and slashes.
TEXT_COLUMNS = ("national_code", "mobile", "permit_on", "loan_on", "case_no")
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
        """Collect the template headers and their aliases from the locale files."""
        self.columns: dict[str, str] = {}
        for name in COLUMNS:
            for lang in i18n.languages:
                words = [i18n.t(lang, f"roster_import.column.{name}")]
                words += i18n.t(lang, f"roster_import.aliases.{name}").split("|")
                for word in words:
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
