"""The real `homebiz run` process over HTTP against the fake Bot API server, and that server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import InvalidToken, NetworkError
from telegram.request import HTTPXRequest

from bot.messengers.fakeapi.emulator import BotApiEmulator, FakeMessage
from tests.conftest import wait_until
from tests.support import (
    BALE_TOKEN,
    REPO_ROOT,
    TOKEN,
    BotProcess,
    bot_env,
    free_port,
)
from tests.support.botapi_server import BotApiServer
from tests.support.stores import Store

USER = 4242
NAME = "Sara Moradi"
JSON_HEADER = {"Content-Type": "application/json"}


def button_message(emulator: BotApiEmulator, chat_id: int, data: str) -> FakeMessage | None:
    """The bot's latest message in a chat carrying an inline button with ``data``."""
    for message in reversed(emulator.bot_messages(chat_id)):
        if any(b.get("callback_data") == data for b in message.inline_buttons()):
            return message
    return None


def said_since(emulator: BotApiEmulator, chat_id: int, start: int, fragment: str) -> bool:
    """Whether a bot message after the first ``start`` ones contains ``fragment``."""
    return any(fragment in m.content for m in emulator.bot_messages(chat_id)[start:])


async def press(bot: BotProcess, emulator: BotApiEmulator, data: str, what: str) -> None:
    """Wait for the message with the ``data`` button, then press it."""
    await bot.wait_for(lambda: button_message(emulator, USER, data) is not None, what)
    message = button_message(emulator, USER, data)
    assert message is not None
    emulator.user_press(USER, message.message_id, data)


async def say(bot: BotProcess, emulator: BotApiEmulator, text: str, expect: str) -> None:
    """The user sends ``text``; wait until a reply contains ``expect``."""
    start = len(emulator.bot_messages(USER))
    emulator.user_text(USER, text)
    await bot.wait_for(lambda: said_since(emulator, USER, start, expect), repr(expect))


def assert_no_secret_logged(bot: BotProcess, *secrets: str) -> None:
    """No log line or printed line holds a token (or its secret half) or a webhook secret."""
    output = bot.stderr + bot.stdout
    for secret in secrets:
        assert secret not in output
        assert secret.partition(":")[2] not in output


def plain_request() -> HTTPXRequest:
    """A PTB HTTP backend that ignores proxy settings (everything here is on 127.0.0.1)."""
    return HTTPXRequest(httpx_kwargs={"trust_env": False})


# --- the real process -----------------------------------------------------------------------
async def test_polling_process_onboards_and_stops_cleanly(tmp_path: Path, store: Store) -> None:
    """/start and the language button over real HTTP; SIGTERM exits 0; the token never logged."""
    emulator = BotApiEmulator()
    emulator.add_user(USER, first_name="Sara", language_code="en")
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.api_url
        )
        async with BotProcess(env, tmp_path) as bot:
            emulator.user_text(USER, "/start")
            await press(bot, emulator, "lang:en", "the language question")
            question = button_message(emulator, USER, "lang:en")
            assert question is not None and "choose your language" in question.content
            assert [b["text"] for b in question.inline_buttons()] == ["فارسی", "English"]
            await bot.wait_for(
                lambda: said_since(emulator, USER, 0, "Privacy"), "the privacy notice"
            )
            assert button_message(emulator, USER, "priv:yes") is not None
            assert emulator.unanswered_callbacks() == []
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert_no_secret_logged(bot, TOKEN)
    assert "stopped" in bot.stderr
    assert server.unauthorized == 0
    assert server.requests["getUpdates"] >= 1 and server.requests["sendMessage"] >= 2


async def test_bale_process_survives_missing_set_my_commands(
    tmp_path: Path, store: Store
) -> None:
    """On Bale setMyCommands answers 404; the bot logs it and serves anyway."""
    emulator = BotApiEmulator(platform="bale")
    emulator.add_user(USER, first_name="Sara", language_code="en")
    async with BotApiServer(emulator, token=BALE_TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3", BALE_BOT_TOKEN=BALE_TOKEN, BALE_API_URL=server.api_url
        )
        async with BotProcess(env, tmp_path) as bot:
            emulator.user_text(USER, "/start")
            await press(bot, emulator, "lang:en", "the language question")
            await bot.wait_for(
                lambda: said_since(emulator, USER, 0, "Privacy"), "the privacy notice"
            )
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert any(m == "setMyCommands" and s == 404 for m, s, _ in emulator.errors)
    assert server.requests["setMyCommands"] >= 1
    assert_no_secret_logged(bot, BALE_TOKEN)


