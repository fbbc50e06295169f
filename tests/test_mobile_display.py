"""How the bot shows a stored mobile: one function, the form people know, right-to-left safe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.labels import format_mobile, national_mobile
from bot.core.validators import parse_mobile

LRM = "\u200e"


@pytest.mark.parametrize(
    ("stored", "lang", "shown"),
    [
        ("+989123456789", "fa", LRM + "۰۹۱۲ ۳۴۵ ۶۷۸۹"),
        ("+989123456789", "en", LRM + "0912 345 6789"),
        ("09351112233", "fa", LRM + "۰۹۳۵۱۱۱۲۲۳۳"),  # not stored by the bot: as it is
        ("+14155550100", "en", LRM + "+14155550100"),  # not an Iranian mobile: as stored
        (None, "fa", "—"),
        ("", "en", "—"),
    ],
)
def test_format_mobile(stored: str | None, lang: str, shown: str) -> None:
    """The form people know, in the reader's digits, never with +98."""
    assert format_mobile(stored, lang) == shown


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True))
def test_format_mobile_round_trips(rest: str) -> None:
    """What is shown parses back to what is stored, in either language."""
    stored = "+98" + rest
    for lang in ("fa", "en"):
        assert parse_mobile(format_mobile(stored, lang)) == stored
    assert national_mobile(stored) == "0" + rest  # the form exports use


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_mobile_reads_left_to_right_inside_a_persian_line(lang: str) -> None:
    """In a right-to-left line the groups keep their order and no sign moves to the far side
    (what a phone shows, by the Unicode bidi algorithm). Without the mark the groups come out
    reversed ("۶۷۸۹ ۳۴۵ ۰۹۱۲"), and "+۹۸۹…" ended as "…۹+"."""
    from bidi.algorithm import get_display

    digits = "۰۹۱۲ ۳۴۵ ۶۷۸۹" if lang == "fa" else "0912 345 6789"
    for line in ("📱 همراه: {}", "(مقدار فعلی: {})", "👤 زهرا احمدی · 📱 {}"):
        shown = get_display(line.format(format_mobile("+989123456789", lang)))
        assert digits in shown, shown
        assert "+" not in shown
    assert digits not in get_display("📱 همراه: " + digits)  # the mark is what keeps them
