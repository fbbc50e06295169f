"""The one benchmark command: ``python -m bench.run [--quick] [--out PATH]``; see BENCHMARKS.md."""

# Runs every benchmark in one process (the fake Bot API server runs in a child process), prints
# a table (what | measured | target | met?) and writes it, with the machine and the details, to
# BENCHMARKS.md; a ``--quick`` smoke run writes to a temporary file unless ``--out`` is given.

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import audience as audience_bench
from bench import (
    broadcast,
    console_applicants,
    console_load,
    console_overview,
    exports,
    history,
    postgres,
    replicas,
    roster_figures,
    strict,
    sweep,
    updates,
    web_roster,
)
from bench import process as proc
from bench import roster_import as roster_bench
from bench.common import (
    FULL,
    LOGS,
    QUICK,
    REPO_ROOT,
    Row,
    Scale,
    Section,
    loadavg,
    machine,
    rss_mb,
    setup_logging,
)
from bot.entry.services import Services

RUN_LIMIT = {"full": 80 * 60.0, "quick": 10 * 60.0}  # the console sections seed their own files

# What would move a missed target, by section key (read from this machine's profiles; the
# figures they refer to are in the section's lines above them).
REMEDIES: dict[str, list[str]] = {
    "updates": [
        "Where a turn's time goes now (profiles below): PTB's parse of the incoming update "
        "(`TelegramObject.__setattr__`, `Message.de_json`: the echo pays it too), the in-process "
        "fake API's `deepcopy` of every message it stores (the echo pays it per call too), "
        "PTB's request build for each call, about 0.15 ms of SQLite on the loop's thread (five "
        "short statements), and the handlers' own Python.",
        "The app makes about 1.6 Bot API calls per update against the echo's 1.0: a button "
        "press needs its answer (answerCallbackQuery) and an edit, which no joining of messages "
        "removes. Each call costs a request build and the fake API's work even with the answer "
        "kept as JSON.",
        "The echo bot is a floor no real handler reaches: it reads nothing and writes nothing. "
        "What is left to take would be PTB itself: building request data by hand or reading "
        "updates without PTB's object model. The targets that matter to a person (1,000 "
        "updates/s, p99 within 5 ms) are met; the ratio is reported as measured.",
    ],
    "database": [
        "Check the plans of the sweep's queries (EXPLAIN QUERY PLAN) on the big file: a plan "
        "that walks every applicant instead of a due-time partial index costs about 0.4 s per "
        "query at 1,000,000 rows here.",
        "Count the statements per batch of due people: one or more per person makes 10,000 "
        "people cost seconds; the batched sweep writes each kind of action in one statement.",
    ],
    "capacity": [
        "Over HTTP the limit is the HTTP client's CPU per request (the two transports' lines); "
        "the fake Bot API process shares the machine's two cores with the bot.",
    ],
    "roster": [
        "Where a roster row's time goes: the bot's own validators (a full name's normalisation "
        "is the largest part; counties, fields, dates and banks repeat and are checked once "
        "each), then staging (an indexed insert per row), then the commit's upserts. The XLSX "
        "reader is the next largest part: bench/roster_import.py prints it beside openpyxl.",
        "Peak memory beyond the CSV's is the workbook's shared-string table, which a reader "
        "must hold whole (packed into one buffer here).",
    ],
    "overview": [
        "The overview's read is a handful of GROUP BY passes over every applicant (their latest "
        "answer found per person as /stats finds it), the rounds, the open steps and this year's "
        "answers, on the read-only connection; a page is answered from the groups kept "
        "(bot.staffdesk.overview_cache), so only the first page after a start waits for them. "
        "A stalled event loop points at Python work on the loop's thread: the rows turned into "
        "groups (bot.repo.overview) or a scope's figures (run in a worker thread).",
    ],
    "pg": [
        "Queueing on PostgreSQL: up to schema 23 every outbox row queued fired the row trigger "
        "outbox_figures (pg/008), which updated the broadcast's one row, so a chunk of n rows "
        "wrote n versions of that row in one transaction (20,000 recipients: 4.4 s, 0.52 s with "
        "the trigger disabled; quick scale, 100,000: 14.0 s, longest hold 679 ms). Since pg/024 "
        "the trigger is statement-level with transition tables: one UPDATE of the broadcast per "
        "statement, the rows counted by figure (quick scale: 2.4 s, longest hold 92 ms); the "
        "same for cancelling and deleting (its UPDATE and DELETE triggers).",
        "The sweeps on PostgreSQL: their profiles (below) show the bot's own Python under 0.7 s "
        "and the rest waiting for the server (epoll), in about a hundred statements per sweep; "
        "a commit costs 0.5 ms here (synchronous_commit on), so the time is in statements. The "
        "expiries change 10,000 people's check-in status, and each change fires the cell "
        "triggers on users (pg/008, pg/021), which update the same few cell rows once per "
        "person within one statement, as outbox_figures does for queueing: statement-level "
        "triggers with transition tables would update each cell once. For the others, "
        "log_min_duration_statement (or EXPLAIN ANALYZE of the planner's statements on a "
        "seeded schema) names the slow statement; not yet looked at.",
        "Bulk loads meet the cell triggers too: the benchmark's seeding copies 2,000 rows per "
        "transaction (one transaction for 20,000 rows took 12.2 s, 2,000-row ones 4.6 s).",
    ],
    "pg_console": [
        "The name searches: SQLite's two-word search misses too (the Applicants section's own "
        "line); on PostgreSQL both the two- and three-word searches take 0.8-0.9 s at p95. "
        "EXPLAIN (ANALYZE, BUFFERS) of the search's statement on a seeded schema would say "
        'whether the name-key indexes (pg/021, COLLATE "C" prefix ranges) are used as SQLite '
        "uses its own; shared_buffers is 128 MB on this server, less than the users table and "
        "its indexes at 1,000,000 applicants. Not yet looked at.",
    ],
    "process": [
        "Replies missing or slow while a broadcast starts point at the database held by the "
        "queueing (see the slow statements the bot logged) or at the pacer's bot-wide window; "
        "the audience section's longest hold names the first.",
    ],
}


