"""Flood control of the fake Bot API: Telegram's documented limits, enforced as strictly as asked.

Two shapes of limit: a token bucket (``rate`` per second, at most ``burst`` at once) and a
sliding window (at most ``count`` in any ``period`` seconds, no burst beyond it). A send over a
limit answers 429 with ``retry_after``; with a ``penalty`` the chat (or the whole bot) that went
over stays refused for that long, as Telegram does, so a client that ignores ``retry_after``
keeps failing.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bucket:
    """``rate`` sends per second on average, ``burst`` at once."""

    rate: float
    burst: float


@dataclass(frozen=True)
class Window:
    """At most ``count`` sends in any ``period`` seconds."""

    count: int
    period: float


Policy = Bucket | Window


@dataclass(frozen=True)
class FloodRules:
    """Which limits apply: the whole bot, each private chat, each group; penalty; edits."""

    bot: Policy | None = None
    chat: Policy | None = None
    group: Policy | None = None
    penalty: float = 0.0
    count_edits: bool = False

    @classmethod
    def telegram(cls, *, bot_count: int = 30) -> FloodRules:
        """Telegram's documented numbers, strictly: 30 in any second per bot, about one per
        second per chat with bursts of 3, 20 a minute per group, edits count, a 1 s penalty."""
        return cls(
            bot=Window(bot_count, 1.0),
            chat=Bucket(1.0, 3.0),
            group=Window(20, 60.0),
            penalty=1.0,
            count_edits=True,
        )

    @classmethod
    def from_rates(
        cls, global_rate: float | None, per_chat_rate: float | None, burst: float | None
    ) -> FloodRules:
        """The older knobs: token buckets for the bot and for every chat, no penalty."""

        def bucket(rate: float | None) -> Bucket | None:
            """A bucket of ``rate`` with the shared burst (default: one second's worth)."""
            return Bucket(rate, burst if burst is not None else max(1.0, rate)) if rate else None

        chat = bucket(per_chat_rate)
        return cls(bot=bucket(global_rate), chat=chat, group=chat)

    @property
    def active(self) -> bool:
        """Whether any limit applies."""
        return any(p is not None for p in (self.bot, self.chat, self.group))


@dataclass
class _Meter:
    """One key's history under its policy, and a penalty until a time."""

    policy: Policy
    tokens: float = 0.0
    stamp: float = 0.0
    times: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0

    def wait(self, now: float) -> tuple[float, float]:
        """(seconds until the limit lets one more through, seconds of penalty left)."""
        penalty = max(0.0, self.blocked_until - now)
        policy = self.policy
        if isinstance(policy, Bucket):
            self.tokens = min(policy.burst, self.tokens + (now - self.stamp) * policy.rate)
            self.stamp = now
            return (max(0.0, (1.0 - self.tokens) / policy.rate), penalty)
        while self.times and self.times[0] <= now - policy.period:
            self.times.popleft()
        if len(self.times) >= policy.count:
            return (self.times[0] + policy.period - now, penalty)
        return (0.0, penalty)

    def take(self, now: float) -> None:
        """Count one send."""
        if isinstance(self.policy, Bucket):
            self.tokens -= 1.0
        else:
            self.times.append(now)


class FloodControl:
    """Admits or refuses each send against the rules, per bot, chat and group."""

    def __init__(self, rules: FloodRules) -> None:
        """Start with every bucket full and every window empty."""
        self.rules = rules
        self._meters: dict[int | None, _Meter] = {}

    def _meter(self, key: int | None, policy: Policy, now: float) -> _Meter:
        """The meter of a key (None: the whole bot), created full."""
        meter = self._meters.get(key)
        if meter is None:
            burst = policy.burst if isinstance(policy, Bucket) else 0.0
            meter = self._meters[key] = _Meter(policy, tokens=burst, stamp=now)
        return meter

    def admit(self, chat_id: int, now: float) -> int:
        """0 and the send is counted, or the whole seconds to wait (a 429's retry_after)."""
        rules = self.rules
        meters = []
        if rules.bot is not None:
            meters.append(self._meter(None, rules.bot, now))
        local = rules.group if chat_id < 0 else rules.chat
        if local is not None:
            meters.append(self._meter(chat_id, local, now))
        waits = [m.wait(now) for m in meters]
        if not any(limit or penalty for limit, penalty in waits):
            for meter in meters:
                meter.take(now)
            return 0
        for meter, (limit, _) in zip(meters, waits, strict=True):
            if limit:  # over the limit: refused, and held for the penalty (waiting out one
                meter.blocked_until = max(meter.blocked_until, now + rules.penalty)  # doesn't)
        worst = max(max(limit, rules.penalty if limit else penalty) for limit, penalty in waits)
        return max(1, math.ceil(worst))
