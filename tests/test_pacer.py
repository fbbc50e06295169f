"""The pacer and its PTB rate limiter against the fake Bot API's strict flood control.

Time is scaled down (limits per 0.2 s instead of per second) so each test takes a moment; the
pacer's rules are the same at any scale. The emulator enforces the same shapes of limit as the
platform (a sliding bot-wide window, a per-chat token bucket, a per-group window, a penalty after
a 429), so a 429 here means the pacer let through what Telegram would refuse.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import pytest
from telegram.ext import ExtBot

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import Bucket, FloodControl, FloodRules, Window
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits, Pacer
from bot.messengers.ratelimit import PacedLimiter

SCALE = 0.2  # one "second" of the platform's limits, in seconds of this test
GROUP = -100_500
GROUP_PERIOD = 5 * SCALE  # a group's 20 a minute, shortened further so the test stays short


def limits(**changes: Any) -> Limits:
    """Telegram's numbers, time scaled by SCALE."""
    base = {
        "bot_count": 30, "bot_period": SCALE, "chat_rate": 1 / SCALE, "chat_burst": 3,
        "group_count": 20, "group_period": GROUP_PERIOD, "reserve": 1,
    }  # fmt: skip
    return Limits(**{**base, **changes})


def strict_rules(bot_count: int = 30) -> FloodRules:
    """The emulator's strict Telegram rules, time scaled by SCALE."""
    return FloodRules(
        bot=Window(bot_count, SCALE),
        chat=Bucket(1 / SCALE, 3),
        group=Window(20, GROUP_PERIOD),
        penalty=SCALE,
        count_edits=True,
    )


def world(
    rules: FloodRules, pace: Limits, *, latency: float = 0.0, chats: int = 40
) -> tuple[BotApiEmulator, ExtBot[Any], Pacer]:
    """An emulator with people 1..chats and a group, and a Bot paced by ``pace``."""
    emulator = BotApiEmulator(clock=time.monotonic)
    emulator.flood_rules = rules
    for uid in range(1, chats + 1):
        emulator.add_user(uid, first_name=f"P{uid}")
    emulator.add_group(GROUP, title="Staff")
    pacer = Pacer(pace)
    bot: ExtBot[Any] = ExtBot(
        "123:TEST",
        base_url="http://fake.invalid/bot",
        request=EmulatorRequest(emulator, latency=latency),
        rate_limiter=PacedLimiter(pacer, platform="test"),
    )
    return emulator, bot, pacer


async def test_replies_and_bulk_together_never_meet_a_429() -> None:
    """Bursts to one chat, to many chats, to a group, replies and bulk, with network latency."""
    emulator, bot, pacer = world(strict_rules(), limits(), latency=0.004)
    rng = random.Random(7)

    async def person(chat: int, count: int) -> None:
        """Someone tapping quickly: each turn answered with an edit-sized message."""
        for i in range(count):
            await bot.send_message(chat, f"reply {i}")
            await asyncio.sleep(rng.random() * SCALE / 4)

    async def bulk(chat: int) -> None:
        """An outbox row."""
        await bot.send_message(chat, "news", rate_limit_args={"bulk": True})

    async with bot:
        await asyncio.gather(
            *(person(c, 6) for c in range(1, 6)),
            *(bulk(c) for c in range(6, 41) for _ in range(2)),
            *(bot.send_message(GROUP, f"card {i}") for i in range(25)),
        )
    assert sum(emulator.rate_limited.values()) == 0
    assert emulator.sent_count(1) == 6 and emulator.sent_count(40) == 2
    assert emulator.sent_count(GROUP) == 25  # 20 at once, 5 more once the group window let them
    assert pacer.stats.flood_waits == 0 and pacer.stats.bulk == 70


async def test_a_reply_goes_before_waiting_bulk_and_bulk_keeps_the_reserve() -> None:
    """With the window full of bulk, a reply takes the next slot; bulk never uses the reserve."""
    emulator, bot, _pacer = world(strict_rules(), limits(bot_count=10, chat_burst=100))
    order: list[str] = []

    async def send(chat: int, label: str, *, bulk: bool) -> None:
        """One send, noting when it was admitted."""
        await bot.send_message(chat, label, rate_limit_args={"bulk": bulk})
        order.append(label)

    async with bot:
        await asyncio.gather(*(send(c, f"bulk{c}", bulk=True) for c in range(1, 10)))
        assert sorted(order) == sorted(f"bulk{c}" for c in range(1, 10))  # 10 minus the reserve
        late = [asyncio.create_task(send(c, f"late{c}", bulk=True)) for c in range(10, 15)]
        await asyncio.sleep(SCALE / 10)
        assert len(order) == 9  # bulk waits for the window although one slot is free
        await send(20, "reply", bulk=False)  # the reserved slot: no wait at all
        assert order[9] == "reply"
        await asyncio.gather(*late)
    assert sum(emulator.rate_limited.values()) == 0


