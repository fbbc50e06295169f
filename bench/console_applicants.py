"""The console's Applicants pages on a 1,000,000-applicant database, rendered through the real
aiohttp app (its test client, a signed-in admin and a county-scoped member): the list with and
without filters, searches by mobile, national code and name, and a person's page, each p50/p95,
beside the same lookups on the same file before the Applicants migration (web_applicants)
gave them their indexes."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bench.common import START_TS, Row, Scale, Section, ms, open_services, percentile
from bench.console_seed import mobile_of, name_of, national_code_of, seed
from bot.core.text import to_persian_digits
from bot.db.engine import Database, migrations
from bot.repo.staff import StaffRepo
from bot.staffdesk.console_access import issue_link, redeem
from web.app import build_console
from web.guard import COOKIE

#: The Applicants pages' migration, and the schema just before it (the baselines' file).
MIGRATION, BEFORE = next(
    (name.removesuffix(".sql"), version - 1)
    for version, name, _ in migrations()
    if name.endswith("_web_applicants.sql")
)
TARGET = 0.300  # seconds at p95: the list, a search, a person's page
REPEATS = 40  # requests per measured page
BASELINE_REPEATS = 3
ADMIN = 9_000_001
SCOPED = 9_000_002  # sees two counties


async def _timed(work: Callable[[int], Awaitable[object]], repeats: int) -> list[float]:
    """Seconds each of ``repeats`` runs of ``work(i)`` took."""
    times = []
    for i in range(repeats):
        began = time.perf_counter()
        await work(i)
        times.append(time.perf_counter() - began)
    return times


def _rare(total: int) -> int:
    """A person with a three-word name (a few dozen people share it on a million)."""
    half = total // 2
    return half - half % 4


def _typed(stored: str) -> str:
    """A stored mobile as staff type it: «۰۹۱۲ ۳۴۵ ۶۷۸۹»."""
    digits = "0" + stored[3:]
    return to_persian_digits(f"{digits[:4]} {digits[4:7]} {digits[7:]}")


def _spread(times: list[float]) -> str:
    """p50 / p95 of a list of seconds."""
    return f"p50 {ms(percentile(times, 50))}, p95 {ms(percentile(times, 95))}"


async def _baselines(path: Path, total: int, section: Section) -> dict[str, list[float]]:
    """The lookups before the Applicants migration: what finding a person cost without it."""
    db = await Database.open(path, upto=BEFORE)
    reader = db.reader()
    pk = total // 3
    staff = (
        "u.consent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff s"
        " WHERE s.platform = u.platform AND s.user_id = u.user_id)"
    )
    lookups = {
        "mobile": ("SELECT id FROM users u WHERE u.mobile = ? AND " + staff, (mobile_of(pk),)),
        "national code": (
            "SELECT id FROM users u WHERE u.national_code = ? AND " + staff,
            (national_code_of(pk - pk % 3 + 1),),
        ),
        "name, two words": (
            "SELECT id FROM users u WHERE u.full_name LIKE ? AND u.full_name LIKE ? AND "
            + staff
            + " ORDER BY id DESC LIMIT 51",
            ("%فاطمه%", "%توکلی%"),
        ),
        "name, three words": (
            "SELECT id FROM users u WHERE u.full_name LIKE ? AND u.full_name LIKE ?"
            " AND u.full_name LIKE ? AND " + staff + " ORDER BY id DESC LIMIT 51",
            tuple(f"%{w}%" for w in name_of(_rare(total)).split()),
        ),
        "a person's messages": (
            "SELECT id, kind, status FROM outbox WHERE user_pk = ? ORDER BY id DESC LIMIT 50",
            (pk,),
        ),
        "plain COUNT(*) of applicants": ("SELECT COUNT(*) FROM users u WHERE " + staff, ()),
    }
    found: dict[str, list[float]] = {}
    try:
        for what, (sql, params) in lookups.items():

            async def run(_: int, sql: str = sql, params: tuple[str | int, ...] = params) -> None:
                """One lookup on the read-only connection."""
                await reader.fetchall(sql, params)

            found[what] = await _timed(run, BASELINE_REPEATS)
            section.line(f"before {MIGRATION}, {what}: {_spread(found[what])} (SQL only)")
    finally:
        await db.close()
    return found


async def run(scale: Scale, workdir: Path, section: Section) -> None:
    """Seed, time the baselines, migrate, then time every page through the console."""
    path = workdir / "applicants.sqlite3"
    total = scale.applicants
    db = await Database.open(path, upto=BEFORE)
    try:
        seconds = await seed(db, total)
    finally:
        await db.close()
    section.line(
        f"seeded {total:,} applicants (names, mobiles, codes, steps, check-ins, tickets, "
        f"outbox) in {seconds:.0f} s; file {path.stat().st_size / 1e6:.0f} MB"
    )
    before = await _baselines(path, total, section)
    began = time.perf_counter()
    migrated = await Database.open(path)
    await migrated.close()
    section.line(
        f"migration {MIGRATION} on that file (indexes, the cells, the name keys): "
        f"{time.perf_counter() - began:.1f} s; file now {path.stat().st_size / 1e6:.0f} MB"
    )
    svc = await open_services(path)
    try:
        now = START_TS
        staff = StaffRepo(svc.db)
        await staff.add("telegram", ADMIN, "admin", ADMIN, now)
        await staff.add("telegram", SCOPED, "staff", ADMIN, now)
        await staff.set_scope("telegram", SCOPED, ["fardis", "taleqan"])
        cookies: dict[int, tuple[str, str]] = {}
        for who in (ADMIN, SCOPED):
            token = await issue_link(svc.db, "telegram", who, now)
            assert token is not None
            opened = await redeem(svc.db, token, now, "fa")
            assert opened is not None
            cookies[who] = (opened[0], opened[1].csrf)
        async with TestClient(TestServer(build_console(svc))) as client:
            await _pages(client, cookies, total, before, section)
    finally:
        await svc.close()


SEARCH = "POST q="


async def _pages(
    client: TestClient,
    cookies: dict[int, tuple[str, str]],
    total: int,
    before: dict[str, list[float]],
    section: Section,
) -> None:
    """Every measured page, with the admin's session (and the scoped member's for one)."""
    rng = random.Random(5)

    async def get(path: str, who: int = ADMIN) -> None:
        """One page; it must answer 200. A search is posted, as the page's form does."""
        cookie, csrf = cookies[who]
        if path.startswith(SEARCH):
            form = {"q": path.removeprefix(SEARCH), "_csrf": csrf}
            response = await client.post("/applicants", data=form, cookies={COOKIE: cookie})
        else:
            response = await client.get(path, cookies={COOKIE: cookie})
        body = await response.read()
        assert response.status == 200, (path, response.status, body[:200])

    def ids() -> int:
        """A random applicant's id (visitors every 200th id are avoided)."""
        pk = rng.randrange(1, total)
        return pk + 1 if pk % 200 == 0 else pk

    def search(text: str) -> str:
        """A typed search (posted by ``get``: a search never travels in an address)."""
        return SEARCH + text

    cases: list[tuple[str, Callable[[int], str], int, str | None]] = [
        ("the list, no filter", lambda i: "/applicants", ADMIN, "plain COUNT(*) of applicants"),
        ("the list, two filters (county, stage)",
         lambda i: "/applicants?county=taleqan&stage=loan", ADMIN, None),
        ("the list, a sparse filter (county, field, stage: ~0.02% match)",
         lambda i: "/applicants?county=taleqan&field=digital_services&stage=idea", ADMIN, None),
        ("the list, an older page (after=…)",
         lambda i: f"/applicants?county=karaj&after={total - 5_000 - i * 997}", ADMIN, None),
        ("the list, at a step (open-step index)",
         lambda i: "/applicants?step=loan_register&county=taleqan", ADMIN, None),
        ("the list, a loan cohort", lambda i: "/applicants?cohort=14041", ADMIN, None),
        ("the list, a member scoped to two counties", lambda i: "/applicants", SCOPED, None),
        ("search by mobile (Persian digits, spaced)",
         lambda i: search(_typed(mobile_of(ids()))), ADMIN, "mobile"),
        ("search by national code",
         lambda i: search(national_code_of(1 + 3 * rng.randrange(total // 3))), ADMIN,
         "national code"),
        ("search by name (two words)", lambda i: search("فاطمه توکلی"), ADMIN, "name, two words"),
        ("search by a full name of three words",
         lambda i: search(name_of(_rare(total))), ADMIN, "name, three words"),
        ("search by a common first name alone", lambda i: search("زهرا"), ADMIN, None),
        ("a person's page", lambda i: f"/applicants/{ids()}", ADMIN, "a person's messages"),
    ]  # fmt: skip
    for what, address, who, baseline in cases:
        await get(address(0), who)  # warm the statement cache and the pages it reads

        async def one(i: int, address: Callable[[int], str] = address, who: int = who) -> None:
            """One request."""
            await get(address(i + 1), who)

        times = await _timed(one, REPEATS)
        p95 = percentile(times, 95)
        note = ""
        if baseline is not None and baseline in before:
            earlier = ms(percentile(before[baseline], 50))
            note = f"before {MIGRATION} the lookup alone: p50 {earlier}"
        section.line(
            f"{what}: {_spread(times)} over {REPEATS} requests" + (f"; {note}" if note else "")
        )
        section.rows.append(
            Row(f"Console: {what}", ms(p95) + " p95", "≤ 300 ms p95", p95 <= TARGET, note)
        )
