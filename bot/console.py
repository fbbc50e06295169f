"""`homebiz chat`: talk to the real handlers in a terminal through the in-process fake Bot API."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import build_application
from bot.config import Settings
from bot.fakeapi.client import ChatClient
from bot.fakeapi.emulator import BotApiEmulator
from bot.fakeapi.model import FakeMessage
from bot.fakeapi.request import EmulatorRequest
from bot.services import Services

LOCAL_TOKEN = "1000001:LOCAL-CHAT-NO-NETWORK"
HINT = (
    "homebiz chat — type a message, or the number of a button; /start begins. "
    "End of input (Ctrl-D) quits."
)


def _buttons(client: ChatClient) -> list[str]:
    """Inline buttons of the latest message, then the reply keyboard: numbered together."""
    return client.buttons + client.reply_keyboard


def render(message: FakeMessage, numbered: list[str], offset: int) -> str:
    """A bot message as console text, with numbered buttons."""
    lines = ["🤖 " + (message.content or f"[{message.kind}]")]
    inline = [b.get("text", "") for b in message.inline_buttons()]
    if inline:
        lines.append(
            "   " + "  ".join(f"[{numbered.index(b) + 1}] {b}" for b in inline if b in numbered)
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
            text = line.rstrip("\r\n")
            choices = _buttons(client)
            if text.strip().isdigit() and 1 <= int(text.strip()) <= len(choices):
                label = choices[int(text.strip()) - 1]
                replies = await client.press(label)
            elif not text.strip():
                continue
            else:
                replies = await client.send(text)
            choices = _buttons(client)
            for message in replies:
                print(render(message, choices, 0), file=out)
            keyboard = client.reply_keyboard
            if keyboard:
                start = len(client.buttons)
                keys = "  ".join(f"[{start + i}] {k}" for i, k in enumerate(keyboard, 1))
                print(f"   ⌨ {keys}", file=out)
            out.flush()
    finally:
        await app.shutdown()
        await services.close()


def run_chat(settings: Settings, *, user_id: int, lang: str) -> None:
    """Entry point for the console."""
    asyncio.run(chat(settings, user_id=user_id, lang=lang, out=sys.stdout, inp=sys.stdin))
