"""The roster's figures on a 1,000,000-row programme list: what /roster stats and the survival
/stats adds cost, beside the applicants' /stats on the same file, with the event loop watched
while they run (a reply must never wait for them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import COUNTIES, FIELDS, START, START_TS, Row, Scale, Section, open_services
from bot.entry.services import Services
from bot.repo.roster_figures import RosterFiguresRepo
from bot.rules.roster_survival import loan_days
from handlers.reports import gather_stats
from handlers.roster_figures import gather_roster, roster_stats_messages

#: One person in LINKED_EVERY on the list has joined the bot (and answers check-ins).
LINKED_EVERY = 5
#: Loan days spread over this many days before the benchmark's clock (about eight years).
LOAN_SPAN_DAYS = 3_000
#: Check-in answers of a linked person: days after the loan, in the schedule's cadence.
ANSWER_DAYS = (30, 120, 210, 300)
STATUSES = ("operating", "operating", "problems", "paused", "closed", "no_answer", "operating")
#: While the figures are read, 99% of the event loop's 5 ms ticks come this late at most.
STALL_TARGET = 0.02
RUNS = 3


def _loan_on(n: int) -> dt.date:
    """The n-th person's loan day."""
    return (START - dt.timedelta(days=1 + (n * 7919) % LOAN_SPAN_DAYS)).date()


