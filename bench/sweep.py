"""The 1,000,000-applicant database: seeding, sweeps, memory, queueing a big broadcast."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import (
    FIELDS,
    PLATFORM,
    START_TS,
    Population,
    Profiler,
    Row,
    Scale,
    Section,
    ms,
    open_services,
    percentile,
    population,
    rss_mb,
    seed_users,
)
from bot.db.engine import Database
from bot.entry.services import Services
from bot.repo.broadcasts import Draft
from bot.repo.checkins import CheckinRepo, DuePerson
from bot.repo.steps import StepRepo
from scheduler.planner import Planner, SweepReport, checkin_payload
from tests.support.per_item_sweep import PerItemPlanner

TEXT = {"fa": "اطلاعیه آزمایشی: مهلت ثبت‌نام تمدید شد.", "en": "Test notice: registration extended."}
ROUND_TRIPS = 2_000


def draft(audience: dict[str, list[str]], send_at: int) -> Draft:
    """A broadcast draft to an audience, due at ``send_at``."""
    return Draft(
        platform=PLATFORM,
        created_by=1,
        content={"texts": dict(TEXT), "photo": None, "document": None},
        audience=audience,
        send_at=send_at,
    )


def make_population(scale: Scale) -> Population:
    """The big database's applicants: the audiences and the due ones."""
    return population(scale.applicants, scale.broadcast, scale.limited, scale.queue_big, scale.due)


async def build_database(scale: Scale, workdir: Path, section: Section) -> tuple[Services, float]:
    """Seed the big database; return the open services and the RSS right after seeding."""
    svc = await open_services(workdir / "big.sqlite3")
    pop = make_population(scale)
    seconds = await seed_users(svc.db, pop)
    size = (workdir / "big.sqlite3").stat().st_size / 2**20
    after = rss_mb()
    section.line(
        f"seeded {pop.total:,} applicants in one executemany transaction in {seconds:.1f} s "
        f"({pop.total / seconds:,.0f} rows/s; file {size:,.0f} MB); "
        f"RSS after seeding {after:.0f} MB"
    )
    return svc, after


async def round_trip(section: Section, path: Path) -> None:
    """One awaited primary-key lookup as bot.db.engine runs it (on the loop's thread), against the
    same lookup handed to its worker thread (where waits and slow work go)."""
    sql = "SELECT * FROM users WHERE id = ?"
    db = await Database.open(path, migrate=False)
    try:
        inline: list[float] = []
        worker: list[float] = []
        for i in range(ROUND_TRIPS):
            began = time.perf_counter()
            await db.fetchone(sql, (i % 1000 + 1,))
            inline.append(time.perf_counter() - began)
            began = time.perf_counter()
            await db.fetchone(sql, (i % 1000 + 1,), slow=True)
            worker.append(time.perf_counter() - began)
    finally:
        await db.close()

    def spread(values: list[float]) -> str:
        """p50 and p99 in microseconds."""
        p50, p99 = percentile(values, 50) * 1e6, percentile(values, 99) * 1e6
        return f"p50 {p50:,.1f} µs, p99 {p99:,.1f} µs"

    section.line(
        f"one primary-key lookup through bot.db.engine: on the loop's thread {spread(inline)}; "
        f"handed to its worker thread and back {spread(worker)}"
    )


