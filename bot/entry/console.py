"""`homebiz chat`: talk to the real handlers in a terminal through the in-process fake Bot API.

Every inline button of the recent messages can be pressed: the buttons of the messages a turn
brought are numbered under each of them, then the reply keyboard, then (one line each, after
"↑" and the message's first words) the buttons of earlier recent messages that still have
some; a number refers to the list printed last. Lines that
start with ":" are console commands: previews of the check-in, the reminder and the nudge
(bot.entry.console_previews), ":buttons" and ":help".
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from bot.core.config import Settings
from bot.entry.app import build_application
from bot.entry.console_previews import PREVIEW_HELP, Preview
from bot.entry.services import Services
from bot.messengers.fakeapi.client import ChatClient
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.model import FakeMessage
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits

LOCAL_TOKEN = "1000001:LOCAL-CHAT-NO-NETWORK"
PLATFORM = "local"
HINT = (
    "homebiz chat — type a message, or the number of a button; /start begins; "
    ":help lists the previews (:checkin, :reminder, :nudge). End of input (Ctrl-D) quits."
)
#: Bot messages, the latest ones, whose inline buttons stay numbered.
RECENT = 4
#: Characters of an earlier message shown beside its buttons.
EXCERPT = 40


@dataclass(frozen=True)
class Choice:
    """A numbered button: an inline button of a message, or a reply-keyboard key."""

    button: dict[str, Any]
    message_id: int | None = None  # None: a reply-keyboard key

    @property
    def label(self) -> str:
        """The button's text."""
        return str(self.button.get("text", ""))


def _excerpt(message: FakeMessage) -> str:
    """The first words of a message, on one line."""
    text = " ".join((message.content or f"[{message.kind}]").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _numbered(choices: list[Choice], items: list[Choice]) -> str:
    """Append items to choices and return them as "[n] label" pairs."""
    out = []
    for item in items:
        choices.append(item)
        out.append(f"[{len(choices)}] {item.label}")
    return "  ".join(out)


def render(client: ChatClient, new: list[FakeMessage]) -> tuple[str, list[Choice]]:
    """The new messages, each with its numbered buttons; the reply keyboard; then, one line
    each, the buttons of earlier recent messages that still have some. Returns the text and
    the choices in number order."""
    current = {m.message_id: m for m in client.messages}
    choices: list[Choice] = []
    lines: list[str] = []
    shown: set[int] = set()
    last = {message.message_id: i for i, message in enumerate(new)}
    for i, message in enumerate(new):
        lines.append("🤖 " + (message.content or f"[{message.kind}]"))
        latest = current.get(message.message_id)
        if last[message.message_id] != i or latest is None or not latest.inline_buttons():
            continue  # edited again later in this turn, deleted, or without buttons
        shown.add(message.message_id)
        buttons = [Choice(b, message.message_id) for b in latest.inline_buttons()]
        lines.append("   " + _numbered(choices, buttons))
    keys = client.emulator.reply_keyboard(client.chat_id) or {}
    reply = [
        Choice(b if isinstance(b, dict) else {"text": b})
        for row in keys.get("keyboard", [])
        for b in row
    ]
    if reply:
        lines.append("   " + _numbered(choices, reply))
    for message in reversed(client.messages[-RECENT:]):
        if message.message_id in shown or not message.inline_buttons():
            continue
        shown.add(message.message_id)
        buttons = [Choice(b, message.message_id) for b in message.inline_buttons()]
        lines.append(f"   ↑ «{_excerpt(message)}» " + _numbered(choices, buttons))
    return "\n".join(lines), choices


async def _choose(client: ChatClient, choice: Choice) -> list[FakeMessage]:
    """Press an inline button of its message, or type a reply-keyboard key."""
    button = choice.button
    if choice.message_id is not None:
        if "callback_data" in button:
            return await client.press_data(button["callback_data"], choice.message_id)
        return []  # a link: nothing happens in the chat
    if button.get("request_contact"):
        return await client.share_contact()
    return await client.send(choice.label)


class Console:
    """One console user's session: the chat, the numbered buttons, the previews."""

    def __init__(self, client: ChatClient, preview: Preview, out: TextIO) -> None:
        """Start with no buttons numbered."""
        self.client, self.preview, self.out = client, preview, out
        self.choices: list[Choice] = []

    def show(self, new: list[FakeMessage], note: str | None = None) -> None:
        """Print new messages (and a console note) with the buttons now on offer."""
        text, self.choices = render(self.client, new)
        if note:
            text = "\n".join(filter(None, [f"· {note}", text]))
        print(text, file=self.out, flush=True)

    async def handle(self, line: str) -> None:
        """One line of input: a command, a button's number, or a message."""
        text = line.strip()
        if not text:
            return
        if text.startswith(":"):
            await self.command(text[1:].split())
            return
        mark = len(self.client.history)
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            link = self.choices[int(text) - 1].button.get("url")
            await _choose(self.client, self.choices[int(text) - 1])
            self.show(self.client.history[mark:], f"link: {link}" if link else None)
            return
        await self.client.send(text)
        self.show(self.client.history[mark:])

    async def command(self, words: list[str]) -> None:
        """A console command: :checkin, :reminder, :nudge [STEP], :buttons, :help."""
        name, args = (words[0].lower(), words[1:]) if words else ("help", [])
        if name == "buttons":
            self.show([])
            return
        if name not in ("checkin", "reminder", "nudge"):
            print(PREVIEW_HELP, file=self.out, flush=True)
            return
        user = await self.preview.svc.users.find(PLATFORM, self.client.user_id)
        if user is None:
            self.show([], "send /start first: previews go to the console user")
            return
        if name == "nudge" and not args:
            self.show([], "which step? :nudge N or :nudge ID\n" + self.preview.steps(user))
            return
        mark = len(self.client.emulator.events)
        if name == "checkin":
            problem = await self.preview.checkin(user)
        elif name == "reminder":
            problem = await self.preview.reminder(user)
        else:
            problem = await self.preview.nudge(user, args[0])
        new = [
            event.message
            for event in self.client.emulator.events[mark:]
            if event.chat_id == self.client.chat_id and event.kind in ("new", "edit")
        ]
        self.client.history.extend(new)
        self.show(new, problem)


async def chat(settings: Settings, *, user_id: int, lang: str, out: TextIO, inp: TextIO) -> None:
    """Read lines until end of input, echoing the bot's replies."""
    services = await Services.open(settings)
    emulator = BotApiEmulator()
    app = build_application(
        services,
        PLATFORM,
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
    console = Console(client, Preview(services, app.bot, PLATFORM), out)
    print(HINT, file=out, flush=True)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, inp.readline)
            if not line:
                break
            await console.handle(line)
    finally:
        await app.shutdown()
        await services.close()


def run_chat(settings: Settings, *, user_id: int, lang: str) -> None:
    """Entry point for the console."""
    asyncio.run(chat(settings, user_id=user_id, lang=lang, out=sys.stdout, inp=sys.stdin))
