"""In a real Chromium: find an applicant by a mobile typed in Persian digits and open their page;
a county-scoped member is refused another county's person."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bot.messengers.fakeapi.emulator import BotApiEmulator
from tests.support.browser import ADMIN, chromium, running_console, screenshot

SCOPED = 9002
MOBILE = "+989121234567"


def seed(db_path: Path) -> dict[str, int]:
    """Applicants written straight into the running bot's file; their ids by name."""
    now = int(time.time())
    people = [
        ("زهرا رضایی", MOBILE, "0012345679", "karaj", "food", "loan", "2025-04-01"),
        ("فاطمه سادات کریمی", "+989351112233", None, "fardis", "handicrafts", "applying", None),
        ("<script>alert(1)</script>", "+989191112233", None, "karaj", "services", "idea", None),
        ("Sara Smith", "+989301112233", None, "nazarabad", "food", "permit", None),
    ]
    with sqlite3.connect(db_path) as conn:
        ids = {}
        for n, (name, mobile, code, county, field, stage, loan_on) in enumerate(people, 1):
            cursor = conn.execute(
                "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, full_name,"
                " mobile, national_code, county, field, stage, profile_done, created_at,"
                " updated_at, loan_on) VALUES ('telegram', ?, ?, 'fa', ?, ?, ?, ?, ?, ?, ?, 1,"
                " ?, ?, ?)",
                (70_000 + n, 70_000 + n, now, name, mobile, code, county, field, stage, now, now,
                 loan_on),
            )  # fmt: skip
            assert cursor.lastrowid is not None
            ids[name] = cursor.lastrowid
        first = ids["زهرا رضایی"]
        conn.executemany(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (first, "register_system", now - 86_400 * 90, now - 86_400 * 80, "2025-01-05"),
                (first, "agency_review", now - 86_400 * 80, now - 86_400 * 60, "2025-02-01"),
                (first, "permit_issued", now - 86_400 * 60, now - 86_400 * 50, "2025-02-20"),
                (first, "loan_register", now - 86_400 * 50, None, None),
            ],
        )
        conn.execute(
            "INSERT INTO staff (platform, user_id, role, added_by, added_at)"
            " VALUES ('telegram', ?, 'staff', ?, ?)",
            (SCOPED, ADMIN, now),
        )
        conn.execute(
            "INSERT INTO staff_counties (platform, user_id, county)"
            " VALUES ('telegram', ?, 'fardis')",
            (SCOPED,),
        )
    return ids


async def test_find_by_a_persian_mobile_and_open_the_page(tmp_path: Path) -> None:
    """«۰۹۱۲ ۱۲۳ ۴۵۶۷» in the search box finds her; her page shows her steps; both pages in
    Persian and English, on a laptop and at 390 px."""
    async with running_console(tmp_path, BotApiEmulator()) as running, chromium() as browser:
        ids = seed(running.db_path)
        context = await browser.new_context(locale="fa-IR", viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        await page.goto(await running.login_url())
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.goto(running.console + "/applicants")
        assert await page.get_attribute("html", "dir") == "rtl"
        evil = await page.inner_text("table.people")
        assert "<script>alert(1)</script>" in evil  # shown as text, not run
        await page.fill("#q", "۰۹۱۲ ۱۲۳ ۴۵۶۷")
        async with page.expect_navigation():
            await page.click("#search")
        assert page.url.endswith("/applicants")  # the mobile is in no address
        rows = page.locator("table.people tbody tr")
        assert await rows.count() == 1
        assert "زهرا رضایی" in await rows.first.inner_text()
        await screenshot(page, "applicants-search-fa")
        await page.click("text=زهرا رضایی")
        await page.wait_for_url(f"**/applicants/{ids['زهرا رضایی']}")
        assert await page.inner_text("h1") == "زهرا رضایی"
        main = await page.inner_text("main")
        assert "گام‌های مجوز و وام" in main and "در جریان" in main
        await screenshot(page, "applicants-person-fa")
        await page.goto(running.console + "/applicants")
        await screenshot(page, "applicants-list-fa")
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "applicants-list-fa-390")
        await page.goto(running.console + f"/applicants/{ids['زهرا رضایی']}")
        await screenshot(page, "applicants-person-fa-390")
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, wide  # nothing runs off a phone's screen
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.click("header form[action='/lang'] button")
        await page.wait_for_load_state()
        assert await page.get_attribute("html", "dir") == "ltr"
        assert "Permit and loan steps" in await page.inner_text("main")
        await screenshot(page, "applicants-person-en")
        await page.goto(running.console + "/applicants?stage=loan&stage=applying")
        await screenshot(page, "applicants-list-en")
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "applicants-list-en-390")


async def test_a_county_scoped_member_is_refused_another_county(tmp_path: Path) -> None:
    """Scoped to Fardis: Karaj's applicant is neither listed nor found, and her address answers
    «not found» exactly as an id no one has."""
    emulator = BotApiEmulator()
    emulator.add_user(SCOPED, first_name="Scoped", language_code="fa")
    async with running_console(tmp_path, emulator) as running, chromium() as browser:
        ids = seed(running.db_path)
        context = await browser.new_context(locale="fa-IR")
        page = await context.new_page()
        await page.goto(await running.login_url(SCOPED))
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.goto(running.console + "/applicants")
        listed = await page.inner_text("main")
        assert "فاطمه سادات کریمی" in listed and "زهرا رضایی" not in listed
        await page.fill("#q", "۰۹۱۲۱۲۳۴۵۶۷")
        async with page.expect_navigation():
            await page.click("#search")
        assert page.url.endswith("/applicants")  # the mobile is in no address
        assert "زهرا رضایی" not in await page.inner_text("main")
        denied = await page.goto(running.console + f"/applicants/{ids['زهرا رضایی']}")
        assert denied is not None and denied.status == 404
        denied_text = await page.inner_text("main")
        await screenshot(page, "applicants-scoped-denied-fa")
        missing = await page.goto(running.console + "/applicants/99999999")
        assert missing is not None and missing.status == 404
        assert await page.inner_text("main") == denied_text
        assert "زهرا" not in denied_text
