"""Three replicas sharing one token on one PostgreSQL database: ``python -m bench.replicas``.

Two figures. (1) What the shared bot-wide budget (bot/messengers/budget.py) costs per send: one
slot taken and given back, timed one after another on one pool. (2) Three real processes (this
module with ``--child``) against the fake Bot API with Telegram's limits enforced strictly
(bench/apiserver.py ``--strict``: 30 in any second for the token, a one-second penalty after a
429): a broadcast in the shared outbox while each replica also answers people (REPLY_RATE
replies a second each, as the replica that handled their updates). Three ways:

- ``shared``: every replica sends outbox rows and replies, all through the shared budget;
- ``elected``: one replica sends the outbox (an elected sender, its pacer alone), the others only
  reply (their pacers alone): the sender cannot count the replies the others send;
- ``alone``: every replica sends rows and replies, each pacer alone (no coordination at all).

HOMEBIZ_TEST_PG names the server (default postgresql://127.0.0.1:5432/test); each run has a
schema of its own, dropped at the end. Without a server the section says so and is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import time
import uuid
from typing import Any

from bench.apiserver import INTERACTIVE_FROM, ApiServerProcess
from bench.common import REPO_ROOT, Row, Scale, Section
from bot.core.clock import Clock
from bot.db.postgres import PostgresDatabase
from bot.messengers.budget import SharedBudget
from bot.messengers.http import AiohttpRequest
from bot.messengers.pacer import Limits, Pacer
from bot.messengers.ratelimit import PacedLimiter
from bot.repo.outbox import PRIORITY_BROADCAST, NewMessage, OutboxRepo, make_payload
from bot.repo.send_slots import SendSlotRepo
from scheduler.outbox import OutboxSender

PG_URL = os.environ.get("HOMEBIZ_TEST_PG", "postgresql://127.0.0.1:5432/test")
TOKEN = "1000001:BENCH-TOKEN-NOT-REAL"
PLATFORM = "telegram"
REPLICAS = 3
REPLY_RATE = 3.0  # replies a second per replica, to people chatting
FIRST = 1_000_000  # the broadcast's first recipient chat id
COST_SENDS = 2000  # slots taken and given back for the cost figure
MODES = ("shared", "elected", "alone")


def _url(schema: str) -> str:
    """The server's URL with ``search_path`` set to one schema."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}search_path={schema}"


