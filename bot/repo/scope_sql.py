"""The SQL condition that keeps a query inside a staff member's county scope."""

from __future__ import annotations

from bot.rules.scope import Scope


def county_clause(scope: Scope, column: str = "county") -> tuple[str, tuple[str, ...]]:
    """`` AND <column> IN (…)`` and its parameters, or nothing for an unscoped member."""
    if scope.counties is None:
        return "", ()
    names = tuple(sorted(scope.counties))
    marks = ", ".join("?" for _ in names)
    return f" AND {column} IN ({marks})", names
