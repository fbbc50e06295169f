"""In a real Chromium against the real `homebiz run`: compose a broadcast with a photo for one
county, watch the live count and the live progress, and see it reach exactly that county's
applicants at the fake Bot API; Persian, English and phone-width screenshots of every page."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from playwright.async_api import expect

from bot.db.engine import Database
from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support.browser import chromium, running_console, screenshot

# (user id, language, county, stage) of the applicants the database starts with
PEOPLE = (
    (701, "fa", "karaj", "loan"),
    (702, "en", "karaj", "permit"),
    (703, "fa", "karaj", "idea"),
    (704, "fa", "fardis", "loan"),
    (705, "en", "nazarabad", "loan"),
)
KARAJ = {701: "fa", 702: "en", 703: "fa"}
FA_TEXT = "ثبت‌نام دورهٔ آموزشی بازاریابی آنلاین آغاز شد.\nبرای نام‌نویسی به دفتر شهرستان سر بزنید."
EN_TEXT = "Registration for the online marketing course is open.\nVisit the county office."


def png(width: int = 320, height: int = 160) -> bytes:
    """A small valid PNG (a green band on white), made without an imaging library."""
    rows = b""
    for y in range(height):
        colour = b"\x0b\x6e\x4f" if height // 3 <= y < 2 * height // 3 else b"\xff\xff\xff"
        rows += b"\x00" + colour * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        """One PNG chunk with its CRC."""
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def seed(db_path: Path, emulator: BotApiEmulator) -> None:
    """The applicants, in the database the bot will open, known to the fake Bot API."""
    db = await Database.open(db_path)
    try:
        await db.executemany(
            "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, stage, "
            "created_at, updated_at) VALUES ('telegram', ?, ?, ?, 1, ?, ?, 1, 1)",
            [(uid, uid, lang, county, stage) for uid, lang, county, stage in PEOPLE],
        )
    finally:
        await db.close()
    for uid, lang, *_ in PEOPLE:
        emulator.add_user(uid, language_code=lang)


async def test_compose_and_send_a_broadcast_to_one_county(tmp_path: Path) -> None:
    """Sign in, compose in Persian and English with a photo, tick Karaj (the count follows),
    preview, send: the progress page counts up by itself, and the fake Bot API got the photo with
    each Karaj applicant's own language's caption, and nothing went anywhere else."""
    emulator = BotApiEmulator()
    await seed(tmp_path / "bot.sqlite3", emulator)
    async with running_console(tmp_path, emulator) as running, chromium() as browser:
        url = await running.login_url()
        context = await browser.new_context(locale="fa-IR", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        await page.goto(url)
        await page.click("#enter")
        await page.wait_for_url("**/overview")

        await page.goto(running.console + "/broadcasts/new")
        assert await page.get_attribute("html", "dir") == "rtl"
        count = page.locator("#count")
        await expect(count).to_have_text("شمار گیرندگان: ۵")
        assert not await page.is_visible("#count-button")  # the script counts by itself
        await page.fill("#text_fa", FA_TEXT)
        await page.fill("#text_en", EN_TEXT)
        await page.check("input[name=county][value=karaj]")
        await expect(count).to_have_text("شمار گیرندگان: ۳")  # the live count, no button
        await page.set_input_files(
            "#file", files=[{"name": "flyer.png", "mimeType": "image/png", "buffer": png()}]
        )
        await screenshot(page, "broadcast-new-fa")
        await page.click("#preview")
        await page.wait_for_selector("#send")
        assert "۲ نفر این نسخه را می‌گیرند" in await page.inner_text("#version-fa")
        assert "۱ نفر این نسخه را می‌گیرند" in await page.inner_text("#version-en")
        assert await page.evaluate("document.querySelector('.bc-photo').naturalWidth") == 320
        await screenshot(page, "broadcast-preview-fa")
        await page.click("#send")
        await page.wait_for_url(lambda url: "done=sent" in url)
        bid = int(page.url.split("/broadcasts/")[1].split("?")[0])

        def delivered() -> bool:
            return all(emulator.bot_messages(uid) for uid in KARAJ)

        await running.bot.wait_for(delivered, "the broadcast at every Karaj applicant")
        for uid, lang in KARAJ.items():
            [message] = emulator.bot_messages(uid)
            assert message.kind == "photo"
            assert message.content == (FA_TEXT if lang == "fa" else EN_TEXT)
        for uid, *_ in PEOPLE:
            if uid not in KARAJ:
                assert emulator.bot_messages(uid) == [], uid
        uploads = [c for c in emulator.calls_to("sendPhoto") if not isinstance(c["photo"], str)]
        assert len(uploads) == 1  # uploaded once, then sent by the id it was given
        # the page's own polling shows the figures and the end, without a reload
        await expect(page.locator("[data-fig=sent]")).to_have_text("۳", timeout=20_000)
        await expect(page.locator("[data-state]")).to_have_text("تمام‌شده", timeout=20_000)
        assert not await page.is_visible("#cancel")
        await screenshot(page, "broadcast-detail-fa")

        # A scheduled one, cancelled from its page with the confirmation.
        await page.goto(running.console + "/broadcasts/new")
        await page.fill("#text_fa", "یادآوری: جلسهٔ هفتهٔ آینده")
        await page.check("#when-at")
        placeholder = await page.get_attribute("#date", "placeholder")
        assert placeholder
        await page.fill("#date", placeholder)
        await page.fill("#time", "۰۹:۳۰")
        await page.click("#preview")
        await page.click("#send")
        await page.wait_for_url(lambda url: "done=scheduled" in url)
        await screenshot(page, "broadcast-scheduled-fa")
        await page.click("#cancel")
        await page.wait_for_url(lambda url: "done=cancelled" in url)
        assert "لغو شد" in await page.inner_text(".notice")
        assert await page.inner_text("[data-state]") == "لغوشده"

        await page.goto(running.console + "/broadcasts")
        assert await page.locator("table.bc-list tbody tr").count() == 2
        await screenshot(page, "broadcasts-fa")
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "broadcasts-fa-390")
        await page.goto(running.console + "/broadcasts/new")
        await screenshot(page, "broadcast-new-fa-390")
        await page.goto(running.console + f"/broadcasts/{bid}")
        await screenshot(page, "broadcast-detail-fa-390")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"

        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.click("header form[action='/lang'] button")
        await page.wait_for_url(f"**/broadcasts/{bid}")
        assert await page.get_attribute("html", "dir") == "ltr"
        assert await page.inner_text("[data-state]") == "Finished"
        await screenshot(page, "broadcast-detail-en")
        await page.goto(running.console + "/broadcasts")
        await screenshot(page, "broadcasts-en")
        await page.goto(running.console + "/broadcasts/new")
        await page.check("input[name=county][value=fardis]")
        await expect(count).to_have_text("Recipients now: 1")
        await page.click("#preview")
        assert "Write the message in Persian, in English, or in both." in await page.inner_text(
            "#errors"
        )
        await screenshot(page, "broadcast-new-en-error")
        await page.fill("#text_en", EN_TEXT)
        await page.click("#preview")
        await page.wait_for_selector("#send")
        await screenshot(page, "broadcast-preview-en")
