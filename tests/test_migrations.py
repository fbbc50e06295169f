"""Schema migrations keep every row, fail atomically, and backups are consistent copies."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.db.engine as dbmod
import bot.db.postgres as pgmod
from bot.core.jalali import TEHRAN
from bot.db.engine import Database, MigrationError, latest_version, migrations
from bot.db.open import AnyDatabase
from bot.repo.audiences import AudienceRepo
from bot.repo.outbox import OutboxRepo
from bot.repo.people import Filters, PeopleRepo
from bot.repo.steps import StepRepo
from bot.repo.users import UserRepo
from bot.rules.applicant_search import name_key
from bot.rules.scope import EVERYWHERE
from tests.support.stores import Store, table_names

LATEST = latest_version()
NOW = 1_795_939_200  # 2026-11-29 08:00 UTC
Rows = dict[str, list[dict[str, Any]]]
# What the outbox sender writes for a chat that refused the bot (scheduler/outbox.py), from the
# first outbox on: lower case, which both engines' LIKE 'forbidden%' match (PostgreSQL's LIKE
# is case-sensitive, SQLite's is not for ASCII).
FORBIDDEN = "forbidden: Forbidden: bot was blocked by the user"


def _latest_answer(user: dict[str, Any], old: Rows) -> str | None:
    """The status of a person's latest check-in answer (highest id) in the old rows."""
    mine = [a for a in old.get("checkin_answers", []) if a["user_pk"] == user["id"]]
    return max(mine, key=lambda a: a["id"])["status"] if mine else None


def _figure(row: dict[str, Any]) -> str:
    """Which of a broadcast's figures an outbox row counts in."""
    status, error = row["status"], row["error"] or ""
    if status in ("pending", "sending"):
        return "remaining"
    if status == "failed":
        return "unreachable" if error.lower().startswith("forbidden") else "failed"
    if status == "cancelled" and error in ("unreachable", "stopped"):
        return error
    return str(status)


def _broadcast_figure(name: str) -> Callable[[dict[str, Any], Rows], int]:
    """How many of a broadcast's old outbox rows count in figure ``name`` ("rows": all)."""

    def count(broadcast: dict[str, Any], old: Rows) -> int:
        """Count them."""
        rows = [r for r in old.get("outbox", []) if r["broadcast_id"] == broadcast["id"]]
        return sum(1 for r in rows if name == "rows" or _figure(r) == name)

    return count


def _name_keys(part: str) -> Callable[[dict[str, Any], Rows], Any]:
    """users.name_key and the words after it (migration web_applicants' generated columns)."""

    def made(row: dict[str, Any], _: Rows) -> str | None:
        if row["full_name"] is None:
            return None
        key = name_key(row["full_name"])
        return {"key": key, "rest": key.split(" ", 1)[-1], "last": key.rsplit(" ", 1)[-1]}[part]

    return made


# Columns a migration fills from the existing data instead of a default:
# (table, column) → value from the row and every old row.
BACKFILLS: dict[tuple[str, str], Callable[[dict[str, Any], Rows], Any]] = {
    **{("users", f"name_{part}"): _name_keys(part) for part in ("key", "rest", "last")},
    ("checkin_rounds", "next_action_at"): (
        lambda r, _: r["sent_at"] if r["status"] == "open" else None
    ),
    ("step_progress", "nudge_at"): lambda r, _: r["started_at"] if r["done_at"] is None else None,
    ("outbox", "lease_until"): lambda r, _: 0 if r["status"] == "sending" else None,
    ("users", "checkin_status"): _latest_answer,
    ("broadcasts", "queue_upto"): lambda r, _: 0,  # queued whole at their launch
    ("broadcasts", "queued"): _broadcast_figure("rows"),
    ("broadcasts", "outbox_rows"): _broadcast_figure("rows"),
    **{
        ("broadcasts", name): _broadcast_figure(name)
        for name in ("sent", "failed", "unreachable", "stopped", "cancelled", "remaining")
    },
    ("step_progress", "done_on"): lambda r, _: (
        None
        if r["done_at"] is None
        else dt.datetime.fromtimestamp(r["done_at"], TEHRAN).date().isoformat()
    ),
}


