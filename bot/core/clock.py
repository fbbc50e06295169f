"""One injectable clock for everything that reads the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock: aware UTC datetimes."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)

    def timestamp(self) -> int:
        """The current instant as whole Unix seconds."""
        return int(self.now().timestamp())


class ManualClock(Clock):
    """A clock that tests and the console move by hand."""

    def __init__(self, start: datetime) -> None:
        """Start at an aware instant."""
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The instant the clock was set to."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keyword arguments (days=, hours=, …)."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to an aware instant."""
        self._now = when.astimezone(UTC)


def from_ts(ts: int | None) -> datetime | None:
    """Unix seconds (as stored) to an aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)