async def _admin(sql: str) -> None:
    """One statement on the server, outside any schema."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --- (1) the cost per send ---------------------------------------------------------------
async def cost_per_send(url: str) -> tuple[float, float, float]:
    """(median take, median give-back, p99 of both) in microseconds, one after another."""
    db = await PostgresDatabase.open(url)
    try:
        repo = SendSlotRepo(db)
        await repo.ensure(PLATFORM, 30)
        takes: list[float] = []
        backs: list[float] = []
        for i in range(COST_SENDS + 100):
            began = time.perf_counter()
            slot, _ = await repo.take(PLATFORM, 30, 60.0, f"bench-{i}")
            taken = time.perf_counter()
            assert slot is not None
            await repo.give_back(PLATFORM, slot, f"bench-{i}", 0.0)
            if i >= 100:  # after a warm-up: statements prepared, connection open
                takes.append(taken - began)
                backs.append(time.perf_counter() - taken)
        both = sorted(t + b for t, b in zip(takes, backs, strict=True))
        return (
            statistics.median(takes) * 1e6,
            statistics.median(backs) * 1e6,
            both[int(len(both) * 0.99) - 1] * 1e6,
        )
    finally:
        await db.close()


# --- (2) a replica process ----------------------------------------------------------------
async def _replies(bot: Any, index: int, stop: asyncio.Event) -> int:
    """Answer people at REPLY_RATE a second (each a chat of its own) until ``stop``."""
    sent = 0
    tasks: set[asyncio.Task[Any]] = set()
    while not stop.is_set():
        chat = INTERACTIVE_FROM + index * 100_000 + sent
        task = asyncio.create_task(bot.send_message(chat, "پاسخ"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        sent += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0 / REPLY_RATE)
    await asyncio.gather(*tasks, return_exceptions=True)
    return sent


async def child(url: str, api_url: str, mode: str, index: int, limit: float) -> dict[str, Any]:
    """One replica: its outbox sender (unless another is the elected one) and its replies,
    until the outbox is empty; what it did."""
    from telegram.ext import ExtBot

    db = await PostgresDatabase.open(url, migrate=False)
    limits = Limits()
    budget = SharedBudget(SendSlotRepo(db), PLATFORM, limits) if mode == "shared" else None
    pacer = Pacer(limits, budget)
    bot: ExtBot[None] = ExtBot(
        TOKEN,
        base_url=api_url,
        base_file_url=api_url.replace("/bot", "/file/bot"),
        request=AiohttpRequest(connection_pool_size=32),
        rate_limiter=PacedLimiter(pacer, platform=PLATFORM),
    )
    await bot.initialize()
    repo = OutboxRepo(db)
    stop = asyncio.Event()
    sends = mode != "elected" or index == 0
    sender = OutboxSender(bot, repo, PLATFORM, Clock()) if sends else None
    began = time.monotonic()
    work = [asyncio.create_task(_replies(bot, index, stop))]
    if sender is not None:
        work.append(asyncio.create_task(sender.run(stop)))
    drained = False
    try:
        while not drained and time.monotonic() - began < limit:
            counts = await repo.counts()
            drained = not any(
                n for (_, status), n in counts.items() if status in ("pending", "sending")
            )
            await asyncio.sleep(0 if drained else 0.2)
    finally:
        stop.set()
        done = await asyncio.gather(*work, return_exceptions=True)
        await bot.shutdown()
        await db.close()
    return {
        "replies": done[0] if isinstance(done[0], int) else 0,
        "bulk": sender.stats.sent if sender is not None else 0,
        "seconds": time.monotonic() - began,
        "drained": drained,
    }


# --- (2) the run: a server, a schema, three processes ---------------------------------------
async def _spawn(url: str, api_url: str, mode: str, index: int, limit: float) -> Any:
    """Start one replica process."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.replicas", "--child", "--url", url, "--api", api_url,
        "--mode", mode, "--index", str(index), "--limit", str(limit),
        stdout=asyncio.subprocess.PIPE, cwd=str(REPO_ROOT), env=env,
    )  # fmt: skip


async def one_run(mode: str, recipients: int) -> dict[str, Any]:
    """Three replicas deliver a broadcast of ``recipients`` while answering people; figures."""
    schema = f"bench_replicas_{uuid.uuid4().hex[:10]}"
    await _admin(f"CREATE SCHEMA {schema}")
    url = _url(schema)
    try:
        db = await PostgresDatabase.open(url)
        try:
            now = int(time.time())
            payload = make_payload("اطلاعیه آزمایشی: مهلت ثبت‌نام تمدید شد.")
            rows = [
                NewMessage(PLATFORM, FIRST + i, None, "broadcast", payload, now,
                           PRIORITY_BROADCAST, f"bc:1:{i}", None)
                for i in range(recipients)
            ]  # fmt: skip
            await OutboxRepo(db).enqueue_many(rows, now=now)
        finally:
            await db.close()
        limit = recipients / 30.0 * 4 + 30
        async with ApiServerProcess(
            first=FIRST, count=recipients, strict=True, open_chats=True
        ) as api:
            procs = [await _spawn(url, api.api_url, mode, i, limit) for i in range(REPLICAS)]
            outs = [await p.communicate() for p in procs]
        children = [json.loads(out[0].decode().strip().splitlines()[-1]) for out in outs]
    finally:
        await _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {"children": children, "report": api.report, "recipients": recipients}


