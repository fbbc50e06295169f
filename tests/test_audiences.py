"""Audience counts from the cells the triggers keep: equal to a plain count over users for any
population, any change to it and any filters; the builder follows applicants as they change."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db.engine import Database
from bot.repo.audiences import CHECKIN_VALUES, DIMENSIONS, AudienceRepo
from tests.conftest import Bot
from tests.test_broadcast import FA_TEXT, staff_member
from tests.test_broadcast import sbot as sbot  # the fixture: a bot whose user 1 is an admin
from tests.test_checkins import deliver, loan_holder

PLATFORMS = ("telegram", "bale")
COUNTIES = (None, "karaj", "fardis", "taleqan")
FIELDS = (None, "food", "services")
STAGES = (None, "idea", "loan")
LANGS = ("fa", "en")
STATUSES = ("operating", "problems", "paused", "closed", "no_answer")
# Each column a change can touch and its values; reachable ones come more often, so random
# people often move in and out of the audience.
VALUES: dict[str, tuple[Any, ...]] = {
    "platform": PLATFORMS,
    "county": COUNTIES,
    "field": FIELDS,
    "stage": STAGES,
    "lang": LANGS,
    "consent_at": (1, 2, None),
    "proactive": (1, 0, 1),
    "unreachable_at": (None, 5, None),
}
# What a builder can choose, plus values nobody has.
CHOICES: dict[str, tuple[str, ...]] = {
    "platform": PLATFORMS,
    "county": ("karaj", "fardis", "taleqan", "nazarabad"),
    "field": ("food", "services", "other"),
    "stage": ("idea", "loan", "operating"),
    "checkin": CHECKIN_VALUES,
    "lang": LANGS,
}
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

people = st.fixed_dictionaries(
    {column: st.sampled_from(values) for column, values in VALUES.items()}
    | {"answers": st.lists(st.sampled_from(STATUSES), max_size=3)}
)
changes = st.one_of(
    st.tuples(
        st.just("set"), st.integers(0, 99), st.sampled_from(sorted(VALUES)), st.integers(0, 3)
    ),
    st.tuples(st.just("answer"), st.integers(0, 99), st.sampled_from(STATUSES)),
    st.tuples(st.just("unanswer"), st.integers(0, 99), st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(st.just("add"), people),
)
audiences = st.lists(st.sampled_from(DIMENSIONS), unique=True).flatmap(
    lambda dims: st.fixed_dictionaries(
        {
            dim: st.lists(st.sampled_from(CHOICES[dim]), min_size=1, max_size=3, unique=True)
            for dim in dims
        }
    )
)


async def add_person(db: Database, person: dict[str, Any], user_id: int) -> int:
    """Insert one applicant (and their answers, oldest first); their primary key."""
    pk = await db.execute(
        "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, field, stage, "
        "proactive, unreachable_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1) RETURNING id",
        (
            person["platform"], user_id, user_id, person["lang"], person["consent_at"],
            person["county"], person["field"], person["stage"], person["proactive"],
            person["unreachable_at"],
        ),
    )  # fmt: skip
    for status in person["answers"]:
        await db.execute(
            "INSERT INTO checkin_answers (user_pk, status, answered_at) VALUES (?, ?, 1)",
            (pk, status),
        )
    return pk


async def apply(db: Database, change: tuple[Any, ...], next_id: int) -> None:
    """One change to the applicants, as any code path could make it."""
    rows = await db.fetchall("SELECT id FROM users ORDER BY id")
    if change[0] == "add":
        await add_person(db, change[1], next_id)
        return
    if not rows:
        return
    pk = rows[change[1] % len(rows)][0]
    if change[0] == "set":
        column, choice = change[2], change[3]
        values = VALUES[column]
        await db.execute(
            f"UPDATE users SET {column} = ? WHERE id = ?", (values[choice % len(values)], pk)
        )
    elif change[0] == "answer":
        await db.execute(
            "INSERT INTO checkin_answers (user_pk, status, answered_at) VALUES (?, ?, 2)",
            (pk, change[2]),
        )
    elif change[0] == "unanswer":  # the latest answer, or the oldest one
        order = "DESC" if change[2] else "ASC"
        await db.execute(
            "DELETE FROM checkin_answers WHERE id = (SELECT id FROM checkin_answers "
            f"WHERE user_pk = ? ORDER BY id {order} LIMIT 1)",
            (pk,),
        )
    else:
        await db.execute("DELETE FROM users WHERE id = ?", (pk,))


async def assert_counts_match(db: Database, audience: dict[str, list[str]]) -> None:
    """Cells and the plain count agree on an audience, in total and per language."""
    repo = AudienceRepo(db)
    for platform in PLATFORMS:
        expected = await repo.scan_count(platform, audience)
        assert await repo.count(platform, audience) == expected, (platform, audience)
        split = await repo.languages(platform, audience)
        for lang in LANGS:
            if "lang" in audience and lang not in audience["lang"]:
                assert lang not in split
                continue
            alone = await repo.scan_count(platform, {**audience, "lang": [lang]})
            assert split.get(lang, 0) == alone, (platform, audience, lang, split)
        by_messenger = await repo.messengers(platform, audience)
        for name in PLATFORMS:
            alone = await repo.scan_count(name, {**audience, "platform": [name]})
            if audience.get("platform") and name not in audience["platform"]:
                assert name not in by_messenger
            elif audience.get("platform") or name == platform:
                assert by_messenger.get(name, 0) == alone, (platform, audience, name)


async def assert_cells_equal_users(db: Database) -> None:
    """Every cell holds exactly the reachable, consenting people of its combination."""
    cells = await db.fetchall(
        "SELECT platform, county, field, stage, lang, checkin_status, SUM(people) "
        "FROM audience_cells GROUP BY 1, 2, 3, 4, 5, 6 HAVING SUM(people) != 0"
    )
    users = await db.fetchall(
        "SELECT platform, county, field, stage, lang, checkin_status, COUNT(*) FROM users "
        "WHERE consent_at IS NOT NULL AND proactive = 1 AND unreachable_at IS NULL "
        "GROUP BY 1, 2, 3, 4, 5, 6"
    )
    assert sorted(map(tuple, cells), key=repr) == sorted(map(tuple, users), key=repr)
    stale = await db.fetchall(
        "SELECT u.id FROM users AS u WHERE u.checkin_status IS DISTINCT FROM (SELECT status "
        "FROM checkin_answers WHERE user_pk = u.id ORDER BY id DESC LIMIT 1)"
    )
    assert stale == []


@PROPERTY
@given(
    population=st.lists(people, max_size=25),
    edits=st.lists(changes, max_size=25),
    chosen=st.lists(audiences, min_size=1, max_size=6),
)
async def test_counts_equal_a_plain_count_for_any_population_change_and_filters(
    population: list[dict[str, Any]],
    edits: list[tuple[Any, ...]],
    chosen: list[dict[str, list[str]]],
) -> None:
    """Random applicants, random changes of every kind (each column, answers recorded and
    removed, people added and deleted), random filters: the cells' count is the plain count."""
    db = await Database.open(":memory:")
    try:
        for i, person in enumerate(population):
            await add_person(db, person, 1000 + i)
        await assert_cells_equal_users(db)
        for step, change in enumerate(edits):
            await apply(db, change, 5000 + step)
            await assert_cells_equal_users(db)
        for audience in [{}, *chosen]:
            await assert_counts_match(db, audience)
    finally:
        await db.close()


