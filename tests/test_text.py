"""Tests for bot.core.text: digits, normalisation, progress bars, truncation and numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import (
    PAIR_WIDTH,
    compact_digits,
    format_number,
    label_width,
    localize_digits,
    normalize_input,
    pair_rows,
    progress_bar,
    to_latin_digits,
    to_persian_digits,
    truncate,
    utf16_len,
)

ZWNJ = "\u200c"
ZWJ = "\u200d"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("0123456789", "0123456789"),
        ("۱۲3٤", "1234"),
        ("کد ۱۲۳ abc", "کد 123 abc"),
        ("", ""),
        ("no digits", "no digits"),
        ("١٫٥", "1٫5"),
    ],
)
def test_to_latin_digits(raw: str, expected: str) -> None:
    """Persian and Arabic-Indic digits become ASCII; nothing else changes."""
    assert to_latin_digits(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
        ("1405/09/08", "۱۴۰۵/۰۹/۰۸"),
        ("abc 12", "abc ۱۲"),
        ("٣", "٣"),
        ("", ""),
    ],
)
def test_to_persian_digits(raw: str, expected: str) -> None:
    """Only ASCII digits are converted to Persian digits."""
    assert to_persian_digits(raw) == expected


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        ("step 3/5", "fa", "step ۳/۵"),
        ("step 3/5", "en", "step 3/5"),
        ("step 3/5", "de", "step 3/5"),
        ("۳", "en", "۳"),
    ],
)
def test_localize_digits(raw: str, lang: str, expected: str) -> None:
    """Persian digits only for lang "fa"."""
    assert localize_digits(raw, lang) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  سلام   دنیا  ", "سلام دنیا"),
        ("\tعلی\n\nرضایی\r\n", "علی رضایی"),
        ("علي", "علی"),  # Arabic yeh
        ("موسى", "موسی"),  # alef maksura
        ("كتاب", "کتاب"),  # Arabic kaf
        ("فاطمة", "فاطمة"),  # teh marbuta stays
        ("می\u200cروم", "می\u200cروم"),  # meaningful ZWNJ kept
        ("می\u200c\u200c\u200cروم", "می\u200cروم"),  # run of ZWNJ -> one
        ("\u200cمی‌روم\u200c", "می\u200cروم"),  # ZWNJ at the edges removed
        ("کتاب \u200c ها", "کتاب ها"),  # ZWNJ beside spaces removed
        ("۱۲\u200c۳", "۱۲۳"),  # ZWNJ between digits removed
        ("\u200bسلام\u200b", "سلام"),  # zero width space
        ("\ufeffسلام", "سلام"),  # BOM
        ("\u200fسلام\u200e", "سلام"),  # RLM/LRM
        ("\u202bسلام\u202c", "سلام"),  # embedding
        ("\u2067سلام\u2069", "سلام"),  # isolates
        ("سل\u200dام", "سلام"),  # stray ZWJ inside a word
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # emoji ZWJ sequence kept
        ("a\x00b\x07c", "abc"),  # control characters
        ("a\u00a0b", "a b"),  # NBSP
        ("ﺳﻼﻡ", "سلام"),  # presentation forms -> letters
        ("ﻋﻠﻲ", "علی"),  # presentation form of Arabic yeh -> Persian yeh
        ("ＡＢＣ１２", "ABC12"),  # full-width
        ("آب", "آب"),  # precomposed alef madda survives
        ("ا\u0653ب", "آب"),  # decomposed alef madda composes
        ("ا\u200e\u0653ب", "آب"),  # ... even across a removed LRM
        ("ی\u0654", "ی\u0654"),  # no precomposed Farsi yeh + hamza; left alone
        ("ي\u0654", "ئ"),  # Arabic yeh + hamza composes first
        ("", ""),
        ("   ", ""),
        ("\u200c\u200f\u200b", ""),
        ("Ali  Rezaei", "Ali Rezaei"),
    ],
)
def test_normalize_input(raw: str, expected: str) -> None:
    """Free text is normalised the Persian way without losing meaningful ZWNJ."""
    assert normalize_input(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۰۹۱۲ ۳۴۵ ۶۷۸۹", "09123456789"),
        ("٠٩١٢-٣٤٥-٦٧٨٩", "09123456789"),
        ("(0912) 345.6789", "09123456789"),
        ("+98 912 345 6789", "+989123456789"),
        ("\u200e+98\u200c912\u200f3456789", "+989123456789"),
        ("۰۹۱۲–۳۴۵—۶۷۸۹", "09123456789"),
        ("００９８", "0098"),
        ("12a", "12a"),
        ("", ""),
    ],
)
def test_compact_digits(raw: str, expected: str) -> None:
    """Typed numbers lose their punctuation and get Latin digits."""
    assert compact_digits(raw) == expected


@pytest.mark.parametrize(
    ("done", "total", "width", "expected"),
    [
        (3, 5, None, "▰▰▰▱▱"),
        (0, 5, None, "▱▱▱▱▱"),
        (5, 5, None, "▰▰▰▰▰"),
        (7, 5, None, "▰▰▰▰▰"),  # clamped
        (-1, 5, None, "▱▱▱▱▱"),  # clamped
        (1, 1, None, "▰"),
        (5, 10, None, "▰▰▰▰▰▱▱▱▱▱"),
        (10, 20, None, "▰▰▰▰▰▱▱▱▱▱"),  # scaled to 10
        (19, 20, None, "▰▰▰▰▰▰▰▰▰▱"),  # never full before done
        (20, 20, None, "▰▰▰▰▰▰▰▰▰▰"),
        (1, 4, 8, "▰▰▱▱▱▱▱▱"),
        (0, 0, None, ""),
        (0, 0, 3, "▱▱▱"),
    ],
)
def test_progress_bar(done: int, total: int, width: int | None, expected: str) -> None:
    """Cells are filled in proportion, rounding down."""
    assert progress_bar(done, total, width) == expected


@pytest.mark.parametrize(("total", "width"), [(-1, None), (5, -1)])
def test_progress_bar_rejects_negative(total: int, width: int | None) -> None:
    """Negative sizes are programming errors."""
    with pytest.raises(ValueError):
        progress_bar(0, total, width)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("سلام", 4),
        ("😀", 2),
        ("a😀b", 4),
        ("👨\u200d👩", 5),
    ],
)
def test_utf16_len(text: str, expected: int) -> None:
    """Characters outside the BMP count twice."""
    assert utf16_len(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("hello", 10, "hello"),
        ("hello", 5, "hello"),
        ("hello world", 8, "hello w…"),
        ("hello world", 7, "hello…"),  # trailing space dropped before the ellipsis
        ("hello", 1, "…"),
        ("hello", 0, ""),
        ("abc😀def", 5, "abc…"),  # the emoji would need 2 units: not split
        ("abc😀def", 6, "abc😀…"),
        ("😀😀😀", 4, "😀…"),
        ("😀😀😀", 2, "…"),
        ("می\u200cروم خانه", 4, "می…"),  # dangling ZWNJ dropped
        ("سلام دنیا", 6, "سلام…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    """Truncation respects Telegram's UTF-16 length and keeps emoji whole."""
    out = truncate(text, limit)
    assert out == expected
    assert utf16_len(out) <= limit


