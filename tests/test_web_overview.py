"""The console's overview: the same figures as /stats (whole and county-scoped), links to the
people behind each figure, escaped labels, and a session needed."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.core.text import to_latin_digits
from bot.repo.reports import ReportRepo
from bot.repo.staff import StaffRepo
from bot.rules.scope import Scope
from bot.staffdesk.figures import gather_roster
from bot.staffdesk.overview import build_overview
from bot.staffdesk.overview_cache import gather_overview
from tests.conftest import Bot
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.overview_seed import EVIL_COUNTY, EVIL_FIELD, seed_applicants
from tests.support.roster_cohort import seed_roster
from tests.support.stores import Store
from web.pages.overview import OVERVIEW

ADMIN = 500
STAFFER = 501  # limited to Karaj


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Desk]:
    """A bot with an admin and a Karaj-only staff member, the seeded applicants, the console."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WEB,
    )
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    await staff.add("telegram", STAFFER, "staff", ADMIN, clock.timestamp())
    await staff.set_scope("telegram", STAFFER, ["karaj"])
    await seed_applicants(bot.svc.db, staff_user_id=STAFFER)
    async with open_desk(bot) as console:
        yield console
    await bot.stop()


async def _page(desk: Desk, lang: str = "en") -> str:
    """The overview, read afresh, in ``lang``."""
    desk.http.server.app[OVERVIEW].forget()
    await desk.post("/lang", {"lang": lang, "next": "/me"})
    return await desk.get("/overview")


def _text(page: str) -> str:
    """The page's text without tags, entities decoded, spaces squeezed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def _stats(desk: Desk, user_id: int) -> tuple[str, list[tuple[str, str, str]], str]:
    """The member's /stats (Persian, digits made Latin): its text, survival per horizon as
    (n, m, pct) and the response line's "answered of closed (pct)"."""
    text = to_latin_digits((await desk.bot.client(user_id).send("/stats"))[0].content)
    survival = re.findall(r"(\d+) ماه پس از وام: هنوز فعال (\d+) از (\d+) \((\d+)٪\)", text)
    assert [months for months, *_ in survival] == ["3", "6", "12"], text
    response = re.search(r"پاسخ داده‌اند: (\d+) از (\d+) نوبت پایان‌یافته \((\d+)٪\)", text)
    assert response is not None, text
    answered, closed, pct = response.groups()
    return text, [(n, m, pct) for _, n, m, pct in survival], f"{pct}% {answered} of {closed}"


def _survival_total(text: str) -> list[tuple[str, str, str]]:
    """The overview's "All" row: (n, m, pct) per horizon."""
    found = re.search(
        r"All (\S+) \((\d+) of (\d+)\) (\S+) \((\d+) of (\d+)\) (\S+) \((\d+) of (\d+)\)", text
    )
    assert found is not None, text
    g = found.groups()
    return [(g[i + 1], g[i + 2], g[i].rstrip("%")) for i in (0, 3, 6)]


async def test_the_figures_are_those_of_stats(desk: Desk) -> None:
    """An admin's overview shows /stats' applicants, response rate and survival at 3/6/12."""
    await sign_in(desk, ADMIN)
    stats, survival, response = await _stats(desk, ADMIN)
    assert "کل متقاضیان: 8" in stats  # the staff member who tried the guide is not counted
    text = _text(await _page(desk))
    assert "Applicants 8 " in text
    assert f"Check-in response rate {response} finished rounds" in text
    assert _survival_total(text) == survival
    n, m, pct = survival[-1]
    assert f"Still operating 12 months after the loan {pct}% ({n} of {m})" in text


async def test_a_scoped_member_sees_their_counties_as_stats_shows_them(desk: Desk) -> None:
    """Karaj only: the same figures as the member's /stats, and no other county anywhere."""
    await sign_in(desk, STAFFER)
    stats, survival, response = await _stats(desk, STAFFER)
    assert "📍 فقط شهرستان‌های شما: کرج" in stats
    assert "کل متقاضیان: 4" in stats and "فردیس" not in stats
    page = await _page(desk)
    text = _text(page)
    assert "Your counties: Karaj" in text
    assert "Applicants 4 " in text and f"{response} finished rounds" in text
    assert _survival_total(text) == survival
    for other in ("Fardis", "Nazarabad", "evil"):
        assert other not in text
    assert "county=fardis" not in page and "county=nazarabad" not in page
    repo = ReportRepo(desk.bot.svc.db.reader(), Scope.of(["karaj"]))
    whole = await repo.survival(desk.bot.svc.clock.now())
    assert [(str(s.operating), str(s.eligible)) for s in whole] == [(n, m) for n, m, _ in survival]


