"""Invitations at the size of a national list: counting, queueing everyone, the sweep's reminders,
and the Safir sender's own overhead against the in-process fake Safir.

    python -m bench.invitations [--people 200000] [--sends 2000]

Prints one table; no figure is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from pathlib import Path

from bot.core.clock import ManualClock
from bot.core.config import SafirSettings, Settings
from bot.entry.services import Services
from bot.messengers.pacer import Limits
from bot.messengers.safir import SafirClient
from bot.repo.invitations import InvitationRepo, SafirOutboxRepo
from bot.repo.roster import RosterRepo
from bot.roster.model import RosterRecord
from bot.rules.followup import policy_from
from scheduler import invitations
from scheduler.safir_sender import SafirSender
from tests.support.safir_server import SafirServer

START = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)  # 11:30 in Tehran, a Sunday
COUNTIES = ("karaj", "fardis", "nazarabad", "savojbolagh")
KEY = "bench-safir-key-000"


def _code(n: int) -> str:
    """A valid national code from a number."""
    body = f"{n:09d}"
    rem = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rem if rem < 2 else 11 - rem)


def _people(count: int) -> list[RosterRecord]:
    """``count`` people on the list, spread over four counties, with loan dates."""
    return [
        RosterRecord(
            _code(n), f"نفر {n}", f"+98912{n:07d}", COUNTIES[n % 4], None, None, "2026-01-01"
        )
        for n in range(1, count + 1)
    ]


class Timer:
    """Wall time of every call of a coroutine function, for the longest one."""

    def __init__(self) -> None:
        """No calls yet."""
        self.times: list[float] = []

    def wrap(self, target: object, name: str) -> None:
        """Time ``target.name`` from now on."""
        inner = getattr(target, name)

        async def timed(*args: object, **kwargs: object) -> object:
            began = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.times.append(time.perf_counter() - began)

        setattr(target, name, timed)


async def run(people: int, sends: int) -> list[tuple[str, str]]:
    """Every measurement, as (what, figure) rows."""
    rows: list[tuple[str, str]] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-invite-"))
    clock = ManualClock(START)
    safir = SafirSettings(api_key=KEY, bot_id=1, url="http://127.0.0.1:9")
    settings = Settings(db_path=folder / "bench.sqlite3", safir=safir)
    svc = await Services.open(settings, clock=clock)
    try:
        roster = RosterRepo(svc.db)
        began = time.perf_counter()
        records = _people(people)
        for i in range(0, people, 20_000):
            await roster.add_many(records[i : i + 20_000], now=clock.timestamp())
        rows.append((f"list of {people:,} written", f"{time.perf_counter() - began:.1f} s"))

        repo = InvitationRepo(svc.db)
        for county in (None, "karaj"):
            began = time.perf_counter()
            counts = await repo.counts(county)
            spent = (time.perf_counter() - began) * 1e3
            rows.append((f"counts ({county or 'whole list'})", f"{spent:.0f} ms"))
        assert counts.eligible == people // 4

        timer = Timer()
        original = InvitationRepo.queue_invitations
        timer.wrap(InvitationRepo, "queue_invitations")  # each chunk's transaction
        try:
            began = time.perf_counter()
            queued = await invitations.queue_invitations(svc, None, people)
            total = time.perf_counter() - began
        finally:
            InvitationRepo.queue_invitations = original  # type: ignore[method-assign]
        rows.append((f"queue {queued:,} invitations", f"{total:.1f} s"))
        rows.append(
            (
                f"  longest transaction ({len(timer.times)} chunks of {invitations.CHUNK:,})",
                f"{max(timer.times) * 1e3:.0f} ms",
            )
        )

        await svc.db.execute(
            "UPDATE roster SET invited_at = ?, invited_via = 'safir'", (clock.timestamp(),)
        )
        await svc.db.execute("UPDATE outbox SET status = 'sent'")
        clock.advance(days=6)
        began = time.perf_counter()
        await invitations.sweep(svc)
        rows.append(("sweep, nobody due yet", f"{(time.perf_counter() - began) * 1e3:.1f} ms"))
        clock.advance(days=1)
        began = time.perf_counter()
        report = await invitations.sweep(svc)
        rows.append(
            (
                f"sweep: {report.reminders:,} reminders queued (of {people:,} due)",
                f"{(time.perf_counter() - began) * 1e3:.0f} ms",
            )
        )
        began = time.perf_counter()
        await invitations.sweep(svc, clock.now() + dt.timedelta(minutes=1))
        spent = (time.perf_counter() - began) * 1e3
        rows.append(("  the next sweep (queue full)", f"{spent:.1f} ms"))
        await svc.db.execute("UPDATE outbox SET status = 'sent' WHERE kind = 'safir_reminder'")
        await svc.db.execute(
            "UPDATE roster SET reminded_at = ? WHERE id IN (SELECT chat_id FROM outbox "
            "WHERE kind = 'safir_reminder')",
            (clock.timestamp(),),
        )
        began = time.perf_counter()
        report = await invitations.sweep(svc, clock.now() + dt.timedelta(minutes=2))
        rows.append(
            (
                f"  after those were sent: {report.reminders:,} more",
                f"{(time.perf_counter() - began) * 1e3:.0f} ms",
            )
        )

        await svc.db.execute(
            "UPDATE roster SET invited_at = NULL, invited_via = NULL, reminded_at = NULL"
        )
        await svc.db.execute("DELETE FROM outbox")
        await invitations.queue_invitations(svc, None, sends)
        async with SafirServer(api_key=KEY, bot_id=1) as server:
            client = SafirClient(KEY, 1, url=server.url)
            sender = SafirSender(
                client,
                SafirOutboxRepo(svc.db),
                clock,
                texts=svc.i18n,
                username="homebiz_bot",
                policy=policy_from(svc.content.schedule),
                limits=Limits.unlimited(),
            )
            try:
                began = time.perf_counter()
                await sender.drain_once()
                spent = time.perf_counter() - began
            finally:
                await client.close()
        rows.append(
            (
                f"sender: {len(server.delivered):,} sent, unpaced, fake Safir in-process",
                f"{len(server.delivered) / spent:,.0f} /s",
            )
        )
    finally:
        await svc.close()
    return rows


def main() -> None:
    """Parse the sizes, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--sends", type=int, default=2_000)
    args = parser.parse_args()
    rows = asyncio.run(run(args.people, args.sends))
    width = max(len(what) for what, _ in rows)
    for what, figure in rows:
        print(f"{what:<{width}}  {figure:>10}")


if __name__ == "__main__":
    main()
