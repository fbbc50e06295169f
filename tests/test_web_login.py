"""Signing in to the staff console: one-time links from /web, sessions, CSRF, roles and scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import ManualClock
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.support.console import WEB, Desk, login_link, open_desk, sign_in
from tests.support.stores import Store
from tests.test_security import production_logging

ADMIN = 500
STAFFER = 501
APPLICANT = 777


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Desk]:
    """A bot with an admin and a staff member, and the console over it."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WEB,
    )
    await bot.start()
    await StaffRepo(bot.svc.db).add("telegram", STAFFER, "staff", ADMIN, clock.timestamp())
    async with open_desk(bot) as console:
        yield console
    await bot.stop()


async def test_staff_sign_in_with_the_link_and_see_their_account(desk: Desk) -> None:
    """/web gives a link; opening it and pressing the button opens a session."""
    await sign_in(desk, STAFFER)
    page = await desk.get("/me")
    assert "telegram:۵۰۱" in page and "کارکن" in page and "همهٔ شهرستان‌ها" in page
    entries = await StaffRepo(desk.bot.svc.db).latest(5)
    assert [e.action for e in entries][:2] == ["web_login", "web_link"]


async def test_a_link_works_once(desk: Desk) -> None:
    """Opening the link (GET) spends nothing; the first sign-in spends it; the second fails."""
    token = await login_link(desk.bot, STAFFER)
    for _ in range(3):  # a link preview, a reload: nothing spent
        await desk.get(f"/login/{token}")
    first = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
    assert first.status == 303
    desk.http.session.cookie_jar.clear()
    again = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
    assert again.status == 400
    assert "دیگر کار نمی‌کند" in await again.text()
    assert "hb_session" not in {c.key for c in desk.http.session.cookie_jar}


async def test_a_link_expires_after_ten_minutes(desk: Desk, clock: ManualClock) -> None:
    """Ten minutes and a second later the link opens nothing."""
    token = await login_link(desk.bot, STAFFER)
    clock.advance(minutes=10, seconds=1)
    response = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
    assert response.status == 400


async def test_the_session_cookie_is_httponly_and_strict(desk: Desk) -> None:
    """HttpOnly, SameSite=Strict, for the whole console; no token in the address it leads to."""
    token = await login_link(desk.bot, STAFFER)
    response = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header
    assert "Secure" not in header  # plain http here; behind https it is Secure (next test)
    assert token not in response.headers["Location"]


async def test_behind_https_the_cookie_is_secure(tmp_path: Path, clock: ManualClock) -> None:
    """HOMEBIZ_WEB_URL with https marks the cookie Secure."""
    from bot.core.config import WebSettings

    bot = Bot(
        db_path=tmp_path / "b.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WebSettings(port=8089, url="https://console.test"),
    )
    await bot.start()
    try:
        async with open_desk(bot) as desk:
            replies = await bot.client(ADMIN).send("/web")
            token = replies[-1].content.split("/login/")[1].split()[0]
            response = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
            assert "Secure" in response.headers["Set-Cookie"]
    finally:
        await bot.stop()


async def test_pages_need_a_session(desk: Desk) -> None:
    """Without a session every page says how to sign in, and no data; forms are refused."""
    for path in ("/me", "/overview", "/applicants", "/tickets", "/audit", "/anything"):
        page = await desk.get(path, status=401)
        assert "/web" in page
    await desk.post("/lang", {"lang": "en", "next": "/me"}, status=401)


async def test_forms_need_the_session_token(desk: Desk) -> None:
    """A form without this session's CSRF token, or from another site, changes nothing."""
    await sign_in(desk, STAFFER)
    good = desk.csrf
    desk.csrf = "forged"
    page = await desk.post("/lang", {"lang": "en", "next": "/me"}, status=403)
    assert "کهنه" in page
    desk.csrf = good
    await desk.post(
        "/lang", {"lang": "en", "next": "/me"}, status=403, headers={"Origin": "http://evil.test"}
    )
    assert "My account" not in await desk.get("/me")
    assert "My account" in await desk.post("/lang", {"lang": "en", "next": "/me"})


