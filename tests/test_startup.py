"""The real `homebiz run` process at start-up: a rejected token, an unreachable Bot API, logs.

Each failure is one line (no traceback, no token); an unreachable API is retried with back-off
and served once it answers; at DEBUG no personal data reaches any log line.
"""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support import BALE_TOKEN, TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import BotApiServer
from tests.test_e2e_process import USER, press, said_since, say

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")
RETRY = re.compile(r"telegram: the Bot API did not answer getMe \((.+)\); retrying in (\d+) s$")
# Distinctive personal data, so that any appearance in a log is certainly a leak.
NAME, MOBILE, NATIONAL_CODE = "Quillon Vexworth", "09357046218", "2748593162"


def retries(bot: BotProcess) -> list[tuple[str, int]]:
    """The (reason, delay) of each start-up retry line logged so far."""
    found = []
    for line in bot.stderr.splitlines():
        match = RETRY.search(line)
        if match:
            found.append((match.group(1), int(match.group(2))))
    return found


def assert_only_log_lines(bot: BotProcess) -> None:
    """Every stderr line is one log line: no traceback, no stray output."""
    lines = bot.stderr.splitlines()
    assert lines, "nothing was logged"
    strays = [line for line in lines if not LOG_LINE.match(line)]
    assert not strays, strays
    assert "Traceback" not in bot.stderr


@asynccontextmanager
async def bad_gateway(port: int) -> AsyncIterator[list[str]]:
    """A server on ``port`` answering every request with the Bot API's 502; yields the paths."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        """Bad Gateway, as Telegram's front end says it."""
        seen.append(request.path)
        body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return web.json_response(body, status=502)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("platform", "wrong"),
    [("telegram", "token"), ("telegram", "url"), ("bale", "token")],
)
async def test_a_rejected_token_is_one_line_and_exit_2(
    tmp_path: Path, platform: str, wrong: str
) -> None:
    """401 (unknown token) or 404 (wrong API URL): one line naming the settings, no token."""
    token = TOKEN if platform == "telegram" else BALE_TOKEN
    prefix, name = platform.upper(), platform.capitalize()
    emulator = BotApiEmulator(platform=platform)
    async with BotApiServer(emulator, token=token) as server:
        given = token if wrong == "url" else token.replace(token[-8:], "WRONGTOK")
        url = f"{server.api_url[: -len('/bot')]}/v2/bot" if wrong == "url" else server.api_url
        env = bot_env(tmp_path / "bot.sqlite3", **{f"{prefix}_BOT_TOKEN": given})
        env[f"{prefix}_API_URL"] = url
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for(lambda: bot.returncode is not None, "the process to exit")
    assert bot.returncode == 2
    assert bot.stdout == ""
    assert bot.stderr == (
        f"homebiz: cannot start: the {name} token was rejected "
        f"(check {prefix}_BOT_TOKEN and {prefix}_API_URL)\n"
    )
    assert server.unauthorized == (0 if wrong == "url" else 1)
    for secret in (given, given.partition(":")[2]):
        assert secret not in bot.stderr


async def test_an_unreachable_api_is_retried_with_back_off_until_it_answers(
    tmp_path: Path,
) -> None:
    """Connection refused, then 502: one line per retry (1, 2, 4 s); served once it answers."""
    port = free_port()
    emulator = BotApiEmulator()
    emulator.add_user(USER, first_name="Sara", language_code="en")
    env = bot_env(
        tmp_path / "bot.sqlite3",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot",
    )
    async with BotProcess(env, tmp_path) as bot:
        await bot.wait_for(lambda: len(retries(bot)) >= 1, "the first retry line")
        async with bad_gateway(port) as seen:
            await bot.wait_for(lambda: len(retries(bot)) >= 2, "a retry after a 502")
        assert seen and all(path == f"/bot{TOKEN}/getMe" for path in seen)
        async with BotApiServer(emulator, token=TOKEN, port=port) as server:
            emulator.user_text(USER, "/start")
            await press(bot, emulator, "lang:en", "the language question")
            # the press answered (not still in flight: a stop would race it)
            await bot.wait_for(lambda: said_since(emulator, USER, 0, "Privacy"), "the answer")
            assert "serving telegram" in bot.stderr
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    found = retries(bot)
    assert [delay for _, delay in found] == [1, 2, 4][: len(found)], found
    assert "Cannot connect to host" in found[0][0]  # refused: nothing listens yet
    assert any("Bad Gateway" in reason for reason, _ in found), found
    assert server.unauthorized == 0
    assert_only_log_lines(bot)
    assert TOKEN.partition(":")[2] not in bot.stderr + bot.stdout


