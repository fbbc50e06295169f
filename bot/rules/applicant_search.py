"""What staff typed in the applicants search box: a mobile, a national code or words of a name,
read with the same validators that read a person's own answers (no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.text import compact_digits, normalize_input
from bot.core.validators import ValidationError, parse_mobile

__all__ = ["MAX_WORDS", "MIN_WORD", "Search", "name_key", "prefix_end", "read_search"]

#: Longest search text read; more is cut (no name is longer).
MAX_TEXT = 100
#: Words of a name searched at most (each one narrows the result).
MAX_WORDS = 4
#: Letters a word needs before it is searched as the start of a name's word.
MIN_WORD = 2
_NUMBER = re.compile(r"\+?[0-9]+")
# The same folding as users.name_key in migration *_web_applicants (a test keeps them equal):
# joiners, tatweel and hamza above go; Arabic ي ى ك and ۀ become Persian ی ی ک and ه.
_KEY = str.maketrans(
    {
        "\u200c": None, "\u200d": None, "\u0640": None, "\u0654": None,
        "\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u06c0": "\u0647",
    }
)  # fmt: skip
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


@dataclass(frozen=True)
class Search:
    """A search text, read: ``kind`` is "" (nothing typed), "mobile", "code" (a national code),
    "number" (ten digits that may be either: both are tried), "name", "partial" (digits that
    are neither) or "short" (no word long enough)."""

    kind: str
    mobile: str | None = None
    code: str | None = None
    words: tuple[str, ...] = ()
    led: bool = False  # the first word starts few names: it leads (bot.repo.people)

    @property
    def exact(self) -> bool:
        """Whether the text names at most a few people (a mobile or a national code)."""
        return self.kind in ("mobile", "code", "number")


def name_key(text: str) -> str:
    """A name as its search key: as users.name_key folds it (ASCII letters lower case)."""
    return text.translate(_ASCII_LOWER).translate(_KEY)


def prefix_end(prefix: str) -> str:
    """The smallest text after every text that starts with ``prefix`` (a range's end)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def read_search(text: str) -> Search:
    """Read a typed search: Persian, Arabic or Latin digits, spaces, dashes and +98 alike."""
    cleaned = normalize_input(text[:MAX_TEXT])
    if not cleaned:
        return Search("")
    digits = compact_digits(cleaned)
    if _NUMBER.fullmatch(digits):
        try:
            mobile = parse_mobile(cleaned)
        except ValidationError:
            mobile = None
        code = digits if len(digits) == 10 and digits.isdigit() else None
        if mobile and code:
            return Search("number", mobile=mobile, code=code)
        if mobile:
            return Search("mobile", mobile=mobile)
        if code:
            return Search("code", code=code)
        return Search("partial")
    words: list[str] = []
    for word in name_key(cleaned).split():
        if len(word) >= MIN_WORD and word not in words:
            words.append(word)
    if not words:
        return Search("short")
    longest = sorted(words, key=len, reverse=True)[:MAX_WORDS]
    return Search("name", words=tuple(w for w in words if w in longest))
