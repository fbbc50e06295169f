"""Pure text helpers: digit conversion, input normalisation and Telegram-safe display."""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "compact_digits",
    "format_number",
    "label_width",
    "localize_digits",
    "normalize_input",
    "pair_rows",
    "progress_bar",
    "to_latin_digits",
    "to_persian_digits",
    "truncate",
    "utf16_len",
]

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LATIN_DIGITS = "0123456789"

ZWNJ = "\u200c"
ZWJ = "\u200d"
LRM = "\u200e"
ELLIPSIS = "…"
BAR_DONE = "▰"
BAR_TODO = "▱"
PERSIAN_THOUSANDS_SEPARATOR = "\u066c"

_TO_LATIN = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, LATIN_DIGITS * 2)
_TO_PERSIAN = str.maketrans(LATIN_DIGITS, PERSIAN_DIGITS)

# Arabic letters that Persian keyboards/phones often produce instead of the Persian ones.
_LETTER_FIXES = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC LETTER YEH -> ARABIC LETTER FARSI YEH
        "\u0649": "\u06cc",  # ARABIC LETTER ALEF MAKSURA -> ARABIC LETTER FARSI YEH
        "\u0643": "\u06a9",  # ARABIC LETTER KAF -> ARABIC LETTER KEHEH
    }
)

# Invisible format characters that never carry meaning in a typed answer.
_STRAY_INVISIBLES = frozenset(
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b"  # zero width space
    "\u200e\u200f"  # LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings/overrides
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\ufeff"  # BOM / zero width no-break space
)
_JOINERS = frozenset((ZWNJ, ZWJ))

# Characters compact_digits drops besides whitespace and invisibles.
_COMPACT_DROP = frozenset(
    "-‐‑‒–—―−ـ"  # hyphen-minus, Unicode dashes, minus sign, tatweel
    ".·•٫٬،,"  # dots and (Arabic) separators
    "()[]{}"  # brackets
    "_/\\"  # other separators people type in phone numbers
)

_MAX_PASSES = 5

#: A button label wider than this many characters gets a row of its own: two such labels side
#: by side are cut on a narrow phone (issue 10 measured ~14 as the edge).
PAIR_WIDTH = 14


def to_latin_digits(s: str) -> str:
    """Replace Persian and Arabic-Indic digits with ASCII digits."""
    return s.translate(_TO_LATIN)


def to_persian_digits(s: str) -> str:
    """Replace ASCII digits with Persian digits, leaving everything else alone."""
    return s.translate(_TO_PERSIAN)


def localize_digits(s: str, lang: str) -> str:
    """Return ``s`` with Persian digits when ``lang`` is "fa", unchanged otherwise."""
    return to_persian_digits(s) if lang == "fa" else s


def _is_word_char(ch: str) -> bool:
    """Tell whether ``ch`` is a letter or combining mark (may sit beside a ZWNJ)."""
    return unicodedata.category(ch)[0] in "LM"


