"""`homebiz chat`: talk to the real handlers in a terminal through the in-process fake Bot API."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from bot.app import build_application
from bot.config import Settings
from bot.fakeapi.client import ChatClient
from bot.fakeapi.emulator import BotApiEmulator
from bot.fakeapi.model import FakeMessage
from bot.fakeapi.request import EmulatorRequest
from bot.pacer import Limits
from bot.services import Services

LOCAL_TOKEN = "1000001:LOCAL-CHAT-NO-NETWORK"
HINT = (
    "homebiz chat — type a message, or the number of a button; /start begins. "
    "End of input (Ctrl-D) quits."
)


def _choices(client: ChatClient) -> list[dict[str, Any]]:
    """The latest message's inline buttons, then the reply keyboard, numbered together."""
    last = client.last_message
    inline = list(last.inline_buttons()) if last is not None else []
    keys = client.emulator.reply_keyboard(client.chat_id) or {}
    reply = [
        b if isinstance(b, dict) else {"text": b} for row in keys.get("keyboard", []) for b in row
    ]
    return inline + reply


async def _choose(client: ChatClient, button: dict[str, Any]) -> list[FakeMessage]:
    """Press an inline button of the latest message, or type a reply-keyboard key."""
    if "callback_data" in button and client.last_message is not None:
        return await client.press_data(button["callback_data"], client.last_message.message_id)
    if button.get("request_contact"):
        return await client.share_contact()
    return await client.send(button.get("text", ""))


def render(messages: list[FakeMessage], choices: list[dict[str, Any]]) -> str:
    """The bot's new messages as console text, then the numbered buttons now on offer."""
    lines = ["🤖 " + (m.content or f"[{m.kind}]") for m in messages]
    if choices:
        lines.append(
            "   " + "  ".join(f"[{i}] {b.get('text', '')}" for i, b in enumerate(choices, 1))
        )
    return "\n".join(lines)


async def chat(settings: Settings, *, user_id: int, lang: str, out: TextIO, inp: TextIO) -> None:
    """Read lines until end of input, echoing the bot's replies."""
    services = await Services.open(settings)
    emulator = BotApiEmulator()
    app = build_application(
        services,
        "local",
        token=LOCAL_TOKEN,
        base_url="http://local.invalid/bot",
        base_file_url="http://local.invalid/file/bot",
        request=EmulatorRequest(emulator),
        with_updater=False,
        with_jobs=False,
        limits=Limits.unlimited(),
    )
    await app.initialize()
    client = ChatClient(app, emulator, user_id, first_name="Console", language_code=lang)
    print(HINT, file=out, flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, inp.readline)
            if not line:
                break
            text = line.strip()
            choices = _choices(client)
            if not text:
                continue
            if text.isdigit() and 1 <= int(text) <= len(choices):
                replies = await _choose(client, choices[int(text) - 1])
            else:
                replies = await client.send(text)
            print(render(replies, _choices(client)), file=out, flush=True)
    finally:
        await app.shutdown()
        await services.close()


def run_chat(settings: Settings, *, user_id: int, lang: str) -> None:
    """Entry point for the console."""
    asyncio.run(chat(settings, user_id=user_id, lang=lang, out=sys.stdout, inp=sys.stdin))
