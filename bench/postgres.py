"""SQLite beside PostgreSQL in the same run (``python -m bench.run --only postgres``).

Each figure is taken on both engines, one after the other, by the same code: the sweeps over the
big database (bench/sweep.py), queueing a broadcast to everyone (bench/audience.py), the console's
searches (bench/pg_console.py) and updates per second through `homebiz run` replicas on
webhooks (bench/replica_updates.py). A table row carries both engines' figures; the targets are the
SQLite sections' own, and both engines must meet them. With no PostgreSQL server answering, the
section says so in one line and the run goes on.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import audience, pg_console, replica_updates, sweep
from bench.common import START, Row, Scale, Section, loadavg
from bench.pg_store import Schemas, seed_population
from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.entry.services import Services

ENGINES = ("SQLite", "PostgreSQL")


def side_by_side(parts: dict[str, Section], into: Section) -> None:
    """One row per figure with each engine's measure; met when every engine met the target
    (the note names an engine that missed). Detail lines are kept, each under its engine."""
    for engine, part in parts.items():
        into.details += [f"{engine}: {line}" for line in part.details]
        into.profiles += [(f"{engine}: {title}", text) for title, text in part.profiles]
    names = [e for e in ENGINES if e in parts]
    for found in itertools.zip_longest(*(parts[e].rows for e in names)):
        first = next(r for r in found if r is not None)
        pairs = list(zip(names, found, strict=True))
        measured = "; ".join(f"{n} {r.measured if r else 'not measured'}" for n, r in pairs)
        verdicts = [r.met if r else False for _, r in pairs]
        met = None if all(v is None for v in verdicts) else all(v is not False for v in verdicts)
        missed = [n for n, r in pairs if r is None or r.met is False]
        notes = [f"{n}: {r.note}" for n, r in pairs if r is not None and r.note]
        if missed and met is not None:
            notes.insert(0, f"missed on {' and '.join(missed)}")
        into.rows.append(Row(first.what, measured, first.target, met, "; ".join(notes)))


async def _guarded(part: Section, work: Callable[[], Awaitable[None]]) -> None:
    """Run one engine's share; a crash becomes its line and a failed row instead of ending
    the run."""
    try:
        await work()
    except Exception as exc:
        part.line(f"FAILED: {exc!r}")
        part.rows.append(Row(part.title, "failed", "—", False, repr(exc)[:120]))
        traceback.print_exc()


async def _big_database(
    engine: str, scale: Scale, workdir: Path, schemas: Schemas, part: Section
) -> None:
    """Seed the big database on one engine, sweep it, queue a broadcast to everyone on it."""
    if engine == "SQLite":
        svc, _rss = await sweep.build_database(scale, workdir, part)
    else:
        url = await schemas.new("sweep")
        settings = Settings(db_path=workdir / "pg-unused.sqlite3", db_url=url)
        svc = await Services.open(settings, clock=ManualClock(START))
        pop = sweep.make_population(scale)
        seconds = await seed_population(url, pop)
        part.line(
            f"seeded {pop.total:,} applicants by COPY (the triggers keeping the audience cells "
            f"ran for each row), then ANALYZE, in {seconds:.1f} s ({pop.total / seconds:,.0f} "
            "rows/s; not a target)"
        )
    try:
        await sweep.run_sweeps(svc, scale, part)
        await sweep.due_sweeps(svc, scale, part, per_item=False)
        await audience.queue_everyone(svc, scale, part)  # left queued: the database goes
    finally:
        await svc.close()


async def run(scale: Scale, workdir: Path) -> list[Section]:
    """Every figure on both engines; the sections, in order."""
    head = Section("SQLite beside PostgreSQL", "postgres")
    print(f"\n== {head.title} ==", flush=True)
    schemas = Schemas()
    reason = await schemas.unavailable()
    if reason:
        head.line(f"{reason}: the PostgreSQL figures are left out of this run")
        return [head]
    head.line(f"{await schemas.server()}; load average at the start {loadavg()}")
    workdir = workdir / "engines"  # the SQLite files of this section, apart from the others'
    workdir.mkdir(exist_ok=True)
    big = Section(f"SQLite beside PostgreSQL: the {scale.applicants:,}-applicant database", "pg")
    console = Section("SQLite beside PostgreSQL: the console's searches", "pg_console")
    updates = Section("SQLite beside PostgreSQL: `homebiz run` replicas on webhooks", "pg_updates")
    try:
        parts: dict[str, Section] = {}
        for engine in ENGINES:
            part = parts[engine] = Section(big.title)
            print(f"\n== {big.title}: {engine} ==", flush=True)
            began = time.perf_counter()

            async def seed_sweep_queue(engine: str = engine, part: Section = part) -> None:
                """This engine's big database."""
                await _big_database(engine, scale, workdir, schemas, part)

            await _guarded(part, seed_sweep_queue)
            part.line(f"this engine's share of the section: {time.perf_counter() - began:.0f} s")
        side_by_side(parts, big)
        big.line(f"load average after: {loadavg()}")
        parts = {}
        for engine in ENGINES:
            part = parts[engine] = Section(console.title)
            print(f"\n== {console.title}: {engine} ==", flush=True)

            async def searches(engine: str = engine, part: Section = part) -> None:
                """This engine's console searches."""
                await pg_console.run(engine, scale, workdir, schemas, part)

            await _guarded(part, searches)
        side_by_side(parts, console)
        console.line(f"load average after: {loadavg()}")
        print(f"\n== {updates.title} ==", flush=True)
        await _guarded(updates, lambda: replica_updates.run(scale, workdir, schemas, updates))
        updates.line(f"load average after: {loadavg()}")
    finally:
        await schemas.drop()
    return [head, big, console, updates]
