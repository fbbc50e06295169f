"""County scope in the chat: a scoped staff member's /stats, /export and /roster stats cover
their counties only (and say so); unscoped members and admins see every county."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.support.overview_seed import seed_applicants
from tests.support.roster_cohort import seed_roster
from tests.support.stores import Store

ADMIN, SCOPED, ALL = 1, 2, 3


@pytest.fixture
async def desk(
    tmp_path: Path, clock: ManualClock, store: Store
) -> AsyncIterator[tuple[Bot, dict[str, int]]]:
    """A bot with an admin, a Karaj-and-Fardis staff member and an unscoped one; the seeded
    applicants (their users.id by key)."""
    bot = Bot(db_path=tmp_path / "s.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)}))
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    await staff.add("telegram", SCOPED, "staff", ADMIN, 0)
    await staff.add("telegram", ALL, "staff", ADMIN, 0)
    await staff.set_scope("telegram", SCOPED, ["karaj", "fardis"])
    ids = await seed_applicants(bot.svc.db)
    yield bot, ids
    await bot.stop()


def _files(bot: Bot, chat: int) -> dict[str, bytes]:
    """Files the bot sent to a chat, by name (an album's documents, or a zip's contents)."""
    out: dict[str, bytes] = {}
    for message in bot.emulator.bot_messages(chat):
        if message.kind != "document":
            continue
        record = bot.emulator.files[message.file["file_id"]]
        if record.filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(record.content)) as bundle:
                out.update({name: bundle.read(name) for name in bundle.namelist()})
        else:
            out[record.filename] = record.content
    return out


def _csv(data: bytes) -> list[dict[str, str]]:
    """A CSV file's rows."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_a_scoped_members_stats_cover_their_counties(
    desk: tuple[Bot, dict[str, int]],
) -> None:
    """The header names the counties; the figures count their people only; no other county
    is listed; an unscoped member's report is the whole one, with no such line."""
    bot, _ids = desk
    text = (await bot.client(SCOPED, lang="en").send("/stats"))[0].content
    lines = text.splitlines()
    assert lines[2] == "📍 Only your counties: Karaj, Fardis"
    assert "👥 Applicants: 6" in lines  # 4 in Karaj, 2 in Fardis
    assert "• Karaj: 4" in lines and "• Fardis: 2" in lines
    assert not any(name in text for name in ("Nazarabad", "Taleqan", "evil"))
    whole = (await bot.client(ALL, lang="en").send("/stats"))[0].content
    assert "Only your counties" not in whole and "👥 Applicants: 8" in whole
    admin = (await bot.client(ADMIN, lang="en").send("/stats"))[0].content
    assert "👥 Applicants: 8" in admin


async def test_a_scoped_members_export_holds_their_counties_rows(
    desk: tuple[Bot, dict[str, int]],
) -> None:
    """Every table of the export keeps the rows of Karaj and Fardis people only; the audit log
    records the counties."""
    bot, _ids = desk
    await bot.client(SCOPED).send("/export")
    files = _files(bot, SCOPED)
    applicants = _csv(next(v for k, v in files.items() if k.endswith("-applicants.csv")))
    assert len(applicants) == 6
    tables = {k.rsplit("-", 1)[-1]: _csv(v) for k, v in files.items() if k.endswith(".csv")}
    steps = tables["steps.csv"]
    assert len(steps) == 2  # p4's and p7's; not p6's in Nazarabad
    followups = tables["followups.csv"]
    assert len(followups) == 4  # p2, p3, p5 (its expiry) and p7
    checkins = tables["checkins.csv"]
    assert len(checkins) == 4  # p1, p2, p3, p5; not p8 in the other county
    book = load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    assert book.worksheets[0].max_row == 1 + 6
    (entry,) = [e for e in await StaffRepo(bot.svc.db).latest() if e.action == "export_taken"]
    assert entry.detail["counties"] == ["fardis", "karaj"]


async def test_an_unscoped_members_export_holds_everyone(
    desk: tuple[Bot, dict[str, int]],
) -> None:
    """Staff without counties (like admins) get every row."""
    bot, _ids = desk
    await bot.client(ALL).send("/export")
    files = _files(bot, ALL)
    applicants = _csv(next(v for k, v in files.items() if k.endswith("-applicants.csv")))
    assert len(applicants) == 8
    (entry,) = [e for e in await StaffRepo(bot.svc.db).latest() if e.action == "export_taken"]
    assert "counties" not in entry.detail


async def test_a_scoped_members_roster_figures_and_sheet(
    desk: tuple[Bot, dict[str, int]],
) -> None:
    """/roster stats and the export's list sheet keep the member's counties' rows of the list."""
    bot, _ids = desk
    await seed_roster(bot.svc.db)
    await StaffRepo(bot.svc.db).set_scope("telegram", SCOPED, ["karaj"])
    said = "\n".join(m.content for m in await bot.client(SCOPED).send("/roster stats"))
    assert "فردیس" not in said and "کرج" in said
    await bot.client(SCOPED).send("/export")
    files = _files(bot, SCOPED)
    roster = _csv(next(v for k, v in files.items() if k.endswith("-roster.csv")))
    assert len(roster) == 8  # the list's Karaj rows: a1 a2 a5 a6 b1 b2 c1 e1
