"""One roster row checked as the bot checks a person's own answers (pure: no I/O).

The rules are the bot's validators (bot.core.validators); this module only adapts a spreadsheet's
cells to them: numbers Excel made of codes and mobiles, dates as Solar Hijri, ISO or Excel's day
numbers, counties and fields found by name. Two rules are the list's own: a date before 1389 (the
home-business law) cannot be a loan under the programme, and a county or field must be one the
bot knows (locales/content.yaml).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

import jdatetime

from bot.content.model import Content
from bot.core.text import ZWNJ, normalize_input, to_latin_digits
from bot.core.validators import (
    ValidationError,
    parse_full_name,
    parse_int_in_range,
    parse_jalali_date,
    parse_mobile,
    parse_national_code,
)
from bot.roster.model import COLUMNS, REQUIRED, RosterRecord
from bot.roster.reader import Cell

__all__ = ["FIRST_DAY", "MAX_AMOUNT", "Names", "Problem", "RowChecker", "name_key"]

#: The home-business law was approved in 1389: no loan or permit on the list is older.
FIRST_DAY = jdatetime.date(1389, 1, 1).togregorian()
#: A loan in rials: the ceilings reported are a few thousand million; ten million million is
#: far above any of them and far below a typing slip that multiplies by a thousand twice.
MAX_AMOUNT = 10**13
#: Free text (bank, case number) longer than this is no bank name or case number.
MAX_TEXT = 100
#: Names listed as not found, per column (their rows are rejected all the same).
MAX_UNMATCHED = 50
#: The longest a problem keeps of the cell it is about.
VALUE_CUT = 60
#: Excel counts days from 1899-12-30; a day number in this range is a date from 1955 to 2173.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_DAYS = range(20_000, 100_000)
_ISO = re.compile(r"([0-9]{4})\s*[-/.]\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{1,2})")
_TIME = re.compile(r"(?:T|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?\s*$")
_NAME_DROP = str.maketrans("", "", " " + ZWNJ + "-_.")
_NAME_PREFIXES = ("شهرستان", "county", "شهر")
DATES = ("permit_on", "loan_on")
#: Columns whose values repeat down a list (a county, a date, a bank): each distinct cell is
#: checked once and remembered (up to MEMO_SIZE cells), which makes a row several times cheaper.
MEMOISED = frozenset({"county", "field", "permit_on", "loan_on", "loan_amount", "bank"})
MEMO_SIZE = 50_000


@dataclass(frozen=True)
class Problem:
    """Why a row cannot be imported: the column, a problem code, the cell and a number (the
    earlier row of a duplicate)."""

    column: str
    code: str
    value: str | None = None
    arg: int | None = None


def name_key(text: str) -> str:
    """A county's or field's name as compared: normalised, without spaces, ZWNJ or
    "شهرستان"/"county", lower case."""
    key = normalize_input(text).translate(_NAME_DROP).casefold()
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


class Names:
    """Content ids found by a name in any language (or by the id itself)."""

    def __init__(self, items: dict[str, list[str]]) -> None:
        """``items``: id → its names."""
        self.ids: dict[str, str] = {}
        for item_id, names in items.items():
            for name in [item_id, *names]:
                self.ids.setdefault(name_key(name), item_id)

    def find(self, text: str) -> str | None:
        """The id this name means, or None."""
        return self.ids.get(name_key(text))


def _normal(text: str) -> str:
    """normalize_input, skipped for printable ASCII (where it only folds spaces)."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())
    return normalize_input(text)


def _text(cell: Cell) -> str:
    """A cell as text (a whole number without ".0")."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _cut(cell: Cell) -> str:
    """What a problem shows of the cell."""
    text = _normal(_text(cell))
    return text if len(text) <= VALUE_CUT else text[: VALUE_CUT - 1] + "…"


def _gregorian(text: str) -> dt.date:
    """An ISO date "2024-08-02" (also with / or . between)."""
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValidationError("date.format")
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise ValidationError("date.invalid") from None


def parse_roster_date(cell: Cell, today: dt.date) -> str:
    """A permit or loan date as ISO: Solar Hijri in any digits, ISO, or Excel's day number;
    not in the future, not before 1389."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if int(cell) not in _EXCEL_DAYS:
            raise ValidationError("date.format")
        day = _EXCEL_EPOCH + dt.timedelta(days=int(cell))
    else:
        text = _TIME.sub("", to_latin_digits(_normal(str(cell))))
        try:
            day = parse_jalali_date(text, today=today)
        except ValidationError as exc:
            if exc.code != "date.gregorian":
                raise
            day = _gregorian(text)
    if day > today:
        raise ValidationError("date.future")
    if day < FIRST_DAY:
        raise ValidationError("date.too_old")
    return day.isoformat()


