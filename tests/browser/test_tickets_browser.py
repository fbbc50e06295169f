"""In a real Chromium against the real `homebiz run`: an applicant asks through the bot, staff
open the question in the console, insert a saved reply, send it, and the reply arrives at the
fake Bot API for the applicant (and under the card in the staff group); then the follow-ups.
Screenshots in Persian and English, and at phone width, under tests/artefacts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.db.engine import Database
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.repo.checkins import CheckinRepo
from bot.repo.users import UserRepo
from tests.support.browser import Running, chromium, running_console, screenshot
from tests.test_e2e_strict import Journey

APPLICANT = 4343
STAFF_CHAT = -1008888
QUESTION = "سلام، وام چه زمانی واریز می‌شود؟ <b>فوری</b>"
SAVED = "وام معمولاً یک ماه پس از تأیید بانک واریز می‌شود."
EXTRA = "اگر تا پایان ماه نرسید، دوباره بپرسید."
PHONE = {"width": 390, "height": 844}


async def ask_through_the_bot(running: Running) -> None:
    """The applicant signs up in the bot and asks; the card reaches the staff group."""
    me = Journey(running.bot, running.emulator, APPLICANT)
    await me.say("/start", "choose your language")
    await me.press("lang:en", "Privacy")
    await me.press("priv:yes", "full name")
    for text, expect in (
        ("زهرا احمدی", "mobile"), ("09121112233", "national code"), ("Skip", "county"),
        ("Karaj", "business field"), ("Handicrafts and traditional arts", "Where do you stand"),
        ("Only an idea", "Your profile is complete"),
    ):  # fmt: skip
        await me.say(text, expect)
    await me.say("💬 Ask a question", "Write your question")
    await me.say(QUESTION, "question no. 1")
    await running.bot.wait_for(
        lambda: any(QUESTION in m.content for m in running.emulator.bot_messages(STAFF_CHAT)),
        "the card in the staff group",
    )


async def file_follow_ups(running: Running) -> None:
    """Two follow-ups for the applicant, written through the repositories while the bot runs."""
    db = await Database.open(running.db_path)
    try:
        user = await UserRepo(db).find("telegram", APPLICANT)
        assert user is not None
        repo = CheckinRepo(db)
        now = int(time.time())  # the process runs on the real clock
        await repo.add_followup(user.id, "problems", {"problem": "financing"}, now - 30 * 3600)
        await repo.add_followup(user.id, "step_help", {"step": "register_system"}, now - 7200)
    finally:
        await db.close()


def said_to(running: Running, chat_id: int, fragment: str) -> bool:
    """Whether the bot has sent ``fragment`` to a chat (the fake Bot API's record)."""
    return any(fragment in m.content for m in running.emulator.bot_messages(chat_id))


async def shoot(page: Any, name: str) -> None:
    """A screenshot at laptop width and one at phone width."""
    await screenshot(page, name)
    await page.set_viewport_size(PHONE)
    await screenshot(page, f"{name}-390")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_a_reply_typed_in_the_console_reaches_the_applicant(tmp_path: Path) -> None:
    """Question through the bot → console in Chromium → saved reply + typed words → the fake
    Bot API has the answer for the applicant and the copy under the card; close; follow-ups."""
    emulator = BotApiEmulator()
    emulator.add_user(APPLICANT, first_name="Zahra", language_code="en")
    emulator.add_group(STAFF_CHAT, title="Staff")
    async with (
        running_console(tmp_path, emulator, HOMEBIZ_STAFF_CHAT=f"telegram:{STAFF_CHAT}") as running,
        chromium() as browser,
    ):
        await ask_through_the_bot(running)
        url = await running.login_url()
        context = await browser.new_context(locale="fa-IR", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(url)
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.goto(running.console + "/tickets/replies")
        await page.fill("#new-title", "زمان واریز وام")
        await page.fill("#new-body", SAVED)
        await page.click("#add-saved")
        await page.wait_for_url("**/tickets/replies?done=saved")
        await shoot(page, "saved-replies-fa")

        await page.goto(running.console + "/tickets")
        assert await page.get_attribute("html", "dir") == "rtl"
        row = page.locator("table.tickets tbody tr").first
        assert "زهرا احمدی" in await row.inner_text()
        assert "<b>فوری</b>" in await row.inner_text()  # shown as typed, not as markup
        await shoot(page, "tickets-fa")
        await row.locator("a.ticket-no").click()
        await page.wait_for_url("**/tickets/1")
        await page.click("a.insert")  # the script puts the saved text in the box
        assert await page.input_value("#reply-text") == SAVED
        await page.fill("#reply-text", f"{SAVED}\n{EXTRA}")
        await shoot(page, "ticket-fa-draft")
        await page.click("#send-reply")
        await page.wait_for_url("**/tickets/1?done=replied*")
        await running.bot.wait_for(
            lambda: said_to(running, APPLICANT, EXTRA), "the reply at the applicant's chat"
        )
        answer = running.emulator.bot_messages(APPLICANT)[-1].content
        assert (
            answer
            == f"📩 Answer from the home-business programme staff (question 1):\n{SAVED}\n{EXTRA}"
        )
        await running.bot.wait_for(
            lambda: said_to(running, STAFF_CHAT, EXTRA), "the copy in the staff group"
        )
        await page.fill("#note-text", "فردا دوباره تماس می‌گیرم.")
        await page.click("#add-note")
        await page.wait_for_url("**/tickets/1?done=noted*")
        await page.reload()
        assert "فرستاده شد" in await page.inner_text(".conversation")
        await shoot(page, "ticket-fa")

        await page.click("button.link[lang=en]")  # the language switch
        await page.wait_for_url("**/tickets/1*")
        assert await page.get_attribute("html", "dir") == "ltr"
        await shoot(page, "ticket-en")
        await page.goto(running.console + "/tickets")
        await shoot(page, "tickets-en")

        await file_follow_ups(running)
        await page.goto(running.console + "/followups")
        assert "Operating with problems" in await page.inner_text("nav.tabs")
        await shoot(page, "followups-en")
        await page.click("button.link[lang=fa]")
        await page.wait_for_url("**/followups*")
        await shoot(page, "followups-fa")
        first = page.locator("table.followups tbody tr").first
        await first.locator("input[name=note]").fill("تماس گرفتم؛ مشکل اقساط را پیگیری می‌کند.")
        await first.locator("button[type=submit]").click()
        await page.wait_for_url("**/followups?*done=handled")
        await page.goto(running.console + "/followups?show=handled")
        assert "تماس گرفتم" in await page.inner_text("table.followups")
        await shoot(page, "followups-handled-fa")

        await page.goto(running.console + "/tickets/1")
        await page.click("#close")  # confirmed in the dialog
        await page.wait_for_url("**/tickets/1?done=closed")
        await running.bot.wait_for(
            lambda: said_to(running, STAFF_CHAT, "این پرسش را بست"), "the card marked closed"
        )
        await running.bot.wait_for(
            lambda: said_to(running, APPLICANT, "was closed"), "the closing notice"
        )
        await shoot(page, "ticket-closed-fa")
        await context.close()
