"""Validators for typed answers; each returns the clean value or raises ValidationError(code)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import jdatetime

from bot.core.jalali import TEHRAN, to_tehran
from bot.core.text import ZWNJ, compact_digits, normalize_input, to_latin_digits

__all__ = [
    "ERROR_CODES",
    "MAX_INPUT_LEN",
    "MIN_JALALI_YEAR",
    "ValidationError",
    "parse_full_name",
    "parse_int_in_range",
    "parse_jalali_date",
    "parse_jalali_datetime",
    "parse_mobile",
    "parse_national_code",
]

MAX_INPUT_LEN = 200
MIN_JALALI_YEAR = 1380
NAME_MIN_LEN = 2
NAME_MAX_LEN = 80

ERROR_CODES: frozenset[str] = frozenset(
    {
        "too_long",
        "empty",
        "mobile.format",
        "mobile.landline",
        "mobile.foreign",
        "national_code.format",
        "national_code.length",
        "national_code.invalid",
        "name.too_short",
        "name.too_long",
        "name.chars",
        "name.letters",
        "name.link",
        "date.format",
        "date.gregorian",
        "date.invalid",
        "date.future",
        "datetime.gregorian",
        "date.too_old",
        "datetime.format",
        "datetime.invalid",
        "datetime.past",
        "int.format",
        "int.range",
    }
)


class ValidationError(ValueError):
    """A rejected answer; ``code`` (e.g. "mobile.format") is mapped to a localized message."""

    def __init__(self, code: str) -> None:
        """Store the machine-readable error code."""
        super().__init__(code)
        self.code = code


def _guard(s: str) -> None:
    """Reject over-long raw input before any other work."""
    if len(s) > MAX_INPUT_LEN:
        raise ValidationError("too_long")


# --- mobile -------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def parse_mobile(s: str) -> str:
    """Iranian mobile number in any common form and digit system -> "+989xxxxxxxxx"."""
    _guard(s)
    t = compact_digits(s)
    if not t:
        raise ValidationError("empty")
    international = t.startswith(("+", "00"))
    digits = t[1:] if t.startswith("+") else t[2:] if t.startswith("00") else t
    if not _DIGITS.fullmatch(digits):
        raise ValidationError("mobile.format")
    if international:
        if digits.startswith("0"):
            raise ValidationError("mobile.format")  # no country code starts with 0
        if not digits.startswith("98"):
            raise ValidationError("mobile.foreign")
        national = digits[2:]
    elif digits.startswith("98") and len(digits) in (12, 13):
        national = digits[2:]
    else:
        national = digits
    if len(national) == 11 and national.startswith("0"):
        national = national[1:]  # "09..." or "+98 (0) 9..."
    if len(national) != 10:
        raise ValidationError("mobile.format")
    if national[0] in "12345678":
        raise ValidationError("mobile.landline")
    if national[0] != "9":
        raise ValidationError("mobile.format")
    return "+98" + national


# --- national code ------------------------------------------------------------------------


def _national_code_ok(code: str) -> bool:
    """Apply the Iranian national-code check digit to a 10-digit string."""
    if len(set(code)) == 1:
        return False
    check = int(code[9])
    rem = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    return check == rem if rem < 2 else check == 11 - rem


def parse_national_code(s: str) -> str:
    """Iranian national code (کد ملی): exactly 10 digits passing the check digit."""
    _guard(s)
    t = compact_digits(s)
    if not t:
        raise ValidationError("empty")
    if not _DIGITS.fullmatch(t):
        raise ValidationError("national_code.format")
    if len(t) != 10:
        raise ValidationError("national_code.length")
    if not _national_code_ok(t):
        raise ValidationError("national_code.invalid")
    return t


# --- full name ----------------------------------------------------------------------------

_NAME_PUNCT = frozenset(" -'’.")
_TATWEEL = "\u0640"
_LINK = re.compile(
    r"https?|www\.|t\.me|@|"
    r"[a-z0-9-]+\.(?:com|ir|net|org|info|io|me|co|app|xyz|dev|site|online|shop)\b",
    re.IGNORECASE,
)


def _name_script_ok(ch: str) -> bool:
    """Tell whether ``ch`` is an Arabic-script or Latin letter or combining mark."""
    cp = ord(ch)
    if unicodedata.category(ch)[0] not in "LM":
        return False
    return (
        0x0600 <= cp <= 0x06FF
        or 0x0750 <= cp <= 0x077F
        or 0x08A0 <= cp <= 0x08FF
        or ch.isascii()
        or 0x00C0 <= cp <= 0x024F
        or 0x1E00 <= cp <= 0x1EFF
        or 0x0300 <= cp <= 0x036F
    )


def parse_full_name(s: str) -> str:
    """Person's name in Persian or Latin letters, normalized, 2..80 characters."""
    _guard(s)
    t = normalize_input(s)
    if not t:
        raise ValidationError("empty")
    if len(t) > NAME_MAX_LEN:
        raise ValidationError("name.too_long")
    if len(t) < NAME_MIN_LEN:
        raise ValidationError("name.too_short")
    if _LINK.search(t):
        raise ValidationError("name.link")
    if not all(ch in _NAME_PUNCT or ch == ZWNJ or _name_script_ok(ch) for ch in t):
        raise ValidationError("name.chars")
    letters = sum(1 for ch in t if unicodedata.category(ch)[0] == "L" and ch != _TATWEEL)
    symbols = sum(1 for ch in t if ch in _NAME_PUNCT and ch != " ")
    if letters < 2 or letters < symbols:
        raise ValidationError("name.letters")
    return t


