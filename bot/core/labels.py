"""Words the bot shows for stored values, shared by the conversations and the exports."""

from __future__ import annotations

import re

from bot.core.text import LRM, localize_digits

__all__ = [
    "STAFF_COUNTS",
    "card_national_code",
    "format_mobile",
    "national_mobile",
    "staff_count_label",
]

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


def format_mobile(stored: str | None, lang: str) -> str:
    """A mobile on screen: «۰۹۱۲ ۱۲۳ ۴۵۶۷» (Latin digits in English), "—" when there is none.

    Every screen that shows a mobile uses this: the profile, its "(current value: …)" prompts
    and the staff cards. The groups are led by a left-to-right mark, so a right-to-left line
    neither reverses them nor moves a sign to the far side (a value that is not an Iranian
    mobile is shown as stored, behind the same mark).
    """
    shown = national_mobile(stored, grouped=True)
    return LRM + localize_digits(shown, lang) if shown else "—"


def card_national_code(stored: str | None) -> str | None:
    """A ten-digit national code as printed on the national card: "001-234567-8"; anything
    else unchanged."""
    if not stored:
        return None
    if len(stored) == 10 and stored.isascii() and stored.isdigit():
        return f"{stored[:3]}-{stored[3:9]}-{stored[9]}"
    return stored