async def test_bulk_waits_while_a_reply_waits_for_the_bot_window() -> None:
    """Replies blocked by the bot-wide window are served before any bulk send."""
    emulator, bot, _pacer = world(strict_rules(), limits(bot_count=4, reserve=0, chat_burst=100))
    order: list[str] = []

    async def send(chat: int, label: str, *, bulk: bool) -> None:
        """One send, noting when it was admitted."""
        await bot.send_message(chat, label, rate_limit_args={"bulk": bulk})
        order.append(label)

    async with bot:
        await asyncio.gather(*(send(c, f"b{c}", bulk=True) for c in range(1, 5)))
        waiting_bulk = [asyncio.create_task(send(c, f"b{c}", bulk=True)) for c in range(5, 9)]
        await asyncio.sleep(0)
        replies = [asyncio.create_task(send(c, f"r{c}", bulk=False)) for c in range(20, 22)]
        await asyncio.gather(*waiting_bulk, *replies)
    assert order[4:6] == ["r20", "r21"]
    assert sum(emulator.rate_limited.values()) == 0


async def test_a_429_is_waited_out_and_sent(caplog: pytest.LogCaptureFixture) -> None:
    """Another client used up the chat's budget: the reply waits as asked and still arrives."""
    emulator, bot, pacer = world(strict_rules(), limits())
    async with bot:
        for _ in range(3):  # someone else (another process with the token) drains chat 1
            emulator.handle("sendMessage", {"chat_id": 1, "text": "elsewhere"})
        with caplog.at_level(logging.WARNING):
            message = await bot.send_message(1, "our reply")
    assert message.text == "our reply"
    assert emulator.rate_limited[1] == 1 and pacer.stats.flood_waits == 1
    assert any("flood control" in r.getMessage() for r in caplog.records)
    assert all("1" not in r.getMessage().split("wait")[0] for r in caplog.records)  # no chat id


async def test_bulk_sees_its_429_and_pauses_other_bulk() -> None:
    """An outbox send gets RetryAfter back (the row is rescheduled); bulk pauses, replies don't."""
    from telegram.error import RetryAfter

    emulator, bot, pacer = world(strict_rules(), limits())
    async with bot:
        for _ in range(3):
            emulator.handle("sendMessage", {"chat_id": 1, "text": "elsewhere"})
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "row", rate_limit_args={"bulk": True, "retry": False})
        assert pacer.wait_time(2, bulk=True, now=time.monotonic()) > 0
        assert pacer.wait_time(2, bulk=False, now=time.monotonic()) == 0


async def test_bulk_is_spread_over_the_window_so_a_reply_never_waits_long() -> None:
    """A broadcast does not fill the window in a burst: slots free all the time, so a reply
    that finds the reserved slot taken waits a slice of the window, not the whole of it."""
    emulator, bot, _ = world(strict_rules(), limits(chat_burst=100), chats=60)
    times: list[float] = []

    async def bulk(chat: int) -> None:
        """One outbox row, its start noted."""
        await bot.send_message(chat, "news", rate_limit_args={"bulk": True})
        times.append(time.monotonic())

    async with bot:
        began = time.monotonic()
        sends = asyncio.gather(*(bulk(c) for c in range(1, 41)))
        await asyncio.sleep(SCALE / 2)
        await bot.send_message(50, "first reply")  # takes the reserved slot
        asked = time.monotonic()
        await bot.send_message(51, "second reply")  # must wait for a slot to free
        waited = time.monotonic() - asked
        await sends
    assert waited < SCALE / 4  # a burst of 29 at once would have made it wait about SCALE
    first_window = [t for t in times if t - began < SCALE]
    assert len(first_window) <= 29 and max(first_window) - min(first_window) > SCALE / 2
    assert sum(emulator.rate_limited.values()) == 0


async def test_edits_are_paced_like_messages() -> None:
    """A quick run of edits and messages in one chat stays inside its bucket."""
    emulator, bot, _ = world(strict_rules(), limits())
    async with bot:
        first = await bot.send_message(1, "0")
        for i in range(1, 7):
            await bot.edit_message_text(str(i), chat_id=1, message_id=first.message_id)
    assert sum(emulator.rate_limited.values()) == 0
    assert emulator.last_bot_message(1).content == "6"


async def test_unlimited_pacer_never_waits() -> None:
    """The in-process tests' pacer admits everything at once."""
    pacer = Pacer(Limits.unlimited())
    slots = [await pacer.acquire(1) for _ in range(100)]
    for slot in slots:
        slot.release()
    assert pacer.stats.waited == 0


def test_strict_rules_refuse_what_telegram_refuses() -> None:
    """The emulator's window has no burst beyond it; the bucket refills; a penalty holds."""
    flood = FloodControl(FloodRules(bot=Window(3, 1.0), chat=Bucket(1.0, 2), penalty=1.0))
    assert [flood.admit(1, 0.0), flood.admit(2, 0.0), flood.admit(3, 0.0)] == [0, 0, 0]
    assert flood.admit(4, 0.5) == 1  # a fourth in the same second
    assert flood.admit(4, 1.2) == 1  # still inside the penalty of the 429 at 0.5
    assert flood.admit(4, 1.6) == 0
    assert flood.admit(5, 2.7) == 0 and flood.admit(5, 2.7) == 0
    assert flood.admit(5, 2.8) == 1  # the chat's bucket of 2 is empty
    assert flood.admit(6, 3.9) == 0  # the chat's penalty does not touch another chat