async def _guard(section: Section, work: Callable[[], Awaitable[None]]) -> None:
    """Run one benchmark; a crash becomes a line in its section instead of ending the run."""
    try:
        await work()
    except Exception as exc:
        section.line(f"FAILED: {exc!r}")
        section.rows.append(Row(section.title, "failed", "—", False, repr(exc)[:120]))
        traceback.print_exc()


async def run_updates(scale: Scale, workdir: Path) -> list[Section]:
    """Only the updates benchmark (``--only updates``)."""
    return [await updates.run(scale, workdir)]


async def run_roster(scale: Scale, workdir: Path) -> list[Section]:
    """Only the roster benchmarks (``--only roster``): the import, the list's figures, then the
    console's loan list and audit log pages."""
    section = Section("Roster import", "roster")
    print(f"\n== {section.title} ==", flush=True)
    await _guard(section, lambda: roster_bench.run(scale, workdir, section))
    figures = Section("The programme list's figures", "roster_figures")
    print(f"\n== {figures.title} ==", flush=True)
    await _guard(figures, lambda: roster_figures.run(scale, workdir, figures))
    pages = Section("The console's loan list and audit log", "web_roster")
    print(f"\n== {pages.title} ==", flush=True)
    await _guard(pages, lambda: web_roster.run(scale, workdir, pages))
    return [section, figures, pages]


async def run_applicants(scale: Scale, workdir: Path) -> list[Section]:
    """Only the console's Applicants pages (``--only applicants``)."""
    section = Section("The console's Applicants pages", "applicants")
    print(f"\n== {section.title} ==", flush=True)
    await _guard(section, lambda: console_applicants.run(scale, workdir, section))
    return [section]


async def run_replicas(scale: Scale, workdir: Path) -> list[Section]:
    """Only the replicas benchmark (``--only replicas``): three processes sharing one token on
    PostgreSQL, the shared budget beside an elected sender and no coordination."""
    section = Section("Replicas sharing one token (PostgreSQL)", "replicas")
    print(f"\n== {section.title} ==", flush=True)
    await _guard(section, lambda: replicas.run(scale, section))
    return [section]


async def run_console(scale: Scale, workdir: Path) -> list[Section]:
    """Only the staff console benchmarks (``--only console``), on a freshly seeded database."""
    seeded = Section(f"The {scale.applicants:,}-applicant database", "database")
    svc, _rss = await sweep.build_database(scale, workdir, seeded)
    await svc.close()
    return await console_sections(scale, workdir / "big.sqlite3")


async def console_sections(scale: Scale, db: Path) -> list[Section]:
    """The console while people chat (the real process on the big database)."""
    load = Section("The staff console while people chat", "console")
    print(f"\n== {load.title} ==", flush=True)
    await _guard(load, lambda: console_load.while_staff_work(db, scale, db.parent, load))
    return [load]


async def run_overview(scale: Scale, workdir: Path) -> list[Section]:
    """Only the console's overview (``--only overview``): its figures beside /stats."""
    section = Section("The staff console's overview", "overview")
    print(f"\n== {section.title} ==", flush=True)
    await _guard(section, lambda: console_overview.run(scale, workdir, section))
    return [section]


