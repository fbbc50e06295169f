"""/stats and /export through the real Application: who may, what arrives, what it holds."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.clock import ManualClock
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.test_onboarding import onboard

ADMIN, STAFF = 1, 2


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Bot]:
    """A bot with an admin (from the settings) and a staff member (added by the admin)."""
    instance = Bot(
        db_path=tmp_path / "r.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    await StaffRepo(instance.svc.db).add("telegram", STAFF, "staff", ADMIN, 0)
    yield instance
    await instance.stop()


def _documents(bot: Bot, chat: int) -> dict[str, bytes]:
    """Files the bot sent to a chat, by name."""
    out = {}
    for message in bot.emulator.bot_messages(chat):
        if message.kind == "document":
            record = bot.emulator.files[message.file["file_id"]]
            out[record.filename] = record.content
    return out


async def test_stats_for_staff_with_a_persian_chart(desk: Bot) -> None:
    """Staff get the figures in their language and a PNG chart."""
    for uid in (11, 12, 13):
        await onboard(desk, uid)
    staff = desk.client(STAFF, lang="fa")
    replies = await staff.send("/stats")
    text = replies[0].content
    assert "۳" in text and "3" not in text
    assert "کرج: ۳" in text
    assert replies[-1].kind == "photo"
    upload = desk.emulator.calls_to("sendPhoto")[-1]
    assert upload["photo"]["size"] > 5000


async def test_export_for_admins_only(desk: Bot) -> None:
    """An admin receives the workbook and CSVs; staff and applicants are denied and recorded."""
    await onboard(desk, 21, lang="en")
    staff = desk.client(STAFF, lang="en")
    replies = await staff.send("/export")
    assert "do not know that command" in replies[0].content
    applicant = desk.client(21, lang="en")
    replies = await applicant.send("/export")
    assert "do not know that command" in replies[0].content
    denied = [e for e in await StaffRepo(desk.svc.db).latest() if e.action == "denied"]
    assert {e.actor for e in denied} == {STAFF, 21}
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/export")
    files = _documents(desk, ADMIN)
    names = sorted(files)
    workbooks = [n for n in names if n.endswith(".xlsx")]
    assert len(workbooks) == 1 and "applicants.csv" in names and "tickets.csv" in names
    assert files["applicants.csv"].startswith(b"\xef\xbb\xbf")
    book = load_workbook(io.BytesIO(files[workbooks[0]]))
    ws = book["applicants"]
    header = [c.value for c in ws[1]]
    row = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    stored = await desk.svc.users.find("telegram", 21)
    assert (row["user_id"], row["full_name"], row["mobile"]) == (
        21,
        stored.full_name,
        stored.mobile,
    )
    assert [row[k] for k in ("county", "county_name", "field", "field_name")] == [
        "karaj",
        "Karaj",  # the names in the admin's language
        "handicrafts",
        "Handicrafts and traditional arts",
    ]
    assert "export_taken" in [e.action for e in await StaffRepo(desk.svc.db).latest()]


async def test_figures_count_only_applicants_who_agreed(desk: Bot) -> None:
    """Two applicants, one person who declined, one who stopped at the privacy question and a
    staff member who tried the guide: the figures and the export hold the two applicants."""
    await onboard(desk, 31)
    await onboard(desk, 32)
    declined = desk.client(33, lang="fa")
    await declined.send("/start")
    await declined.press("فارسی")
    await declined.press("موافق نیستم")
    waiting = desk.client(34, lang="fa")
    await waiting.send("/start")
    await waiting.press("فارسی")
    await onboard(desk, STAFF)  # staff try the guide as an applicant would
    stored = await desk.svc.db.fetchone("SELECT COUNT(*) FROM users")
    assert stored[0] == 4  # 31, 32, the one at the privacy question, and the staff member
    staff = desk.client(STAFF, lang="fa")
    lines = (await staff.send("/stats"))[0].content.splitlines()
    assert "👥 کل متقاضیان: ۲" in lines and "• کرج: ۲" in lines
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/export")
    files = _documents(desk, ADMIN)
    book = load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    ws = book["applicants"]
    assert ws.max_row == 1 + 2  # the header and the two applicants
