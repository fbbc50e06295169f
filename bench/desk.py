"""The console's questions and follow-ups on a big database: ``python -m bench.desk [--quick]``.

Seeds N applicants (1,000,000 in full), 200,000 tickets (5 % open) with three messages each and
300,000 follow-ups (60 % waiting), then times, beside a primary-key lookup as the floor from the
same run: the overview's waiting figures (FollowupRepo.waiting), the ticket lists, a ticket's
reads, the follow-up list, and the pages themselves over HTTP (aiohttp's test client, one
signed-in session). Prints p50/p95 per figure; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bench.common import (
    COUNTIES,
    FULL,
    QUICK,
    START_TS,
    open_services,
    percentile,
    population,
    seed_users,
)
from bot.repo.followups import FollowupRepo
from bot.repo.ticket_desk import TicketDeskRepo
from bot.rules.scope import Scope
from bot.staffdesk.console_access import issue_link, redeem
from web.app import build_console
from web.guard import COOKIE

TICKETS = 200_000
FOLLOWUPS = 300_000
STAFF = 7
KINDS = ("no_answer",) * 6 + ("problems", "closed", "step_help", "roster_claim")
RUNS = 60


async def seed_desk(db: Any, applicants: int, rng: random.Random) -> None:
    """Tickets, their messages and follow-ups over the applicants, in one transaction each."""
    tickets, messages = [], []
    for ticket_id in range(1, TICKETS + 1):
        user = rng.randrange(1, applicants + 1)
        opened = START_TS - rng.randrange(365 * 86400)
        status = "open" if rng.random() < 0.05 else "closed"
        assignee = STAFF if rng.random() < 0.3 else None
        closed = opened + 3600 if status == "closed" else None
        tickets.append((ticket_id, user, status, opened, closed, assignee))
        for n in range(3):
            direction = "out" if n == 1 else "in"
            messages.append(
                (ticket_id, direction, f"Message {n} of ticket {ticket_id}", opened + n)
            )
    followups = []
    for _ in range(FOLLOWUPS):
        user = rng.randrange(1, applicants + 1)
        created = START_TS - rng.randrange(180 * 86400)
        waiting = rng.random() < 0.6
        followups.append(
            (user, rng.choice(KINDS), created, "open" if waiting else "closed",
             None if waiting else created + 7200)
        )  # fmt: skip
    async with db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO tickets (id, platform, user_pk, kind, status, created_at, closed_at,"
            " assignee_platform, assignee_id) VALUES (?, 'telegram', ?, 'question', ?, ?, ?,"
            " CASE WHEN ? IS NULL THEN NULL ELSE 'telegram' END, ?)",
            [(t, u, s, o, c, a, a) for t, u, s, o, c, a in tickets],
        )
        await tx.executemany(
            "INSERT INTO ticket_messages (ticket_id, direction, kind, text, at)"
            " VALUES (?, ?, 'text', ?, ?)",
            messages,
        )
        await tx.executemany(
            "INSERT INTO followups (user_pk, kind, detail, created_at, status, closed_at)"
            " VALUES (?, ?, '{}', ?, ?, ?)",
            followups,
        )
        await tx.execute(
            "INSERT INTO staff (platform, user_id, role, added_at) VALUES ('telegram', ?,"
            " 'staff', ?)",
            (STAFF, START_TS),
        )
    await db.execute("ANALYZE", slow=True)


async def timed(work: Callable[[], Awaitable[object]], runs: int = RUNS) -> tuple[float, float]:
    """p50 and p95 of ``work`` in milliseconds (one warm-up call first)."""
    await work()
    took = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        took.append(time.perf_counter() - began)
    return percentile(took, 50) * 1000, percentile(took, 95) * 1000


async def run(applicants: int, workdir: Path) -> list[tuple[str, float, float]]:
    """Seed, then time every figure; (what, p50 ms, p95 ms) rows."""
    svc = await open_services(workdir / "desk.sqlite3")
    rng = random.Random(12)
    began = time.perf_counter()
    await seed_users(svc.db, population(applicants, 0, 0, 0, 0))
    await seed_desk(svc.db, applicants, rng)
    print(f"seeded {applicants:,} applicants, {TICKETS:,} tickets and {FOLLOWUPS:,} follow-ups "
          f"in {time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
    rows: list[tuple[str, float, float]] = []
    everywhere, one = Scope(), Scope.of([COUNTIES[0]])
    desk, followups = TicketDeskRepo(svc.db), FollowupRepo(svc.db)
    me = ("telegram", STAFF)
    open_id = (await svc.db.fetchone("SELECT MIN(id) FROM tickets WHERE status = 'open'"))[0]
    figures: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("baseline: one users row by primary key", lambda: svc.users.get(applicants // 2)),
        ("waiting figures (FollowupRepo.waiting)", lambda: followups.waiting(everywhere)),
        ("waiting figures, one county's member", lambda: followups.waiting(one)),
        ("open tickets, first page", lambda: desk.lines(everywhere, "open", me)),
        ("open tickets, one county's member", lambda: desk.lines(one, "open", me)),
        ("my open tickets", lambda: desk.lines(everywhere, "mine", me)),
        ("closed tickets, first page", lambda: desk.lines(everywhere, "closed", me)),
        ("closed tickets, one county's member", lambda: desk.lines(one, "closed", me)),
        ("a ticket and its conversation", lambda: _ticket(desk, open_id)),
        ("waiting follow-ups, oldest first", lambda: followups.waiting_page(everywhere, None)),
        ("waiting follow-ups, one group and county", lambda: followups.waiting_page(one, "roster")),
        ("handled follow-ups, latest first", lambda: followups.handled_page(everywhere, None)),
    ]  # fmt: skip
    for what, work in figures:
        p50, p95 = await timed(work)
        rows.append((what, p50, p95))
        print(f"  {what}: p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)
    rows += await _pages(svc, open_id)
    await svc.close()
    return rows


async def _ticket(desk: TicketDeskRepo, ticket_id: int) -> None:
    """What a ticket's page reads from its repository."""
    await desk.view(ticket_id)
    await desk.conversation(ticket_id)
    await desk.notes(ticket_id)


async def _pages(svc: Any, open_id: int) -> list[tuple[str, float, float]]:
    """The pages over HTTP, signed in as the staff member."""
    token = await issue_link(svc.db, "telegram", STAFF, svc.clock.timestamp())
    assert token is not None
    opened = await redeem(svc.db, token, svc.clock.timestamp(), "fa")
    assert opened is not None
    rows = []
    async with TestClient(TestServer(build_console(svc, {}))) as http:
        http.session.cookie_jar.update_cookies({COOKIE: opened[0]})
        for path in ("/tickets", "/tickets?view=closed", f"/tickets/{open_id}", "/followups"):

            async def get(path: str = path) -> None:
                response = await http.get(path)
                assert response.status == 200, (path, response.status)
                await response.read()

            p50, p95 = await timed(get)
            rows.append((f"GET {path.replace(str(open_id), '<id>')} over HTTP", p50, p95))
            print(f"  GET {path}: p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)
    return rows


def main() -> None:
    """Run at full or quick scale and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 applicants")
    args = parser.parse_args()
    applicants = (QUICK if args.quick else FULL).applicants
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(run(applicants, Path(tmp)))
    print("\n| what | p50 ms | p95 ms |\n| --- | --- | --- |")
    for what, p50, p95 in rows:
        print(f"| {what} | {p50:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