# --- realistic data for each schema version ---------------------------------------------------
async def seed(db: AnyDatabase, version: int) -> None:
    """Rows an installation at ``version`` would hold."""
    if version >= 1:
        await db.executemany(
            "INSERT INTO users (id, platform, user_id, chat_id, lang, consent_at, full_name,"
            " mobile, national_code, county, field, stage, profile_done, proactive,"
            " unreachable_at, state, state_data, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, "telegram", 501, 501, "fa", NOW, "زهرا احمدی", "+989123456789",
                 "0013542419", "karaj", "handicrafts", "loan", 1, 1, None, "", "{}",
                 NOW - 86_400, NOW),
                (2, "bale", 502, 502, "en", NOW, "Sara Moradi", "+989351112233", "",
                 "fardis", None, None, 0, 0, NOW - 60, "profile:field",
                 json.dumps({"mode": "onboard"}), NOW - 3_600, NOW - 60),
                (3, "telegram", 503, 503, "fa", None, None, None, None, None, None, None,
                 0, 1, None, "start:privacy", "{}", NOW, NOW),
            ],
        )  # fmt: skip
        await db.executemany(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, help_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (1, "register", NOW - 80_000, NOW - 70_000, None),
                (1, "training", NOW - 60_000, None, NOW - 50_000),
                (2, "register", NOW - 3_000, None, None),
            ],
        )
    if version >= 2:
        await db.execute(
            "UPDATE users SET loan_on = '2026-10-23', permit_on = '2026-09-01',"
            " next_checkin_at = ?, paused_until = NULL, checkins_closed = 0 WHERE id = 1",
            (NOW + 86_400 * 90,),
        )
        await db.execute(
            "UPDATE step_progress SET nudges_sent = 2, last_nudge_at = ? WHERE user_pk = 1"
            " AND step_id = 'training'",
            (NOW - 1_000,),
        )
        await db.executemany(
            "INSERT INTO checkin_rounds (id, user_pk, due_at, sent_at, reminders_sent, status,"
            " closed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, NOW - 7_200, NOW - 7_000, 1, "answered", NOW - 3_600),
                (2, 2, NOW - 600, NOW - 500, 0, "open", None),
            ],
        )
        await db.execute(
            "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at)"
            " VALUES (1, 1, 'problems', ?, ?)",
            (json.dumps({"problem": "other", "note": "تامین‌کننده بسته شد"}), NOW - 3_600),
        )
        await db.execute(
            "INSERT INTO followups (user_pk, kind, detail, created_at)"
            " VALUES (1, 'problems', ?, ?)",
            (json.dumps({"round": 1}), NOW - 3_600),
        )
        await db.execute(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key,"
            " status, attempts, not_before, created_at, sent_at, message_id)"
            " VALUES ('telegram', 501, 1, 'checkin', 10, ?, 'checkin:1', 'sent', 1, ?, ?, ?, 9)",
            (json.dumps({"text": "کسب‌وکار شما فعال است؟"}), NOW - 7_200, NOW - 7_200, NOW - 7_000),
        )
    if 2 <= version < 5:
        await db.execute(  # claimed by a process that died before the outbox had leases
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key,"
            " status, attempts, not_before, created_at)"
            " VALUES ('telegram', 501, 1, 'reminder', 10, ?, 'reminder:1', 'sending', 1, ?, ?)",
            (json.dumps({"text": "یادآوری"}), NOW - 600, NOW - 600),
        )
    if version >= 3:
        await db.execute(
            "INSERT INTO staff (platform, user_id, role, added_by, added_at)"
            " VALUES ('telegram', 42, 'staff', 1, ?)",
            (NOW,),
        )
        await db.execute(
            "INSERT INTO audit (at, platform, actor, action, detail)"
            " VALUES (?, 'telegram', 1, 'staff_added', ?)",
            (NOW, json.dumps({"user_id": 42})),
        )
        await db.execute(
            "INSERT INTO broadcasts (platform, created_by, created_at, content, audience, send_at,"
            " status, total) VALUES ('telegram', 1, ?, ?, '{}', ?, 'done', 1)",
            (NOW, json.dumps({"texts": {"fa": "سلام"}}), NOW),
        )
        await db.execute(  # a broadcast on its way, its rows in every figure
            "INSERT INTO broadcasts (platform, created_by, created_at, content, audience, send_at,"
            " status, total) VALUES ('telegram', 1, ?, ?, '{}', ?, 'queued', 7)",
            (NOW, json.dumps({"texts": {"fa": "خبر"}}), NOW),
        )
        await db.executemany(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, dedupe_key,"
            " broadcast_id, status, not_before, created_at, error)"
            " VALUES ('telegram', ?, NULL, 'broadcast', 50, '{}', ?, 2, ?, ?, ?, ?)",
            [
                (900 + i, f"bc:2:{900 + i}", status, NOW + 86_400 * 10, NOW, error)
                for i, (status, error) in enumerate(
                    [
                        ("sent", None), ("failed", FORBIDDEN),
                        ("failed", "bad_request"), ("failed", None), ("cancelled", "stopped"),
                        ("cancelled", "unreachable"), ("cancelled", "cancelled"),
                        ("pending", "retry"),
                    ]
                )
            ],
        )  # fmt: skip
        await db.execute(  # a later answer: the latest one is what the audience builder reads
            "INSERT INTO checkin_answers (round_id, user_pk, status, answered_at)"
            " VALUES (NULL, 1, 'operating', ?)",
            (NOW,),
        )
        await db.execute(
            "INSERT INTO tickets (id, platform, user_pk, kind, followup_id, status, created_at)"
            " VALUES (1, 'telegram', 1, 'question', 1, 'open', ?)",
            (NOW,),
        )
        await db.execute(
            "INSERT INTO ticket_messages (ticket_id, direction, kind, text, staff_chat_id,"
            " staff_message_id, at) VALUES (1, 'in', 'text', 'چه مدارکی لازم است؟', -100900, 7, ?)",
            (NOW,),
        )
        await db.execute("UPDATE followups SET posted_at = ?", (NOW,))
    if version >= 6:
        await db.execute(
            "INSERT INTO erased_staff_messages (staff_chat_id, staff_message_id) VALUES (?, ?)",
            (-100900, 3),
        )