def figures(result: dict[str, Any]) -> dict[str, float]:
    """Messages a second in all, 429s, lost and duplicated rows of one run."""
    report = result["report"]
    statuses: dict[str, int] = report.get("statuses", {})
    seconds = max(c["seconds"] for c in result["children"])
    ok = sum(v for k, v in statuses.items() if k.endswith(":200") and ":send" in k)
    histogram = {int(k): v for k, v in report.get("histogram", {}).items()}
    return {
        "seconds": seconds,
        "rate": ok / seconds,
        "bulk_rate": report.get("bulk_ok", 0) / seconds,
        "replies": sum(c["replies"] for c in result["children"]),
        "too_many": sum(v for k, v in statuses.items() if k.endswith(":429")),
        "attempts": sum(v for k, v in statuses.items() if ":send" in k),
        "lost": histogram.get(0, 0),
        "finished": all(c["drained"] for c in result["children"]),
        "duplicates": sum((k - 1) * v for k, v in histogram.items() if k > 1),
    }


async def run(scale: Scale, section: Section) -> None:
    """Both figures into ``section`` (skipped, said so, without a PostgreSQL server)."""
    try:
        await _admin("SELECT 1")
    except Exception as exc:
        section.line(f"skipped: no PostgreSQL server at HOMEBIZ_TEST_PG ({type(exc).__name__})")
        return
    schema = f"bench_replicas_{uuid.uuid4().hex[:10]}"
    await _admin(f"CREATE SCHEMA {schema}")
    try:
        take, back, p99 = await cost_per_send(_url(schema))
    finally:
        await _admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    section.line(
        f"shared budget cost per send: take {take:.0f} µs (before the call) + give back "
        f"{back:.0f} µs (after the answer, in the background) (medians; p99 of both "
        f"{p99:.0f} µs), {COST_SENDS} one after another on one pool"
    )
    section.rows.append(
        Row("shared budget: a send waits for its slot", f"{take:.0f} µs", "< 2,000 µs",
            take < 2000, f"give back {back:.0f} µs, off the send's path")
    )  # fmt: skip
    recipients = 300 if scale.name == "quick" else 1200
    for mode in MODES:
        got = figures(await one_run(mode, recipients))
        section.line(
            f"{mode}: {REPLICAS} processes, {recipients} rows + {got['replies']:.0f} replies in "
            f"{got['seconds']:.1f} s = {got['rate']:.1f} messages/s (bulk {got['bulk_rate']:.1f}"
            f"/s); 429s {got['too_many']:.0f} of {got['attempts']:.0f} sends; "
            + ("" if got["finished"] else "stopped at the time limit, ")
            + f"undelivered {got['lost']:.0f}, duplicates {got['duplicates']:.0f}"
        )
        target = "0 429s, ≥ 27/s" if mode == "shared" else "—"
        met = got["too_many"] == 0 and got["rate"] >= 27 and got["finished"]
        met = met if mode == "shared" else None
        section.rows.append(
            Row(f"{REPLICAS} replicas, {mode}", f"{got['rate']:.1f}/s, {got['too_many']:.0f} "
                "429s", target, met)
        )  # fmt: skip


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--child``: one replica, run by the bench itself)."""
    parser = argparse.ArgumentParser(prog="python -m bench.replicas")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--url", default="")
    parser.add_argument("--api", default="")
    parser.add_argument("--mode", choices=MODES, default="shared")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--limit", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """A replica (``--child``), or the whole bench printed."""
    args = _parse(argv)
    if args.child:  # the 429 warnings are counted by the server; the parent reports them
        logging.basicConfig(level=logging.ERROR)
        result = asyncio.run(child(args.url, args.api, args.mode, args.index, args.limit))
        print(json.dumps(result), flush=True)
        return 0
    from bench.common import FULL, QUICK

    section = Section("Replicas sharing one token (PostgreSQL)", "replicas")
    asyncio.run(run(QUICK if args.quick else FULL, section))
    for row in section.rows:
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