async def test_conversation_survives_kill_9(tmp_path: Path, store: Store) -> None:
    """Killed hard after the name, a new process on the same database asks the next question."""
    emulator = BotApiEmulator()
    emulator.add_user(USER, first_name="Sara", language_code="en")
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=server.api_url
        )
        async with BotProcess(env, tmp_path, "first") as first:
            emulator.user_text(USER, "/start")
            await press(first, emulator, "lang:en", "the language question")
            await press(first, emulator, "priv:yes", "the privacy notice")
            await first.wait_for(
                lambda: said_since(emulator, USER, 0, "full name"), "the name question"
            )
            await say(first, emulator, NAME, "mobile number")
            first.kill()
            assert first.returncode == -signal.SIGKILL
        async with BotProcess(env, tmp_path, "second") as second:
            await say(second, emulator, "09123456789", "national code")
            status = await second.stop(signal.SIGTERM)
            assert status == 0, second.describe()
    assert server.unauthorized == 0
    transcript = [m.content for m in emulator.bot_messages(USER)]
    assert not any("not valid" in text for text in transcript), transcript
    for bot in (first, second):
        assert_no_secret_logged(bot, TOKEN)


# --- the HTTP server itself ------------------------------------------------------------------
async def test_server_speaks_the_bot_api_to_ptb(tmp_path: Path) -> None:
    """PTB's own HTTP backend: form posts, JSON-encoded markup, multipart uploads, downloads."""
    emulator = BotApiEmulator()
    emulator.add_user(USER, language_code="en")
    async with BotApiServer(emulator, token=TOKEN, latency=0.01) as server:
        bot = Bot(
            TOKEN,
            base_url=server.api_url,
            base_file_url=server.file_url,
            request=plain_request(),
            get_updates_request=plain_request(),
        )
        async with bot:
            assert bot.username == emulator.username
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes ✅", callback_data="y:1")]])
            sent = await bot.send_message(
                USER, "سلام <b>world</b>", parse_mode="HTML", reply_markup=markup
            )
            stored = emulator.last_bot_message(USER)
            assert stored is not None and stored.message_id == sent.message_id
            assert stored.content == "سلام world"
            assert stored.inline_buttons() == [{"text": "Yes ✅", "callback_data": "y:1"}]
            await bot.send_document(USER, b"%PDF-1.4 report", filename="report.pdf", caption="r")
            document = emulator.last_bot_message(USER)
            assert document is not None and document.file is not None
            assert document.file["size"] == len(b"%PDF-1.4 report")
            assert document.file["filename"] == "report.pdf"
            emulator.user_document(USER, "cv.txt", b"hello file")
            updates = await bot.get_updates(timeout=5)
            assert updates[-1].message is not None and updates[-1].message.document is not None
            file = await updates[-1].message.document.get_file()
            assert bytes(await file.download_as_bytearray()) == b"hello file"
        request = plain_request()
        intruder = Bot("999:WRONGTOKENWRONGTOKEN", base_url=server.api_url, request=request)
        try:
            with pytest.raises(InvalidToken):
                await intruder.get_me()
        finally:
            await request.shutdown()
    assert server.unauthorized == 1
    assert server.requests["sendDocument"] == 1 and server.requests["getFile"] == 1


