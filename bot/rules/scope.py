"""Which counties a staff member may see and act on: all of them, or a named few."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """A staff member's reach: ``counties`` None means every county."""

    counties: frozenset[str] | None = None

    @classmethod
    def of(cls, counties: Iterable[str]) -> Scope:
        """The scope of a staff member with these county rows (none: every county)."""
        named = frozenset(counties)
        return cls(named or None)

    @property
    def everywhere(self) -> bool:
        """Whether nothing is withheld."""
        return self.counties is None

    def allows(self, county: str | None) -> bool:
        """Whether a person (or row) in ``county`` is within reach; no county only for all."""
        return self.counties is None or (county is not None and county in self.counties)


EVERYWHERE = Scope()