async def test_every_kind_of_change_keeps_the_cells_equal_to_the_applicants() -> None:
    """Each column set to each of its values for people in and out of the audience, answers
    recorded and removed (the latest and an older one), people deleted and added: the cells
    follow every time."""
    reachable = {
        "platform": "telegram", "county": "karaj", "field": "food", "stage": "loan",
        "lang": "fa", "consent_at": 1, "proactive": 1, "unreachable_at": None,
    }  # fmt: skip
    variants = [
        {},
        {"consent_at": None},
        {"proactive": 0},
        {"unreachable_at": 5},
        {"county": None, "lang": "en", "platform": "bale"},
    ]
    db = await Database.open(":memory:")
    try:
        for i, variant in enumerate(variants):
            await add_person(db, {**reachable, **variant, "answers": ["closed"]}, 100 + i)
        await assert_cells_equal_users(db)
        for index, variant in enumerate(variants):
            person = {**reachable, **variant}
            for column, values in VALUES.items():
                back = ("set", index, column, values.index(person[column]))
                for choice in range(len(values)):
                    for change in (
                        ("set", index, column, choice),
                        ("answer", index, "operating"),
                        ("unanswer", index, True),  # the latest: the one before counts again
                        back,
                    ):
                        await apply(db, change, 0)
                        await assert_cells_equal_users(db)
        await apply(db, ("answer", 0, "paused"), 0)
        await apply(db, ("unanswer", 0, False), 0)  # an older answer: the latest stays
        await assert_cells_equal_users(db)
        for index in range(len(variants)):
            await apply(db, ("delete", 0), 0)
            await assert_cells_equal_users(db)
            await apply(db, ("add", {**reachable, "answers": ["problems"]}), 900 + index)
            await assert_cells_equal_users(db)
        await assert_counts_match(db, {"checkin": ["problems", "none"]})
    finally:
        await db.close()