async def run_postgres(scale: Scale, workdir: Path) -> list[Section]:
    """Only SQLite beside PostgreSQL (``--only postgres``)."""
    return await postgres.run(scale, workdir)


async def run_all(scale: Scale, workdir: Path) -> list[Section]:
    """Every benchmark; the sections they filled, in the issues' order."""
    # The in-process big-database benchmarks run first, then the real process on the same file,
    # then the updates benchmark (which leaves the most in this process's allocator).
    big = Section(f"The {scale.applicants:,}-applicant database: sweeps", "database")
    audience = Section("Audiences and queueing on the big database", "audience")
    strict_limits = Section("A broadcast against Telegram's strict limits", "strict")
    capacity = Section("Outbox sender capacity with the limits lifted", "capacity")
    process = Section("`homebiz run` with a million applicants", "process")
    staff = Section("Staff exports", "exports")
    trip = Section("database round trip")
    print(f"\n== {big.title} ==", flush=True)
    svc: Services | None = None

    async def seed_and_sweep() -> None:
        """Seed, time one database round trip, sweep."""
        nonlocal svc
        svc, _rss = await sweep.build_database(scale, workdir, big)
        await sweep.round_trip(trip, workdir / "big.sqlite3")
        await sweep.run_sweeps(svc, scale, big)
        await sweep.due_sweeps(svc, scale, big)

    await _guard(big, seed_and_sweep)
    console: list[Section] = []
    if svc is not None:
        ready: Services = svc
        await _guard(audience, lambda: audience_bench.run(ready, scale, audience))
        await _guard(
            strict_limits, lambda: strict.against_strict_limits(ready, scale, strict_limits)
        )
        await _guard(capacity, lambda: broadcast.capacity(ready, scale, capacity))
        await ready.close()
        db = workdir / "big.sqlite3"
        await _guard(process, lambda: proc.everyone_while_chatting(db, scale, workdir, process))
        console = await console_sections(scale, db)
    size = 100_000 if scale.name == "full" else 10_000
    await _guard(staff, lambda: exports.exports(workdir, staff, applicants=size))
    roster_sections = await run_roster(scale, workdir)
    overview = await run_overview(scale, workdir)
    applicants_sections = await run_applicants(scale, workdir)
    engines = await run_postgres(scale, workdir)
    first = Section("Updates through the real Application", "updates")

    async def timed_updates() -> None:
        """The updates benchmark, with the round-trip figure beside it."""
        nonlocal first
        first = await updates.run(scale, workdir)
        first.details += trip.details

    await _guard(first, timed_updates)
    replica_sections = await run_replicas(scale, workdir)
    return [
        first, strict_limits, process, capacity, big, audience, staff, *roster_sections, *console,
        *overview, *applicants_sections, *engines, *replica_sections,
    ]  # fmt: skip


def table(rows: list[Row]) -> str:
    """The results as a Markdown table."""
    lines = ["| what | measured | target | met? |", "| --- | --- | --- | --- |"]
    for row in rows:
        met = "—" if row.met is None else "yes" if row.met else "**no**"
        note = f" ({row.note})" if row.note else ""
        lines.append(f"| {row.what}{note} | {row.measured} | {row.target} | {met} |")
    return "\n".join(lines)


