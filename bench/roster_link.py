"""Linking at import and the links sheet, at the list's size: prints a table, asserts nothing.

    python -m bench.roster_link [--rows 200000] [--users 100000] [--verified 10000]

A fresh database gets ``--rows`` people on the list and ``--users`` consenting applicants, of
whom ``--verified`` shared their own contact with a mobile that is on the list (and as many
again typed one that is). Measured: finding the import's matches, linking them all
(``link_verified_users``: dates, steps, check-in plan, one queued message each), and writing
the links sheet of everyone still to invite.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import tempfile
import time
from pathlib import Path

from bot.content.loader import default_content_path, load_content
from bot.core.i18n import load_i18n
from bot.db.engine import Database
from bot.repo.roster import RosterRepo
from bot.roster.linking import link_verified_users
from bot.roster.model import RosterRecord
from bot.roster.personal_links import LinkSheet, write_links

NOW = 1_795_939_200  # 2026-11-29 08:00 UTC
COUNTIES = ("karaj", "fardis", "nazarabad", "savojbolagh", "eshtehard", "taleqan", "chaharbagh")
FIELDS = ("handicrafts", "textiles_clothing", "food", "services", "other")


def _code(n: int) -> str:
    """A valid national code for number n (the check digit computed)."""
    body = f"{n:09d}"
    total = sum(int(d) * (10 - i) for i, d in enumerate(body))
    rest = total % 11
    return body + str(rest if rest < 2 else 11 - rest)


def _mobile(n: int) -> str:
    """A distinct stored mobile for number n."""
    return f"+98912{n:07d}"


async def _seed(db: Database, rows: int, users: int, verified: int) -> None:
    """The list, then applicants: ``verified`` with a listed mobile shared as their contact,
    ``verified`` more with a listed mobile typed, the rest not on the list."""
    records = (
        RosterRecord(
            _code(n), f"نفر {n}", _mobile(n), COUNTIES[n % len(COUNTIES)], FIELDS[n % len(FIELDS)],
            "2025-03-01", "2025-06-01" if n % 3 else None,
        )
        for n in range(rows)
    )  # fmt: skip
    await RosterRepo(db).add_many(records, now=NOW)
    people = []
    for n in range(users):
        on_list = n < 2 * verified
        mobile = _mobile(n) if on_list else f"+98935{n:07d}"
        people.append(
            ("telegram", 10_000 + n, 10_000 + n, NOW, "fa", mobile, int(n < verified), NOW, NOW)
        )
    async with db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO users (platform, user_id, chat_id, consent_at, lang, mobile, "
            "mobile_verified, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            people,
        )


def _rss_mb() -> float:
    """Peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(rows: int, users: int, verified: int) -> None:
    """Seed, measure, print."""
    content, i18n = load_content(default_content_path()), load_i18n()
    with tempfile.TemporaryDirectory(prefix="homebiz-bench-") as tmp:
        db = await Database.open(Path(tmp) / "roster.sqlite3")
        try:
            began = time.perf_counter()
            await _seed(db, rows, users, verified)
            seeded = time.perf_counter() - began

            began = time.perf_counter()
            matches = await RosterRepo(db).verified_matches()
            matched = time.perf_counter() - began

            began = time.perf_counter()
            linked = await link_verified_users(db, NOW, content=content, i18n=i18n)
            linking = time.perf_counter() - began

            began = time.perf_counter()
            sheet = LinkSheet({"bale": "homebiz_bot", "telegram": "homebiz_bot"}, "bale")
            buffer = io.BytesIO()
            pages = RosterRepo(db).to_invite()
            listed, too_long = await write_links(
                buffer, pages, sheet, content=content, i18n=i18n
            )
            written = time.perf_counter() - began
        finally:
            await db.close()
    print(f"list {rows:,} rows, {users:,} applicants, {verified:,} verified on the list")
    print(f"{'step':<44}{'result':>16}{'seconds':>10}")
    print(f"{'seed (not part of the work)':<44}{'':>16}{seeded:>10.2f}")
    print(f"{'verified_matches (the import query)':<44}{len(matches):>16,}{matched:>10.3f}")
    per = linking / max(len(linked), 1) * 1000
    print(f"{'link_verified_users (all of them)':<44}{len(linked):>16,}{linking:>10.2f}")
    print(f"{'  per person linked (ms)':<44}{'':>16}{per:>10.2f}")
    size = f"{listed:,} / {buffer.tell() / 1e6:.1f} MB"
    print(f"{'to_invite + links sheet (people / size)':<44}{size:>16}{written:>10.2f}")
    print(f"{'SMS texts longer than one segment':<44}{too_long:>16,}")
    print(f"{'peak RSS (MB)':<44}{_rss_mb():>16.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--verified", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.users, args.verified))