def _is_emoji_part(ch: str) -> bool:
    """Tell whether ``ch`` can sit on either side of a ZWJ in an emoji sequence."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) == "So"
        or cp == 0xFE0F  # emoji variation selector
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tone modifiers
    )


def _fix_joiners(s: str) -> str:
    """Keep one ZWNJ between letters and one ZWJ inside emoji; drop every other joiner."""
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch not in _JOINERS:
            out.append(ch)
            i += 1
            continue
        j = i
        while j < n and s[j] in _JOINERS:
            j += 1
        run = s[i:j]
        before = out[-1] if out else ""
        after = s[j] if j < n else ""
        if before and after:
            if ZWNJ in run and _is_word_char(before) and _is_word_char(after):
                out.append(ZWNJ)
            elif ZWJ in run and _is_emoji_part(before) and _is_emoji_part(after):
                out.append(ZWJ)
        i = j
    return "".join(out)


def _normalize_once(s: str) -> str:
    """Run one pass of the normalisation pipeline."""
    kept: list[str] = []
    for ch in s:
        if ch in _STRAY_INVISIBLES:
            continue
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) != "Cc":
            kept.append(ch)
    s = unicodedata.normalize("NFKC", "".join(kept))
    s = s.translate(_LETTER_FIXES)
    s = _fix_joiners(s)
    return " ".join(s.split())


def normalize_input(s: str) -> str:
    """Normalise a free-text answer: NFKC, Persian ی/ک, clean invisibles and whitespace.

    NFKC folds Arabic presentation forms, full-width characters and NBSP into their
    ordinary forms without touching Persian letters. A single ZWNJ between two letters
    (as in "می‌روم") is kept; every other joiner, bidi control, BOM and control character
    is removed, whitespace runs become one space and the ends are stripped.
    """
    for _ in range(_MAX_PASSES):
        nxt = _normalize_once(s)
        if nxt == s:
            break
        s = nxt
    return s


def compact_digits(s: str) -> str:
    """Latin digits of a typed number, without spaces, dashes, dots, brackets or invisibles."""
    s = to_latin_digits(unicodedata.normalize("NFKC", s))
    return "".join(
        ch
        for ch in s
        if not (
            ch.isspace()
            or ch in _COMPACT_DROP
            or ch in _STRAY_INVISIBLES
            or unicodedata.category(ch) in ("Cc", "Cf")
        )
    )


def progress_bar(done: int, total: int, width: int | None = None) -> str:
    """Draw ``done`` out of ``total`` as ▰/▱ cells; width defaults to total, capped at 10."""
    if total < 0:
        raise ValueError("total must not be negative")
    if width is None:
        width = total if total <= 10 else 10
    if width < 0:
        raise ValueError("width must not be negative")
    done = max(0, min(done, total))
    filled = done * width // total if total else 0
    return BAR_DONE * filled + BAR_TODO * (width - filled)


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units, the way Telegram counts message length."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2  # C speed; a lone surrogate is 1


def truncate(s: str, limit: int) -> str:
    """Cut ``s`` to at most ``limit`` UTF-16 units, ending with "…" when shortened.

    Works on whole code points, so a surrogate pair (emoji) is never split; a dangling
    joiner or trailing whitespace before the ellipsis is dropped.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    if 2 * len(s) <= limit or utf16_len(s) <= limit:  # the first test is free and usual
        return s
    if limit == 0:
        return ""
    budget = limit - utf16_len(ELLIPSIS)
    used = 0
    end = 0
    for ch in s:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > budget:
            break
        used += size
        end += 1
    head = s[:end].rstrip()
    while head and head[-1] in _JOINERS:
        head = head[:-1].rstrip()
    return head + ELLIPSIS


def format_number(n: int, lang: str) -> str:
    """Group thousands: "1,234,567" in English, "۱٬۲۳۴٬۵۶۷" in Persian."""
    text = f"{n:,}"
    if lang == "fa":
        return to_persian_digits(text.replace(",", PERSIAN_THOUSANDS_SEPARATOR))
    return text


def parse_id(s: str) -> int | None:
    """A database id from untrusted text (button data, commands): 1-18 ASCII digits, else None."""
    return int(s) if re.fullmatch(r"[0-9]{1,18}", s) else None


def label_width(label: str) -> int:
    """How many characters a label shows: joiners, variation selectors and marks take none."""
    return sum(
        1
        for ch in label
        if ch not in _JOINERS
        and not 0xFE00 <= ord(ch) <= 0xFE0F
        and unicodedata.category(ch) not in ("Mn", "Me", "Cf")
    )


def pair_rows(labels: list[str], width: int = PAIR_WIDTH) -> list[list[str]]:
    """Lay labels out two to a row, in order; a label wider than ``width`` gets a row alone."""
    rows: list[list[str]] = []
    i = 0
    while i < len(labels):
        pair = labels[i : i + 2]
        if len(pair) == 2 and all(label_width(label) <= width for label in pair):
            rows.append(pair)
            i += 2
        else:
            rows.append([labels[i]])
            i += 1
    return rows