def test_truncate_rejects_negative_limit() -> None:
    """A negative limit is a programming error."""
    with pytest.raises(ValueError):
        truncate("abc", -1)


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [
        (0, "fa", "۰"),
        (999, "fa", "۹۹۹"),
        (1000, "fa", "۱٬۰۰۰"),
        (1234567, "fa", "۱٬۲۳۴٬۵۶۷"),
        (-25000, "fa", "-۲۵٬۰۰۰"),
        (0, "en", "0"),
        (1000, "en", "1,000"),
        (1234567, "en", "1,234,567"),
        (-25000, "en", "-25,000"),
    ],
)
def test_format_number(n: int, lang: str, expected: str) -> None:
    """Thousands separators and digits follow the language."""
    assert format_number(n, lang) == expected


@given(st.text(max_size=60))
def test_normalize_input_is_idempotent(text: str) -> None:
    """Normalising twice changes nothing."""
    once = normalize_input(text)
    assert normalize_input(once) == once


_PERSIANISH = st.text(
    alphabet=st.sampled_from(
        "سلامعلیيككیةآا ۱۲۳٤٥abc \t\n\u200c\u200d\u200e\u200f\ufeff\u0653\u0654😀"
    ),
    max_size=40,
)


@given(_PERSIANISH)
def test_normalize_input_properties_on_persian_text(text: str) -> None:
    """Idempotent, no Arabic ي/ى/ك, no stray invisibles, trimmed, single spaces."""
    out = normalize_input(text)
    assert normalize_input(out) == out
    assert not set(out) & set("\u064a\u0649\u0643\u200e\u200f\ufeff\t\n")
    assert out == out.strip()
    assert "  " not in out
    assert not out.startswith("\u200c")
    assert not out.endswith("\u200c")
    assert "\u200c\u200c" not in out


