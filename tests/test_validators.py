"""Tests for bot.core.validators: mobiles, national codes, names, Jalali dates and integers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.jalali import TEHRAN
from bot.core.text import to_persian_digits
from bot.core.validators import (
    ERROR_CODES,
    MAX_INPUT_LEN,
    ValidationError,
    parse_full_name,
    parse_int_in_range,
    parse_jalali_date,
    parse_jalali_datetime,
    parse_mobile,
    parse_national_code,
)

TODAY = dt.date(2026, 11, 29)  # 1405/09/08
NOW = dt.datetime(2026, 11, 29, 10, 0, tzinfo=TEHRAN)  # 1405/09/08 10:00 Tehran
TOO_LONG = "۱" * (MAX_INPUT_LEN + 1)


def _arabic_indic(s: str) -> str:
    """Write ASCII digits as Arabic-Indic digits."""
    return s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def _reference_check_digit(prefix: str) -> str:
    """Compute the national-code check digit the way the spec describes it."""
    rem = sum(int(prefix[i]) * (10 - i) for i in range(9)) % 11
    return str(rem if rem < 2 else 11 - rem)


def _error(call: Callable[[], object]) -> str:
    """Run ``call`` and return the ValidationError code it raises."""
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.code


# --- error type ---------------------------------------------------------------------------


def test_validation_error_carries_code() -> None:
    """ValidationError is a ValueError with a machine-readable code."""
    err = ValidationError("mobile.format")
    assert isinstance(err, ValueError)
    assert err.code == "mobile.format"
    assert str(err) == "mobile.format"


# --- mobile -------------------------------------------------------------------------------

VALID_MOBILES = [
    ("09123456789", "+989123456789"),
    ("9123456789", "+989123456789"),
    ("+989123456789", "+989123456789"),
    ("989123456789", "+989123456789"),
    ("00989123456789", "+989123456789"),
    ("۰۹۱۲۳۴۵۶۷۸۹", "+989123456789"),
    ("۹۱۲۳۴۵۶۷۸۹", "+989123456789"),
    ("+۹۸۹۱۲۳۴۵۶۷۸۹", "+989123456789"),
    ("۹۸۹۱۲۳۴۵۶۷۸۹", "+989123456789"),
    ("۰۰۹۸۹۱۲۳۴۵۶۷۸۹", "+989123456789"),
    (_arabic_indic("09123456789"), "+989123456789"),
    (_arabic_indic("+989123456789"), "+989123456789"),
    (_arabic_indic("00989123456789"), "+989123456789"),
    ("۰۹12٣45۶789", "+989123456789"),  # mixed digit systems
    ("۰۹۱۲ ۳۴۵ ۶۷۸۹", "+989123456789"),
    ("0912-345-6789", "+989123456789"),
    ("(0912) 345 6789", "+989123456789"),
    ("0912.345.6789", "+989123456789"),
    ("+98 912 345 6789", "+989123456789"),  # shared contact
    ("+98-912-345-67-89", "+989123456789"),
    ("+98 (0) 912 345 6789", "+989123456789"),
    ("0098 912 345 6789", "+989123456789"),
    ("  09123456789  ", "+989123456789"),
    ("\u200e+98 912 345 6789\u200f", "+989123456789"),  # bidi marks from copy/paste
    ("＋９８９１２３４５６７８９", "+989123456789"),  # full-width
    ("09351234567", "+989351234567"),
    ("09901234567", "+989901234567"),
    ("09012345678", "+989012345678"),
    ("09211234567", "+989211234567"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_MOBILES)
def test_parse_mobile_valid(raw: str, expected: str) -> None:
    """Every common spelling of an Iranian mobile becomes +989xxxxxxxxx."""
    assert parse_mobile(raw) == expected


INVALID_MOBILES = [
    ("", "empty"),
    ("   ", "empty"),
    ("- ()", "empty"),
    (TOO_LONG, "too_long"),
    ("02112345678", "mobile.landline"),  # Tehran landline
    ("۰۲۱۱۲۳۴۵۶۷۸", "mobile.landline"),
    ("+982112345678", "mobile.landline"),
    ("00983112345678", "mobile.landline"),  # Isfahan landline, international form
    ("+98 21 1234 56", "mobile.format"),  # too short after 98
    ("03112345678", "mobile.landline"),  # Isfahan landline
    ("2112345678", "mobile.landline"),
    ("0912345678", "mobile.format"),  # one digit short
    ("091234567890", "mobile.format"),  # one digit long
    ("912345678", "mobile.format"),
    ("98912345678", "mobile.format"),
    ("+98912345678", "mobile.format"),
    ("+9891234567890", "mobile.format"),
    ("0912345678a", "mobile.format"),
    ("09abcdefghi", "mobile.format"),
    ("۰۹ایران", "mobile.format"),
    ("abc", "mobile.format"),
    ("+98", "mobile.format"),
    ("+", "mobile.format"),
    ("0912+3456789", "mobile.format"),
    ("++989123456789", "mobile.format"),
    ("00000000000", "mobile.format"),
    ("+0912345678", "mobile.format"),
    ("+15551234567", "mobile.foreign"),
    ("+1 (555) 123-4567", "mobile.foreign"),
    ("0015551234567", "mobile.foreign"),
    ("+44 7911 123456", "mobile.foreign"),
    ("+۹۷۱۵۰۱۲۳۴۵۶۷", "mobile.foreign"),  # UAE in Persian digits
]


@pytest.mark.parametrize(("raw", "code"), INVALID_MOBILES)
def test_parse_mobile_invalid(raw: str, code: str) -> None:
    """Landlines, foreign numbers, wrong lengths and letters are rejected."""
    assert _error(lambda: parse_mobile(raw)) == code


@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.sampled_from(["0{n}", "{n}", "+98{n}", "98{n}", "0098{n}", "+98 {n}"]),
    st.sampled_from(["latin", "persian", "arabic"]),
)
def test_parse_mobile_any_form(rest: str, form: str, digits: str) -> None:
    """Any 9xxxxxxxxx number in any form and digit system parses to the same value."""
    text = form.format(n="9" + rest)
    if digits == "persian":
        text = to_persian_digits(text)
    elif digits == "arabic":
        text = _arabic_indic(text)
    assert parse_mobile(text) == "+989" + rest


# --- national code ------------------------------------------------------------------------

VALID_NATIONAL_CODES = [
    ("0012345679", "0012345679"),
    ("1234567891", "1234567891"),
    ("0081234562", "0081234562"),
    ("4498765435", "4498765435"),
    ("2287352015", "2287352015"),
    ("3716623458", "3716623458"),
    ("0765432102", "0765432102"),
    ("5555555504", "5555555504"),
    ("3141592659", "3141592659"),
    ("۰۰۱۲۳۴۵۶۷۹", "0012345679"),
    ("٠٠١٢٣٤٥٦٧٩", "0012345679"),
    ("۰۰۱-۲۳۴۵۶۷-۹", "0012345679"),
    ("001-234567-9", "0012345679"),
    ("۳۱۴ ۱۵۹ ۲۶۵ ۹", "3141592659"),
    ("31415926٥9", "3141592659"),
    (" 2287352015 ", "2287352015"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_NATIONAL_CODES)
def test_parse_national_code_valid(raw: str, expected: str) -> None:
    """Valid codes in any digits, with dashes or spaces, come back as 10 Latin digits."""
    assert parse_national_code(raw) == expected


@pytest.mark.parametrize(("raw", "_"), VALID_NATIONAL_CODES[:9])
def test_valid_national_code_table_matches_reference(raw: str, _: str) -> None:
    """The table's valid codes really satisfy the published check-digit rule."""
    assert raw[9] == _reference_check_digit(raw[:9])


