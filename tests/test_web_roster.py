"""The console's loan list page: upload → dry run with the exact rejected rows → confirm or
discard, nothing written before; history; the template; who may import; county scope; CSRF;
a spreadsheet cell shown as text."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.repo.roster_imports import RosterImportRepo
from bot.repo.staff import StaffRepo
from bot.roster.importer import column_label, problem_text
from bot.roster.model import COLUMNS
from tests.conftest import Bot
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.spreadsheets import national_code, write_csv, write_excel_like
from tests.support.stores import Store
from tests.test_roster_import import MERGES, MESSY_PROBLEMS, REZA, ZAHRA, messy_rows

ADMIN, STAFFER, OTHER, SCOPED = 500, 501, 502, 503
HEADER = ["National code", "Full name", "Mobile", "County", "Field"]
SCRIPT = "<script>alert(1)</script>"
ROW_RE = re.compile(
    r'<tr>\s*<td class="n">([^<]+)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>', re.S
)


@pytest.fixture
async def bot(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin, two staff members and a staff member limited to Karaj."""
    instance = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WEB,
    )
    await instance.start()
    repo = StaffRepo(instance.svc.db)
    for member in (STAFFER, OTHER, SCOPED):
        await repo.add("telegram", member, "staff", ADMIN, clock.timestamp())
    await repo.set_scope("telegram", SCOPED, ["karaj"])
    yield instance
    await instance.stop()


@pytest.fixture
async def desk(bot: Bot) -> AsyncIterator[Desk]:
    """The console, signed in as a staff member who sees every county, in English."""
    async with open_desk(bot) as console:
        await sign_in(console, STAFFER)
        await console.post("/lang", {"lang": "en", "next": "/me"})
        yield console


async def upload(desk: Desk, path: Path, status: int = 200, *, name: str | None = None) -> str:
    """Send a file through the page's form; the page it leads to."""
    form = FormData()
    form.add_field("_csrf", desk.csrf)
    form.add_field("file", path.read_bytes(), filename=name or path.name)
    response = await desk.http.post("/roster/upload", data=form)
    body = await response.text()
    assert response.status == status, body[:600]
    return body


def rejected_rows(page: str) -> list[tuple[str, str, str]]:
    """(row, column, problem) of the rejected rows a page lists."""
    return [(a, b, c) for a, b, c in ROW_RE.findall(page)]


async def roster(bot: Bot) -> list[tuple[object, ...]]:
    """The list's rows (the template's columns), by national code."""
    rows = await bot.svc.db.fetchall(
        f"SELECT {', '.join(COLUMNS)} FROM roster ORDER BY national_code"
    )
    return [tuple(r) for r in rows]


async def count(bot: Bot, table: str) -> int:
    """Rows in a table."""
    row = await bot.svc.db.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else -1


def person(i: int) -> str:
    """A different full name for each number."""
    return f"Person {chr(65 + i % 26)}{chr(97 + i // 26)}"


def clean_csv(tmp_path: Path, rows: int = 2, name: str = "list.csv") -> Path:
    """A list without problems: ``rows`` people in Karaj and Fardis."""
    people = [
        [national_code(100 + i), person(i), f"0912000{i:04d}", ("Karaj", "Fardis")[i % 2],
         "handicrafts"]
        for i in range(rows)
    ]  # fmt: skip
    return write_csv(tmp_path / name, [HEADER, *people])


async def test_a_clean_file_dry_run_then_confirm(desk: Desk, tmp_path: Path) -> None:
    """The dry run's figures, nothing written; Confirm writes the rows and says so; the
    decisions are audited with "via": "web"."""
    page = await upload(desk, clean_csv(tmp_path, 3))
    assert "Import no. 1" in page and "nothing has been written to the list yet" in page
    assert re.search(r'id="n-new">3<', page) and re.search(r'id="n-rejected">0<', page)
    assert 'id="confirm"' in page and "Import into the list" in page
    assert await count(desk.bot, "roster") == 0
    page = await desk.post("/roster/imports/1/confirm")
    assert "Imported into the list: 3 new, 0 updated" in page
    assert 'id="confirm"' not in page and 'id="discard"' not in page
    assert await count(desk.bot, "roster") == 3
    assert await count(desk.bot, "roster_import_rows") == 0
    entries = await StaffRepo(desk.bot.svc.db).latest(5)
    done, dry = entries[0], entries[1]
    assert (done.action, dry.action) == ("roster_import", "roster_dry_run")
    assert done.detail["via"] == dry.detail["via"] == "web" and done.detail["new"] == 3
    assert (done.platform, done.actor) == ("telegram", STAFFER)
    again = await desk.post("/roster/imports/1/confirm", status=409)  # a second press
    assert "no longer open" in again
    assert await count(desk.bot, "roster") == 3


