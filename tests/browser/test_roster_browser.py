"""In a real Chromium: a staff member uploads a loan list with a bad row, sees that row listed
with its reason, confirms, and sees the counts; the audit log shows the import. Screenshots in
Persian and English, on a laptop and 390 px wide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support.browser import chromium, running_console, screenshot
from tests.support.spreadsheets import national_code, write_excel_like

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


def roster_file(tmp_path: Path) -> Path:
    """The template's Persian headers, two good rows and one with a landline for a mobile."""
    header = ["کد ملی", "نام و نام خانوادگی", "تلفن همراه", "شهرستان", "رشته", "تاریخ پرداخت وام"]
    clothing = "textiles_clothing"
    rows = [
        header,
        [national_code(11), "زهرا احمدی", "09121234567", "کرج", "handicrafts", "1403/01/20"],
        [national_code(12), "رضا کریمی", "021 2222 3333", "فردیس", clothing, "1403/02/10"],
        [national_code(13), "مریم رضایی", "۰۹۳۵۱۱۱۲۲۳۳", "فردیس", clothing, "1402/11/05"],
    ]
    return write_excel_like(tmp_path / "فهرست.xlsx", rows)


async def _accept_confirmations(page: Any) -> None:
    """Press OK on the "write these rows?" question (app.js asks it)."""

    async def accept(dialog: Any) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def test_upload_a_list_with_a_bad_row_and_confirm(tmp_path: Path) -> None:
    """Upload, the rejected row with its row, column and reason, confirm the valid rows, the
    counts on the page and in the history; Persian and English, laptop and phone."""
    async with running_console(tmp_path, BotApiEmulator()) as running, chromium() as browser:
        url = await running.login_url()
        context = await browser.new_context(locale="fa-IR", viewport=LAPTOP)
        page = await context.new_page()
        await _accept_confirmations(page)
        await page.goto(url)
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.goto(running.console + "/roster")
        assert await page.get_attribute("html", "dir") == "rtl"
        assert "فهرست وام‌گیرندگان" in await page.inner_text("h1")
        await screenshot(page, "roster-empty-fa")

        await page.set_input_files("#roster-file", str(roster_file(tmp_path)))
        await page.click("#check")
        await page.wait_for_url("**/roster/imports/1")
        rows = await page.locator("table.rejected tbody tr").all_inner_texts()
        assert len(rows) == 1
        cells = [c.strip() for c in rows[0].split("\t")]
        assert cells[:3] == ["۳", "تلفن همراه", "شمارهٔ تلفن ثابت است، نه همراه"], cells
        assert await page.inner_text("#n-new") == "۲"
        assert await page.inner_text("#n-rejected") == "۱"
        assert "فقط ۲ ردیف درست را ثبت کن" in await page.inner_text("#confirm")
        await screenshot(page, "roster-dry-run-fa")
        phone = await browser.new_context(
            locale="fa-IR", viewport=PHONE, storage_state=await context.storage_state()
        )
        small = await phone.new_page()
        await small.goto(page.url)
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width  # nothing wider than the phone but tables
        await screenshot(small, "roster-dry-run-fa-390")

        await page.click("#confirm")
        await page.wait_for_selector("#state")
        state = await page.inner_text("#state")
        assert "در فهرست ثبت شد: ۲ تازه" in state and "۱ ردیف ردشده کنار گذاشته شد" in state
        assert await page.locator("#confirm").count() == 0
        await screenshot(page, "roster-committed-fa")

        await page.goto(running.console + "/roster")
        reach = await page.inner_text("#reach")
        assert "کرج" in reach and "فردیس" in reach
        history = await page.inner_text("#history")
        assert "ثبت‌شده" in history
        await screenshot(page, "roster-fa")
        await small.goto(running.console + "/roster")
        await screenshot(small, "roster-fa-390")

        await page.click("form[action='/lang'] button")
        await page.wait_for_url("**/roster")
        assert await page.get_attribute("html", "dir") == "ltr"
        await screenshot(page, "roster-en")
        await page.set_input_files("#roster-file", str(roster_file(tmp_path)))
        await page.click("#check")
        await page.wait_for_url("**/roster/imports/2")
        assert "a landline number, not a mobile" in await page.inner_text("table.rejected")
        assert await page.inner_text("#n-unchanged") == "2"
        await screenshot(page, "roster-dry-run-en")
        await page.click("#discard")
        await page.wait_for_selector("#state")
        assert "Discarded" in await page.inner_text("#state")

        await page.goto(running.console + "/audit")
        entries = await page.inner_text("#entries")
        assert "discarded a loan list's dry run" in entries and "imported a loan list" in entries
        await screenshot(page, "audit-en")
        await small.goto(running.console + "/audit")
        await screenshot(small, "audit-en-390")
        await small.goto(running.console + "/roster/imports/2")
        await screenshot(small, "roster-discarded-en-390")

        await page.click("form[action='/lang'] button")  # back to Persian
        await page.wait_for_url("**/audit")
        assert "فهرست وام‌گیرندگان را ثبت کرد" in await page.inner_text("#entries")
        await screenshot(page, "audit-fa")
        await small.goto(running.console + "/audit?action=roster_import")
        assert "web" in await small.inner_text("#entries")
        width = await small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        await screenshot(small, "audit-filtered-fa-390")
