"""Shared pieces of the benchmarks: scale, results, timing, memory, seeding, app building."""

from __future__ import annotations

import asyncio
import cProfile
import datetime as dt
import gc
import io
import logging
import os
import platform
import pstats
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from telegram.ext import Application
from telegram.request import BaseRequest, HTTPXRequest

from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.db.engine import Database
from bot.entry.app import build_application
from bot.entry.services import Services
from bot.messengers.pacer import Limits

TOKEN = "1000001:BENCH-TOKEN-NOT-REAL"
PLATFORM = "telegram"
START = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)  # Sunday 11:30 Tehran: not quiet hours
START_TS = int(START.timestamp())
FAKE_URL = "http://fake.invalid/bot"
FAKE_FILE_URL = "http://fake.invalid/file/bot"
COUNTIES = ("karaj", "fardis", "nazarabad", "savojbolagh", "eshtehard", "taleqan", "chaharbagh")
FIELDS = ("handicrafts", "textiles_clothing", "food", "agri_livestock", "services", "other")
SMALL_COUNTY = "taleqan"  # holds exactly the broadcast audience (user ids 1..broadcast)
LIMITED_COUNTY = "eshtehard"  # holds exactly the limited broadcast's audience (the next ids)
BIG_COUNTY = "chaharbagh"  # holds exactly the queue-100k audience (the next user ids)
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Scale:
    """Every size the benchmarks use; ``full`` is the real run, ``quick`` a smoke run."""

    name: str
    updates: int  # updates through the real Application (and as many through the baseline)
    background_users: int  # extra applicants in the updates benchmark's database
    applicants: int  # applicants seeded for the sweep / memory / queue / broadcast benchmarks
    due: int  # of which due for a check-in
    limited: int  # recipients of the broadcast against the enforced limit
    broadcast: int  # recipients of the capacity, memory and interactive broadcasts
    interactive_window: float  # seconds of interactive traffic while a broadcast drains
    queue_big: int  # recipients of the queue benchmark

    @property
    def limited_factor(self) -> float:
        """How much smaller the limited broadcast is than the target's 20,000."""
        return 20_000 / self.limited


FULL = Scale(
    name="full",
    updates=12_000,
    background_users=50_000,
    applicants=1_000_000,
    due=10_000,
    limited=2_000,
    broadcast=20_000,
    interactive_window=60.0,
    queue_big=100_000,
)
QUICK = Scale(
    name="quick",
    updates=1_200,
    background_users=5_000,
    applicants=100_000,
    due=1_000,
    limited=200,
    broadcast=1_500,
    interactive_window=8.0,
    queue_big=10_000,
)


@dataclass
class Row:
    """One line of the results table."""

    what: str
    measured: str
    target: str
    met: bool | None
    note: str = ""


@dataclass
class Section:
    """What one benchmark reports: table rows, detail lines and profiles of missed targets."""

    title: str
    key: str = ""
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)
    remedies: list[str] = field(default_factory=list)

    def line(self, text: str) -> None:
        """Add a detail line and print it."""
        self.details.append(text)
        print(f"  {text}", flush=True)


def rss_mb() -> float:
    """Resident set size of this process in MB (VmRSS from /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    """Seconds as milliseconds text."""
    return f"{seconds * 1000:.2f} ms"


def machine() -> dict[str, str]:
    """The machine and software this run used."""
    try:
        uname = subprocess.run(
            ["uname", "-a"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except OSError:
        uname = " ".join(platform.uname())
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = []
    for name in ("python-telegram-bot", "aiohttp", "httpx"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "uname -a": uname,
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": ", ".join(versions),
        "load average at start": load,
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    with open("/proc/loadavg", encoding="ascii") as file:
        return " ".join(file.read().split()[:3])


class LogCounter(logging.Handler):
    """Counts log records by level and keeps the first few warnings and errors for the report."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__(level=logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.first_errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Count a record."""
        self.counts[record.levelname] += 1
        if len(self.first_errors) < 8:
            line = f"{record.levelname} {record.name}: {record.getMessage()[:300]}"
            self.first_errors.append(line)

    def errors(self) -> int:
        """How many ERROR (or worse) records so far."""
        return self.counts["ERROR"] + self.counts["CRITICAL"]


LOGS = LogCounter()