async def snapshot(db: AnyDatabase) -> Rows:
    """Every row of every table (PostgreSQL's version table aside), as column → value
    dictionaries."""
    rows: Rows = {}
    for name in await table_names(db):
        found = await db.fetchall(f'SELECT * FROM "{name}" ORDER BY 1, 2')
        rows[name] = [dict(zip(r.keys(), tuple(r), strict=True)) for r in found]
    return rows


async def column_defaults(db: AnyDatabase, table: str) -> dict[str, Any]:
    """Each column's default value as the engine evaluates it (None without a default)."""
    if db.dialect.postgres:
        columns = [
            (str(r[0]), r[1])
            for r in await db.fetchall(
                "SELECT column_name, column_default FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?",
                (table,),
            )
        ]
    else:
        columns = [
            (str(c["name"]), c["dflt_value"])
            for c in await db.fetchall(f'PRAGMA table_info("{table}")')
        ]
    defaults = {}
    for name, expr in columns:
        defaults[name] = (await db.fetchone(f"SELECT {expr}"))[0] if expr is not None else None
    return defaults


async def check_integrity(db: AnyDatabase) -> None:
    """SQLite's own checks of the file and its foreign keys (PostgreSQL enforces both as it
    writes)."""
    if not db.dialect.postgres:
        assert (await db.fetchone("PRAGMA integrity_check"))[0] == "ok"
        assert await db.fetchall("PRAGMA foreign_key_check") == []


# --- upgrades ---------------------------------------------------------------------------------
def test_migrations_are_numbered_and_transaction_free() -> None:
    """Files are 001…N; none controls transactions or the version (migrate does that). A
    trigger's BEGIN … END is its body, not a transaction."""
    found = migrations()
    assert [v for v, _, _ in found] == list(range(1, LATEST + 1))
    forbidden = re.compile(
        r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|VACUUM|PRAGMA)\b", re.I | re.M
    )
    for _, name, sql in found:
        code = re.sub(r"--[^\n]*", "", sql)
        code = re.sub(r"CREATE\s+TRIGGER\b.*?^END;", "", code, flags=re.S | re.M | re.I)
        assert not forbidden.search(code), name


