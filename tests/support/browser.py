"""Debian's Chromium driven by Playwright (no browser download), and the real bot process with
its console for it to open."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support import LOOPBACK, REPO_ROOT, TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import BotApiServer

CHROMIUM = os.environ.get("HOMEBIZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: CI sets this: a missing browser is then a failure, never a skip
REQUIRED = os.environ.get("HOMEBIZ_REQUIRE_BROWSER") == "1"
#: screenshots of every page, kept as test artefacts (looked at by people, not asserted)
SHOTS = Path(os.environ.get("HOMEBIZ_SCREENSHOTS") or REPO_ROOT / "tests" / "artefacts")
ADMIN = 9001
LINK_RE = re.compile(r"(http://\S+/login/[A-Za-z0-9_-]+)")


def chromium_or_skip() -> str:
    """The Chromium binary; skip (or fail in CI) when it is not installed."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = (
        f"Chromium not found at {CHROMIUM}: install Debian's chromium "
        "(apt-get install chromium chromium-driver) to run the browser tests"
    )
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def chromium() -> AsyncIterator[object]:
    """A headless Chromium browser (Playwright's async API)."""
    from playwright.async_api import async_playwright

    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Running:
    """The real `homebiz run` process with the console on, its fake Bot API and its address."""

    bot: BotProcess
    emulator: BotApiEmulator
    server: BotApiServer
    console: str
    db_path: Path

    async def login_url(self, user_id: int = ADMIN) -> str:
        """The staff member sends /web; the link the bot answers with."""
        start = len(self.emulator.bot_messages(user_id))
        self.emulator.user_text(user_id, "/web")

        def link() -> str | None:
            for message in self.emulator.bot_messages(user_id)[start:]:
                found = LINK_RE.search(message.content)
                if found:
                    return found.group(1)
            return None

        await self.bot.wait_for(lambda: link() is not None, "the /web link")
        url = link()
        assert url is not None
        return url


@asynccontextmanager
async def running_console(
    tmp_path: Path, emulator: BotApiEmulator, **settings: str
) -> AsyncIterator[Running]:
    """`homebiz run` on long polling with HOMEBIZ_WEB_PORT set, an admin configured."""
    emulator.add_user(ADMIN, first_name="Admin", language_code="fa")
    port = free_port()
    db_path = tmp_path / "bot.sqlite3"
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            HOMEBIZ_ADMINS=f"telegram:{ADMIN}",
            HOMEBIZ_WEB_PORT=str(port),
            HOMEBIZ_WEB_LISTEN=LOOPBACK,
            **settings,
        )
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for(lambda: "staff console on" in bot.stderr, "the console")
            yield Running(bot, emulator, server, f"http://{LOOPBACK}:{port}", db_path)


async def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot under tests/artefacts (or HOMEBIZ_SCREENSHOTS)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