def _roster_rows(total: int) -> Iterator[tuple[Any, ...]]:
    """The list: every LINKED_EVERY-th person linked to bot user n // LINKED_EVERY."""
    for n in range(1, total + 1):
        linked = n % LINKED_EVERY == 0
        via = ("contact", "link", "import")[n % 3] if linked else None
        invited = ("safir", "link", None)[n % 3]
        yield (
            f"{n:010d}", f"Person {n}", f"+98912{n % 10_000_000:07d}", COUNTIES[n % len(COUNTIES)],
            FIELDS[(n // 7) % len(FIELDS)], None, _loan_on(n).isoformat(), 2_000_000_000, "Melli",
            f"C-{n}", f"tok{n}", n // LINKED_EVERY if linked else None,
            START_TS - 86_400 if linked else None, via, int(n % 97 == 0),
            0 if n % 41 == 0 else None, START_TS - 2 * 86_400 if invited else None, invited,
            START_TS - 10 * 86_400, START_TS - 10 * 86_400,
        )  # fmt: skip


def _answers(total: int) -> Iterator[tuple[Any, ...]]:
    """Each linked person's answers: one per cadence day already past, statuses in turn."""
    for n in range(LINKED_EVERY, total + 1, LINKED_EVERY):
        loan = dt.datetime.combine(_loan_on(n), dt.time(10), dt.UTC).timestamp()
        for i, days in enumerate(ANSWER_DAYS[: 1 + n % len(ANSWER_DAYS)]):
            when = int(loan) + days * 86_400
            if when < START_TS:
                yield (n // LINKED_EVERY, STATUSES[(n + i) % len(STATUSES)], when)


async def seed_roster(svc: Services, total: int) -> float:
    """The list, its linked people as applicants and their answers; the seconds taken."""
    began = time.perf_counter()
    linked = total // LINKED_EVERY
    async with svc.db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO users (id, platform, user_id, chat_id, lang, consent_at, created_at,"
            " updated_at) VALUES (?, 'bale', ?, ?, 'fa', ?, ?, ?)",
            ((pk, pk, pk, START_TS, START_TS, START_TS) for pk in range(1, linked + 1)),
        )
        await tx.executemany(
            "INSERT INTO roster (national_code, full_name, mobile, county, field, permit_on,"
            " loan_on, loan_amount, bank, case_no, link_token, user_pk, linked_at, linked_via,"
            " do_not_contact, on_bale, invited_at, invited_via, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _roster_rows(total),
        )
        await tx.executemany(
            "INSERT INTO checkin_answers (user_pk, status, answered_at) VALUES (?, ?, ?)",
            _answers(total),
        )
    return time.perf_counter() - began


async def _median(work: Callable[[], Awaitable[object]]) -> float:
    """The median of RUNS timings of ``work``."""
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def _watch_loop(svc: Services, work: Callable[[], Awaitable[object]]) -> list[float]:
    """Run ``work`` while a ticker on the event loop looks a user up on the bot's own
    connection every 5 ms (as a reply would); how late each tick was, in seconds."""
    late: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        """Sleep 5 ms, note the delay beyond it, read one user."""
        while not done.is_set():
            began = time.perf_counter()
            await asyncio.sleep(0.005)
            await svc.db.fetchone("SELECT id, lang FROM users WHERE id = ?", (7,))
            late.append(time.perf_counter() - began - 0.005)

    ticker = asyncio.create_task(tick())
    try:
        await work()
    finally:
        done.set()
        await ticker
    return late


async def run(scale: Scale, workdir: Path, section: Section) -> None:
    """Seed a list of scale.applicants people, then time the roster's figures and the
    applicants' /stats on the same file, and watch the event loop meanwhile."""
    total = scale.applicants
    svc = await open_services(workdir / "roster.sqlite3")
    try:
        seconds = await seed_roster(svc, total)
        answers = await svc.db.fetchone("SELECT COUNT(*) FROM checkin_answers")
        section.line(
            f"seeded {total:,} people on the list ({total // LINKED_EVERY:,} linked bot users, "
            f"{answers[0] if answers else 0:,} check-in answers, loans over "
            f"{LOAN_SPAN_DAYS:,} days) in {seconds:.1f} s"
        )
        repo = RosterFiguresRepo(svc.db.reader())
        began = time.perf_counter()
        days = await repo.loan_days()
        days_s = time.perf_counter() - began
        began = time.perf_counter()
        calendar = loan_days(days, svc.clock.now())
        calendar_s = time.perf_counter() - began
        reach_s = await _median(lambda: repo.reach(calendar))
        status_s = await _median(lambda: repo.statuses(calendar))
        section.line(
            f"parts (median of {RUNS}): {len(days):,} loan days {days_s:.2f} s, their windows "
            f"in Python {calendar_s:.2f} s, head counts per cohort/county/field {reach_s:.2f} s, "
            f"linked people's status at 3/6/12 months {status_s:.2f} s"
        )
        whole = await _median(lambda: roster_stats_messages(svc, "fa"))
        survival = await _median(lambda: gather_roster(svc))
        baseline = await _median(lambda: gather_stats(svc))
        section.line(
            f"/roster stats (figures and messages) {whole:.2f} s; the roster part of /stats "
            f"{survival:.2f} s; baseline, the applicants' /stats figures over the same file "
            f"({total // LINKED_EVERY:,} applicants) {baseline:.2f} s (medians of {RUNS})"
        )
        idle = await _watch_loop(svc, lambda: asyncio.sleep(1.0))
        busy = await _watch_loop(svc, lambda: roster_stats_messages(svc, "fa"))
        worst, idle_worst = max(busy), max(idle)
        p99 = sorted(busy)[int(0.99 * (len(busy) - 1))]
        section.line(
            f"event loop while /roster stats ran ({len(busy)} ticks of 5 ms, each reading a "
            f"user through the bot's connection): late by p99 {p99 * 1000:.1f} ms, at most "
            f"{worst * 1000:.1f} ms; idle for comparison: at most {idle_worst * 1000:.1f} ms"
        )
        section.rows.append(
            Row(
                f"/roster stats over {total:,} on the list ({total // LINKED_EVERY:,} linked)",
                f"{whole:.2f} s (applicants' /stats on the same file {baseline:.2f} s)",
                "—",
                None,
            )
        )
        section.rows.append(
            Row(
                "… event loop meanwhile: 5 ms ticks late by, p99 (longest)",
                f"{p99 * 1000:.1f} ms ({worst * 1000:.1f} ms; idle {idle_worst * 1000:.1f} ms)",
                f"p99 ≤ {STALL_TARGET * 1000:.0f} ms",
                p99 <= STALL_TARGET,
            )
        )
    finally:
        await svc.close()
