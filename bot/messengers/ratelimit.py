"""The pacer as python-telegram-bot's rate limiter: every call the Bot makes passes through it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypedDict

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.messengers.pacer import Limits, Pacer

log = logging.getLogger(__name__)

# Methods that put a message in a chat or change one: each takes a slot. Answering a callback
# query, chat actions, deleting and reading are not messages and are never held back.
PACED_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendVoice", "sendAudio",
        "sendVideo", "sendAnimation", "sendSticker", "sendLocation", "sendContact", "sendPoll",
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages", "editMessageText",
        "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia",
    }
)  # fmt: skip


class PaceArgs(TypedDict, total=False):
    """What a caller may tell the limiter through ``rate_limit_args``."""

    bulk: bool  # an outbox send: after replies, within the bulk share of the budget
    retry: bool  # False: raise RetryAfter to the caller (the outbox reschedules the row)
    admitted: bool  # the caller already holds this send's slot (the outbox paces itself)


def seconds(value: timedelta | float) -> float:
    """A RetryAfter duration in seconds (a timedelta with PTB_TIMEDELTA, else a number)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _chat(data: dict[str, Any]) -> int | None:
    """The chat a call is for, when it names one by number."""
    raw = data.get("chat_id")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        return int(raw)
    return None


class PacedLimiter(BaseRateLimiter[PaceArgs]):
    """Holds each message or edit until the pacer admits it; waits out a 429 and tries again."""

    def __init__(self, pacer: Pacer | None = None, *, platform: str = "") -> None:
        """Pace through ``pacer`` (a new one with Telegram's limits by default)."""
        self.pacer = pacer or Pacer(Limits())
        self.platform = platform

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Wait for the shared budget's releases under way (when there is one)."""
        if self.pacer.budget is not None:
            await self.pacer.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: PaceArgs | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Make the call inside a slot; on 429 pause as asked and repeat (unless told not to)."""
        if endpoint not in PACED_METHODS:
            return await callback(*args, **kwargs)
        options: PaceArgs = rate_limit_args or {}
        bulk = bool(options.get("bulk"))
        chat = _chat(data)
        if options.get("admitted"):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pacer.penalize(chat, seconds(exc.retry_after))
                raise
        while True:
            slot = await self.pacer.acquire(chat, bulk=bulk)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = seconds(exc.retry_after)
                self.pacer.penalize(chat, wait)
                if not options.get("retry", True):
                    raise
                log.warning("%s: flood control asked to wait %.0f s; sending then", self.platform,
                            wait)  # fmt: skip
            finally:
                slot.release()