def parse_amount(cell: Cell) -> int:
    """A loan amount in rials: a whole number, thousands separators allowed."""
    if isinstance(cell, float) and not cell.is_integer():
        raise ValidationError("int.format")
    text = _text(cell)
    return parse_int_in_range(text, 1, MAX_AMOUNT)


def parse_code(cell: Cell) -> str:
    """A national code; a number Excel made of it gets back its leading zeros."""
    if isinstance(cell, int) and not isinstance(cell, bool) and 0 < cell < 10**10:
        return parse_national_code(f"{cell:010d}")
    return parse_national_code(_text(cell))


def _free_text(cell: Cell) -> str:
    """A bank's name or a case number, normalised."""
    text = _normal(_text(cell))
    if not text:
        raise ValidationError("empty")
    if len(text) > MAX_TEXT:
        raise ValidationError("too_long")
    return text


class RowChecker:
    """Checks rows against the content's counties and fields and today's date."""

    def __init__(self, content: Content, today: dt.date) -> None:
        """Index the content's names once."""
        self.today = today
        self.counties = Names({c.id: [c.name.fa, c.name.en] for c in content.counties})
        self.fields = Names({f.id: [f.name.fa, f.name.en] for f in content.fields})
        self.unmatched: dict[str, Counter[str]] = {"county": Counter(), "field": Counter()}
        self.more_unmatched: dict[str, bool] = {"county": False, "field": False}
        self._memo: dict[tuple[str, Cell], object | ValidationError] = {}

    def _note_unmatched(self, column: str, text: str) -> None:
        """Count a name the content does not know (the first MAX_UNMATCHED names)."""
        counter = self.unmatched[column]
        name = normalize_input(text)
        if name in counter or len(counter) < MAX_UNMATCHED:
            counter[name] += 1
        else:
            self.more_unmatched[column] = True

    def _value(self, column: str, cell: Cell) -> object:
        """One cell's clean value, or ValidationError."""
        if column == "national_code":
            return parse_code(cell)
        if column == "full_name":
            return parse_full_name(_text(cell))
        if column == "mobile":
            return parse_mobile(_text(cell))
        if column in ("county", "field"):
            names = self.counties if column == "county" else self.fields
            if not name_key(_text(cell)):
                raise ValidationError("empty")
            found = names.find(_text(cell))
            if found is None:
                self._note_unmatched(column, _text(cell))
                raise ValidationError(f"{column}.unknown")
            return found
        if column in DATES:
            return parse_roster_date(cell, self.today)
        if column == "loan_amount":
            return parse_amount(cell)
        return _free_text(cell)

    def _remembered(self, column: str, cell: Cell) -> object:
        """``_value`` of a cell whose column repeats, from memory when seen before."""
        key = (column, cell)
        found = self._memo.get(key, self._memo)
        if found is self._memo:
            try:
                found = self._value(column, cell)
            except ValidationError as exc:
                found = exc
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        elif column in ("county", "field") and isinstance(found, ValidationError):
            self._note_unmatched(column, _text(cell))
        if isinstance(found, ValidationError):
            raise found
        return found

    def check(
        self, cells: dict[str, Cell]
    ) -> tuple[str | None, RosterRecord | None, list[Problem]]:
        """(national code if valid, the record if the whole row is, the row's problems)."""
        values: dict[str, object] = {}
        problems: list[Problem] = []
        for column in COLUMNS:
            cell = cells.get(column)
            values[column] = None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                if column in REQUIRED:
                    problems.append(Problem(column, "empty"))
                continue
            try:
                if column in MEMOISED:
                    values[column] = self._remembered(column, cell)
                else:
                    values[column] = self._value(column, cell)
            except ValidationError as exc:
                if exc.code != "empty" or column in REQUIRED:  # invisible marks only: empty
                    problems.append(Problem(column, exc.code, _cut(cell)))
        code = values["national_code"]
        record = None if problems else RosterRecord(**values)  # type: ignore[arg-type]
        return (str(code) if code is not None else None), record, problems