# --- the builder follows applicants -------------------------------------------------------
async def builder_count(me: Any, dim: str, value: str | None = None) -> str:
    """Refresh the builder by opening a filter (choosing ``value``) and pressing Done."""
    await me.press(f"bc:a:{dim}")
    if value is not None:
        await me.press(f"bc:a:{dim}:{value}")
    await me.press("bc:ok")
    line = next(ln for ln in me.last.splitlines() if "Recipients now" in ln)
    return line.split(":")[-1].strip()


async def test_the_builder_counts_applicants_as_they_answer_stop_and_leave(sbot: Bot) -> None:
    """A check-in answer moves a person into "Latest check-in: Operating"; /stop and /delete
    take them out of every audience, at the next click."""
    bot = sbot
    staff = await staff_member(bot)
    await staff.send("/broadcast")
    await staff.send(FA_TEXT)
    await staff.press("bc:en:same")
    applicant = await loan_holder(bot, 801)
    other = await loan_holder(bot, 802)
    assert await builder_count(staff, "checkin", "operating") == "0"
    assert await deliver(bot) == 2
    await applicant.press("✅ Operating normally")
    await applicant.press("2")
    await applicant.press(bot.svc.content.checkin.sales_bands[1].label.en)
    assert await builder_count(staff, "checkin") == "1"
    await staff.press("bc:all")
    assert "Recipients now: 3" in staff.last  # the staff member and the two applicants
    await applicant.send("/stop")
    assert await builder_count(staff, "checkin", "operating") == "0"
    await staff.press("bc:all")
    assert "Recipients now: 2" in staff.last
    await other.send("/delete")
    await other.press("del:yes")
    assert await builder_count(staff, "county") == "1"  # any county: the staff member alone
    await assert_cells_equal_users(bot.svc.db)


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the bot's connection runs meanwhile (triggers' included)."""
    seen: list[str] = []
    conn: sqlite3.Connection = db._conn
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


@pytest.mark.sqlite_only("watches the statements with SQLite's trace callback")
async def test_a_builder_click_reads_the_cells_not_the_applicants(sbot: Bot) -> None:
    """Counting an audience (each click) and splitting it by language (the review) read
    audience_cells only: no statement reads the users table for them."""
    bot = sbot
    me = await staff_member(bot)
    await me.send("/broadcast")
    await me.send(FA_TEXT)
    await me.press("bc:en:same")
    with statements(bot.svc.db) as seen:
        await me.press("bc:a:checkin")
        await me.press("bc:a:checkin:none")
        await me.press("bc:ok")
        await me.press("bc:next")
    counts = [s for s in seen if "COUNT(" in s.upper() or "SUM(" in s.upper()]
    assert counts and all("audience_cells" in s for s in counts), counts
    assert not [s for s in seen if "checkin_answers" in s]