INVALID_NATIONAL_CODES = [
    ("", "empty"),
    (" - ", "empty"),
    (TOO_LONG, "too_long"),
    ("0012345678", "national_code.invalid"),  # wrong check digit
    ("1234567890", "national_code.invalid"),
    ("3141592650", "national_code.invalid"),
    ("۳۱۴۱۵۹۲۶۵۸", "national_code.invalid"),
    *((d * 10, "national_code.invalid") for d in "0123456789"),  # all the same digit
    ("۱۱۱۱۱۱۱۱۱۱", "national_code.invalid"),
    ("12345678", "national_code.length"),  # 8 digits are not padded
    ("001234567", "national_code.length"),  # 9 digits are not padded
    ("00123456790", "national_code.length"),
    ("1", "national_code.length"),
    ("00123a5679", "national_code.format"),
    ("کد ملی", "national_code.format"),
    ("+0012345679", "national_code.format"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_NATIONAL_CODES)
def test_parse_national_code_invalid(raw: str, code: str) -> None:
    """Wrong check digits, all-same codes, wrong lengths and letters are rejected."""
    assert _error(lambda: parse_national_code(raw)) == code


@pytest.mark.parametrize("code", ["0000000000", "1111111111"])
def test_all_same_codes_pass_arithmetic_yet_are_rejected(code: str) -> None:
    """These codes satisfy the check digit, so the all-same rule is what rejects them."""
    assert code[9] == _reference_check_digit(code[:9])
    assert _error(lambda: parse_national_code(code)) == "national_code.invalid"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_is_valid(prefix: str) -> None:
    """For any prefix exactly the reference check digit is accepted."""
    accepted = []
    for last in "0123456789":
        try:
            accepted.append(parse_national_code(prefix + last))
        except ValidationError as err:
            assert err.code == "national_code.invalid"
    if len(set(prefix)) == 1 and prefix[0] == _reference_check_digit(prefix):
        assert accepted == []
    else:
        assert accepted == [prefix + _reference_check_digit(prefix)]


# --- full name ----------------------------------------------------------------------------

VALID_NAMES = [
    ("علی رضایی", "علی رضایی"),
    ("  علي   رضايي ", "علی رضایی"),  # Arabic yeh, extra spaces
    ("كاظم كريمي", "کاظم کریمی"),  # Arabic kaf and yeh
    ("فاطمه زهرا حسینی", "فاطمه زهرا حسینی"),
    ("محمدحسین میرزا\u200cزاده", "محمدحسین میرزا\u200cزاده"),  # ZWNJ kept
    ("\u200fزهرا\u200c", "زهرا"),
    ("زهرا", "زهرا"),
    ("ما", "ما"),
    ("مُحَمَّدٌ", "مُحَمَّدٌ"),  # diacritics are not "symbols"
    ("ﻋﻠﻲ ﺭﺿﺎ", "علی رضا"),  # presentation forms
    ("Ali Rezaei", "Ali Rezaei"),
    ("O'Brien", "O'Brien"),
    ("Jean-Luc Picard", "Jean-Luc Picard"),
    ("S. M. Hosseini", "S. M. Hosseini"),
    ("S.M.Hosseini", "S.M.Hosseini"),
    ("Zoë Saldaña", "Zoë Saldaña"),
    ("Al", "Al"),
    ("سید علی-اکبر", "سید علی-اکبر"),
    ("م. رضایی", "م. رضایی"),
    ("ع" * 80, "ع" * 80),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_NAMES)
def test_parse_full_name_valid(raw: str, expected: str) -> None:
    """Persian and Latin names are accepted in normalised form."""
    assert parse_full_name(raw) == expected


INVALID_NAMES = [
    ("", "empty"),
    ("  \u200c ", "empty"),
    (TOO_LONG, "too_long"),
    ("a" * 201, "too_long"),
    ("ع" * 81, "name.too_long"),
    ("ع", "name.too_short"),
    ("a", "name.too_short"),
    ("1234", "name.chars"),
    ("۱۲۳۴۵۶", "name.chars"),
    ("علی ۲", "name.chars"),
    ("Ali 2", "name.chars"),
    ("😀😀😀", "name.chars"),
    ("علی 😀", "name.chars"),
    ("★★★ علی ★★★", "name.chars"),
    ("Иван Петров", "name.chars"),
    ("李小龍", "name.chars"),
    ("علی،رضا", "name.chars"),
    ("علی_رضا", "name.chars"),
    ("<b>Ali</b>", "name.chars"),
    ("ali@example.com", "name.link"),
    ("@ali_reza", "name.link"),
    ("https://t.me/joinchat", "name.link"),
    ("http://example.ir", "name.link"),
    ("www.example.com", "name.link"),
    ("example.com", "name.link"),
    ("shop.ir", "name.link"),
    ("t.me/channel", "name.link"),
    ("---", "name.letters"),
    ("...", "name.letters"),
    ("a-.-.-", "name.letters"),
    ("ab.-.-.'", "name.letters"),
    ("ـــ", "name.letters"),  # tatweel only
]


@pytest.mark.parametrize(("raw", "code"), INVALID_NAMES)
def test_parse_full_name_invalid(raw: str, code: str) -> None:
    """Digits, links, emoji, foreign scripts and symbol soup are rejected."""
    assert _error(lambda: parse_full_name(raw)) == code


# --- Jalali date --------------------------------------------------------------------------

VALID_DATES = [
    ("1405/09/08", dt.date(2026, 11, 29)),  # today
    ("۱۴۰۵/۰۹/۰۸", dt.date(2026, 11, 29)),
    ("١٤٠٥/٠٩/٠٨", dt.date(2026, 11, 29)),
    ("۱۴۰5/0۹/٠٨", dt.date(2026, 11, 29)),  # mixed digit systems
    ("1405-9-8", dt.date(2026, 11, 29)),
    ("۱۴۰۵.۹.۸", dt.date(2026, 11, 29)),
    ("۱۴۰۵٫۹٫۸", dt.date(2026, 11, 29)),  # Arabic decimal separator
    (" 1405 / 9 / 8 ", dt.date(2026, 11, 29)),
    ("\u200f۱۴۰۵/۰۹/۰۸\u200e", dt.date(2026, 11, 29)),
    ("۸/۹/۱۴۰۵", dt.date(2026, 11, 29)),  # day first
    ("1405/09/07", dt.date(2026, 11, 28)),
    ("1403/12/30", dt.date(2025, 3, 20)),  # Esfand 30 in leap 1403
    ("۱۴۰۳/۱۲/۳۰", dt.date(2025, 3, 20)),
    ("1399/12/30", dt.date(2021, 3, 20)),  # 1399 is leap too
    ("1404/01/01", dt.date(2025, 3, 21)),
    ("1404/12/29", dt.date(2026, 3, 20)),
    ("1405/06/31", dt.date(2026, 9, 22)),
    ("1380/01/01", dt.date(2001, 3, 21)),  # earliest accepted
]


@pytest.mark.parametrize(("raw", "expected"), VALID_DATES)
def test_parse_jalali_date_valid(raw: str, expected: dt.date) -> None:
    """Jalali dates in any digits and separators give the Gregorian date."""
    assert parse_jalali_date(raw, today=TODAY) == expected


INVALID_DATES = [
    ("", "empty"),
    ("   ", "empty"),
    (TOO_LONG, "too_long"),
    ("1404/12/30", "date.invalid"),  # 1404 is not leap
    ("۱۴۰۴/۱۲/۳۰", "date.invalid"),
    ("1402/12/30", "date.invalid"),
    ("1405/07/31", "date.invalid"),  # second half-year has 30 days
    ("1405/13/01", "date.invalid"),
    ("1405/00/10", "date.invalid"),
    ("1405/01/00", "date.invalid"),
    ("1405/01/32", "date.invalid"),
    ("1405/09/09", "date.future"),  # tomorrow
    ("1406/01/01", "date.future"),
    ("1408/12/30", "date.future"),
    ("1379/12/29", "date.too_old"),
    ("1300/01/01", "date.too_old"),
    ("2026/11/29", "date.gregorian"),
    ("2020-01-01", "date.gregorian"),
    ("29/11/2026", "date.gregorian"),
    ("hello", "date.format"),
    ("دیروز", "date.format"),
    ("1405/09", "date.format"),
    ("05/09/08", "date.format"),
    ("14050908", "date.format"),
    ("1405/09/08/01", "date.format"),
    ("1405/009/08", "date.format"),
    ("1405 09 08", "date.format"),
    ("1405/09/08 14:30", "date.format"),
    ("۱۴۰۵/سه/۰۸", "date.format"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_DATES)
def test_parse_jalali_date_invalid(raw: str, code: str) -> None:
    """Impossible, future, too-old and malformed dates are rejected with their code."""
    assert _error(lambda: parse_jalali_date(raw, today=TODAY)) == code


@pytest.mark.parametrize(("year", "leap"), [(1399, True), (1403, True), (1404, False)])
def test_esfand_30_follows_leap_years(year: int, leap: bool) -> None:
    """Esfand 30 exists exactly in leap years."""
    raw = f"{year}/12/30"
    if leap:
        assert parse_jalali_date(raw, today=TODAY) < TODAY
    else:
        assert _error(lambda: parse_jalali_date(raw, today=TODAY)) == "date.invalid"


# --- Jalali date and time -----------------------------------------------------------------


def _tehran(y: int, mo: int, d: int, h: int, mi: int) -> dt.datetime:
    """Build an aware Tehran datetime."""
    return dt.datetime(y, mo, d, h, mi, tzinfo=TEHRAN)


EARLY = _tehran(2026, 11, 29, 9, 0)
VALID_DATETIMES = [
    ("1405/09/08 14:30", NOW, _tehran(2026, 11, 29, 14, 30)),
    ("۱۴۰۵/۰۹/۰۸ ۱۴:۳۰", NOW, _tehran(2026, 11, 29, 14, 30)),
    ("١٤٠٥/٠٩/٠٨ ١٤:٣٠", NOW, _tehran(2026, 11, 29, 14, 30)),
    ("۱۴۰۵/۰۹/۰۸ 14:۳٠", NOW, _tehran(2026, 11, 29, 14, 30)),  # mixed digits
    ("1405-9-8 9:05", EARLY, _tehran(2026, 11, 29, 9, 5)),
    ("۱۴۰۵.۹.۸ ۹:۰۵", EARLY, _tehran(2026, 11, 29, 9, 5)),
    ("۱۴۰۵/۹/۸   ۱۰:۰۵", NOW, _tehran(2026, 11, 29, 10, 5)),
    ("1405/09/08 14 : 30", NOW, _tehran(2026, 11, 29, 14, 30)),
    ("1405/09/08 10:00", NOW, _tehran(2026, 11, 29, 10, 0)),  # exactly now
    ("8/9/1405 23:59", NOW, _tehran(2026, 11, 29, 23, 59)),
    ("1406/01/01 00:00", NOW, _tehran(2027, 3, 21, 0, 0)),
    ("1408/12/30 12:00", NOW, _tehran(2030, 3, 20, 12, 0)),  # Esfand 30 of leap 1408
]


@pytest.mark.parametrize(("raw", "now", "expected"), VALID_DATETIMES)
def test_parse_jalali_datetime_valid(raw: str, now: dt.datetime, expected: dt.datetime) -> None:
    """Future Jalali date-times become aware Tehran datetimes."""
    got = parse_jalali_datetime(raw, now=now)
    assert got == expected
    assert got.tzinfo is TEHRAN
    assert got.utcoffset() == dt.timedelta(hours=3, minutes=30)


INVALID_DATETIMES = [
    ("", "empty"),
    (TOO_LONG, "too_long"),
    ("1405/09/08", "datetime.format"),
    ("14:30", "datetime.format"),
    ("1405/09/08 1430", "datetime.format"),
    ("1405/09/08 14:3", "datetime.format"),
    ("1405/09/0814:30", "datetime.format"),
    ("فردا ۱۴:۳۰", "datetime.format"),
    ("1405/09/08 24:00", "datetime.invalid"),
    ("1405/09/08 12:60", "datetime.invalid"),
    ("1404/12/30 10:00", "datetime.invalid"),
    ("1405/07/31 10:00", "datetime.invalid"),
    ("2026/11/29 14:30", "datetime.gregorian"),
    ("1405/09/08 09:59", "datetime.past"),
    ("1405/09/07 23:00", "datetime.past"),
    ("1380/01/01 00:00", "datetime.past"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_DATETIMES)
def test_parse_jalali_datetime_invalid(raw: str, code: str) -> None:
    """Malformed, impossible and past date-times are rejected."""
    assert _error(lambda: parse_jalali_datetime(raw, now=NOW)) == code


def test_parse_jalali_datetime_respects_other_zone_and_now() -> None:
    """``tz`` sets the wall-clock zone and ``now`` may be in any zone."""
    now_utc = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)  # 09:30 Tehran
    got = parse_jalali_datetime("1405/09/08 07:00", now=now_utc, tz=dt.UTC)
    assert got == dt.datetime(2026, 11, 29, 7, 0, tzinfo=dt.UTC)
    with pytest.raises(ValidationError):
        parse_jalali_datetime("1405/09/08 09:00", now=now_utc)


def test_parse_jalali_datetime_rejects_wall_time_skipped_by_dst() -> None:
    """1400/01/02 00:30 never happened in Tehran (clocks jumped to 01:00)."""
    old_now = _tehran(2021, 3, 1, 0, 0)
    assert (
        _error(lambda: parse_jalali_datetime("1400/01/02 00:30", now=old_now)) == "datetime.invalid"
    )
    assert parse_jalali_datetime("1400/01/02 01:30", now=old_now) == _tehran(2021, 3, 22, 1, 30)


def test_parse_jalali_datetime_rejects_naive_now() -> None:
    """A naive ``now`` is a programming error, not a user error."""
    with pytest.raises(ValueError) as info:
        parse_jalali_datetime("1405/09/08 14:30", now=dt.datetime(2026, 11, 29, 10, 0))
    assert not isinstance(info.value, ValidationError)


# --- integers -----------------------------------------------------------------------------

VALID_INTS = [
    ("3", 1, 100, 3),
    ("۳", 1, 100, 3),
    ("٧", 1, 100, 7),
    ("۱۲", 1, 100, 12),
    ("1۲", 1, 100, 12),
    ("  ۵  ", 1, 100, 5),
    ("+3", 1, 100, 3),
    ("007", 1, 100, 7),
    ("0", 0, 10, 0),
    ("-2", -5, 5, -2),
    ("1,000", 1, 10_000, 1000),
    ("۱٬۰۰۰", 1, 10_000, 1000),
    ("1 000", 1, 10_000, 1000),
    ("100", 1, 100, 100),
    ("1", 1, 100, 1),
]


@pytest.mark.parametrize(("raw", "lo", "hi", "expected"), VALID_INTS)
def test_parse_int_in_range_valid(raw: str, lo: int, hi: int, expected: int) -> None:
    """Whole numbers in any digits within the range are accepted."""
    assert parse_int_in_range(raw, lo, hi) == expected


INVALID_INTS = [
    ("", 1, 100, "empty"),
    (TOO_LONG, 1, 100, "too_long"),
    ("abc", 1, 100, "int.format"),
    ("سه", 1, 100, "int.format"),
    ("3 نفر", 1, 100, "int.format"),
    ("1.5", 1, 100, "int.format"),
    ("۱٫۵", 1, 100, "int.format"),
    ("1,5", 1, 100, "int.format"),
    ("1,0000", 1, 100_000, "int.format"),
    ("--3", 1, 100, "int.format"),
    ("0", 1, 100, "int.range"),
    ("101", 1, 100, "int.range"),
    ("-1", 0, 100, "int.range"),
    ("۱۰۰۰", 1, 100, "int.range"),
]


@pytest.mark.parametrize(("raw", "lo", "hi", "code"), INVALID_INTS)
def test_parse_int_in_range_invalid(raw: str, lo: int, hi: int, code: str) -> None:
    """Non-numbers and out-of-range numbers are rejected."""
    assert _error(lambda: parse_int_in_range(raw, lo, hi)) == code


def test_parse_int_in_range_rejects_empty_range() -> None:
    """lo > hi is a programming error."""
    with pytest.raises(ValueError):
        parse_int_in_range("1", 5, 1)


@given(st.integers(min_value=0, max_value=10**6))
def test_parse_int_round_trips_persian_digits(n: int) -> None:
    """Any number written in Persian digits parses back."""
    assert parse_int_in_range(to_persian_digits(str(n)), 0, 10**6) == n


# --- shared rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda s: parse_mobile(s),
        lambda s: parse_national_code(s),
        lambda s: parse_full_name(s),
        lambda s: parse_jalali_date(s, today=TODAY),
        lambda s: parse_jalali_datetime(s, now=NOW),
        lambda s: parse_int_in_range(s, 0, 10),
    ],
)
@pytest.mark.parametrize("length", [MAX_INPUT_LEN + 1, 10_000])
def test_every_parser_rejects_long_input_first(call: Callable[[str], object], length: int) -> None:
    """Over-long input is rejected with "too_long" before any parsing."""
    assert _error(lambda: call("0" * length)) == "too_long"


def test_all_table_codes_are_declared() -> None:
    """Every code the tests expect is listed in ERROR_CODES for the locale files."""
    used = {code for *_, code in INVALID_MOBILES}
    used |= {code for *_, code in INVALID_NATIONAL_CODES}
    used |= {code for *_, code in INVALID_NAMES}
    used |= {code for *_, code in INVALID_DATES}
    used |= {code for *_, code in INVALID_DATETIMES}
    used |= {code for *_, code in INVALID_INTS}
    assert used == ERROR_CODES