@pytest.mark.parametrize("version", range(LATEST))
async def test_upgrade_from_every_earlier_version_keeps_the_data(
    tmp_path: Path, store: Store, version: int
) -> None:
    """Data written at version v survives the upgrade; new columns hold their defaults or
    what the migration fills in (on either engine: its own migrations, the same rows)."""
    path = tmp_path / f"v{version}.sqlite3"
    db = await store.open(path, upto=version)
    try:
        assert await db.version() == version
        await seed(db, version)
        old = await snapshot(db)
    finally:
        await db.close()
    db = await store.open(path)
    try:
        assert await db.version() == LATEST
        await check_integrity(db)
        new = await snapshot(db)
        for table, rows in old.items():
            defaults = await column_defaults(db, table)
            assert len(new[table]) == len(rows), table
            for before, after in zip(rows, new[table], strict=True):
                assert {k: after[k] for k in before} == before, table
                added = {k: v for k, v in after.items() if k not in before}
                expected = {
                    k: BACKFILLS[table, k](before, old) if (table, k) in BACKFILLS else defaults[k]
                    for k in added
                }
                assert added == expected, table
        if version >= 1:
            await _the_code_reads_the_old_rows(db)
    finally:
        await db.close()


async def _the_code_reads_the_old_rows(db: AnyDatabase) -> None:
    """The repositories of the newest code understand rows written by older versions."""
    users = UserRepo(db)
    zahra = await users.find("telegram", 501)
    assert zahra is not None and zahra.full_name == "زهرا احمدی" and zahra.profile_done
    assert zahra.mobile == "+989123456789" and zahra.stage == "loan"
    sara = await users.find("bale", 502)
    assert sara is not None and sara.state_data == {"mode": "onboard"} and not sara.proactive
    progress = await StepRepo(db).progress(1)
    assert progress["register"].done_at == NOW - 70_000 and progress["training"].help_at
    audiences = AudienceRepo(db)
    for platform in ("telegram", "bale"):
        for audience in ({}, {"checkin": ["none"]}, {"checkin": ["operating", "problems"]}):
            expected = await audiences.scan_count(platform, audience)
            assert await audiences.count(platform, audience) == expected
    people = PeopleRepo(db)
    for audience in ({}, {"platform": ["bale"]}, {"checkin": ["none"]}):
        expected_people = await people.page(Filters(audience=audience), EVERYWHERE, size=1000)
        assert await people.cell_count(Filters(audience=audience), EVERYWHERE) == len(
            expected_people.rows
        )
    orphan = await db.fetchone("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")
    if orphan and orphan[0]:  # left by a process without leases: taken over at once
        taken = await OutboxRepo(db).claim("telegram", NOW, 10, owner="new", lease_until=NOW + 30)
        assert [(r.dedupe_key, r.taken_over) for r in taken] == [("reminder:1", True)]


async def test_reopening_an_up_to_date_database_applies_nothing(
    tmp_path: Path, store: Store
) -> None:
    """A second open neither re-runs migrations nor touches the rows."""
    path = tmp_path / "again.sqlite3"
    db = await store.open(path)
    await seed(db, LATEST)
    before = await snapshot(db)
    await db.close()
    db = await store.open(path, migrate=False)
    try:
        assert await db.migrate() == []
        assert await snapshot(db) == before
    finally:
        await db.close()


async def test_step_days_come_from_the_milestone_dates_people_gave(
    tmp_path: Path, store: Store
) -> None:
    """Schema 9: a step's day is the day it was tapped (Tehran), except the permit and loan
    steps, whose day is the date the person typed; steps not done have none."""
    path = tmp_path / "v8.sqlite3"
    db = await store.open(path, upto=8)
    try:
        await seed(db, 8)
        await db.executemany(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at) VALUES (?, ?, ?, ?)",
            [(1, "permit_issued", NOW - 5_000, NOW - 4_000),  # typed: 2026-09-01
             (1, "loan_received", NOW - 3_000, NOW - 2_000),  # typed: 2026-10-23
             (2, "permit_issued", NOW - 900, NOW - 800)],  # no date given: the tap's day
        )  # fmt: skip
    finally:
        await db.close()
    db = await store.open(path)
    try:
        days = {
            (r["user_pk"], r["step_id"]): r["done_on"]
            for r in await db.fetchall("SELECT user_pk, step_id, done_on FROM step_progress")
        }
        assert days == {
            (1, "register"): "2026-11-28",  # 2026-11-28 12:33 UTC is 16:03 in Tehran
            (1, "training"): None,
            (2, "register"): None,
            (1, "permit_issued"): "2026-09-01",
            (1, "loan_received"): "2026-10-23",
            (2, "permit_issued"): "2026-11-29",
        }
    finally:
        await db.close()