@given(st.text(alphabet="0123456789", max_size=30))
def test_digit_round_trip(digits: str) -> None:
    """Persian digits convert back to the same ASCII digits."""
    assert to_latin_digits(to_persian_digits(digits)) == digits


@given(st.text(max_size=80), st.integers(min_value=0, max_value=100))
def test_truncate_never_exceeds_limit(text: str, limit: int) -> None:
    """Truncated text fits the limit and is a prefix plus ellipsis when shortened."""
    out = truncate(text, limit)
    assert utf16_len(out) <= limit
    if utf16_len(text) <= limit:
        assert out == text
    elif out:
        assert out.endswith("…")
        assert text.startswith(out[:-1])


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_number_round_trips(n: int) -> None:
    """Removing separators from either format gives back the number."""
    assert int(format_number(n, "en").replace(",", "")) == n
    assert int(to_latin_digits(format_number(n, "fa")).replace("٬", "")) == n


@given(st.integers(0, 50), st.integers(0, 50), st.one_of(st.none(), st.integers(0, 30)))
def test_progress_bar_width(done: int, total: int, width: int | None) -> None:
    """The bar always has the requested (or default) width."""
    bar = progress_bar(done, total, width)
    expected = width if width is not None else min(total, 10)
    assert len(bar) == expected
    assert set(bar) <= {"▰", "▱"}


@pytest.mark.parametrize(
    ("label", "width"),
    [
        ("❔ پرسش\u200cهای رایج", 14),  # the half-space takes no room
        ("⚙️ تنظیمات", 9),  # nor the emoji's variation selector
        ("📋 Permit steps", 14),
        ("", 0),
    ],
)
def test_label_width(label: str, width: int) -> None:
    """Characters a reader sees on a button."""
    assert label_width(label) == width


def test_pair_rows_keeps_order_and_gives_long_labels_a_row() -> None:
    """Two short labels share a row; a label past the width is alone; nothing moves."""
    short, long = "a" * PAIR_WIDTH, "b" * (PAIR_WIDTH + 1)
    assert pair_rows(["1", "2", long, "3", "4", "5"]) == [["1", "2"], [long], ["3", "4"], ["5"]]
    assert pair_rows([short, long, short]) == [[short], [long], [short]]
    assert pair_rows([]) == []


def test_pair_rows_lays_out_buttons_by_their_label() -> None:
    """Buttons that are (label, data) pairs are laid out by the label and kept whole."""
    buttons = [("کرج", "c:1"), ("فردیس", "c:2"), ("خدمات رایانه‌ای و دیجیتال", "f:6"), ("x", "x")]
    assert pair_rows(buttons, label=lambda b: b[0]) == [buttons[:2], [buttons[2]], [buttons[3]]]


@given(st.lists(st.text(max_size=30), max_size=12))
def test_pair_rows_never_pairs_a_wide_label(labels: list[str]) -> None:
    """Every label appears once, in order; paired labels all fit."""
    rows = pair_rows(labels)
    assert [label for row in rows for label in row] == labels
    assert all(len(row) == 1 or all(label_width(x) <= PAIR_WIDTH for x in row) for row in rows)
