"""`homebiz migrate --copy-to`: a pilot's SQLite database moves into PostgreSQL whole, and the
bot then serves its people from there; a target with rows, an old file or an unreachable
server are refused with one line and nothing changed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.db.pgcopy as pgcopy
from bot.db.engine import Database, latest_version
from bot.db.open import open_database
from bot.entry.cli import main
from bot.repo.roster import RosterRepo
from tests.conftest import Bot
from tests.support import stores
from tests.support.stores import Store, table_names
from tests.test_invitations import person
from tests.test_migrations import NOW, seed
from tests.test_reliability import hold_write_lock

PASSWORD = "s3cret-not-to-print"


@pytest.fixture
def pg() -> Iterator[Store]:
    """A PostgreSQL store (the source is always SQLite: these tests have no [sqlite] twin)."""
    why = stores.pg_unavailable()
    if why:
        if stores.REQUIRE_PG:
            pytest.fail(f"HOMEBIZ_REQUIRE_PG=1: {why}")
        pytest.skip(why)
    found = Store("pg")
    try:
        yield found
    finally:
        found.drop()


async def seed_pilot(path: Path) -> None:
    """A pilot's file with rows in every table: the migration tests' people, steps, check-ins,
    tickets, broadcasts and outbox, plus the list, an import, the console's logins, sessions,
    uploads, notes and saved replies, and an expired heartbeat."""
    db = await Database.open(path)
    try:
        await seed(db, latest_version())
        await RosterRepo(db).add_many([person(n) for n in range(1, 13)], now=NOW)
        rid = (await db.fetchone("SELECT MIN(id) FROM roster"))[0]
        statements: list[tuple[str, tuple[object, ...]]] = [
            ("UPDATE roster SET user_pk = 1 WHERE id = ?", (rid,)),
            (
                "INSERT INTO roster_imports (id, platform, actor, kind, status, rows_read,"
                " created_at) VALUES (1, 'cli', 0, 'xlsx', 'committed', 2, ?)",
                (NOW,),
            ),
            (
                "INSERT INTO roster_import_rows (import_id, line, ok, national_code, full_name)"
                " VALUES (1, 2, 1, ?, 'نفر ۱'), (1, 3, 0, '12', 'x')",
                (person(1).national_code,),
            ),
            (
                "INSERT INTO roster_import_problems (import_id, line, col, code, value)"
                " VALUES (1, 3, 'national_code', 'checksum', '12')",
                (),
            ),
            (
                "INSERT INTO roster_history (roster_id, import_id, changed_at, changed, mobile)"
                " VALUES (?, 1, ?, 'mobile', '+989120000001')",
                (rid, NOW),
            ),
            (
                "INSERT INTO web_logins (token_hash, platform, user_id, created_at, expires_at)"
                " VALUES ('h1', 'telegram', 1, ?, ?)",
                (NOW, NOW + 600),
            ),
            (
                "INSERT INTO web_sessions (id_hash, platform, user_id, csrf, created_at,"
                " seen_at, idle_until) VALUES ('s1', 'telegram', 1, 'c', ?, ?, ?)",
                (NOW, NOW, NOW + 86_400),
            ),
            ("INSERT INTO staff_counties VALUES ('telegram', 42, 'karaj')", ()),
            (
                "INSERT INTO broadcast_files (platform, created_by, created_at, kind, name,"
                " mime, size, data, broadcast_id) VALUES ('telegram', 1, ?, 'photo', 'a.png',"
                " 'image/png', 4, ?, 1)",
                (NOW, b"\x89PNG"),
            ),
            ("INSERT INTO broadcast_file_ids VALUES (1, 'telegram', 'AgAD')", ()),
            (
                "INSERT INTO ticket_notes (ticket_id, platform, author_id, text, at)"
                " VALUES (1, 'telegram', 42, 'پیگیری شد', ?)",
                (NOW,),
            ),
            (
                "INSERT INTO saved_replies (title, body, updated_platform, updated_by,"
                " updated_at) VALUES ('مدارک', 'کارت ملی', 'telegram', 42, ?)",
                (NOW,),
            ),
            (  # the webhook inbox's tables: PostgreSQL's, empty on a pilot; copied all the same
                "INSERT INTO updates_inbox (platform, update_id, chat_key, body, received_at,"
                " done_at) VALUES ('telegram', 900, 501, '', ?, ?)",
                (NOW * 1000, NOW * 1000),
            ),
            (
                "INSERT INTO chat_turns (platform, chat_key, owner, lease_until)"
                " VALUES ('telegram', 501, 'gone', ?)",
                (NOW * 1000,),
            ),
            (  # the shared send budget: PostgreSQL's, empty on a pilot; copied all the same
                "INSERT INTO send_slots (platform, slot, busy_until, holder)"
                " VALUES ('telegram', 1, 0, NULL)",
                (),
            ),
            (
                "INSERT INTO senders (platform, owner, started_at, seen_at, live_until)"
                " VALUES ('telegram', 'old', ?, ?, ?)",
                (NOW - 90, NOW - 60, NOW - 30),
            ),
        ]
        for sql, params in statements:
            await db.execute(sql, params)
    finally:
        await db.close()


def copy_cli(source: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `homebiz --db SOURCE migrate --copy-to URL` in this process; status, out, err."""
    status = main(["--db", str(source), "migrate", "--copy-to", url])
    out, err = capsys.readouterr()
    return status, out, err