def setup_logging() -> None:
    """Count warnings and errors instead of printing each (the bench prints a summary)."""
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(LOGS)
    for noisy in ("httpx", "httpcore", "telegram"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def open_services(db_path: Path) -> Services:
    """Services on ``db_path`` with a hand-moved clock at START (a weekday, 11:30 Tehran)."""
    return await Services.open(Settings(db_path=db_path), clock=ManualClock(START))


def build_app(
    svc: Services,
    request: BaseRequest,
    *,
    base_url: str = FAKE_URL,
    base_file_url: str = FAKE_FILE_URL,
    updates_request: BaseRequest | None = None,
    with_updater: bool = False,
    limits: Limits | None = None,
    rate_limiter: Any = None,
) -> Application:
    """The real Application (handlers, router, error handler) as tests/conftest.py builds it;
    unpaced unless ``limits`` (or another ``rate_limiter``) is given."""
    return build_application(
        svc,
        PLATFORM,
        token=TOKEN,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        updates_request=updates_request,
        with_updater=with_updater,
        with_jobs=False,
        limits=limits or Limits.unlimited(),
        rate_limiter=rate_limiter,
    )


def http_request(pool: int) -> HTTPXRequest:
    """A PTB HTTP backend with ``pool`` connections that ignores proxy settings (loopback)."""
    return HTTPXRequest(
        connection_pool_size=pool,
        pool_timeout=10.0,
        read_timeout=30.0,
        httpx_kwargs={"trust_env": False},
    )


USER_COLUMNS = (
    "platform, user_id, chat_id, lang, consent_at, full_name, mobile, national_code, county, "
    "field, stage, profile_done, proactive, state, state_data, created_at, updated_at, "
    "permit_on, loan_on, next_checkin_at"
)
USER_INSERT = (
    f"INSERT INTO users ({USER_COLUMNS}) VALUES "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Population:
    """Which user ids a seeded database holds and what they are for."""

    total: int
    broadcast: range  # in SMALL_COUNTY
    limited: range  # in LIMITED_COUNTY
    big: range  # in BIG_COUNTY
    due: range  # next_checkin_at already passed


def population(total: int, broadcast: int, limited: int, big: int, due: int) -> Population:
    """User ids 1..total: the audiences one after another from 1, the due ones last."""
    if broadcast + limited + big + due > total:
        raise ValueError("the population is too small for its audiences")
    return Population(
        total=total,
        broadcast=range(1, broadcast + 1),
        limited=range(broadcast + 1, broadcast + limited + 1),
        big=range(broadcast + limited + 1, broadcast + limited + big + 1),
        due=range(total - due + 1, total + 1),
    )


def applicant(
    uid: int,
    *,
    county: str,
    next_at: int | None,
    stage: str = "loan",
    field: str | None = None,
    lang: str | None = None,
) -> tuple[Any, ...]:
    """One consented, onboarded, reachable applicant row for ``USER_INSERT``."""
    created = START_TS - 86400 * 60 - uid % 86400
    loan_day = (START - dt.timedelta(days=40)).date().isoformat() if stage == "loan" else None
    return (
        PLATFORM, uid, uid, lang or ("en" if uid % 5 == 0 else "fa"), created,
        f"Applicant {uid}", f"+98912{uid % 10_000_000:07d}", "",
        county, field or FIELDS[uid % len(FIELDS)], stage, 1, 1, "", "{}", created, created,
        None, loan_day, next_at,
    )  # fmt: skip


def _user_rows(pop: Population, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """The population's rows; the due ones have a passed next check-in, the rest a future one."""
    rng = random.Random(seed)
    other_counties = [c for c in COUNTIES if c not in (SMALL_COUNTY, LIMITED_COUNTY, BIG_COUNTY)]
    for uid in range(1, pop.total + 1):
        if uid in pop.broadcast:
            county = SMALL_COUNTY
        elif uid in pop.limited:
            county = LIMITED_COUNTY
        elif uid in pop.big:
            county = BIG_COUNTY
        else:
            county = other_counties[uid % len(other_counties)]
        if uid in pop.due:
            next_at = START_TS - 60 - uid % 3600
        else:
            next_at = START_TS + 3600 + rng.randrange(90 * 86400)
        yield applicant(uid, county=county, next_at=next_at)


async def seed_users(db: Database, pop: Population) -> float:
    """Insert the population in one transaction with executemany; return the seconds taken."""
    began = time.perf_counter()
    async with db.transaction(slow=True) as conn:
        await conn.executemany(USER_INSERT, _user_rows(pop))
    return time.perf_counter() - began


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.2
) -> bool:
    """Poll an async predicate until it holds or ``timeout`` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 2):
        if await predicate():
            return True
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval)
    return await predicate()


class Profiler:
    """cProfile around async work on this thread; the top entries as text."""

    def __init__(self) -> None:
        """Create a disabled profiler."""
        self.profile = cProfile.Profile()

    def __enter__(self) -> Profiler:
        """Start profiling."""
        self.profile.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop profiling."""
        self.profile.disable()

    def top(self, limit: int = 18, sort: str = "tottime", only: str | None = None) -> str:
        """The ``limit`` most expensive functions by ``sort`` (``only``: a path regex)."""
        out = io.StringIO()
        stats = pstats.Stats(self.profile, stream=out)
        if only is None:
            stats.strip_dirs().sort_stats(sort).print_stats(limit)
        else:
            stats.sort_stats(sort).print_stats(only, limit)
        lines = out.getvalue().splitlines()
        start = next((i for i, ln in enumerate(lines) if "ncalls" in ln), 0)
        text = "\n".join(line.rstrip() for line in lines[start:] if line.strip())
        return text.replace(str(REPO_ROOT) + "/", "")


class GcWatch:
    """Records garbage-collector pauses (gc.callbacks) while installed."""

    def __init__(self) -> None:
        """Start uninstalled, with no pauses."""
        self.pauses: list[tuple[int, float]] = []
        self._began = 0.0

    def install(self) -> None:
        """Start recording."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        """Time one collection."""
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), time.perf_counter() - self._began))

    def remove(self) -> None:
        """Stop recording."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def describe(self) -> str:
        """Collections per generation, total and longest pause."""
        if not self.pauses:
            return "no collections"
        counts = Counter(gen for gen, _ in self.pauses)
        total = sum(p for _, p in self.pauses)
        longest = max(p for _, p in self.pauses)
        per_gen = ", ".join(f"gen{g}: {counts[g]}" for g in sorted(counts))
        return f"{per_gen}; {total * 1000:.0f} ms in total, longest {longest * 1000:.1f} ms"


class DbTimer:
    """Wraps a Database's methods on the instance to count calls and time spent awaiting them."""

    def __init__(self, db: Database) -> None:
        """Install the wrappers."""
        self.db = db
        self.calls = 0
        self.hops = 0
        self.seconds = 0.0
        self._saved: dict[str, Any] = {}
        # A statement that goes to the connection's worker thread (slow work, or a wait for
        # another process's lock) costs a hand-off there and back: counted on the instance.
        hop = db._in_worker

        async def counted(work: Any) -> Any:
            """Count one thread hand-off."""
            self.hops += 1
            return await hop(work)

        db._in_worker = counted  # type: ignore[method-assign]
        self._saved["_in_worker"] = hop
        for name in ("fetchone", "fetchall", "execute", "changes"):
            original = getattr(db, name, None)
            if original is None:
                continue
            self._saved[name] = original
            setattr(db, name, self._wrap(original))
        original_tx = db.transaction
        self._saved["transaction"] = original_tx
        timer = self

        class _Tx:
            """Times a transaction from entry to commit."""

            async def __aenter__(self) -> Any:
                """Begin."""
                self.began = time.perf_counter()
                self.cm = original_tx()
                return await self.cm.__aenter__()

            async def __aexit__(self, *exc: Any) -> Any:
                """Commit or roll back."""
                try:
                    return await self.cm.__aexit__(*exc)
                finally:
                    timer.calls += 1
                    timer.seconds += time.perf_counter() - self.began

        db.transaction = lambda: _Tx()  # type: ignore[method-assign]

    def _wrap(self, original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """Time one method."""

        async def timed(*args: Any, **kwargs: Any) -> Any:
            """Call and time."""
            began = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - began

        return timed

    def remove(self) -> None:
        """Put the original methods back."""
        for name in self._saved:
            delattr(self.db, name)
