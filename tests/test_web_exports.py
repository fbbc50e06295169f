"""The console's /exports: the workbook, the CSV tables in a zip and the chart, streamed as
downloads for the member's counties, left nowhere on disk, and recorded in the audit log."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.repo.staff import StaffRepo
from bot.staffdesk.export_sheets import SHEET_NAMES
from tests.conftest import Bot, wait_until
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.overview_seed import seed_applicants
from tests.support.stores import Store

ADMIN = 500
STAFFER = 501  # limited to Karaj
STAMP = "homebiz-1405-09-08"


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Desk]:
    """A bot with an admin and a Karaj-only staff member, the seeded applicants, the console."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WEB,
    )
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    await staff.add("telegram", STAFFER, "staff", ADMIN, clock.timestamp())
    await staff.set_scope("telegram", STAFFER, ["karaj"])
    await seed_applicants(bot.svc.db)
    async with open_desk(bot) as console:
        yield console
    await bot.stop()


async def _download(desk: Desk, kind: str) -> tuple[dict[str, str], bytes]:
    """POST /exports/<kind> with the session's form token: the headers and the file."""
    response = await desk.http.post(f"/exports/{kind}", data={"_csrf": desk.csrf})
    body = await response.read()
    assert response.status == 200, body[:300]
    return dict(response.headers), body


def _leftovers() -> list[str]:
    """Export folders left in the temporary directory."""
    return [p.name for p in Path(tempfile.gettempdir()).glob("homebiz-web-export-*")]


async def test_the_page_says_which_counties(desk: Desk) -> None:
    """The page offers the three downloads as forms with the token, naming the member's scope."""
    await sign_in(desk, STAFFER)
    page = await desk.get("/exports")
    for kind in ("xlsx", "csv", "chart"):
        assert f'action="/exports/{kind}"' in page
    assert 'name="_csrf"' in page and "کرج" in page and "کد ملی" in page


async def test_a_scoped_member_downloads_their_counties_workbook(desk: Desk) -> None:
    """The workbook holds the Karaj applicants only, as an attachment with the bot's file name;
    nothing stays on disk; the audit log says who took it, from the console."""
    before = _leftovers()
    await sign_in(desk, STAFFER)
    headers, body = await _download(desk, "xlsx")
    assert headers["Content-Disposition"] == f'attachment; filename="{STAMP}.xlsx"'
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(body))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    county = rows[0].index("شهرستان")
    assert {r[county] for r in rows[1:]} == {"کرج"} and len(rows) == 1 + 4
    # the handler removes its folder just after the last byte: the client may read first
    await wait_until(lambda: _leftovers() == before, "the export folder to be removed")
    (entry,) = [e for e in await StaffRepo(desk.bot.svc.db).latest() if e.action == "export_taken"]
    assert entry.actor == STAFFER
    assert entry.detail == {
        "format": "xlsx",
        "files": [f"{STAMP}.xlsx"],
        "via": "web",
        "counties": ["karaj"],
    }


async def test_the_csv_tables_come_in_one_zip(desk: Desk) -> None:
    """An admin (every county) gets one CSV per table in a zip, Excel's BOM first."""
    await sign_in(desk, ADMIN)
    headers, body = await _download(desk, "csv")
    assert headers["Content-Disposition"] == f'attachment; filename="{STAMP}.zip"'
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        names = sorted(bundle.namelist())
        assert names == sorted(f"{STAMP}-{name}.csv" for name in SHEET_NAMES)
        data = bundle.read(f"{STAMP}-applicants.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 8  # every applicant, of every county


async def test_the_chart_is_a_png(desk: Desk) -> None:
    """The /stats chart of the member's counties."""
    await sign_in(desk, STAFFER)
    headers, body = await _download(desk, "chart")
    assert headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")
    assert headers["Content-Disposition"] == f'attachment; filename="{STAMP}.png"'


async def test_downloads_need_a_session_and_the_form_token(desk: Desk) -> None:
    """No session: nothing; a session without the form token: refused; an unknown kind: 404."""
    response = await desk.http.post("/exports/xlsx")
    assert response.status == 401
    await sign_in(desk, STAFFER)
    response = await desk.http.post("/exports/xlsx", data={"_csrf": "forged"})
    assert response.status == 403
    response = await desk.http.post("/exports/sqlite", data={"_csrf": desk.csrf})
    assert response.status == 404
    assert not [e for e in await StaffRepo(desk.bot.svc.db).latest() if e.action == "export_taken"]
