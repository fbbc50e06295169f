"""Updates per second through real `homebiz run` replicas on webhooks: one on SQLite, one, two
and three on PostgreSQL (one schema they share).

Each replica is ``python -m bot run`` with its own webhook listener (TELEGRAM_WEBHOOK_URL,
_SECRET, _PORT, _LISTEN, as a deployment sets them); replies go to the fake Bot API process
(bench/apiserver.py: no flood limits, any chat open), which logs each visible reply with its
time. The benchmark posts updates itself, straight to the replicas in turn, CONCURRENCY people
at a time (the platform's max_connections): each person posts one update and waits for its first
visible reply before the next person's update takes the slot, so at most CONCURRENCY updates are
in flight whatever the webhook answers. Only the public environment and HTTP are used.

An update counts as handled when its first visible reply reaches the server; updates/s is the
count of those whose reply arrived in a fixed window after a warm-up. The reply latency is post
to first reply (both sides read the machine's one monotonic clock).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import cpu_share
from bench.apiserver import INTERACTIVE_FROM, ApiServerProcess
from bench.common import TOKEN, USER_COLUMNS, USER_INSERT, Row, Scale, Section, applicant, loadavg
from bench.common import percentile as pct
from bench.pg_store import Schemas, copy_rows, run_sql
from bot.db.engine import Database
from bot.messengers.webhook import SECRET_HEADER
from tests.support import BotProcess, bot_env, free_port

CONCURRENCY = 32  # posts in flight, as Telegram's default max_connections (40) or a bit under
PEOPLE = 2_000  # distinct people taking turns (one update in flight each at most)
FIRST_PERSON = INTERACTIVE_FROM + 300_000  # ids no other section uses
TEXTS = ("/start", "📋 مراحل مجوز")  # welcome back + where they are; the permit steps list
SECRET = "bench-webhook-secret-0123456789ab"
APP_NAME = "homebiz-bench-replica"  # the replicas' PostgreSQL connections, to find their CPU
SEND_RATE = 10_000  # HOMEBIZ_SEND_RATE's largest: the pacer's bot-wide window out of the way
POLL = 0.005  # seconds between looks at the server's reply log
REPLY_WAIT = 15.0  # a reply later than this counts as missing
PG_REPLICAS = (1, 2, 3)


@dataclass
class Window:
    """What one configuration did in the measured window."""

    handled: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    refused: int = 0
    replies: int = 0
    posted: int = 0
    cpu: str = ""

    @property
    def rate(self) -> float:
        """Updates handled per second."""
        return self.handled / self.seconds if self.seconds else 0.0


class Replies:
    """Reads the fake server's reply log and wakes whoever waits for a chat's reply."""

    def __init__(self, api: ApiServerProcess) -> None:
        """Watch ``api``."""
        self.api = api
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.seen = 0  # every visible reply, first or not

    def expect(self, chat: int) -> asyncio.Future[float]:
        """A future that gets the time of the chat's next reply (register before posting)."""
        found: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = found
        return found

    async def watch(self, stop: asyncio.Event) -> None:
        """Poll until ``stop``."""
        while not stop.is_set():
            for chat, at in await self.api.control("bench_replies"):
                self.seen += 1
                waiter = self.waiting.pop(int(chat), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(float(at))
            await asyncio.sleep(POLL)


def update(update_id: int, person: int, text: str) -> bytes:
    """A private text message from ``person`` as Telegram posts it to a webhook."""
    who = {"id": person, "is_bot": False, "first_name": f"Person {person}", "language_code": "fa"}
    message: dict[str, Any] = {
        "message_id": update_id,
        "from": who,
        "chat": {"id": person, "type": "private", "first_name": who["first_name"]},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return json.dumps({"update_id": update_id, "message": message}).encode("utf-8")


def _people_rows(background: int) -> list[tuple[Any, ...]]:
    """Background applicants (ids 1..) and the people who post, all onboarded, none due."""
    later = int(time.time()) + 30 * 86_400
    ids = [*range(1, background + 1), *range(FIRST_PERSON, FIRST_PERSON + PEOPLE)]
    return [applicant(uid, county="karaj", next_at=later + uid % 86_400) for uid in ids]


async def _seed(target: str | Path, background: int) -> float:
    """Migrate and seed one engine's database; the seconds taken."""
    began = time.perf_counter()
    if isinstance(target, Path):
        db = await Database.open(target)
        try:
            async with db.transaction(slow=True) as tx:
                await tx.executemany(USER_INSERT, _people_rows(background))
        finally:
            await db.close()
    else:
        from bot.db.postgres import PostgresDatabase

        pg = await PostgresDatabase.open(target)
        await pg.close()
        columns = [c.strip() for c in USER_COLUMNS.split(",")]
        await copy_rows(target, "users", columns, _people_rows(background))
        await run_sql(target, "ANALYZE")
    return time.perf_counter() - began


class Load:
    """The posting side: CONCURRENCY people at a time, replicas in turn."""

    def __init__(self, api: ApiServerProcess, ports: list[int], ids: itertools.count[int]) -> None:
        """Post to ``ports`` (round robin); update ids from ``ids``."""
        self.ports = ports
        self.ids = ids
        self.replies = Replies(api)
        self.done: list[tuple[float, float]] = []  # (posted, first reply) per handled update
        self.missing: list[float] = []  # post times of updates with no reply in REPLY_WAIT
        self.refused = 0
        self.posted = 0

    async def _slot(self, session: aiohttp.ClientSession, until: float) -> None:
        """One place in the platform's queue: post, wait for the reply, again."""
        while time.monotonic() < until:
            n = next(self.ids)
            person = FIRST_PERSON + n % PEOPLE
            if person in self.replies.waiting:
                continue
            port = self.ports[n % len(self.ports)]
            body = update(n, person, TEXTS[(n // PEOPLE) % len(TEXTS)])
            waiter = self.replies.expect(person)
            posted = time.monotonic()
            async with session.post(
                f"http://127.0.0.1:{port}/telegram",
                data=body,
                headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
            ) as answer:
                await answer.read()
                ok = answer.status == 200
            self.posted += 1
            if not ok:
                self.refused += 1
                self.replies.waiting.pop(person, None)
                continue
            try:
                at = await asyncio.wait_for(waiter, REPLY_WAIT)
            except TimeoutError:
                self.replies.waiting.pop(person, None)
                self.missing.append(posted)
                continue
            self.done.append((posted, at))

    async def run(self, warm: float, window: float) -> Window:
        """Warm up, then measure ``window`` seconds; what was handled in it."""
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.replies.watch(stop))
        began = time.monotonic()
        start, end = began + warm, began + warm + window
        limits = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=limits, timeout=timeout) as session:
            await asyncio.gather(*(self._slot(session, end) for _ in range(CONCURRENCY)))
        stop.set()
        await watcher
        inside = [(p, a) for p, a in self.done if start <= a < end]
        return Window(
            handled=len(inside),
            seconds=window,
            latencies=[a - p for p, a in self.done if start <= p < end],
            missing=sum(1 for p in self.missing if start <= p < end),
            refused=self.refused,
            replies=self.replies.seen,
            posted=self.posted,
        )


async def _measure(
    db: str | Path, replicas: int, scale: Scale, workdir: Path, ids: itertools.count[int], name: str
) -> tuple[Window, str]:
    """Start the fake Bot API and ``replicas`` bot processes on ``db``, load them, stop them;
    the window and the processes' exit statuses."""
    warm, window = (5.0, 20.0) if scale.name == "full" else (3.0, 8.0)
    pg = isinstance(db, str)
    async with ApiServerProcess(first=1, count=0, open_chats=True) as api:
        ports = [free_port() for _ in range(replicas)]
        bots = []
        for i, port in enumerate(ports):
            env = bot_env(
                Path(db) if isinstance(db, Path) else workdir / "unused.sqlite3",
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_URL=api.api_url,
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                TELEGRAM_WEBHOOK_PORT=str(port),
                TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
                HOMEBIZ_SEND_RATE=str(SEND_RATE),
                **({"HOMEBIZ_DB": f"{db}&application_name={APP_NAME}"} if pg else {}),
            )
            bots.append(BotProcess(env, workdir, f"{name}-{replicas}-{i}"))
        try:
            for bot in bots:
                bot.start()
            for bot in bots:
                await bot.wait_for(
                    lambda b=bot: "webhook listening" in b.stderr, "the webhook", timeout=120
                )
            assert api.proc is not None
            pids = {
                "replicas": [b.proc.pid for b in bots if b.proc is not None],
                "fake Bot API": [api.proc.pid],
                "load generator": [os.getpid()],
            }
            backends = cpu_share.backends(db, APP_NAME) if pg else None
            found, cpu = await asyncio.gather(
                Load(api, ports, ids).run(warm, window),
                cpu_share.cpu_share(pids, backends, warm, window),
            )
            found.cpu = cpu
        finally:
            statuses = [await bot.stop(signal.SIGTERM, timeout=30) for bot in bots]
            for bot in bots:
                bot.kill()
    return found, ", ".join(str(s) for s in statuses)


def _describe(found: Window) -> str:
    """The figures of one window in words."""
    p50, p99 = pct(found.latencies, 50) * 1000, pct(found.latencies, 99) * 1000
    return (
        f"{found.rate:,.0f} updates/s ({found.handled:,} in {found.seconds:.0f} s), reply "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms; {found.missing} without a reply in "
        f"{REPLY_WAIT:.0f} s, {found.refused} posts refused; {found.posted:,} posted and "
        f"{found.replies:,} visible replies in all; {found.cpu}"
    )


async def run(scale: Scale, workdir: Path, schemas: Schemas, section: Section) -> None:
    """One replica on SQLite, then 1, 2 and 3 on PostgreSQL; rows side by side."""
    background = scale.background_users
    ids = itertools.count(1)
    sqlite_db = workdir / "replicas.sqlite3"
    seconds = await _seed(sqlite_db, background)
    pg_db = await schemas.new("replicas")
    pg_seconds = await _seed(pg_db, background)
    section.line(
        f"{background:,} background applicants and {PEOPLE:,} people who post, seeded in "
        f"{seconds:.1f} s (SQLite) and {pg_seconds:.1f} s (PostgreSQL, COPY); {CONCURRENCY} "
        f"posts in flight, each person waiting for the first reply before their slot posts "
        f"again; texts {', '.join(TEXTS)} in turn; HOMEBIZ_SEND_RATE {SEND_RATE:,} (the "
        "shipped 30 a second is Telegram's bot-wide limit, which a throughput figure must "
        "lift, as the server sets none), shipped defaults otherwise (HOMEBIZ_LOG_LEVEL INFO)"
    )
    results: dict[str, Window] = {}
    found, status = await _measure(sqlite_db, 1, scale, workdir, ids, "sqlite")
    results["SQLite, 1 replica"] = found
    section.line(f"SQLite, 1 replica: {_describe(found)}; exit {status}; load {loadavg()}")
    for replicas in PG_REPLICAS:
        found, status = await _measure(pg_db, replicas, scale, workdir, ids, "pg")
        label = f"PostgreSQL, {replicas} replica{'s' if replicas > 1 else ''}"
        results[label] = found
        section.line(f"{label}: {_describe(found)}; exit {status}; load {loadavg()}")
    base = results["PostgreSQL, 1 replica"].rate or 1.0
    scaling = ", ".join(
        f"{n}: {results[f'PostgreSQL, {n} replica' + ('s' if n > 1 else '')].rate / base:.2f}×"
        for n in PG_REPLICAS
    )
    section.line(
        f"PostgreSQL replicas against one ({scaling}); the machine has {os.cpu_count()} cores, "
        "shared by PostgreSQL, the replicas, the fake Bot API and this load generator (and "
        "whatever else runs: the load average is beside each line)"
    )
    for label, found in results.items():
        section.rows.append(
            Row(
                f"updates/s through `homebiz run` on webhooks, {CONCURRENCY} in flight: {label}",
                f"{found.rate:,.0f}/s; reply p50 {pct(found.latencies, 50) * 1000:.1f} ms, "
                f"p99 {pct(found.latencies, 99) * 1000:.1f} ms",
                "—",
                None,
                f"{found.missing} without a reply" if found.missing else "",
            )
        )