# --- a migration that fails midway ------------------------------------------------------------
def _broken_at(
    version: int, shipped: list[tuple[int, str, str]] | None = None
) -> list[tuple[int, str, str]]:
    """The shipped migrations (SQLite's unless given) up to ``version``, whose last one now
    fails after real work."""
    shipped = (migrations() if shipped is None else shipped)[:version]
    number, name, sql = shipped[-1]
    poison = "\nCREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    return [*shipped[:-1], (number, name, sql + poison)]


async def schema_of(db: AnyDatabase) -> list[tuple[Any, ...]]:
    """What the schema holds: SQLite's master table; PostgreSQL's relations (tables, indexes,
    sequences), functions and triggers in the test's schema."""
    if not db.dialect.postgres:
        return [tuple(r) for r in await db.fetchall("SELECT * FROM sqlite_master ORDER BY name")]
    rows = await db.fetchall(
        "SELECT c.relkind::text, c.relname::text FROM pg_class c"
        " WHERE c.relnamespace = current_schema()::regnamespace"
        " UNION ALL SELECT 'function', p.proname::text FROM pg_proc p"
        " WHERE p.pronamespace = current_schema()::regnamespace"
        " UNION ALL SELECT 'trigger', t.tgname::text FROM pg_trigger t JOIN pg_class c"
        " ON c.oid = t.tgrelid WHERE c.relnamespace = current_schema()::regnamespace"
        " ORDER BY 1, 2"
    )
    return [tuple(r) for r in rows]


def _break(monkeypatch: pytest.MonkeyPatch, store: Store, version: int) -> str:
    """Make migration ``version`` of the test's engine fail; the error it then raises."""
    if store.postgres:
        shipped = pgmod.migrations()
        monkeypatch.setattr(pgmod, "migrations", lambda: _broken_at(version, shipped))
        monkeypatch.setattr(pgmod, "latest_version", lambda: version)
        return 'relation "no_such_table" does not exist'
    monkeypatch.setattr(dbmod, "migrations", lambda: _broken_at(version))
    return "no such table: no_such_table"


#: The versions whose failure is also shown on PostgreSQL: its DDL is transactional, so one
#: early, one trigger-heavy and the latest show that each migration is one transaction there
#: (about 2 s each); a statement that cannot run in a transaction already fails every upgrade.
PG_FAILURES = (1, 8, LATEST)


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(
            v,
            marks=[]
            if v in PG_FAILURES
            else [pytest.mark.sqlite_only(f"PostgreSQL's failures: versions {PG_FAILURES}")],
        )
        for v in range(1, LATEST + 1)
    ],
)
async def test_a_failing_migration_leaves_the_previous_version(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    """Migration v fails after doing real work: the database stays at v-1, with no trace of
    v (each migration is one transaction on either engine)."""
    path = tmp_path / "broken.sqlite3"
    db = await store.open(path, upto=version - 1)
    try:
        await seed(db, version - 1)
        before = await snapshot(db)
        schema = await schema_of(db)
        error = _break(monkeypatch, store, version)
        with pytest.raises(MigrationError, match=rf"{version:03d}_.*{re.escape(error)}"):
            await db.migrate()
        assert await db.version() == version - 1
        assert await schema_of(db) == schema
        assert await snapshot(db) == before
        monkeypatch.undo()
        assert len(await db.migrate()) == LATEST - version + 1
        assert await db.version() == LATEST
    finally:
        await db.close()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[sqlite3.Connection]]:
    """Every SQLite connection bot.db.engine opens; any left open is closed afterwards."""
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        """Open as usual and remember the connection."""
        conn = real_connect(*args, **kwargs)
        opened.append(conn)
        return conn

    monkeypatch.setattr(dbmod.sqlite3, "connect", connect)
    yield opened
    for conn in opened:
        conn.close()