# --- Jalali dates -------------------------------------------------------------------------

_SEP = r"\s*[/\-.\u066b]\s*"
_YMD = re.compile(rf"(?P<y>[0-9]{{4}}){_SEP}(?P<m>[0-9]{{1,2}}){_SEP}(?P<d>[0-9]{{1,2}})")
_DMY = re.compile(rf"(?P<d>[0-9]{{1,2}}){_SEP}(?P<m>[0-9]{{1,2}}){_SEP}(?P<y>[0-9]{{4}})")
_DATETIME = re.compile(r"(?P<date>.+?)\s+(?P<hh>[0-9]{1,2})\s*:\s*(?P<mm>[0-9]{2})")
_GREGORIAN_YEARS = range(1900, 2200)


def _prepare(s: str) -> str:
    """Normalise a date/number answer and turn every digit into Latin."""
    _guard(s)
    t = to_latin_digits(normalize_input(s)).replace(ZWNJ, "")
    if not t:
        raise ValidationError("empty")
    return t


def _match_date(t: str) -> tuple[int, int, int] | None:
    """Split "Y/M/D" (or "D/M/Y") with any of / - . ٫ as separators into integers."""
    m = _YMD.fullmatch(t) or _DMY.fullmatch(t)
    if m is None:
        return None
    return int(m["y"]), int(m["m"]), int(m["d"])


def _jalali_to_gregorian(y: int, m: int, d: int, prefix: str) -> dt.date:
    """Convert a Jalali Y/M/D to a Gregorian date or raise ``<prefix>.invalid``."""
    if y in _GREGORIAN_YEARS:
        raise ValidationError(f"{prefix}.gregorian")
    try:
        return jdatetime.date(y, m, d).togregorian()
    except ValueError:
        raise ValidationError(f"{prefix}.invalid") from None


def parse_jalali_date(s: str, *, today: dt.date) -> dt.date:
    """Solar Hijri date like "۱۴۰۵/۹/۸" -> Gregorian date; from 1380 up to ``today``."""
    t = _prepare(s)
    parts = _match_date(t)
    if parts is None:
        raise ValidationError("date.format")
    y, m, d = parts
    result = _jalali_to_gregorian(y, m, d, "date")
    if y < MIN_JALALI_YEAR:
        raise ValidationError("date.too_old")
    if result > today:
        raise ValidationError("date.future")
    return result


def parse_jalali_datetime(s: str, *, now: dt.datetime, tz: dt.tzinfo = TEHRAN) -> dt.datetime:
    """Solar Hijri "1405/09/08 14:30" in ``tz`` -> aware datetime; past moments are rejected."""
    now = to_tehran(now)  # also rejects a naive ``now``
    t = _prepare(s)
    whole = _DATETIME.fullmatch(t)
    parts = _match_date(whole["date"]) if whole else None
    if whole is None or parts is None:
        raise ValidationError("datetime.format")
    y, m, d = parts
    hh, mm = int(whole["hh"]), int(whole["mm"])
    day = _jalali_to_gregorian(y, m, d, "datetime")
    if hh > 23 or mm > 59:
        raise ValidationError("datetime.invalid")
    result = dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)
    roundtrip = result.astimezone(dt.UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != result.replace(tzinfo=None):
        raise ValidationError("datetime.invalid")  # skipped by a DST jump
    if result < now:
        raise ValidationError("datetime.past")
    return result


# --- integers -----------------------------------------------------------------------------

_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:[,\u066c][0-9]{3})+")
_INT = re.compile(r"[+-]?[0-9]+")


def parse_int_in_range(s: str, lo: int, hi: int) -> int:
    """Whole number typed with any digits (thousands separators allowed) within lo..hi."""
    if lo > hi:
        raise ValueError(f"empty range {lo}..{hi}")
    t = "".join(_prepare(s).split())
    if _GROUPED.fullmatch(t):
        t = t.replace(",", "").replace("\u066c", "")
    if not _INT.fullmatch(t):
        raise ValidationError("int.format")
    value = int(t)
    if not lo <= value <= hi:
        raise ValidationError("int.range")
    return value
