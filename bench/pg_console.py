"""The console's searches on one engine, through the real aiohttp app: by mobile, national code
and name words, on bench/console_seed.py's applicants (SQLite: its own seeding; PostgreSQL: the
same rows by COPY). Called by bench/postgres.py once per engine."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bench import console_seed
from bench.common import START, START_TS, Row, Scale, Section, ms, percentile
from bench.console_applicants import SEARCH, TARGET, _rare, _typed
from bench.console_seed import mobile_of, name_of, national_code_of
from bench.pg_store import Schemas, copy_rows, run_sql
from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.db.engine import Database
from bot.entry.services import Services
from bot.repo.staff import StaffRepo
from bot.staffdesk.console_access import issue_link, redeem
from web.app import build_console
from web.guard import COOKIE

REPEATS = 40  # requests per search
ADMIN = 9_000_001
#: console_seed's INSERT's columns, in its order.
USER_COLUMNS = [
    c.strip() for c in console_seed.USER_SQL.split("(", 1)[1].split(")", 1)[0].split(",")
]


def _users(total: int) -> Iterator[tuple[Any, ...]]:
    """console_seed's applicants with the values its INSERT writes as constants filled in."""
    for row in console_seed._users(total):
        yield (*row[:12], 1, *row[12:14], "menu", "{}", *row[14:])


def _steps(total: int) -> Iterator[tuple[Any, ...]]:
    """console_seed's step rows."""
    yield from console_seed._steps(total)


async def _seed_pg(url: str, total: int) -> float:
    """console_seed's database on PostgreSQL: users, steps, check-ins, tickets and outbox by
    COPY (answers by INSERT … SELECT, 2,000 people at a time), the identities moved past the
    seeded ids, ANALYZE."""
    began = time.perf_counter()
    await copy_rows(url, "users", USER_COLUMNS, _users(total))
    await copy_rows(
        url,
        "step_progress",
        ["user_pk", "step_id", "started_at", "done_at", "done_on"],
        _steps(total),
        batch=50_000,  # no triggers on these tables: big transactions are fine
    )
    month = START_TS - 86_400 * 30
    await copy_rows(
        url,
        "checkin_rounds",
        ["id", "user_pk", "due_at", "sent_at", "status", "closed_at"],
        ((pk, pk, month, month, "answered", month + 86_400) for pk in range(1, total + 1, 4)),
        batch=50_000,
    )
    await copy_rows(
        url,
        "tickets",
        ["id", "platform", "user_pk", "kind", "status", "created_at"],
        (
            (pk, "telegram", pk, "question", "open" if pk % 3 else "closed", START_TS - 86_400)
            for pk in range(7, total + 1, 20)
        ),
    )
    await copy_rows(
        url,
        "outbox",
        ["platform", "chat_id", "user_pk", "kind", "payload", "dedupe_key", "status",
         "not_before", "created_at", "sent_at"],
        (("telegram", *row[:5], "sent", *row[5:]) for row in console_seed._outbox(total)),
        batch=50_000,  # the figures trigger fires only for broadcasts' rows
    )  # fmt: skip
    answers = [  # short statements: each answer's trigger updates the person's cells
        "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at) "
        f"SELECT id, id, COALESCE(checkin_status, 'operating'), '{{}}', {month + 86_400} "
        f"FROM users WHERE id % 4 = 1 AND id > {after} AND id <= {after + 2_000}"
        for after in range(0, total, 2_000)
    ]
    await run_sql(url, *answers)
    await run_sql(
        url,
        *(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            for t in ("users", "checkin_rounds", "tickets")
        ),
        "ANALYZE",
    )
    return time.perf_counter() - began


async def _open(engine: str, scale: Scale, workdir: Path, schemas: Schemas) -> Services:
    """Seed the console's applicants on ``engine`` and open Services on them."""
    total = scale.applicants
    if engine == "SQLite":
        path = workdir / "console-search.sqlite3"
        db = await Database.open(path)
        try:
            seconds = await console_seed.seed(db, total)
        finally:
            await db.close()
        settings = Settings(db_path=path)
    else:
        url = await schemas.new("console")
        opened = await Services.open(
            Settings(db_path=workdir / "pg-unused.sqlite3", db_url=url), clock=ManualClock(START)
        )  # migrates the fresh schema
        await opened.close()
        seconds = await _seed_pg(url, total)
        settings = Settings(db_path=workdir / "pg-unused.sqlite3", db_url=url)
    print(f"  seeded {total:,} console applicants in {seconds:.0f} s", flush=True)
    return await Services.open(settings, clock=ManualClock(START))


async def run(engine: str, scale: Scale, workdir: Path, schemas: Schemas, part: Section) -> None:
    """Seed, sign an admin in, time each search through the console."""
    total = scale.applicants
    began = time.perf_counter()
    svc = await _open(engine, scale, workdir, schemas)
    part.line(
        f"seeded {total:,} applicants as bench/console_seed.py makes them "
        f"({'executemany' if engine == 'SQLite' else 'COPY'}, with steps, check-ins, tickets "
        f"and outbox) in {time.perf_counter() - began:.0f} s (not a target)"
    )
    try:
        staff = StaffRepo(svc.db)
        await staff.add("telegram", ADMIN, "admin", ADMIN, START_TS)
        token = await issue_link(svc.db, "telegram", ADMIN, START_TS)
        assert token is not None
        opened = await redeem(svc.db, token, START_TS, "fa")
        assert opened is not None
        cookie, csrf = opened[0], opened[1].csrf
        rng = random.Random(5)

        def someone() -> int:
            """A random applicant's id (the visitors, every 200th, are avoided)."""
            pk = rng.randrange(1, total)
            return pk + 1 if pk % 200 == 0 else pk

        searches = [
            ("search by mobile (Persian digits, spaced)", lambda: _typed(mobile_of(someone()))),
            ("search by national code",
             lambda: national_code_of(1 + 3 * rng.randrange(total // 3))),
            ("search by name (two words)", lambda: "فاطمه توکلی"),
            ("search by a full name of three words", lambda: name_of(_rare(total))),
            ("search by a common first name alone", lambda: "زهرا"),
        ]  # fmt: skip
        async with TestClient(TestServer(build_console(svc))) as client:

            async def search(text: str) -> None:
                """One search, posted as the page's form does; it must answer 200."""
                form = {"q": text, "_csrf": csrf}
                response = await client.post("/applicants", data=form, cookies={COOKIE: cookie})
                body = await response.read()
                assert response.status == 200, (SEARCH, response.status, body[:200])

            for what, text in searches:
                await search(text())  # warm the statement cache and the pages it reads
                times = []
                for _ in range(REPEATS):
                    began = time.perf_counter()
                    await search(text())
                    times.append(time.perf_counter() - began)
                p50, p95 = percentile(times, 50), percentile(times, 95)
                part.line(f"{what}: p50 {ms(p50)}, p95 {ms(p95)} over {REPEATS} requests")
                part.rows.append(
                    Row(f"Console: {what}, {total:,} applicants", f"{ms(p95)} p95",
                        "≤ 300 ms p95", p95 <= TARGET)
                )  # fmt: skip
    finally:
        await svc.close()