async def test_figures_link_to_the_people_behind_them(desk: Desk) -> None:
    """Each figure leads to /applicants with the filters that select its people: a county's
    latest status, a cohort's operating people, a step's people, a kind of follow-up."""
    await sign_in(desk, ADMIN)
    page = html.unescape(await _page(desk))
    for link in (
        "/applicants?county=karaj&checkin=closed",
        "/applicants?county=karaj&checkin=operating&checkin=problems",
        "/applicants?field=food&checkin=operating&checkin=problems",
        "/applicants?cohort=14041&checkin=operating&checkin=problems",
        "/applicants?cohort=14041",
        "/applicants?step=register_system",
        "/applicants?step=loan_register",
        "/applicants?county=fardis&checkin=no_answer",
        "/followups?kind=step_help",
        "/applicants?checkin=no_answer",
    ):
        assert f'href="{link}"' in page, link
    # the step funnel: two people at the first step (10 and 40 days), one at the loan's first
    assert "Register in the home-business system Permit 2 10 days 40 days" in _text(page)
    assert "Register for the loan longest wait Loan 1 20 days 20 days" in _text(page)


async def test_step_funnel_and_waiting_follow_ups(desk: Desk) -> None:
    """People at each step now with their median and longest wait, the monthly trend, and the
    follow-ups waiting per group of /followups (read live)."""
    data = await gather_overview(desk.bot.svc.db.reader(), desk.bot.svc)
    o = build_overview(data, Scope(), desk.bot.svc.content)
    steps = {s.step_id: (s.people, s.median_days, s.oldest_days) for s in o.steps if s.people}
    assert steps == {"register_system": (2, 10, 40), "loan_register": (1, 20, 20)}
    karaj = build_overview(data, Scope.of(["karaj"]), desk.bot.svc.content)
    assert {s.step_id: s.people for s in karaj.steps if s.people} == {"register_system": 1}
    months = {(m.month.year, m.month.month): m for m in o.months}
    assert len(months) == 12 and max(months) == (1405, 9)  # the last twelve, Azar 1405 last
    assert months[(1404, 10)].answers == {"operating": 2} and months[(1404, 10)].joined == 1
    assert months[(1404, 11)].answers == {"closed": 1} and months[(1404, 11)].joined == 1
    assert months[(1405, 6)].answers == {"no_answer": 1}
    await sign_in(desk, ADMIN)
    text = _text(await _page(desk))
    for line in (
        "Follow-ups waiting 4 Oldest: 89 days",
        "Operating with problems 1 5 days",
        "Closed 1 4 days",
        "No answer 1 89 days",
        "Asked for help 1 9 days",
        "Programme list 0 —",
    ):
        assert line in text, line
    await desk.bot.svc.db.execute("UPDATE followups SET status = 'closed' WHERE kind = 'no_answer'")
    text = _text(await desk.get("/overview"))  # read live: a handled one leaves at once
    assert "Follow-ups waiting 3 Oldest: 9 days" in text and "No answer 0 —" in text


async def test_labels_are_text_not_markup(desk: Desk) -> None:
    """A county and a field id written as markup show as text, in the tables and the charts."""
    await sign_in(desk, ADMIN)
    page = await _page(desk)
    assert "<b>evil</b>" not in page and "<i>odd</i>" not in page
    assert html.escape(EVIL_COUNTY, quote=False) in page
    assert html.escape(EVIL_FIELD, quote=False) in page
    assert "county=%3Cb%3Eevil%3C%2Fb%3E" in page  # its link carries the id, encoded


async def test_persian_page_reads_right_to_left_with_persian_digits(desk: Desk) -> None:
    """In Persian: rtl charts, Persian digits, Solar Hijri months."""
    await sign_in(desk, ADMIN)
    page = await _page(desk, "fa")
    assert '<html lang="fa" dir="rtl">' in page
    assert 'direction="rtl"' in page
    assert "متقاضیان" in page and "۸" in page
    assert "آذر ۱۴۰۵" in page  # the current month in the trend
    assert "<title" in page and "<desc" in page and 'role="group"' in page


async def test_the_roster_is_the_denominator_once_a_list_exists(desk: Desk) -> None:
    """With a programme list, survival counts everyone on it (as /roster stats does), for the
    member's counties only; /stats' survival over the list says whose counties too."""
    await seed_roster(desk.bot.svc.db)
    await sign_in(desk, STAFFER)
    text = _text(await _page(desk))
    assert "out of everyone on the loan list" in text
    figures = await gather_roster(desk.bot.svc, Scope.of(["karaj"]))
    assert figures is not None
    expected = [(str(t.total.still_operating), str(t.total.listed)) for t in figures.survival]
    assert [(n, m) for n, m, _ in _survival_total(text)] == expected
    assert "Fardis" not in text
    messages = await desk.bot.client(STAFFER).send("/stats")
    said = "\n".join(m.content for m in messages)
    assert "📍 فقط شهرستان‌های شما: کرج\n⏳ ماندگاری پس از وام، بر پایهٔ کل فهرست" in said


async def test_a_session_is_needed(desk: Desk) -> None:
    """No session: no figures."""
    page = await desk.get("/overview", status=401)
    assert "/web" in page and "karaj" not in page


async def test_figures_on_their_way_reload_the_page(desk: Desk) -> None:
    """When the first read takes longer than the page waits, the page says so and reloads."""
    await sign_in(desk, ADMIN)
    cache = desk.http.server.app[OVERVIEW]
    cache.forget()
    cache.first_wait = 0.0
    page = await desk.get("/overview")
    assert 'http-equiv="refresh"' in page and 'id="pending"' in page
