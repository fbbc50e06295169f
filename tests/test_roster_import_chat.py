"""Roster import in the chat: a staff member's file → dry run and rejected rows → confirm or
discard; applicants' files answered as before; /roster's words; Bot API file limits."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.repo.roster_imports import RosterImportRepo
from bot.repo.staff import StaffRepo
from bot.roster.model import COLUMNS
from tests.conftest import Bot
from tests.support.spreadsheets import write_csv, write_excel_like
from tests.support.stores import Store
from tests.test_onboarding import onboard
from tests.test_roster_import import MERGES, REZA, ZAHRA, messy_rows

ADMIN, STAFF, APPLICANT = 1, 2, 501
ONE_ROW = [["National code", "Name", "Mobile"], [ZAHRA.national_code, "Zahra", "09121234567"]]


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin (from the settings) and a staff member the admin added."""
    instance = Bot(
        db_path=tmp_path / "desk.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    await StaffRepo(instance.svc.db).add("telegram", STAFF, "staff", ADMIN, 0)
    yield instance
    await instance.stop()


def _t(bot: Bot, lang: str, key: str, **values: object) -> str:
    """A text as the bot says it."""
    return bot.svc.i18n.t(lang, f"roster_import.{key}", **values)


def _sent_file(bot: Bot, message: object) -> bytes:
    """The bytes of a document the bot sent."""
    record = bot.emulator.files[message.file["file_id"]]  # type: ignore[attr-defined]
    assert record.content is not None
    return record.content


async def _count(bot: Bot, table: str) -> int:
    """Rows in a table."""
    row = await bot.svc.db.fetchone(f"SELECT COUNT(*) FROM {table}")
    return int(row[0]) if row else -1


async def _roster(bot: Bot) -> list[tuple[object, ...]]:
    """The roster's rows (the template's columns), by national code."""
    rows = await bot.svc.db.fetchall(
        f"SELECT {', '.join(COLUMNS)} FROM roster ORDER BY national_code"
    )
    return [tuple(r) for r in rows]


async def test_a_messy_file_dry_run_rejected_rows_then_the_valid_rows(
    desk: Bot, tmp_path: Path
) -> None:
    """A staff member sends the messy workbook: the figures, the names not found and the first
    problems with two buttons (the valid rows only / discard), then the rejected rows' file;
    nothing is stored until the press, then exactly the two valid rows."""
    me = desk.client(STAFF, lang="en")
    book = write_excel_like(tmp_path / "list.xlsx", messy_rows(excel=True), merges=MERGES)
    replies = await me.send_document("فهرست البرز.xlsx", book.read_bytes())
    assert [r.kind for r in replies] == ["text", "text", "document"]
    assert replies[0].content == _t(desk, "en", "reading")
    summary = replies[1].content
    assert "Rows read: 9" in summary and "new: 2" in summary and "rejected: 7" in summary
    assert "Counties the bot does not know: تهران (1)" in summary
    assert "• row 7, National code: the same national code as row 4" in summary
    assert _t(desk, "en", "rejected_advice", rejected=7, valid=2) in summary
    partial, drop = _t(desk, "en", "button.partial", valid=2), _t(desk, "en", "button.discard")
    assert me.buttons == [partial, drop]
    assert replies[2].content == _t(desk, "en", "rejected.caption")
    table = load_workbook(io.BytesIO(_sent_file(desk, replies[2]))).worksheets[0]
    rows = [[c.value for c in row] for row in table.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == [7, 8, 8, 9, 9, 10, 10, 12, 13, 14]
    assert rows[-1] == [14, "Loan amount (rials)", "not a whole number of rials", "12.5"]
    assert await _roster(desk) == []

    await me.press(partial)
    assert me.last.startswith(_t(desk, "en", "committed", new=2, updated=0, unchanged=0))
    assert _t(desk, "en", "left_out", rejected=7) in me.last
    # the dry run's message: its buttons gone, what became of it below
    edited = next(m for m in me.messages if m.message_id == replies[1].message_id)
    assert edited.inline_buttons() == [] and summary in edited.content
    assert await _roster(desk) == [ZAHRA.values(), REZA.values()]
    assert await _count(desk, "roster_import_rows") == 0
    actions = [e.action for e in await StaffRepo(desk.svc.db).latest(5)]
    assert actions[:2] == ["roster_import", "roster_dry_run"]

    await me.press_data("rimp:part:1", edited.message_id)  # a second press
    assert me.last_query is not None and me.last_query.answer["text"] == _t(desk, "en", "closed")
    assert me.last == _t(desk, "en", "closed")
    assert await _count(desk, "roster") == 2


async def test_a_clean_csv_confirmed_in_persian(desk: Bot, tmp_path: Path) -> None:
    """A clean CSV: the figures and Import / Discard; Import stores it, in Persian words."""
    me = desk.client(ADMIN, lang="fa")
    header = ["کد ملی", "نام و نام خانوادگی", "تلفن همراه", "شهرستان", "رشته"]
    rows = [header, [ZAHRA.national_code, "زهرا احمدی", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "کرج", "handicrafts"]]
    path = write_csv(tmp_path / "list.csv", rows)
    replies = await me.send_document("list.csv", path.read_bytes())
    assert [r.kind for r in replies] == ["text", "text"]  # no rejected rows, no file
    assert "➕ تازه: ۱" in replies[1].content
    assert me.buttons == [_t(desk, "fa", "button.confirm"), _t(desk, "fa", "button.discard")]
    await me.press(_t(desk, "fa", "button.confirm"))
    assert me.last == _t(desk, "fa", "committed", new=1, updated=0, unchanged=0)
    assert await _count(desk, "roster") == 1

    replies = await me.send_document("list.csv", path.read_bytes())  # the same file again
    assert _t(desk, "fa", "nothing_to_do") in replies[-1].content
    assert replies[-1].inline_buttons() == []
    assert await _count(desk, "roster_import_rows") == 0  # nothing left waiting


async def test_an_import_links_people_who_shared_their_own_mobile(
    desk: Bot, tmp_path: Path
) -> None:
    """A bot user who shared this very mobile as their own contact is linked when the list
    comes in (bot.roster.linking), and the staff member is told how many were."""
    me = desk.client(601, lang="fa")
    await me.send("/start")
    await me.press("فارسی")
    await me.press("priv:yes")
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567")
    staff = desk.client(STAFF, lang="en")
    path = write_csv(tmp_path / "list.csv", ONE_ROW)
    await staff.send_document("list.csv", path.read_bytes())
    await staff.press(_t(desk, "en", "button.confirm"))
    assert _t(desk, "en", "linked", linked=1) in staff.last
    user = await desk.svc.users.find("telegram", 601)
    row = await desk.svc.db.fetchone(
        "SELECT user_pk, linked_via FROM roster WHERE national_code = ?", (ZAHRA.national_code,)
    )
    assert user is not None and row is not None and tuple(row) == (user.id, "import")
    audit = (await StaffRepo(desk.svc.db).latest(1, action="roster_import"))[0]
    assert audit.detail["linked"] == 1


async def test_discard_stores_nothing(desk: Bot, tmp_path: Path) -> None:
    """Discard: nothing in the roster, the staged rows gone, the decision audited."""
    me = desk.client(STAFF, lang="en")
    path = write_csv(tmp_path / "list.csv", ONE_ROW)
    await me.send_document("list.csv", path.read_bytes())
    await me.press(_t(desk, "en", "button.discard"))
    assert me.last.endswith(_t(desk, "en", "discarded"))
    assert await _count(desk, "roster") == 0
    assert await _count(desk, "roster_import_rows") == 0
    assert (await StaffRepo(desk.svc.db).latest(1))[0].action == "roster_discard"
    imports = await RosterImportRepo(desk.svc.db).get(1)
    assert imports is not None and imports.status == "discarded"


async def test_applicants_files_are_answered_as_before(desk: Bot, tmp_path: Path) -> None:
    """An applicant's spreadsheet at the menu gets the answer any file gets there (no import,
    nothing recorded); in a question to staff it still goes to the staff as before."""
    me = await onboard(desk, APPLICANT, lang="en")
    path = write_csv(tmp_path / "list.csv", ONE_ROW)
    replies = await me.send_document("list.csv", path.read_bytes())
    assert replies[0].content.startswith(desk.svc.i18n.t("en", "errors.unexpected_media"))
    assert await _count(desk, "roster_imports") == 0
    assert await StaffRepo(desk.svc.db).latest(5, action="denied") == []

    await me.press("💬 Ask a question")
    await me.send_document("list.csv", path.read_bytes())
    assert "question no. 1" in me.last
    assert await _count(desk, "roster_imports") == 0
    row = await desk.svc.db.fetchone("SELECT kind FROM ticket_messages WHERE direction = 'in'")
    assert row is not None and row[0] == "document"


async def test_files_the_bot_cannot_take(desk: Bot) -> None:
    """Too big for the Bot API, an old .xls, a PDF: each gets its own polite answer."""
    me = desk.client(STAFF, lang="en")
    replies = await me.send_document("big.xlsx", b"PK\x03\x04", size=25 * 2**20)
    assert replies[-1].content == _t(desk, "en", "too_big", size="25", mb=20)
    replies = await me.send_document("old.xls", b"\xd0\xcf\x11\xe0")
    assert replies[-1].content == _t(desk, "en", "unreadable.xls")
    replies = await me.send_document("report.pdf")
    assert replies[-1].content == _t(desk, "en", "not_spreadsheet")
    replies = await me.send_document("list.xlsx", b"PK\x03\x04 not a workbook")
    assert replies[-1].content == _t(desk, "en", "unreadable.not_xlsx")
    assert await _count(desk, "roster_imports") == 0


async def test_getfile_refuses_what_the_bot_api_refuses(desk: Bot) -> None:
    """A file the messenger reports under the limit but getFile refuses as too big."""
    me = desk.client(STAFF, lang="en")
    update = desk.emulator.user_document(STAFF, "list.csv", b"a,b", enqueue=False)
    file_id = update["message"]["document"]["file_id"]
    desk.emulator.files[file_id].size = 21 * 2**20  # what getFile sees
    replies = await me._run(update)
    assert replies[-1].content == _t(desk, "en", "too_big", size="1", mb=20)


async def test_roster_words_and_the_template(desk: Bot) -> None:
    """/roster alone or with an unknown word lists its words; /roster template sends the
    workbook; /roster import says how; applicants see an unknown command."""
    me = desk.client(STAFF, lang="en")
    listing = [
        desk.svc.i18n.t("en", "roster.usage"),
        desk.svc.i18n.t("en", "roster.help.template"),
        desk.svc.i18n.t("en", "roster.help.import"),
    ]
    for text in ("/roster", "/roster frobnicate", "/ROSTER Nonsense 1"):
        replies = await me.send(text)
        lines = replies[-1].content.split("\n")
        assert all(line in lines for line in listing), text
    replies = await me.send("/roster template")
    assert replies[-1].kind == "document"
    book = load_workbook(io.BytesIO(_sent_file(desk, replies[-1])))
    assert book.worksheets[0]["A1"].value == "National code"
    replies = await me.send("/roster import")
    assert replies[-1].content == _t(desk, "en", "ask_file", mb=20)

    applicant = await onboard(desk, APPLICANT, lang="en")
    replies = await applicant.send("/roster template")
    assert replies[0].content.startswith(desk.svc.i18n.t("en", "errors.unknown_command"))


async def test_a_member_limited_to_counties_cannot_import(desk: Bot, tmp_path: Path) -> None:
    """As in the console: a scoped member's file, /roster import and a dry run's Import button
    (pressed after the scope was set) are refused with the reason; nothing is staged or stored."""
    header = ["کد ملی", "نام و نام خانوادگی", "تلفن همراه", "شهرستان", "رشته"]
    rows = [header, [ZAHRA.national_code, "زهرا احمدی", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "کرج", "handicrafts"]]
    path = write_csv(tmp_path / "list.csv", rows)
    me = desk.client(STAFF, lang="en")
    await me.send_document("list.csv", path.read_bytes())  # a dry run while unscoped
    await StaffRepo(desk.svc.db).set_scope("telegram", STAFF, ["karaj"])
    await me.press(_t(desk, "en", "button.confirm"))
    refusal = _t(desk, "en", "scoped")
    assert me.last == refusal
    assert await _count(desk, "roster") == 0
    replies = await me.send_document("list.csv", path.read_bytes())
    assert [r.content for r in replies] == [refusal]
    assert (await me.send("/roster import"))[-1].content == refusal
    assert await _count(desk, "roster") == 0
