"""The console's audit log: admins only, newest first, keyset pages, filters by action and by
actor, details shown as text, Solar Hijri times, console actions marked "via": "web"."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock, from_ts
from bot.core.jalali import format_datetime
from bot.repo.audit_log import PAGE
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.support.console import Desk, open_desk, sign_in
from tests.test_web_roster import ADMIN, STAFFER, bot, clean_csv, upload  # noqa: F401

ENTRY_RE = re.compile(
    r'<td class="when">([^<]+)</td>\s*<td[^>]*><a class="ltr" href="[^"]*">([^<]+)</a>'
)
SEEDED = 120


@pytest.fixture
async def admin(bot: Bot) -> AsyncIterator[Desk]:  # noqa: F811
    """An admin's console, in English."""
    async with open_desk(bot) as console:
        await sign_in(console, ADMIN)
        await console.post("/lang", {"lang": "en", "next": "/me"})
        yield console


async def seed(desk: Desk, clock: ManualClock) -> None:
    """SEEDED entries a minute apart: by the staff member on Bale ("note", n) and the admin."""
    repo = StaffRepo(desk.bot.svc.db)
    for n in range(SEEDED):
        clock.advance(minutes=1)
        who = ("bale", STAFFER) if n % 3 else ("telegram", ADMIN)
        await repo.audit(*who, "note_added", {"n": n}, clock.timestamp())


def numbers(page: str) -> list[int]:
    """The "n" of the seeded entries a page shows, in order."""
    found = re.findall(r'<dt title="n"><bdi>n</bdi></dt><dd><bdi>(\d+)</bdi>', page)
    return [int(n) for n in found]


async def test_only_admins_open_the_audit_log(bot: Bot) -> None:  # noqa: F811
    """A staff member is refused; without a session the page says how to sign in."""
    async with open_desk(bot) as console:
        await console.get("/audit", status=401)
        await sign_in(console, STAFFER)
        await console.get("/audit", status=403)
        assert 'href="/audit"' not in await console.get("/me")


async def test_newest_first_in_keyset_pages(admin: Desk, clock: ManualClock) -> None:
    """50 a page, newest first; Older and Newer walk the log without gaps or repeats."""
    await seed(admin, clock)
    page = await admin.get("/audit")
    first = numbers(page)
    assert first == list(range(SEEDED - 1, SEEDED - 1 - PAGE, -1))
    assert 'id="newer"' not in page
    seen = list(first)
    while (found := re.search(r'href="([^"]+)" id="older"', page)) is not None:
        page = await admin.get(found.group(1).replace("&amp;", "&"))
        seen += numbers(page)
    assert seen == list(range(SEEDED - 1, -1, -1))
    back = re.search(r'href="([^"]+)" id="newer"', page)
    assert back is not None
    assert numbers(await admin.get(back.group(1))) == list(range(69, 19, -1))


async def test_filters_by_action_and_by_actor(admin: Desk, clock: ManualClock) -> None:
    """An action, an actor, both; the choices list what the log holds."""
    await seed(admin, clock)
    page = await admin.get("/audit?action=web_login")
    assert 'value="web_login" selected' in page and "signed in to the console" in page
    assert numbers(page) == [] and "telegram:500" in page
    page = await admin.get(f"/audit?actor=bale:{STAFFER}")
    shown = numbers(page)
    assert shown == [n for n in range(SEEDED - 1, -1, -1) if n % 3][:PAGE]
    assert {who for _, who in ENTRY_RE.findall(page)} == {f"bale:{STAFFER}"}
    page = await admin.get(f"/audit?action=note_added&actor=telegram:{ADMIN}")
    assert numbers(page) == [n for n in range(SEEDED - 1, -1, -1) if not n % 3][:PAGE]
    assert f'<option value="bale:{STAFFER}"' in page and '<option value="note_added"' in page
    for odd in ("?action=x'--", "?actor=nobody", "?before=abc", "?after=-1", "?actor=bale:%DB%B5"):
        await admin.get("/audit" + odd)  # ignored, never an error


async def test_details_show_as_text_with_solar_hijri_times(admin: Desk) -> None:
    """A detail holding a script tag shows it as text; the time is Solar Hijri, Tehran."""
    db = admin.bot.svc.db
    at = admin.bot.svc.clock.timestamp()
    await StaffRepo(db).audit(
        "telegram", STAFFER, "<b>odd</b>", {"name": "<script>alert(1)</script>", "ids": [1, 2]}, at
    )
    page = await admin.get("/audit")
    assert "<script>alert" not in page and "<b>odd" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;odd&lt;/b&gt;" in page
    assert '<dt title="ids"><bdi>ids</bdi></dt><dd><bdi>[1, 2]</bdi>' in page
    moment = from_ts(at)
    assert moment is not None
    assert format_datetime(moment, "en") in page and "1405/09/08" in page


async def test_console_actions_say_via_web(admin: Desk, tmp_path: Path) -> None:
    """A list checked in the console is logged with "via: web" and filtered by its action."""
    await upload(admin, clean_csv(tmp_path))
    page = await admin.get("/audit?action=roster_dry_run")
    assert "checked a loan list (dry run)" in page
    assert '<dt title="via"><bdi>via</bdi></dt><dd><bdi>web</bdi>' in page
    assert '<dt title="import"><bdi>import no.</bdi></dt><dd><bdi>1</bdi>' in page


async def test_the_page_in_persian(bot: Bot) -> None:  # noqa: F811
    """Persian labels, digits and dates, right to left."""
    async with open_desk(bot) as console:
        await sign_in(console, ADMIN)
        page = await console.get("/audit")
        assert 'dir="rtl"' in page and "گزارش کارها" in page and "وارد پیشخوان شد" in page
        assert "telegram:۵۰۰" in page and "۱۴۰۵/۰۹/۰۸" in page
        await StaffRepo(bot.svc.db).audit("telegram", ADMIN, "roster_discard", {"import": 12}, 0)
        page = await console.get("/audit")
        assert '<dt title="import"><bdi>شمارهٔ ورود</bdi></dt><dd><bdi>۱۲</bdi>' in page
