"""The console's broadcast pages on the 1,000,000-applicant database, over HTTP in-process:
``python -m bench.web_broadcasts [--quick]``.

Each page is timed (p50, p95 of REPEATS requests) beside its baseline from the same run: the
bot's own call under it (the audience count the chat builder makes, the repository read), so the
table shows what the console adds on top of the core. A launch stores the broadcast only (the
monitor queues it in the background), so "send" is timed too.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bench.common import FULL, QUICK, START_TS, Scale, percentile, seed_users
from bench.sweep import make_population, open_services
from bot.repo.broadcasts import BroadcastRepo, Draft
from bot.repo.staff import StaffRepo
from bot.rules.scope import EVERYWHERE
from bot.staffdesk import broadcasts as desk
from bot.staffdesk.console_access import issue_link, redeem
from web.app import build_console
from web.guard import COOKIE

REPEATS = 40
BROADCASTS = 300  # broadcasts in the list (a year of several a day)
TARGET = 0.300  # seconds at p95, the console's target for an applicant page
ADMIN, SCOPED = 1_000_000_001, 1_000_000_002
FILTERS = "county=karaj&county=fardis&stage=loan&checkin=none"


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """p50 and p95 seconds of REPEATS runs (after one warm-up)."""
    await work()
    spent = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        await work()
        spent.append(time.perf_counter() - began)
    return percentile(spent, 50), percentile(spent, 95)


async def _session(svc: Any, http: TestClient, user_id: int) -> str:
    """A signed-in cookie jar for a staff member; their CSRF token."""
    token = await issue_link(svc.db, "telegram", user_id, svc.clock.timestamp())
    assert token is not None
    opened = await redeem(svc.db, token, svc.clock.timestamp(), "fa")
    assert opened is not None
    http.session.cookie_jar.update_cookies({COOKIE: opened[0]})
    return opened[1].csrf


async def run(scale: Scale) -> None:
    """Seed, then time each page beside its baseline and print the table."""
    with tempfile.TemporaryDirectory() as workdir:
        svc = await open_services(Path(workdir) / "big.sqlite3")
        pop = make_population(scale)
        seconds = await seed_users(svc.db, pop)
        print(f"seeded {pop.total:,} applicants in {seconds:.1f} s")
        staff = StaffRepo(svc.db)
        for uid in (ADMIN, SCOPED):
            await staff.add("telegram", uid, "admin" if uid == ADMIN else "staff", 0, START_TS)
        await staff.set_scope("telegram", SCOPED, ["karaj"])
        repo = BroadcastRepo(svc.db)
        for i in range(BROADCASTS):
            county = ["karaj"] if i % 3 else ["fardis"]
            content = {"texts": {"fa": f"پیام {i}"}, "photo": None, "document": None}
            draft = Draft("telegram", ADMIN, content, {"county": county}, START_TS + 86400)
            await repo.launch(draft, START_TS)
        bid = (await repo.page(None, None, 1))[0][0].id
        rows: list[tuple[str, tuple[float, float], str, tuple[float, float] | None]] = []
        async with TestClient(TestServer(build_console(svc, {}))) as http:
            csrf = await _session(svc, http, ADMIN)

            async def get(path: str) -> None:
                response = await http.get(path)
                await response.read()
                assert response.status == 200, (path, response.status)

            audience = {"county": ["karaj", "fardis"], "stage": ["loan"], "checkin": ["none"]}
            target = desk.target(audience, ["telegram"], EVERYWHERE)
            baseline = await _timed(lambda: desk.counts(svc.db, "telegram", target))
            rows.append(
                (
                    "live count (JSON)",
                    await _timed(lambda: get(f"/broadcasts/count?{FILTERS}")),
                    "desk.counts",
                    baseline,
                )
            )
            rows.append(
                (
                    "compose page",
                    await _timed(lambda: get("/broadcasts/new")),
                    "desk.counts",
                    baseline,
                )
            )
            form = [("_csrf", csrf), ("text_fa", "سلام"), ("when", "now"), ("action", "preview")]
            form += [(k, v) for k, vs in audience.items() for v in vs]

            async def preview() -> None:
                response = await http.post("/broadcasts/new", data=form)
                await response.read()
                assert response.status == 200, response.status

            rows.append(("preview", await _timed(preview), "desk.counts", baseline))
            listed = await _timed(lambda: repo.page(None, None, 51))
            rows.append(
                (
                    "list (50 of 300)",
                    await _timed(lambda: get("/broadcasts")),
                    "BroadcastRepo.page",
                    listed,
                )
            )
            one = await _timed(lambda: repo.get(bid))
            rows.append(
                (
                    "one broadcast",
                    await _timed(lambda: get(f"/broadcasts/{bid}")),
                    "BroadcastRepo.get",
                    one,
                )
            )
            rows.append(
                (
                    "progress (JSON)",
                    await _timed(lambda: get(f"/broadcasts/{bid}/progress")),
                    "BroadcastRepo.get",
                    one,
                )
            )
            send = [(k, v) for k, v in form if k != "action"] + [("action", "send")]
            spent = []
            for _ in range(5):
                began = time.perf_counter()
                response = await http.post("/broadcasts/new", data=send, allow_redirects=False)
                spent.append(time.perf_counter() - began)
                assert response.status == 303, response.status
            rows.append(
                (
                    "send (stores; queued later)",
                    (percentile(spent, 50), percentile(spent, 95)),
                    "",
                    None,
                )
            )
            http.session.cookie_jar.clear()
            await _session(svc, http, SCOPED)
            scoped = await _timed(lambda: repo.page(frozenset({"karaj"}), None, 51))
            rows.append(
                (
                    "list, scoped to Karaj",
                    await _timed(lambda: get("/broadcasts")),
                    "BroadcastRepo.page scoped",
                    scoped,
                )
            )
        await svc.close()
    print(
        f"\n{scale.applicants:,} applicants · {REPEATS} requests each · target p95 ≤ "
        f"{TARGET * 1000:.0f} ms"
    )
    print(f"{'page':32} {'p50':>9} {'p95':>9}  {'baseline':28} {'p50':>9} {'p95':>9}  met")
    for what, (p50, p95), base, figures in rows:
        b = f"{figures[0] * 1000:8.2f}ms {figures[1] * 1000:8.2f}ms" if figures else ""
        print(
            f"{what:32} {p50 * 1000:7.2f}ms {p95 * 1000:7.2f}ms  {base:28} {b:20}  "
            f"{'yes' if p95 <= TARGET else 'NO'}"
        )


def main() -> None:
    """Parse --quick and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 applicants")
    args = parser.parse_args()
    asyncio.run(run(QUICK if args.quick else FULL))


if __name__ == "__main__":
    main()