def markdown(scale: Scale, info: dict[str, str], sections: list[Section], seconds: float) -> str:
    """The whole BENCHMARKS.md."""
    rows = [row for section in sections for row in section.rows]
    out = [
        "# Benchmarks",
        "",
        "Written by `python -m bench.run` (this file is generated; edit `bench/`, not this).",
        "Each figure is measured beside its baseline in the same run, on the machine below.",
        "",
        "## Machine",
        "",
    ]
    out += [f"- {key}: `{value}`" for key, value in info.items()]
    out += [
        f"- load average at the end: `{loadavg()}`; whole run {seconds / 60:.1f} min; "
        f"RSS at the end of the run {rss_mb():.0f} MB (mostly the updates benchmark's "
        "in-process fake API, which keeps every message)",
        f"- scale: `{scale.name}`"
        + (
            " (a smoke run: sizes cut down, the targets do not apply)"
            if scale.name != "full"
            else ""
        ),
        "",
        "## Results",
        "",
        table(rows),
        "",
        "## How each figure was taken",
        "",
    ]
    for section in sections:
        out += [f"### {section.title}", ""]
        out += [f"- {line}" for line in section.details]
        out.append("")
    out += ["## Before these changes", ""]
    out += [f"- {line}" for line in history.lines()]
    out.append("")
    missed = [s for s in sections if any(r.met is False for r in s.rows)]
    if missed:
        out += ["## Targets not met: where the time goes and what would move it", ""]
        for section in missed:
            out += [f"### {section.title}", ""]
            for row in section.rows:
                if row.met is False:
                    out.append(f"- missed: {row.what}: {row.measured} (target {row.target})")
            out.append("")
            for remedy in REMEDIES.get(section.key, []):
                out.append(f"- {remedy}")
            out.append("")
            for title, text in section.profiles:
                out += [f"{title}:", "", "```", text, "```", ""]
    if LOGS.first_errors:
        out += ["## Warnings and errors logged during the run (the first few)", ""]
        out += [f"- `{line}`" for line in LOGS.first_errors]
        out.append("")
    out += [
        "## Method notes",
        "",
        "- Everything runs in one Python process except the fake Bot API server of the HTTP "
        "benchmarks, which runs as `python -m bench.apiserver` (tests/support/botapi_server.py "
        "around a BotApiEmulator) on 127.0.0.1, so its CPU and the messages it stores stay out "
        "of the bot's figures.",
        "- Updates: people's conversations are interleaved (64 at a time); each update is built "
        "by the emulator as the person's phone would, then `Update.de_json` + "
        "`Application.process_update` is timed alone (building it is not). Throughput is "
        "updates ÷ the summed handling time (updates handled one after another, so the figure "
        "is the CPU cost of a turn; `homebiz run` handles different people's updates at the "
        "same time). The pacer is off here: its waits are the platform's limits, measured in "
        "the strict-limits sections. The baseline is a bare PTB Application (one echo "
        "MessageHandler, one answering CallbackQueryHandler) over the same EmulatorRequest, fed "
        "updates of the same kinds and texts, alternating with the app in 5 chunks.",
        "- As `homebiz run` does once started, the updates benchmark freezes its start-up objects "
        "and raises the collector's thresholds (bot.entry.runner.settle_memory) before the timed "
        "updates; the baseline runs in the same process with the same settings.",
        "- Database figures use a file database in WAL mode, as production does; the clock is a "
        "fixed Sunday 11:30 Tehran so check-ins are not held by quiet hours.",
        "- Lost = recipients the server never delivered to, plus rows not sent; duplicates = "
        "deliveries beyond one per recipient, counted per chat by the server.",
        "- SQLite beside PostgreSQL (bench/postgres.py): the same code on both engines, one after "
        "the other, PostgreSQL in throwaway schemas of HOMEBIZ_TEST_PG's server (default "
        "127.0.0.1:5432/test, dropped at the end) with its own durability settings; a row "
        "meets its target only when both engines do. The replicas are real `homebiz run` "
        "processes on webhooks, fed by this process (bench/replica_updates.py).",
        "",
    ]
    return "\n".join(out)


async def main(scale: Scale, out: Path, only: str | None = None) -> int:
    """Run, print the table, write the report; 0 unless a benchmark crashed."""
    setup_logging()
    info = machine()
    print(
        f"homebiz-bot benchmarks ({scale.name}) on {info['cpu']}, {info['nproc']} CPUs", flush=True
    )
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="homebiz-bench-") as tmp:
        runners = {
            "updates": run_updates,
            "roster": run_roster,
            "console": run_console,
            "overview": run_overview,
            "applicants": run_applicants,
            "replicas": run_replicas,
            "postgres": run_postgres,
        }
        runner = runners.get(only or "", run_all)
        sections = await asyncio.wait_for(runner(scale, Path(tmp)), timeout=RUN_LIMIT[scale.name])
    seconds = time.perf_counter() - began
    rows = [row for section in sections for row in section.rows]
    print("\n" + table(rows), flush=True)
    print(f"\nlog records: {dict(LOGS.counts)}; whole run {seconds / 60:.1f} min", flush=True)
    for line in LOGS.first_errors:
        print(f"  {line}", flush=True)
    out.write_text(markdown(scale, info, sections, seconds), encoding="utf-8")
    print(f"wrote {out}", flush=True)
    crashed = any(r.measured == "failed" for r in rows)
    return 1 if crashed else 0


def cli(argv: list[str] | None = None) -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Run every benchmark, print the table and write BENCHMARKS.md.",
    )
    parser.add_argument("--quick", action="store_true", help="a scaled-down smoke run (< 1 min)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the report")
    parser.add_argument(
        "--only",
        choices=(
            "updates",
            "roster",
            "console",
            "overview",
            "applicants",
            "postgres",
            "replicas",
        ),
        help="run one benchmark alone",
    )
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.out is not None:
        out = args.out
    elif args.quick or args.only:
        out = Path(tempfile.gettempdir()) / "BENCHMARKS.partial.md"
    else:
        out = REPO_ROOT / "BENCHMARKS.md"
    return asyncio.run(main(scale, out, args.only))


if __name__ == "__main__":
    raise SystemExit(cli())