async def run_sweeps(svc: Services, scale: Scale, section: Section) -> None:
    """Time the first sweep (the due ones) and the next ones (none due)."""
    planner = Planner(svc, PLATFORM)
    began = time.perf_counter()
    profiler = Profiler()
    with profiler:
        first = await planner.sweep()
    first_s = time.perf_counter() - began
    queued = await svc.db.fetchone("SELECT COUNT(*) FROM outbox WHERE kind = 'checkin'")
    section.line(
        f"first sweep: {first.checkins:,} rounds opened and {queued[0] if queued else 0:,} "
        f"check-in messages queued in {first_s:.2f} s (RSS {rss_mb():.0f} MB)"
    )
    ok = first.checkins == scale.due and first_s <= 2.0
    section.rows.append(
        Row(
            f"check-in sweep, {scale.due:,} due of {scale.applicants:,}: found and queued",
            f"{first_s:.2f} s",
            "≤ 2 s",
            ok,
            "" if first.checkins == scale.due else f"only {first.checkins} opened",
        )
    )
    if not ok:
        section.profiles.append(("cProfile of the first sweep (tottime)", profiler.top()))
    seconds: list[float] = []
    profiler = Profiler()
    for i in range(5):
        began = time.perf_counter()
        if i == 4:
            with profiler:
                report = await planner.sweep()
        else:
            report = await planner.sweep()
        seconds.append(time.perf_counter() - began)
        assert report.checkins == 0, report
    best, median = min(seconds), sorted(seconds)[len(seconds) // 2]
    section.line(
        f"next sweeps (none due; the {first.checkins:,} rounds just opened are open): "
        f"median {ms(median)}, best {ms(best)} of {len(seconds)}"
    )
    section.rows.append(
        Row(
            "check-in sweep with none due (right after, rounds open)",
            ms(median),
            "≤ 20 ms",
            median <= 0.020,
        )
    )
    if median > 0.020:
        section.profiles.append(("cProfile of a sweep with none due (tottime)", profiler.top()))
    if not svc.db.dialect.postgres:  # PostgreSQL keeps statistics anyway (autovacuum)
        await _analyzed_what_if(svc, planner, section)
    # For comparison: the same sweep once nobody has an open round.
    await svc.db.execute("UPDATE checkin_rounds SET status = 'answered', closed_at = ?", (1,))
    idle = await _timed_sweeps(planner, 5)
    section.line(
        f"sweep with none due and no open round: median {ms(sorted(idle)[2])}, "
        f"best {ms(min(idle))} of {len(idle)}"
    )
    section.rows.append(
        Row(
            "check-in sweep with none due and no open round",
            ms(sorted(idle)[2]),
            "≤ 20 ms",
            sorted(idle)[2] <= 0.020,
        )
    )
    # The check-in messages are not part of what follows.
    await svc.db.execute(
        "UPDATE outbox SET status = 'cancelled', error = 'bench' WHERE status = 'pending'"
    )


async def _analyzed_what_if(svc: Services, planner: Planner, section: Section) -> None:
    """What-if on SQLite: the same sweeps with planner statistics (ANALYZE), then back as
    production runs (no statistics)."""
    began = time.perf_counter()
    await svc.db.execute("ANALYZE")
    analyze_s = time.perf_counter() - began
    analyzed = await _timed_sweeps(planner, 5)
    await svc.db.execute("DROP TABLE sqlite_stat1")
    await svc.db.execute("ANALYZE sqlite_schema")
    section.line(
        f"what-if, not production: after ANALYZE ({analyze_s:.1f} s) the same none-due sweep "
        f"takes median {ms(sorted(analyzed)[2])} (statistics dropped again afterwards)"
    )


async def _timed_sweeps(planner: Planner, count: int) -> list[float]:
    """Seconds of ``count`` sweeps that must find nobody due."""
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        report = await planner.sweep()
        seconds.append(time.perf_counter() - began)
        assert report.checkins == 0, report
    return seconds


# --- reminders, expiries and nudges due: one sweep each, per item (before) beside batched -------
DAY = 86_400
SWEEPS_A_DAY = 1440  # the seeded rounds (steps) were opened (started) over a day of sweeps


def _people(first: int, count: int) -> list[DuePerson]:
    """``count`` seeded applicants from user id ``first`` on, as the sweep addresses them; each
    was due a minute before the sweep that opened their round (one sweep a minute over a day)."""
    return [
        DuePerson(uid, PLATFORM, uid, "en" if uid % 5 == 0 else "fa", _minute(uid) - 60)
        for uid in range(first, first + count)
    ]  # as bench.common.applicant seeds them: users.id = user_id = chat_id


def _minute(uid: int) -> int:
    """The sweep (of a day's minutes) that opened someone's round: 0 to a day before START."""
    return START_TS - uid % SWEEPS_A_DAY * 60


async def _seed_rounds(svc: Services, people: list[DuePerson], age: int) -> None:
    """Open a round for each, ``age`` seconds before their sweep, through the real path (one
    open_rounds per sweep minute); every round is to be looked at now."""
    repo = CheckinRepo(svc.db)
    by_sweep: dict[int, list[DuePerson]] = {}
    for p in people:
        by_sweep.setdefault(p.due_at + 60 - age, []).append(p)
    for sent_at, group in by_sweep.items():
        messages = [checkin_payload(svc, p.lang, "checkin.question") for p in group]
        await repo.open_rounds(group, sent_at, messages, START_TS - 60)
    await _cancel_pending(svc)


async def _seed_steps(svc: Services, people: list[DuePerson], age: int) -> None:
    """Start each person's first permit step ``age`` seconds before their sweep minute."""
    steps = StepRepo(svc.db)
    for p in people:
        step = svc.content.steps_for(FIELDS[p.user_pk % len(FIELDS)])[0]
        await steps.start(p.user_pk, step.id, p.due_at + 60 - age)


async def _cancel_pending(svc: Services) -> None:
    """Take queued messages out of what the later benchmarks send."""
    await svc.db.execute(
        "UPDATE outbox SET status = 'cancelled', error = 'bench' WHERE status = 'pending'",
        slow=True,
    )


async def _probe(db: Database, stop: asyncio.Event, waits: list[float]) -> None:
    """A person's one-row read every 5 ms while a sweep runs: how much later than asked each
    was answered (a stalled event loop and a held connection both count)."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.005)
        await db.fetchone("SELECT 1")
        waits.append(time.perf_counter() - began - 0.005)


async def _timed_sweep(planner: Planner) -> tuple[SweepReport, float, float]:
    """One sweep: its report, seconds, and the longest a concurrent one-row read was late."""
    stop, waits = asyncio.Event(), []
    probe = asyncio.create_task(_probe(planner.svc.db, stop, waits))
    await asyncio.sleep(0.01)
    began = time.perf_counter()
    try:
        report = await planner.sweep()
    finally:
        seconds = time.perf_counter() - began
        stop.set()
        await probe
    return report, seconds, max(waits, default=0.0)


async def due_sweeps(
    svc: Services, scale: Scale, section: Section, *, per_item: bool = True
) -> None:
    """Sweeps with ``scale.due`` reminders, expiries or nudges due on the big database, each
    timed through the batched path and (``per_item``) the old per-item one beside it (fresh
    rounds or steps for each). Call after run_sweeps (nothing else may be due)."""
    count, first = scale.due, scale.applicants // 4 + 1
    kinds = (
        ("reminders", "reminders", 3 * DAY + 3600, _seed_rounds),
        ("expiries", "expired", 15 * DAY, _seed_rounds),
        ("nudges", "nudges", 8 * DAY, _seed_steps),
    )
    paths: tuple[tuple[str, Planner], ...] = (("batched", Planner(svc, PLATFORM)),)
    if per_item:
        paths = (("per item", PerItemPlanner(svc, PLATFORM)), *paths)
    section.line(
        f"reminders, expiries and nudges due: {count:,} rounds (or started steps) seeded through "
        f"the real repositories, opened (started) over a day of minute sweeps "
        f"({SWEEPS_A_DAY:,} different send times)"
        + (
            "; the old per-item path is tests/support/per_item_sweep.py (the planner as of "
            "ad7885e), each on fresh rows"
            if per_item
            else ""
        )
    )
    for what, field, age, seed in kinds:
        measured: dict[str, tuple[float, float]] = {}
        profiler = Profiler()
        for name, planner in paths:
            people = _people(first, count)
            first += count
            await seed(svc, people, age)
            if name == "batched":
                with profiler:
                    report, seconds, late = await _timed_sweep(planner)
            else:
                report, seconds, late = await _timed_sweep(planner)
            done = getattr(report, field)
            assert done == count and report.queued == (0 if what == "expiries" else count), report
            measured[name] = (seconds, late)
            section.line(
                f"sweep with {count:,} {what} due ({name}): {done:,} done in {seconds:.2f} s; "
                f"a one-row read every 5 ms beside it was at most {ms(late)} late"
            )
        await _cancel_pending(svc)
        seconds, late = measured["batched"]
        ok = seconds <= 2.0
        before = f"per item {measured['per item'][0]:.2f} s; " if per_item else ""
        section.rows.append(
            Row(
                f"sweep with {count:,} {what} due of {scale.applicants:,}",
                f"{seconds:.2f} s",
                "≤ 2 s",
                ok,
                f"{before}a read beside it at most {ms(late)} late",
            )
        )
        if not ok:
            section.profiles.append((f"cProfile of the {what} sweep (tottime)", profiler.top()))