async def test_sigterm_while_retrying_exits_cleanly(tmp_path: Path) -> None:
    """A stop signal while the API is still unreachable: exit 0 at once, no traceback."""
    env = bot_env(
        tmp_path / "bot.sqlite3",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}/bot",
    )
    async with BotProcess(env, tmp_path) as bot:
        await bot.wait_for(lambda: len(retries(bot)) >= 1, "the first retry line")
        status = await bot.stop(signal.SIGTERM, timeout=10)
    assert status == 0, bot.describe()
    assert bot.stderr.splitlines()[-1].endswith("INFO bot.entry.runner: stopped")
    assert_only_log_lines(bot)


async def test_no_personal_data_in_debug_logs(tmp_path: Path) -> None:
    """Onboarding at HOMEBIZ_LOG_LEVEL=DEBUG: no name, mobile, national code or token logged."""
    emulator = BotApiEmulator()
    emulator.add_user(USER, first_name="Quillon", last_name="Vexworth", language_code="en")
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            HOMEBIZ_LOG_LEVEL="DEBUG",
        )
        async with BotProcess(env, tmp_path) as bot:
            emulator.user_text(USER, "/start")
            await press(bot, emulator, "lang:en", "the language question")
            await press(bot, emulator, "priv:yes", "the privacy notice")
            await bot.wait_for(lambda: said_since(emulator, USER, 0, "full name"), "name question")
            await say(bot, emulator, NAME, "mobile number")
            await say(bot, emulator, MOBILE, "national code")
            await say(bot, emulator, NATIONAL_CODE, "county")
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    output = bot.stderr + bot.stdout
    assert " DEBUG " in output, "the process did not log at DEBUG"
    secrets = [*NAME.split(), MOBILE, MOBILE[1:], "+98" + MOBILE[1:], NATIONAL_CODE, TOKEN]
    for secret in [*secrets, TOKEN.partition(":")[2]]:
        assert secret not in output, secret


async def test_a_webhook_port_in_use_is_one_line(tmp_path: Path) -> None:
    """The listener cannot bind: one line naming the settings, exit 2, no secret."""
    emulator = BotApiEmulator()
    secret = "webhook-secret-" + "k" * 20
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with BotApiServer(emulator, token=TOKEN) as server:
            env = bot_env(
                tmp_path / "bot.sqlite3",
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=server.api_url,
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
                TELEGRAM_WEBHOOK_SECRET=secret,
                TELEGRAM_WEBHOOK_PORT=str(port),
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
            )
            async with BotProcess(env, tmp_path) as bot:
                await bot.wait_for(lambda: bot.returncode is not None, "the process to exit")
    assert bot.returncode == 2
    assert bot.stderr.count("\n") == 1, bot.stderr
    assert bot.stderr.startswith(
        "homebiz: cannot start: TELEGRAM_WEBHOOK_LISTEN/TELEGRAM_WEBHOOK_PORT: "
        f"cannot listen on 127.0.0.1 port {port}: "
    )
    assert "address already in use" in bot.stderr
    assert secret not in bot.stderr and emulator.calls_to("setWebhook") == []


async def test_a_console_port_in_use_is_one_line(tmp_path: Path) -> None:
    """HOMEBIZ_WEB_PORT taken: one line naming the settings, exit 2, nothing sent."""
    emulator = BotApiEmulator()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with BotApiServer(emulator, token=TOKEN) as server:
            env = bot_env(
                tmp_path / "bot.sqlite3",
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=server.api_url,
                HOMEBIZ_WEB_PORT=str(port),
            )
            async with BotProcess(env, tmp_path) as bot:
                await bot.wait_for(lambda: bot.returncode is not None, "the process to exit")
    assert bot.returncode == 2
    assert bot.stderr.count("\n") == 1, bot.stderr
    assert bot.stderr.startswith(
        "homebiz: cannot start: HOMEBIZ_WEB_LISTEN/HOMEBIZ_WEB_PORT: "
        f"cannot listen on 127.0.0.1 port {port}: "
    )
    assert emulator.calls_to("getMe") == []


async def test_the_console_alone_serves_and_stops(tmp_path: Path) -> None:
    """`homebiz web` needs no token: it serves the sign-in page and exits 0 on SIGTERM;
    without HOMEBIZ_WEB_PORT it says which setting is missing."""
    import httpx

    port = free_port()
    env = bot_env(tmp_path / "bot.sqlite3", HOMEBIZ_WEB_PORT=str(port))
    async with BotProcess(env, tmp_path, command=("web",)) as console:
        await console.wait_for(lambda: "staff console on" in console.stderr, "the console")
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "/web" in page.text
        assert page.headers["X-Frame-Options"] == "DENY"
        assert await console.stop() == 0, console.describe()
    missing = bot_env(tmp_path / "bot.sqlite3")
    async with BotProcess(missing, tmp_path, name="nop", command=("web",)) as alone:
        await alone.wait_for(lambda: alone.returncode is not None, "the process to exit")
    assert alone.returncode == 2 and "HOMEBIZ_WEB_PORT" in alone.stderr
