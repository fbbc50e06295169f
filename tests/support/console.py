"""The staff console over a test bot: an aiohttp test client signed in through `/web`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp.test_utils import TestClient, TestServer

from bot.core.config import WebSettings
from tests.conftest import Bot
from web.app import build_console

WEB = WebSettings(port=8089, url="http://console.test")
LINK_RE = re.compile(r"http://console\.test/login/([A-Za-z0-9_-]+)")
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')


@dataclass
class Desk:
    """A browser-less staff member: an HTTP client with its own cookies."""

    bot: Bot
    http: TestClient
    csrf: str = ""

    async def get(self, path: str, status: int = 200) -> str:
        """GET a page and check its status; its HTML."""
        response = await self.http.get(path, allow_redirects=True)
        body = await response.text()
        assert response.status == status, (path, response.status, body[:500])
        found = CSRF_RE.search(body)
        if found:
            self.csrf = found.group(1)
        return body

    async def post(
        self, path: str, data: dict[str, str] | None = None, status: int = 200, **kwargs: object
    ) -> str:
        """POST a form with this session's CSRF token; the page it leads to."""
        form = {"_csrf": self.csrf, **(data or {})}
        response = await self.http.post(path, data=form, allow_redirects=True, **kwargs)
        body = await response.text()
        assert response.status == status, (path, response.status, body[:500])
        return body


async def login_link(bot: Bot, user_id: int) -> str:
    """A staff member sends /web; the token of the link the bot answers with."""
    client = bot.client(user_id)
    replies = await client.send("/web")
    found = LINK_RE.search(replies[-1].content)
    assert found, replies[-1].content
    return found.group(1)


async def sign_in(desk: Desk, user_id: int) -> None:
    """Open a session the way a person does: /web, open the link, press the button."""
    token = await login_link(desk.bot, user_id)
    page = await desk.get(f"/login/{token}")
    assert 'id="enter"' in page
    response = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/overview"
    home = await desk.http.get("/", allow_redirects=False)
    assert home.status == 303  # signed in: the address leads to the overview
    await desk.get("/static/app.css")
    desk.csrf = await _csrf(desk)


async def _csrf(desk: Desk) -> str:
    """This session's form token, read from a page every signed-in member can see."""
    response = await desk.http.get("/me")
    found = CSRF_RE.search(await response.text())
    assert found, "no form token on the page"
    return found.group(1)


@asynccontextmanager
async def open_desk(bot: Bot) -> AsyncIterator[Desk]:
    """An HTTP client of the console built on this bot's services and Application."""
    assert bot.app is not None
    server = TestServer(build_console(bot.svc, {bot.platform: bot.app}))
    async with TestClient(server) as http:
        yield Desk(bot, http)