async def test_bad_rows_are_listed_exactly_and_nothing_is_imported_until_confirm(
    desk: Desk, tmp_path: Path
) -> None:
    """The messy workbook: every rejected row with its row, column and reason in the staff
    member's language; nothing in the list; Confirm imports the valid rows only."""
    book = write_excel_like(tmp_path / "list.xlsx", messy_rows(excel=True), merges=MERGES)
    page = await upload(desk, book)
    i18n = desk.bot.svc.i18n
    expected = [
        (str(line), column_label(i18n, "en", column), problem_text(i18n, "en", code, arg))
        for line, column, code, arg in MESSY_PROBLEMS
    ]
    assert rejected_rows(page) == expected
    assert "Import the 2 valid rows only" in page and re.search(r'id="n-rejected">7<', page)
    assert "/roster/imports/1/rejected.xlsx" in page
    assert await roster(desk.bot) == []
    refused = await desk.post("/roster/imports/1/confirm", status=409)  # not the valid rows
    assert "no longer open" in refused and await roster(desk.bot) == []
    page = await desk.post("/roster/imports/1/confirm", {"partial": "1"})
    assert "2 new" in page and "7 rejected rows were left out" in page
    assert await roster(desk.bot) == [ZAHRA.values(), REZA.values()]


async def test_the_rejected_rows_file(desk: Desk, tmp_path: Path) -> None:
    """The rejected rows download as the chat sends them: row, column, problem, cell."""
    book = write_excel_like(tmp_path / "list.xlsx", messy_rows(excel=True), merges=MERGES)
    await upload(desk, book)
    response = await desk.http.get("/roster/imports/1/rejected.xlsx")
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(await response.read())).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == [line for line, *_ in MESSY_PROBLEMS]


async def test_discard_writes_nothing(desk: Desk, tmp_path: Path) -> None:
    """Discard: nothing in the list, the staged rows gone, audited; no confirm afterwards."""
    await upload(desk, clean_csv(tmp_path))
    page = await desk.post("/roster/imports/1/discard")
    assert "Discarded: nothing was written" in page
    assert await count(desk.bot, "roster") == 0
    assert await count(desk.bot, "roster_import_rows") == 0
    entry = (await StaffRepo(desk.bot.svc.db).latest(1))[0]
    assert entry.action == "roster_discard" and entry.detail == {"import": 1, "via": "web"}
    await desk.post("/roster/imports/1/confirm", status=409)
    await desk.post("/roster/imports/1/discard", status=409)
    assert await count(desk.bot, "roster") == 0


async def test_the_same_file_again_has_nothing_to_decide(desk: Desk, tmp_path: Path) -> None:
    """A file the list already holds: "nothing to change", no buttons, nothing left staged."""
    path = clean_csv(tmp_path)
    await upload(desk, path)
    await desk.post("/roster/imports/1/confirm")
    page = await upload(desk, path)
    assert "Nothing to change" in page and 'id="confirm"' not in page
    info = await RosterImportRepo(desk.bot.svc.db).get(2)
    assert info is not None and info.status == "discarded" and info.tally.unchanged == 2


async def test_history_shows_who_when_and_counts(desk: Desk, tmp_path: Path) -> None:
    """Every import, newest first, with its figures; only one's own dry runs open."""
    await upload(desk, clean_csv(tmp_path, 3))
    await desk.post("/roster/imports/1/confirm")
    await upload(desk, clean_csv(tmp_path, 5, "more.csv"))
    page = await desk.get("/roster")
    history = page[page.index('id="history"') :]
    assert history.index('href="/roster/imports/2"') < history.index('href="/roster/imports/1"')
    assert (
        "telegram:501" in history and "imported" in history and "waiting for a decision" in history
    )
    assert "1405/09/08" in history  # Solar Hijri dates
    async with open_desk(desk.bot) as other:
        await sign_in(other, OTHER)
        page = await other.get("/roster")
        assert "/roster/imports/1" not in page  # listed, but not theirs to open
        assert "<td>۱</td>" in page[page.index('id="history"') :]  # in Persian
        await other.get("/roster/imports/2", status=404)
        await other.post("/roster/imports/2/confirm", status=404)
        await other.post("/roster/imports/2/discard", status=404)
        await other.get("/roster/imports/2/rejected.xlsx", status=404)
    assert await count(desk.bot, "roster") == 3


async def test_admins_follow_the_same_rule(desk: Desk, tmp_path: Path) -> None:
    """As in the chat, staff import; a dry run is decided by the one who made it, admin or not."""
    await upload(desk, clean_csv(tmp_path))
    async with open_desk(desk.bot) as admin:
        await sign_in(admin, ADMIN)
        await admin.get("/roster/imports/1", status=404)
        await admin.post("/roster/imports/1/confirm", status=404)
        form = FormData()
        form.add_field("_csrf", admin.csrf)
        form.add_field("file", clean_csv(tmp_path, 4, "admin.csv").read_bytes(), filename="a.csv")
        response = await admin.http.post("/roster/upload", data=form)
        assert response.status == 200 and "ورود شمارهٔ ۲" in await response.text()
    assert await count(desk.bot, "roster") == 0