def _is_closed(conn: sqlite3.Connection) -> bool:
    """Whether a connection was closed."""
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


@pytest.mark.usefixtures("engine")  # [sqlite], and [pg] skipped with the reason below
@pytest.mark.sqlite_only("watches sqlite3.connect and SQLite's worker threads")
@pytest.mark.parametrize("failure", ["migration", "not_a_database"])
async def test_a_failed_open_closes_its_connection(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    connections: list[sqlite3.Connection],
    failure: str,
) -> None:
    """Database.open that raises leaves no connection (and no thread) behind."""
    path = tmp_path / "fails.sqlite3"
    if failure == "migration":
        monkeypatch.setattr(dbmod, "migrations", lambda: _broken_at(LATEST))
        expected: type[Exception] = MigrationError
    else:
        path.write_bytes(b"this is not a database, just text" * 200)
        expected = sqlite3.DatabaseError
    with pytest.raises(expected):
        await Database.open(path)
    assert connections and all(_is_closed(c) for c in connections)
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite")]


# --- backups ----------------------------------------------------------------------------------
async def _writer(db: Database, count: int, started: asyncio.Event) -> None:
    """Insert ``count`` audit rows one by one, yielding in between."""
    for i in range(count):
        await db.execute(
            "INSERT INTO audit (at, platform, actor, action, detail)"
            " VALUES (?, 'telegram', ?, ?, ?)",
            (NOW + i, i, "load", json.dumps({"i": i})),
        )
        if i == 50:
            started.set()
        await asyncio.sleep(0)


@pytest.mark.usefixtures("engine")  # [sqlite], and [pg] skipped with the reason below
@pytest.mark.sqlite_only(
    "homebiz backup copies SQLite files; its refusal on PostgreSQL: test_pg_schema"
)
async def test_backup_while_writing_is_a_consistent_prefix(tmp_path: Path) -> None:
    """A backup taken mid-stream opens, is intact, is current, and holds rows 1..k in order."""
    db = await Database.open(tmp_path / "live.sqlite3")
    target = tmp_path / "copy.sqlite3"
    try:
        await seed(db, LATEST)
        started = asyncio.Event()
        writer = asyncio.create_task(_writer(db, 500, started))
        await started.wait()
        low = (await db.fetchone("SELECT count(*) FROM audit WHERE action = 'load'"))[0]
        await db.backup(target)
        high = (await db.fetchone("SELECT count(*) FROM audit WHERE action = 'load'"))[0]
        await writer
        assert low < 500, "the writer finished before the backup; nothing was tested"
    finally:
        await db.close()
    copy = await Database.open(target, migrate=False)
    try:
        assert (await copy.fetchone("PRAGMA integrity_check"))[0] == "ok"
        assert await copy.version() == LATEST
        loads = await copy.fetchall("SELECT actor FROM audit WHERE action = 'load' ORDER BY id")
        assert [r[0] for r in loads] == list(range(len(loads)))
        assert low <= len(loads) <= high
        users = await copy.fetchall("SELECT full_name FROM users ORDER BY id")
        assert [r[0] for r in users] == ["زهرا احمدی", "Sara Moradi", None]
    finally:
        await copy.close()


@pytest.mark.usefixtures("engine")  # [sqlite], and [pg] skipped with the reason below
@pytest.mark.sqlite_only(
    "homebiz backup copies SQLite files; its refusal on PostgreSQL: test_pg_schema"
)
async def test_backup_never_overwrites(tmp_path: Path) -> None:
    """Backing up onto an existing file raises FileExistsError and leaves that file alone."""
    db = await Database.open(tmp_path / "live.sqlite3")
    target = tmp_path / "taken.sqlite3"
    target.write_bytes(b"precious")
    try:
        with pytest.raises(FileExistsError):
            await db.backup(target)
    finally:
        await db.close()
    assert target.read_bytes() == b"precious"
