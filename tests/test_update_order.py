"""Different people's updates run concurrently; one person's always in the order they came."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.update_order import PersonOrderedProcessor, order_key

SLOW, QUICK = 9001, 9002


async def test_a_waiting_person_holds_nobody_else_and_keeps_their_own_order() -> None:
    """The first of SLOW's updates waits; QUICK is answered meanwhile; SLOW's run in order."""
    emulator = BotApiEmulator()
    for uid in (SLOW, QUICK):
        emulator.add_user(uid)
    release = asyncio.Event()
    seen: list[tuple[int, str]] = []

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Record each message; SLOW's first one waits (a reply held by its chat's limit)."""
        assert update.effective_message is not None and update.effective_chat is not None
        text = update.effective_message.text or ""
        if update.effective_chat.id == SLOW and text == "1":
            await release.wait()
        await asyncio.sleep(0.01 if text == "2" else 0)  # later ones must still wait their turn
        seen.append((update.effective_chat.id, text))

    app = (
        ApplicationBuilder()
        .token("123:TEST")
        .request(EmulatorRequest(emulator))
        .updater(None)
        .concurrent_updates(PersonOrderedProcessor())
        .build()
    )
    app.add_handler(TypeHandler(Update, handle))
    async with app:
        await app.start()
        for uid, texts in ((SLOW, "123"), (QUICK, "ab")):
            for text in texts:
                raw = emulator.user_text(uid, text, enqueue=False)
                await app.update_queue.put(Update.de_json(raw, app.bot))
        for _ in range(200):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.01)
        assert seen == [(QUICK, "a"), (QUICK, "b")]  # SLOW's wait held only SLOW
        release.set()
        await app.stop()  # waits for every update handed out
    assert seen[2:] == [(SLOW, "1"), (SLOW, "2"), (SLOW, "3")]


def test_order_key_is_the_chat_else_the_person() -> None:
    """Messages and buttons order by chat; updates without one by person; others not at all."""
    emulator = BotApiEmulator()
    emulator.add_user(5)
    message = Update.de_json(emulator.user_text(5, "hi", enqueue=False), None)
    assert order_key(message) == 5
    raw: dict[str, Any] = {
        "update_id": 99,
        "poll_answer": {
            "poll_id": "1", "user": emulator.users[5], "option_ids": [0],
            "option_persistent_ids": ["a"],
        },
    }
    assert order_key(Update.de_json(raw, None)) == 5
    assert order_key(object()) is None