async def rows_of(url: str) -> dict[str, int]:
    """Rows per table of the database at ``url`` (no migration)."""
    db = await open_database(url, migrate=False)
    try:
        return {
            t: int((await db.fetchone(f'SELECT COUNT(*) FROM "{t}"'))[0])
            for t in await table_names(db)
        }
    finally:
        await db.close()


async def test_a_pilot_database_moves_whole_and_the_bot_serves_it(
    tmp_path: Path,
    pg: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clock: object,
) -> None:
    """Every table copied (in batches of 3, so keys page), counts equal and printed; the bot
    on the copy greets Zahra by where she is, audience figures and broadcast figures are not
    counted twice, and a new person gets the next id."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    lite = await Database.open(source, migrate=False)
    try:
        expected = {t: int((await lite.fetchone(f'SELECT COUNT(*) FROM "{t}"'))[0])
                    for t in await table_names(lite)}  # fmt: skip
        cells = await lite.fetchall("SELECT * FROM audience_cells")
        figures = await lite.fetchall("SELECT * FROM broadcasts")
    finally:
        await lite.close()
    empty = [t for t, n in expected.items() if not n]
    assert not empty, f"a new table? give it a row in seed_pilot: {empty}"
    monkeypatch.setattr(pgcopy, "BATCH", 3)
    url = pg.target(tmp_path / "copy")
    status, out, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["table", "sqlite", "postgresql"]
    printed = {line.split()[0]: line.split()[1:] for line in lines[1:-1]}
    assert printed == {t: [str(n), str(n)] for t, n in expected.items()}
    assert list(printed).index("users") < list(printed).index("tickets")
    assert f"copied {sum(expected.values())} rows of {len(expected)} tables" in lines[-1]
    assert await rows_of(url) == expected

    stores.current = pg
    try:
        served = Bot(db_path=tmp_path / "copy", clock=clock)  # type: ignore[arg-type]
        await served.start()
        try:
            db = served.svc.db
            assert same_rows(await db.fetchall("SELECT * FROM audience_cells"), cells)
            assert same_rows(await db.fetchall("SELECT * FROM broadcasts"), figures)
            blob = await db.fetchone("SELECT data FROM broadcast_files")
            assert bytes(blob[0]) == b"\x89PNG"
            zahra = served.client(501, lang="fa")
            await zahra.send("/start")
            assert "دوباره خوش آمدید" in zahra.last  # known: not asked for a language
            await zahra.send("⚙️ تنظیمات")
            await zahra.press("set:profile")  # her profile, as stored in SQLite
            assert "👤 نام: زهرا احمدی" in zahra.last and "🚩 مرحله: وام گرفته‌ام" in zahra.last
            newcomer = served.client(777, lang="en")
            await newcomer.send("/start")
            await newcomer.press("lang:en")
            await newcomer.press("priv:yes")
            user = await served.svc.users.find("telegram", 777)
            assert expected["users"] == 3  # ids 1-3 copied: the sequence goes on at 4
            assert user is not None and user.id == 4
        finally:
            await served.stop()
    finally:
        stores.current = Store("sqlite")


def same_rows(found: list[Any], wanted: list[Any]) -> bool:
    """Whether two tables hold the same rows, in any order (the engines sort NULLs apart)."""
    return sorted(map(tuple, found), key=repr) == sorted(map(tuple, wanted), key=repr)


async def test_a_target_with_rows_is_refused_and_left_alone(
    tmp_path: Path, pg: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A target that already holds people: refused naming its tables, nothing written."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    url = pg.target(tmp_path / "busy")
    db = await open_database(url)
    try:
        await db.execute(
            "INSERT INTO audit (at, platform, actor, action, detail) VALUES (?, 'x', 1, 'a', ?)",
            (NOW, json.dumps({})),
        )
    finally:
        await db.close()
    before = await rows_of(url)
    status, out, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 1 and out == ""
    assert err.startswith("homebiz: cannot copy: ") and "audit hold rows" in err, err
    assert "users" not in err and "nothing was changed" in err
    assert await rows_of(url) == before


async def test_an_old_source_is_refused_before_the_target_is_touched(
    tmp_path: Path, pg: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file at an older schema: told to run `homebiz migrate` first; the target stays bare."""
    source = tmp_path / "old.sqlite3"
    db = await Database.open(source, upto=latest_version() - 1)
    await seed(db, latest_version() - 1)
    await db.close()
    url = pg.target(tmp_path / "fresh")
    status, _, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 1
    assert f"schema version {latest_version() - 1}" in err and "'homebiz migrate'" in err, err
    assert await rows_of(url) == {}  # no table was even created


