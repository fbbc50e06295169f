"""Words the bot shows for stored values, shared by the conversations and the exports."""

from __future__ import annotations

import re

from bot.text import localize_digits

__all__ = ["STAFF_COUNTS", "card_national_code", "national_mobile", "staff_count_label"]

#: The check-in's "how many people work in it" answers; the last one means "that many or more".
STAFF_COUNTS: tuple[str, ...] = ("1", "2", "3", "4", "5")
_IRAN_MOBILE = re.compile(r"\+98(9[0-9]{9})")


def staff_count_label(count: int | str, lang: str) -> str:
    """The button a person pressed for a staff count: "۲", or "۵+" for the last one."""
    text = str(count)
    return localize_digits(text + "+" if text == STAFF_COUNTS[-1] else text, lang)


def national_mobile(stored: str | None, *, grouped: bool = False) -> str | None:
    """A stored mobile (+989121234567) as people write it: "09121234567", or grouped
    "0912 123 4567". Anything else (never stored by the bot, but possibly typed into the
    database by hand) comes back unchanged, so nothing is lost."""
    if not stored:
        return None
    found = _IRAN_MOBILE.fullmatch(stored)
    if found is None:
        return stored
    digits = "0" + found.group(1)
    return f"{digits[:4]} {digits[4:7]} {digits[7:]}" if grouped else digits


def card_national_code(stored: str | None) -> str | None:
    """A ten-digit national code as printed on the national card: "001-234567-8"; anything
    else unchanged."""
    if not stored:
        return None
    if len(stored) == 10 and stored.isascii() and stored.isdigit():
        return f"{stored[:3]}-{stored[3:9]}-{stored[9]}"
    return stored