async def test_server_decodes_json_form_and_query_bodies() -> None:
    """JSON bodies, urlencoded forms and query strings all reach the emulator decoded."""
    emulator = BotApiEmulator()
    emulator.add_user(USER)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with (
        BotApiServer(emulator, token=TOKEN) as server,
        httpx.AsyncClient(base_url=f"{server.api_url}{TOKEN}/", trust_env=False) as client,
    ):
        answer = await client.post(
            "sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
        )
        assert answer.status_code == 200 and answer.json()["ok"]
        form = {"chat_id": str(USER), "text": "form", "reply_markup": json.dumps(markup)}
        answer = await client.post("sendMessage", data=form)
        assert answer.status_code == 200 and answer.json()["result"]["text"] == "form"
        answer = await client.get("getChat", params={"chat_id": USER})
        assert answer.json()["result"]["id"] == USER
        answer = await client.post("sendMessage", json={"chat_id": USER})
        assert answer.status_code == 400
        assert answer.json()["description"] == "Bad Request: message text is empty"
        answer = await client.post("noSuchMethod")
        assert answer.status_code == 404
        answer = await client.post("sendMessage", content=b"{", headers=JSON_HEADER)
        assert answer.status_code == 400
    assert [m.content for m in emulator.bot_messages(USER)] == ["json", "form"]
    buttons = [m.inline_buttons() for m in emulator.bot_messages(USER)]
    assert buttons == [[{"text": "A", "callback_data": "a"}]] * 2


async def test_long_polling_waits_and_abandoned_polls_are_dropped() -> None:
    """getUpdates holds the request until an update arrives; a cancelled poll leaves no waiter."""
    emulator = BotApiEmulator()
    emulator.add_user(USER)
    async with BotApiServer(emulator, token=TOKEN) as server:
        bot = Bot(
            TOKEN,
            base_url=server.api_url,
            request=plain_request(),
            get_updates_request=plain_request(),
        )
        async with bot:
            abandoned = asyncio.ensure_future(bot.get_updates(timeout=30))
            await wait_until(lambda: len(emulator._waiters) == 1, "the server to hold the poll")
            abandoned.cancel()
            with pytest.raises(asyncio.CancelledError):
                await abandoned
            await wait_until(lambda: not emulator._waiters, "the abandoned poll to be dropped")
            poll = asyncio.ensure_future(bot.get_updates(timeout=30))
            await wait_until(lambda: len(emulator._waiters) == 1, "the server to hold the poll")
            emulator.user_text(USER, "hello")
            updates = await asyncio.wait_for(poll, 20)
            assert [u.message.text for u in updates if u.message] == ["hello"]
            assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()


async def test_drop_rate_closes_connections_without_answer() -> None:
    """With drop_rate=1 every request's connection closes unanswered: a NetworkError in PTB."""
    async with BotApiServer(BotApiEmulator(), token=TOKEN, drop_rate=1.0) as server:
        request = plain_request()
        bot = Bot(TOKEN, base_url=server.api_url, request=request)
        try:
            with pytest.raises(NetworkError):
                await bot.get_me()
        finally:
            await request.shutdown()
    assert server.dropped >= 1 and server.statuses == {}


async def test_standalone_server_command(tmp_path: Path) -> None:
    """The standalone `--bale` server serves, takes control calls and stops on SIGINT."""
    port = free_port()
    command = [sys.executable, "-m", "tests.support.botapi_server", "--port", str(port)]
    command += ["--bale", "--global-rate", "30", "--per-chat-rate", "1", "--error-rate", "0"]
    env = bot_env(tmp_path / "unused.sqlite3")
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=10) as client:
            for _ in range(300):
                try:
                    answer = await client.get(f"/bot{TOKEN}/getMe")
                    break
                except httpx.ConnectError:
                    assert proc.poll() is None, (tmp_path / "server.log").read_text()
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the standalone server never answered")
            assert answer.json()["ok"]
            commands = {"commands": [{"command": "start", "description": "Start"}]}
            answer = await client.post(f"/bot{TOKEN}/setMyCommands", json=commands)
            assert answer.status_code == 404
            answer = await client.post("/_control/user_text", json={"user_id": 7, "text": "/start"})
            assert answer.json()["ok"]
            answer = await client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "0"})
            assert answer.json()["result"][0]["message"]["text"] == "/start"
            await client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "hi"})
            answer = await client.post(
                f"/bot{TOKEN}/sendMessage", data={"chat_id": "7", "text": "2"}
            )
            assert answer.status_code == 429
            stats = (await client.get("/_control/stats")).json()["result"]
            assert stats["delivered"] == 1 and stats["statuses"]["429"] == 1
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