async def test_language_switch_stays_on_the_console(desk: Desk) -> None:
    """The language form goes back to a console page, never to another site."""
    await sign_in(desk, STAFFER)
    response = await desk.http.post(
        "/lang",
        data={"_csrf": desk.csrf, "lang": "en", "next": "//evil.test/x"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/overview"
    assert 'lang="en" dir="ltr"' in await desk.get("/me")


async def test_sign_out_here_and_everywhere(desk: Desk) -> None:
    """The sign-out button ends this session; /web logout ends all and voids unused links."""
    await sign_in(desk, STAFFER)
    await desk.post("/logout")
    await desk.get("/me", status=401)
    await sign_in(desk, STAFFER)
    unused = await login_link(desk.bot, STAFFER)
    replies = await desk.bot.client(STAFFER).send("/web logout")
    assert "بیرون آمدید" in replies[-1].content
    await desk.get("/me", status=401)
    response = await desk.http.post("/login", data={"token": unused}, allow_redirects=False)
    assert response.status == 400


async def test_a_session_ends_after_a_working_day_idle(desk: Desk, clock: ManualClock) -> None:
    """Used within the day it stays open; ten idle hours end it."""
    await sign_in(desk, STAFFER)
    clock.advance(hours=9)
    await desk.get("/me")
    clock.advance(hours=9, minutes=59)
    await desk.get("/me")
    clock.advance(hours=10, seconds=1)
    await desk.get("/me", status=401)


async def test_removed_staff_lose_their_session(desk: Desk) -> None:
    """/removestaff ends the member's console session at their next request."""
    await sign_in(desk, STAFFER)
    await desk.bot.client(ADMIN).send(f"/removestaff {STAFFER}")
    await desk.get("/me", status=401)


async def test_applicants_get_no_link(desk: Desk) -> None:
    """/web from someone who is not staff opens nothing."""
    replies = await desk.bot.client(APPLICANT).send("/web")
    assert all("/login/" not in m.content for m in replies)


async def test_links_and_failures_are_rate_limited(desk: Desk) -> None:
    """Five links per ten minutes per member; ten failed sign-ins block an address."""
    client = desk.bot.client(STAFFER)
    for _ in range(5):
        assert "/login/" in (await client.send("/web"))[-1].content
    assert "چند پیوند" in (await client.send("/web"))[-1].content
    for _ in range(10):
        await desk.post("/login", {"token": "x" * 43}, status=400)
    good = await login_link(desk.bot, ADMIN)
    await desk.post("/login", {"token": good}, status=429)


async def test_no_token_reaches_the_log(desk: Desk) -> None:
    """With the production logging at DEBUG, neither the link's token nor the session cookie
    appears in any log line (the console keeps no access log)."""
    with production_logging([]) as stream:
        token = await login_link(desk.bot, STAFFER)
        response = await desk.http.post("/login", data={"token": token}, allow_redirects=False)
        cookie = response.cookies["hb_session"].value
        await desk.get("/me")
        await desk.get("/no-such-page", status=404)
    logged = stream.getvalue()
    assert token not in logged and cookie not in logged


async def test_admins_limit_staff_to_counties(desk: Desk) -> None:
    """/scope names counties by name or id; unknown names are refused; none means all."""
    admin = desk.bot.client(ADMIN)
    assert "نمی‌شناسم" in (await admin.send(f"/scope {STAFFER} کرج، تهرانپارس"))[-1].content
    assert "کرج، فردیس" in (await admin.send(f"/scope {STAFFER} کرج، fardis"))[-1].content
    await sign_in(desk, STAFFER)
    page = await desk.get("/me")
    assert "کرج" in page and "فردیس" in page and "همهٔ شهرستان‌ها" not in page
    assert "همهٔ شهرستان‌ها" in (await admin.send(f"/scope {STAFFER}"))[-1].content
    assert "همهٔ شهرستان‌ها" in await desk.get("/me")
    refused = await desk.bot.client(STAFFER).send(f"/scope {STAFFER}")
    assert "کرج" not in refused[-1].content


def test_the_sign_in_limiter_forgets_addresses_whose_failures_expired() -> None:
    """Past 10,000 addresses, those whose failures left the window are dropped, not kept."""
    from web.guard import AttemptLimiter

    limiter = AttemptLimiter(limit=2, window=0.0)  # every failure expires at once
    for n in range(10_001):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    limiter.failed("192.0.2.1")
    assert len(limiter._failures) <= 1
    assert not limiter.blocked("192.0.2.1")