async def test_an_unreachable_server_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens on the port: one line, the URL shown with its password hidden."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    url = f"postgresql://homebiz:{PASSWORD}@127.0.0.1:9/pilot"
    status, out, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 1 and out == ""
    assert err.startswith("homebiz: cannot copy: cannot reach postgresql://homebiz:***@127.0.0.1:9")
    assert PASSWORD not in err and len(err.strip().splitlines()) == 1


async def test_a_running_bot_is_refused(
    tmp_path: Path, pg: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live heartbeat of `homebiz run` on the file: stop the bot first."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    db = await Database.open(source)
    await db.execute("UPDATE senders SET live_until = ?", (2**40,))
    await db.close()
    url = pg.target(tmp_path / "fresh")
    status, _, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 1 and "stop the bot first" in err and "telegram" in err, err
    assert await rows_of(url) == {}


async def test_a_failure_half_way_leaves_no_row_behind(
    tmp_path: Path, pg: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """A row PostgreSQL refuses late in the copy (a note on a ticket that is gone, written with
    SQLite's foreign keys off): the whole copy is rolled back, the error names the table and
    the constraint but not the row's values."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "INSERT INTO ticket_notes (ticket_id, platform, author_id, text, at)"
        " VALUES (999, 'telegram', 42, 'یادداشت محرمانه', 1)"
    )
    conn.commit()
    conn.close()
    url = pg.target(tmp_path / "fresh")
    status, out, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    assert status == 1 and out == ""
    assert "copying ticket_notes: ForeignKeyViolationError (constraint " in err, err
    assert "محرمانه" not in err and "nothing was copied" in err
    assert set((await rows_of(url)).values()) == {0}  # migrated, and empty


async def test_a_file_another_process_is_writing_is_refused(
    tmp_path: Path,
    pg: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process holds the file's write lock (a bot mid-write, or `homebiz web`): the
    copy waits its short patience, then refuses before the target is touched."""
    source = tmp_path / "pilot.sqlite3"
    await seed_pilot(source)
    monkeypatch.setattr(pgcopy, "LOCK_PATIENCE", 0.2)
    url = pg.target(tmp_path / "fresh")
    held = threading.Event()
    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock, source, 3.0, held))
    await asyncio.to_thread(held.wait, 5)
    status, _, err = await asyncio.to_thread(copy_cli, source, url, capsys)
    await holder
    assert status == 1 and "is locked by another process" in err, err
    assert await rows_of(url) == {}
