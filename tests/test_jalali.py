"""Tests for bot.core.jalali: Solar Hijri display in Tehran time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import jdatetime
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.jalali import (
    TEHRAN,
    format_date,
    format_datetime,
    format_month,
    jalali_month_name,
    tehran_today,
    to_tehran,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    ("day", "lang", "expected"),
    [
        (dt.date(2026, 11, 29), "fa", "۱۴۰۵/۰۹/۰۸"),
        (dt.date(2026, 11, 29), "en", "1405/09/08 (2026-11-29)"),
        (dt.date(2025, 3, 20), "fa", "۱۴۰۳/۱۲/۳۰"),  # Esfand 30 of leap 1403
        (dt.date(2025, 3, 21), "fa", "۱۴۰۴/۰۱/۰۱"),  # Nowruz 1404
        (dt.date(2026, 3, 20), "en", "1404/12/29 (2026-03-20)"),  # last day of 1404
        (dt.date(2026, 3, 21), "en", "1405/01/01 (2026-03-21)"),
        (dt.date(2001, 3, 21), "fa", "۱۳۸۰/۰۱/۰۱"),
        (dt.date(2026, 9, 22), "en", "1405/06/31 (2026-09-22)"),
        (dt.date(2026, 9, 23), "en", "1405/07/01 (2026-09-23)"),
    ],
)
def test_format_date(day: dt.date, lang: str, expected: str) -> None:
    """Persian gets Persian digits; English also gets the Gregorian date."""
    assert format_date(day, lang) == expected


@pytest.mark.parametrize(
    ("moment", "lang", "expected"),
    [
        # 21:00 UTC is 00:30 next day in Tehran (+03:30)
        (dt.datetime(2026, 11, 28, 21, 0, tzinfo=UTC), "fa", "۱۴۰۵/۰۹/۰۸"),
        (dt.datetime(2026, 11, 28, 20, 29, tzinfo=UTC), "fa", "۱۴۰۵/۰۹/۰۷"),
        (dt.datetime(2026, 11, 29, 0, 0, tzinfo=TEHRAN), "en", "1405/09/08 (2026-11-29)"),
    ],
)
def test_format_date_converts_datetimes_to_tehran(
    moment: dt.datetime, lang: str, expected: str
) -> None:
    """A datetime is shown as its Tehran calendar day."""
    assert format_date(moment, lang) == expected


@pytest.mark.parametrize(
    ("moment", "lang", "expected"),
    [
        (dt.datetime(2026, 11, 29, 11, 0, tzinfo=UTC), "fa", "۱۴۰۵/۰۹/۰۸ ۱۴:۳۰"),
        (dt.datetime(2026, 11, 29, 11, 0, tzinfo=UTC), "en", "1405/09/08 (2026-11-29) 14:30"),
        (dt.datetime(2026, 11, 28, 21, 5, tzinfo=UTC), "en", "1405/09/08 (2026-11-29) 00:35"),
        (dt.datetime(2026, 11, 29, 9, 5, tzinfo=TEHRAN), "fa", "۱۴۰۵/۰۹/۰۸ ۰۹:۰۵"),
        # Iran observed DST (+04:30) until 2022
        (dt.datetime(2021, 6, 1, 12, 0, tzinfo=UTC), "en", "1400/03/11 (2021-06-01) 16:30"),
        (dt.datetime(2023, 6, 1, 12, 0, tzinfo=UTC), "en", "1402/03/11 (2023-06-01) 15:30"),
    ],
)
def test_format_datetime(moment: dt.datetime, lang: str, expected: str) -> None:
    """The date and HH:MM are shown in Tehran time."""
    assert format_datetime(moment, lang) == expected


@pytest.mark.parametrize(
    "call",
    [
        lambda: format_date(dt.datetime(2026, 11, 29, 12, 0), "fa"),
        lambda: format_datetime(dt.datetime(2026, 11, 29, 12, 0), "en"),
        lambda: format_month(dt.datetime(2026, 11, 29, 12, 0), "en"),
        lambda: tehran_today(dt.datetime(2026, 11, 29, 12, 0)),
        lambda: to_tehran(dt.datetime(2026, 11, 29, 12, 0)),
    ],
)
def test_naive_datetimes_are_rejected(call: Callable[[], object]) -> None:
    """Naive datetimes are ambiguous and raise ValueError."""
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    ("month", "lang", "expected"),
    [
        (1, "fa", "فروردین"),
        (2, "fa", "اردیبهشت"),
        (6, "fa", "شهریور"),
        (9, "fa", "آذر"),
        (12, "fa", "اسفند"),
        (1, "en", "Farvardin"),
        (9, "en", "Azar"),
        (10, "en", "Dey"),
        (12, "en", "Esfand"),
    ],
)
def test_jalali_month_name(month: int, lang: str, expected: str) -> None:
    """Month names in Persian and English transliteration."""
    assert jalali_month_name(month, lang) == expected


@pytest.mark.parametrize("month", [0, 13, -1])
def test_jalali_month_name_out_of_range(month: int) -> None:
    """Months outside 1..12 are programming errors."""
    with pytest.raises(ValueError):
        jalali_month_name(month, "fa")


def test_persian_month_names_use_persian_letters() -> None:
    """No Arabic yeh/kaf sneaks into the Persian month names."""
    for month in range(1, 13):
        name = jalali_month_name(month, "fa")
        assert not set(name) & {"\u064a", "\u0649", "\u0643"}
        assert name == jdatetime.date(1405, month, 1).j_months_fa[month - 1]


@pytest.mark.parametrize(
    ("day", "lang", "expected"),
    [
        (dt.date(2026, 11, 29), "fa", "آذر ۱۴۰۵"),
        (dt.date(2026, 11, 29), "en", "Azar 1405"),
        (dt.date(2025, 3, 20), "fa", "اسفند ۱۴۰۳"),
        (dt.date(2025, 3, 21), "en", "Farvardin 1404"),
        (dt.datetime(2026, 12, 21, 20, 45, tzinfo=UTC), "en", "Dey 1405"),  # 00:15 Tehran
        (dt.datetime(2026, 12, 21, 20, 15, tzinfo=UTC), "en", "Azar 1405"),  # 23:45 Tehran
    ],
)
def test_format_month(day: dt.date, lang: str, expected: str) -> None:
    """Month and year for loan cohorts."""
    assert format_month(day, lang) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 11, 28, 20, 29, tzinfo=UTC), dt.date(2026, 11, 28)),
        (dt.datetime(2026, 11, 28, 20, 30, tzinfo=UTC), dt.date(2026, 11, 29)),
        (dt.datetime(2026, 11, 29, 23, 59, tzinfo=TEHRAN), dt.date(2026, 11, 29)),
        (
            dt.datetime(2026, 11, 29, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            dt.date(2026, 11, 29),
        ),
    ],
)
def test_tehran_today(now: dt.datetime, expected: dt.date) -> None:
    """Today is the Tehran calendar date of ``now``."""
    assert tehran_today(now) == expected


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_format_date_round_trips(day: dt.date) -> None:
    """The English form's Jalali part converts back to the same Gregorian day."""
    text = format_date(day, "en")
    y, m, d = (int(p) for p in text.split(" ")[0].split("/"))
    assert jdatetime.date(y, m, d).togregorian() == day
    assert text.endswith(f"({day.isoformat()})")