async def test_the_template_downloads_in_the_staff_members_language(desk: Desk) -> None:
    """An XLSX with the headers in English (the session's language) and the guide sheet."""
    response = await desk.http.get("/roster/template.xlsx")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="roster-template.xlsx"' in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(await response.read()))
    assert [c.value for c in book.worksheets[0][1]][:3] == ["National code", "Full name", "Mobile"]
    assert len(book.worksheets) == 2
    assert 'href="/roster/template.xlsx"' in await desk.get("/roster")


async def test_a_scoped_member_sees_only_their_counties_and_cannot_import(
    desk: Desk, tmp_path: Path
) -> None:
    """Karaj only: no upload form (and a refused upload), no history, the figures of Karaj
    alone; the member who sees every county sees both counties."""
    await upload(desk, clean_csv(tmp_path, 4))
    await desk.post("/roster/imports/1/confirm")
    await desk.bot.svc.db.execute(
        "UPDATE roster SET invited_at = 1,"
        " do_not_contact = CASE WHEN county = 'fardis' THEN 1 ELSE 0 END"
    )
    page = await desk.get("/roster")
    reach = page[page.index('id="reach"') : page.index('id="history"')]
    assert "Karaj" in reach and "Fardis" in reach and "All counties" in reach
    async with open_desk(desk.bot) as scoped:
        await sign_in(scoped, SCOPED)
        page = await scoped.get("/roster")
        assert 'action="/roster/upload"' not in page and 'id="scoped"' in page
        assert 'id="history"' not in page and "/roster/imports/" not in page
        reach = page[page.index('id="reach"') :]
        assert "کرج" in reach and "فردیس" not in reach and "شهرستان‌های شما" in reach
        cells = re.findall(r'<td class="n"[^>]*>([^<\s]+)', reach)
        assert cells[:6] == ["۲", "۲", "۰", "۰", "۰", "۲"]  # Karaj: listed, invited, joined …
        assert cells[6:12] == cells[:6]  # the total is Karaj's, nobody else's
        form = FormData()
        form.add_field("_csrf", scoped.csrf)
        form.add_field("file", clean_csv(tmp_path, 1, "s.csv").read_bytes(), filename="s.csv")
        response = await scoped.http.post("/roster/upload", data=form)
        assert response.status == 403
        await scoped.get("/roster/imports/1", status=404)
        assert "/roster/template.xlsx" in page  # the template holds no one's data
    assert await count(desk.bot, "roster_imports") == 1


async def test_forms_need_the_session_token(desk: Desk, tmp_path: Path) -> None:
    """An upload, a confirm or a discard without this session's token changes nothing."""
    form = FormData()
    form.add_field("_csrf", "forged")
    form.add_field("file", clean_csv(tmp_path).read_bytes(), filename="list.csv")
    response = await desk.http.post("/roster/upload", data=form)
    assert response.status == 403 and await count(desk.bot, "roster_imports") == 0
    await upload(desk, clean_csv(tmp_path))
    good, desk.csrf = desk.csrf, "forged"
    await desk.post("/roster/imports/1/confirm", status=403)
    await desk.post("/roster/imports/1/discard", status=403)
    desk.csrf = good
    await desk.post("/roster/imports/1/confirm", status=403, headers={"Origin": "http://evil.test"})
    info = await RosterImportRepo(desk.bot.svc.db).get(1)
    assert info is not None and info.status == "staged" and await count(desk.bot, "roster") == 0


async def test_a_script_in_a_name_cell_shows_as_text(desk: Desk, tmp_path: Path) -> None:
    """A name cell holding a script tag is a rejected row whose cell shows as typed."""
    rows = [HEADER, [national_code(7), SCRIPT, "09120000007", "Karaj", "handicrafts"]]
    page = await upload(desk, write_csv(tmp_path / "x.csv", rows))
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert rejected_rows(page)[0][:2] == ("2", "Full name")


async def test_many_rejected_rows_are_paged(desk: Desk, tmp_path: Path) -> None:
    """120 rows with a landline: 50 a page, whole rows, in order, to the last."""
    rows = [HEADER] + [
        [national_code(1000 + i), person(i), "021 2222 3333", "Karaj", None] for i in range(120)
    ]
    await upload(desk, write_csv(tmp_path / "bad.csv", rows))
    seen: list[int] = []
    path = "/roster/imports/1"
    while True:
        page = await desk.get(path)
        seen += [int(row) for row, _, _ in rejected_rows(page)]
        found = re.search(r'href="(/roster/imports/1\?after=\d+)#rejected" id="next"', page)
        if found is None:
            break
        path = found.group(1)
    assert seen == list(range(2, 122))
    assert "No row of this file can be imported" in await desk.get("/roster/imports/1")


