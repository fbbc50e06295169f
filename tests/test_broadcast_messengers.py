"""Everyone means everyone: a broadcast reaches applicants on Telegram and on Bale alike, and
the count, the review and the final report say how many on each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot as PtbBot

from bot.core.clock import ManualClock
from bot.core.config import PlatformSettings
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender
from tests.conftest import Bot, pace
from tests.support.stores import Store
from tests.test_broadcast import ADMIN, FA_TEXT, monitor, queue_all, send_now, staff_member

SERVED = (
    PlatformSettings("telegram", "111:TELEGRAM-TOKEN-NOT-REAL", "http://t.invalid/bot", "x"),
    PlatformSettings("bale", "222:BALE-TOKEN-NOT-REAL", "http://b.invalid/bot", "x"),
)
TELEGRAM_PEOPLE, BALE_PEOPLE = (601, 602, 603), (701, 702)


@pytest.fixture
async def both(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """The Telegram side of a bot serving Telegram and Bale, with people on both."""
    instance = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        platforms=SERVED,
    )
    await instance.start()
    now = clock.timestamp()
    people = [("telegram", uid) for uid in TELEGRAM_PEOPLE] + [("bale", u) for u in BALE_PEOPLE]
    for platform, uid in people:
        if platform == "telegram":
            instance.emulator.add_user(uid)
    await instance.svc.db.executemany(
        "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, stage, "
        "created_at, updated_at) VALUES (?, ?, ?, 'fa', ?, 'karaj', 'loan', ?, ?)",
        [(platform, uid, uid, now, now, now) for platform, uid in people],
    )
    yield instance
    await instance.stop()


async def test_a_broadcast_to_everyone_reaches_both_messengers(both: Bot) -> None:
    """No filter: the count holds both messengers; the review says how many on each; the rows
    go out on each messenger through its own sender; the report says how many each got."""
    me = await staff_member(both)
    await me.send("/broadcast")
    await me.send(FA_TEXT)
    await me.press("bc:en:same")
    assert "Recipients now: 6" in me.last  # 3 + 2 + the admin, who agreed
    assert "🗨 Messenger: any" in me.buttons
    await me.press("bc:next")
    assert "Per messenger: Telegram 4 · Bale 2" in me.last
    await send_now(me)
    assert await queue_all(both) == 6
    rows = await OutboxRepo(both.svc.db).by_status("pending")
    assert sorted((r.platform, r.chat_id) for r in rows) == sorted(
        [("telegram", u) for u in (ADMIN, *TELEGRAM_PEOPLE)] + [("bale", u) for u in BALE_PEOPLE]
    )
    assert await both.drain() == 4  # the Telegram sender sends the Telegram rows only
    bale = BotApiEmulator(platform="bale")
    for uid in BALE_PEOPLE:
        bale.add_user(uid)
    bale_bot = PtbBot("222:BALE", base_url="http://b.invalid/bot", request=EmulatorRequest(bale))
    await bale_bot.initialize()
    sender = OutboxSender(bale_bot, OutboxRepo(both.svc.db), "bale", both.clock, pacer=pace())
    assert await sender.drain_once() == 2
    await bale_bot.shutdown()
    assert [bale.last_bot_message(uid).content for uid in BALE_PEOPLE] == [FA_TEXT] * 2
    await monitor(both).tick()
    assert "Per messenger: Bale 2 of 2 · Telegram 4 of 4" in me.last


async def test_staff_can_choose_one_messenger(both: Bot) -> None:
    """The messenger filter narrows the audience like any other filter."""
    me = await staff_member(both)
    await me.send("/broadcast")
    await me.send(FA_TEXT)
    await me.press("bc:en:same")
    await me.press("bc:a:platform")
    await me.press("Bale")
    await me.press("✔️ Done")
    assert "Recipients now: 2" in me.last and "🗨 Messenger: Bale" in me.buttons
    await me.press("bc:next")
    assert "Per messenger: Telegram 0 · Bale 2" in me.last
    await send_now(me)
    assert await queue_all(both) == 2
    rows = await OutboxRepo(both.svc.db).by_status("pending")
    assert {r.platform for r in rows} == {"bale"}
