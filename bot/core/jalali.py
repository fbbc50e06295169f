"""Solar Hijri (Jalali) date display in Tehran time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import jdatetime

from bot.core.text import to_persian_digits

__all__ = [
    "MONTHS_EN",
    "MONTHS_FA",
    "TEHRAN",
    "format_date",
    "format_datetime",
    "format_month",
    "jalali_month_name",
    "tehran_today",
    "to_tehran",
]

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")

MONTHS_FA: tuple[str, ...] = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
MONTHS_EN: tuple[str, ...] = (
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
)


def to_tehran(moment: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to Asia/Tehran; naive datetimes raise ValueError."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: attach a time zone first")
    return moment.astimezone(TEHRAN)


def _tehran_date(d: dt.date | dt.datetime) -> dt.date:
    """The calendar date of ``d``, in Tehran when ``d`` is a datetime."""
    if isinstance(d, dt.datetime):
        return to_tehran(d).date()
    return d


def _jalali_numeric(d: dt.date) -> str:
    """Format a Gregorian date as Solar Hijri "YYYY/MM/DD" with Latin digits."""
    j = jdatetime.date.fromgregorian(date=d)
    return f"{j.year:04d}/{j.month:02d}/{j.day:02d}"


def format_date(d: dt.date | dt.datetime, lang: str) -> str:
    """Solar Hijri date: "۱۴۰۵/۰۹/۰۸" for Persian, "1405/09/08 (2026-11-29)" otherwise."""
    day = _tehran_date(d)
    text = _jalali_numeric(day)
    if lang == "fa":
        return to_persian_digits(text)
    return f"{text} ({day.isoformat()})"


def format_datetime(moment: dt.datetime, lang: str) -> str:
    """format_date of the Tehran-local moment followed by its "HH:MM" Tehran time."""
    local = to_tehran(moment)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if lang == "fa":
        clock = to_persian_digits(clock)
    return f"{format_date(local.date(), lang)} {clock}"


def jalali_month_name(month: int, lang: str) -> str:
    """Name of Solar Hijri month 1..12 in Persian ("fa") or English transliteration."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be in 1..12, got {month}")
    return (MONTHS_FA if lang == "fa" else MONTHS_EN)[month - 1]


def format_month(d: dt.date | dt.datetime, lang: str) -> str:
    """Solar Hijri month and year, e.g. "آذر ۱۴۰۵" or "Azar 1405"."""
    j = jdatetime.date.fromgregorian(date=_tehran_date(d))
    year = str(j.year)
    if lang == "fa":
        year = to_persian_digits(year)
    return f"{jalali_month_name(j.month, lang)} {year}"


def tehran_today(now: dt.datetime) -> dt.date:
    """The current Gregorian calendar date in Tehran for an aware ``now``."""
    return to_tehran(now).date()