async def test_files_that_cannot_be_read(desk: Desk, tmp_path: Path) -> None:
    """Wrong kinds and a file without the headers are explained on the page; nothing staged."""
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "only XLSX or CSV" in await upload(desk, text, 400)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    assert "old Excel file (.xls)" in await upload(desk, old, 400)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "could not be opened" in await upload(desk, broken, 400)
    no_header = write_csv(tmp_path / "h.csv", [["a", "b"], ["1", "2"]])
    page = await upload(desk, no_header, 400)
    assert "could not find the column headers" in page
    form = FormData()
    form.add_field("_csrf", desk.csrf)
    response = await desk.http.post("/roster/upload", data=form)
    assert response.status == 400 and "Choose an XLSX or CSV file" in await response.text()
    assert await count(desk.bot, "roster") == 0
    assert await count(desk.bot, "roster_import_rows") == 0


async def test_the_page_in_persian(desk: Desk, tmp_path: Path) -> None:
    """Persian words and digits, right to left, the problems in Persian."""
    await desk.post("/lang", {"lang": "fa", "next": "/roster"})
    rows = [HEADER, [national_code(7), "Ali", "021 2222 3333", "Karaj", None]]
    page = await upload(desk, write_csv(tmp_path / "x.csv", rows))
    assert 'dir="rtl"' in page and "ورود شمارهٔ ۱" in page
    assert rejected_rows(page) == [
        ("۲", "تلفن همراه", problem_text(desk.bot.svc.i18n, "fa", "mobile.landline", None))
    ]
    page = await desk.get("/roster")
    assert "فهرست وام‌گیرندگان" in page and "دریافت الگوی فهرست" in page


async def test_a_long_import_shows_its_progress(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that takes longer than the confirm waits goes on by itself; the page refreshes
    itself while it runs and then shows what was imported."""
    from web.pages import roster as page_module

    monkeypatch.setattr(page_module, "COMMIT_WAIT", 0)
    go_on = asyncio.Event()
    chunks = RosterImportRepo.commit

    async def slow_commit(self: RosterImportRepo, import_id: int, now: int) -> object:
        """The chunks, once the test lets them run."""
        await go_on.wait()
        return await chunks(self, import_id, now)

    monkeypatch.setattr(RosterImportRepo, "commit", slow_commit)
    await upload(desk, clean_csv(tmp_path, 4))
    page = await desk.post("/roster/imports/1/confirm")
    assert "Importing: 0 of 4 rows so far" in page and 'http-equiv="refresh"' in page
    assert 'id="confirm"' not in page
    go_on.set()
    state = desk.http.server.app[page_module.ROSTER]
    for task in list(state.commits.values()):
        await task
    page = await desk.get("/roster/imports/1")
    assert "4 new" in page and 'http-equiv="refresh"' not in page
    assert await count(desk.bot, "roster") == 4


async def test_an_interrupted_import_is_continued(desk: Desk, tmp_path: Path) -> None:
    """A commit cut short by a restart says so and offers to continue; continuing finishes it
    without writing a row twice."""
    await upload(desk, clean_csv(tmp_path, 3))
    repo = RosterImportRepo(desk.bot.svc.db)
    assert await repo.claim(1, "telegram", STAFFER, partial=False) is not None  # then a restart
    page = await desk.get("/roster/imports/1")
    assert "stopped part-way" in page and "Continue the import" in page
    page = await desk.post("/roster/imports/1/confirm")
    assert "3 new" in page and await count(desk.bot, "roster") == 3


async def test_an_import_left_committing_for_a_day_says_so(
    desk: Desk, tmp_path: Path, clock: ManualClock
) -> None:
    """A commit never continued is marked interrupted by the next dry run a day later; its
    page says what that means and offers nothing to press."""
    await upload(desk, clean_csv(tmp_path, 3))
    await RosterImportRepo(desk.bot.svc.db).claim(1, "telegram", STAFFER, partial=False)
    clock.advance(hours=25)
    await desk.get("/me", status=401)  # a session lasts a working day: sign in again
    await sign_in(desk, STAFFER)
    await desk.post("/lang", {"lang": "en", "next": "/me"})
    await upload(desk, clean_csv(tmp_path, 1, "other.csv"))
    page = await desk.get("/roster/imports/1")
    assert "was not continued within a day" in page and 'id="confirm"' not in page
    await desk.post("/roster/imports/1/confirm", status=409)
