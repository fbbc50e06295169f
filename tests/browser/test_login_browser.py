"""In a real Chromium: a staff member signs in with the link the bot sent them."""

from __future__ import annotations

from pathlib import Path

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support.browser import chromium, running_console, screenshot


async def test_sign_in_through_the_bots_link(tmp_path: Path) -> None:
    """/web in the bot, open the link, press the button: the console in Persian, right to left;
    the same link opens nothing a second time."""
    async with running_console(tmp_path, BotApiEmulator()) as running, chromium() as browser:
        url = await running.login_url()
        context = await browser.new_context(locale="fa-IR")
        page = await context.new_page()
        await page.goto(url)
        await screenshot(page, "login-fa")
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.goto(running.console + "/me")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert "حساب من" in await page.inner_text("h1")
        font = await page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Vazirmatn" in font
        assert await page.evaluate("document.fonts.check('16px Vazirmatn')")
        cookie = next(c for c in await context.cookies() if c["name"] == "hb_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert await page.evaluate("document.cookie") == ""  # scripts cannot read the session
        await screenshot(page, "me-fa")
        stranger = await browser.new_context()
        again = await stranger.new_page()
        await again.goto(url)
        await again.click("#enter")
        await again.wait_for_url("**/login")
        assert "دیگر کار نمی‌کند" in await again.inner_text("main")
