"""In a real Chromium: the overview and the exports page of the real `homebiz run` process, in
Persian and English and at a phone's width; screenshots under tests/artefacts."""

from __future__ import annotations

import random
import time
from pathlib import Path

from bot.core.config import Settings
from bot.db.engine import Database
from bot.entry.services import Services
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.repo.checkins import CheckinRepo
from bot.repo.staff import StaffRepo
from bot.repo.steps import StepRepo
from bot.repo.users import UserRepo
from tests.support.browser import ADMIN, chromium, running_console, screenshot
from tests.support.roster_cohort import _answer

DAY = 86_400
PEOPLE = 90
STATUSES = ("operating", "operating", "operating", "problems", "paused", "closed", "no_answer")
STEPS = ("register_system", "agency_review", "permit_issued", "loan_register", "county_review",
         "bank_intro")  # fmt: skip
KINDS = ("problems", "closed", "step_help")
#: The chart texts that spill out of their chart (none should).
INSIDE = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.graph')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5) out.push(t.textContent);
    }
  }
  return out;
}"""


async def seed(db: Database, now: int) -> None:
    """People in every county over two years: loans, answers, open steps and follow-ups."""
    rng = random.Random(12)
    users, checkins, steps = UserRepo(db), CheckinRepo(db), StepRepo(db)
    counties = ("karaj", "fardis", "nazarabad", "savojbolagh", "eshtehard", "taleqan")
    fields = ("handicrafts", "textiles_clothing", "food", "agri_livestock", "services")
    for i in range(PEOPLE):
        joined = now - rng.randrange(5, 420) * DAY
        user = await users.get_or_create("telegram", 20_000 + i, 20_000 + i, "fa", joined)
        loan = None
        if i % 4:
            loan = time.strftime("%Y-%m-%d", time.gmtime(now - rng.randrange(20, 720) * DAY))
        await users.update(
            user, joined, consent_at=joined, full_name=f"نفر {i}", county=counties[i % 6],
            field=fields[i % 5], stage="loan" if loan else "applying", loan_on=loan,
        )  # fmt: skip
        if loan:
            for k in range(rng.randrange(0, 4)):
                when = now - rng.randrange(1, 330) * DAY - k
                await _answer(checkins, user.id, STATUSES[(i + k) % len(STATUSES)], when)
        else:
            await steps.start(user.id, STEPS[i // 4 % len(STEPS)], now - rng.randrange(2, 90) * DAY)
        if i % 7 == 0:
            await checkins.add_followup(user.id, KINDS[i % 3], {}, now - rng.randrange(1, 20) * DAY)


async def test_overview_in_persian_english_and_on_a_phone(tmp_path: Path) -> None:
    """The overview reads right to left with shaped labels inside their charts; its links lead
    to the people; the English page too; at 390 px nothing spills out of the page; the exports
    page downloads the workbook."""
    svc = await Services.open(Settings(db_path=tmp_path / "bot.sqlite3"))
    try:
        await seed(svc.db, int(time.time()))
        await StaffRepo(svc.db).ensure_admins(frozenset({("telegram", ADMIN)}), int(time.time()))
    finally:
        await svc.close()
    async with running_console(tmp_path, BotApiEmulator()) as running, chromium() as browser:
        context = await browser.new_context(
            locale="fa-IR", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = await context.new_page()
        await page.goto(await running.login_url())
        await page.click("#enter")
        await page.wait_for_url("**/overview")
        await page.wait_for_selector("#cards", timeout=20_000)  # after the "on their way" page
        assert await page.get_attribute("html", "dir") == "rtl"
        assert await page.evaluate("document.fonts.check('16px Vazirmatn')")
        label = page.locator("svg.graph text").first
        assert await label.evaluate("t => getComputedStyle(t).direction") == "rtl"
        assert await page.evaluate(INSIDE) == []
        assert await page.locator("svg.graph").count() >= 4
        await screenshot(page, "overview-fa")
        href = await page.locator("#steps table a").first.get_attribute("href")
        assert href is not None and href.startswith("/applicants?step=")

        await page.click("header form[action='/lang'] button")
        await page.wait_for_selector("#cards")
        assert await page.get_attribute("html", "dir") == "ltr"
        assert "Overview" in await page.inner_text("h1")
        assert await page.evaluate(INSIDE) == []
        await screenshot(page, "overview-en")

        await page.goto(running.console + "/exports")
        await screenshot(page, "exports-en")
        async with page.expect_download() as waiting:
            await page.click("#download-xlsx")
        download = await waiting.value
        name = download.suggested_filename
        assert name.startswith("homebiz-") and name.endswith(".xlsx")
        assert (await download.path()).stat().st_size > 5_000

        await page.click("header form[action='/lang'] button")  # back to Persian
        await page.wait_for_selector("#exports")
        assert await page.get_attribute("html", "dir") == "rtl"
        await screenshot(page, "exports-fa")

        phone = await browser.new_context(
            locale="fa-IR",
            viewport={"width": 390, "height": 844},
            storage_state=await context.storage_state(),
        )
        small = await phone.new_page()
        await small.goto(running.console + "/overview")
        await small.wait_for_selector("#cards")
        overflow = await small.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390, overflow
        assert await small.evaluate(INSIDE) == []
        await screenshot(small, "overview-390")
        await small.goto(running.console + "/exports")
        await screenshot(small, "exports-390")
