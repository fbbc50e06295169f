"""How long someone has waited, in the unit a person would say it, and when it is too long."""

from __future__ import annotations

MINUTE, HOUR, DAY = 60, 3600, 86400
#: A struggling business should hear from a person within a day.
DUE_WITHIN = DAY


def age_unit(seconds: int) -> tuple[str, int]:
    """("now", 0), ("minutes", n), ("hours", n) or ("days", n), rounded down."""
    seconds = max(0, seconds)
    if seconds < MINUTE:
        return "now", 0
    if seconds < HOUR:
        return "minutes", seconds // MINUTE
    if seconds < DAY:
        return "hours", seconds // HOUR
    return "days", seconds // DAY


def overdue(seconds: int) -> bool:
    """Whether a wait has lasted longer than a person should wait for staff."""
    return seconds > DUE_WITHIN
