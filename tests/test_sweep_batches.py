"""Reminders, expiries and nudges in batches: the rows the per-item sweep wrote, in a few
transactions, all or nothing, and rounds answered or steps finished meanwhile left alone."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.db.engine import Database
from bot.entry.services import Services
from bot.repo.checkins import CheckinRepo, DuePerson
from bot.repo.steps import StepRepo
from scheduler.planner import Planner, checkin_payload
from tests.support import stores
from tests.support.per_item_sweep import PerItemPlanner

# Every test opens a database: each runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("store")

START = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)  # Sunday 11:30 Tehran
TS0 = int(START.timestamp())
TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
HOUR, DAY = 3600, 86_400
PLATFORM = "telegram"
LOAN_ON = "2026-10-20"


@dataclass
class Cast:
    """Who is in which situation when the timeline starts (user pks, round ids, step ids)."""

    rounds: dict[str, list[int]] = field(default_factory=dict)  # group → round ids
    users: dict[str, list[int]] = field(default_factory=dict)  # group → user pks
    step: str = ""  # the permit step the stuck people are on


@asynccontextmanager
async def services(path: Path) -> AsyncIterator[Services]:
    """Services on a fresh database file with the clock at START."""
    svc = await Services.open(Settings(**stores.current.settings(path)), clock=ManualClock(START))
    try:
        yield svc
    finally:
        await svc.close()


async def applicant(svc: Services, uid: int, *, loan_on: str | None = LOAN_ON) -> int:
    """A consented, onboarded, reachable applicant (loan received on ``loan_on``); their pk."""
    now = TS0 - 60 * DAY
    user = await svc.users.get_or_create(PLATFORM, uid, uid, "en" if uid % 3 else "fa", now)
    await svc.users.update(
        user, now, consent_at=now, profile_done=1, proactive=1, field="handicrafts",
        loan_on=loan_on,
    )  # fmt: skip
    return user.id


async def open_rounds(svc: Services, pks: list[int], sent_at: int) -> list[int]:
    """Open a round for each person, sent at ``sent_at`` and to be looked at before START."""
    people = [DuePerson(pk, PLATFORM, pk, "fa", sent_at - 60) for pk in pks]
    messages = [checkin_payload(svc, "fa", "checkin.question") for _ in pks]
    return await CheckinRepo(svc.db).open_rounds(people, sent_at, messages, TS0 - 60)


async def seed(svc: Services, size: int = 1) -> Cast:
    """Every kind of due item, ``size`` times over; the same rows on every database."""
    cast, uid = Cast(), 1000
    repo, steps = CheckinRepo(svc.db), StepRepo(svc.db)

    async def people(group: str, count: int, **kwargs: Any) -> list[int]:
        """``count`` new applicants for a group."""
        nonlocal uid
        pks = [await applicant(svc, uid + i, **kwargs) for i in range(count)]
        uid += count
        cast.users[group] = cast.users.get(group, []) + pks
        return pks

    async def rounds(group: str, pks: list[int], sent_at: int) -> None:
        """Rounds of a group."""
        cast.rounds[group] = cast.rounds.get(group, []) + await open_rounds(svc, pks, sent_at)

    # The first reminder is due (three send times, a minute apart), and the second one too.
    for k in range(3):
        await rounds("first", await people("first", 3 * size), TS0 - 3 * DAY - HOUR - 60 * k)
    await rounds("second", await people("second", 6 * size), TS0 - 7 * DAY - 2 * HOUR)
    # Unanswered for 14 days; among them check-ins closed, and nothing to time them from.
    await rounds("expire", await people("expire", 6 * size), TS0 - 15 * DAY)
    closed = await people("closed", 1)
    await rounds("expire", closed, TS0 - 15 * DAY)
    await repo.set_next(closed[0], None, closed=True)
    await rounds("expire", await people("no_anchor", 1, loan_on=None), TS0 - 15 * DAY)
    # Looked at too early (no reminder due yet), and answered before anything was due.
    await rounds("waiting", await people("waiting", 4 * size), TS0 - DAY)
    answered = await people("answered", 3 * size)
    await rounds("answered", answered, TS0 - 15 * DAY)
    for pk, rid in zip(answered, cast.rounds["answered"], strict=True):
        assert await repo.answer(rid, pk, "operating", {}, TS0 - 10 * DAY)
    # Stuck on a step for 8 days (due a nudge), for 2 (not yet), on a step the content no
    # longer has, and unreachable.
    cast.step = svc.content.steps_for("handicrafts")[0].id
    for pk in await people("stuck", 7 * size):
        await steps.start(pk, cast.step, TS0 - 8 * DAY)
    for pk in await people("fresh", 3 * size):
        await steps.start(pk, cast.step, TS0 - 2 * DAY)
    for pk in await people("retired", 2):
        await steps.start(pk, "a-step-no-longer-in-the-content", TS0 - 8 * DAY)
    gone = await people("unreachable", 1)
    await steps.start(gone[0], cast.step, TS0 - 8 * DAY)
    user = await svc.users.get(gone[0])
    assert user is not None
    await svc.users.update(user, TS0 - DAY, unreachable_at=TS0 - DAY)
    return cast


TABLES = {
    "rounds": "SELECT * FROM checkin_rounds ORDER BY id",
    "answers": "SELECT * FROM checkin_answers ORDER BY id",
    "followups": "SELECT id, user_pk, kind, detail, created_at, status FROM followups ORDER BY id",
    "users": "SELECT id, next_checkin_at, checkins_closed FROM users ORDER BY id",
    "steps": "SELECT * FROM step_progress ORDER BY user_pk, step_id",
    "outbox": "SELECT id, platform, chat_id, user_pk, kind, priority, payload, dedupe_key, "
    "not_before, created_at, status FROM outbox ORDER BY id",
}


async def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the sweep writes, table by table."""
    return {name: [tuple(r) for r in await db.fetchall(sql)] for name, sql in TABLES.items()}


def tehran(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of December 2026 (or late November) on Tehran's clock."""
    base = dt.datetime(2026, 11, 29, tzinfo=TEHRAN)  # Sunday
    return base + dt.timedelta(days=day, hours=hour, minutes=minute)


# The timeline both sweeps run: (moment, what each sweep reports), hand-worked from the
# policy in locales/content.yaml (reminders after 3 and 7 days, no answer after 14, a nudge
# after 7 days at most 3 times, 09:00-20:00 Tehran, never on Friday).
TIMELINE = [
    # Sunday 11:30: first reminders (9 + 6), 8 expiries, the waiting 4 postponed, 7 nudges.
    (tehran(0, 11, 30), (0, 15, 8, 7)),
    # An hour later: the second reminders of "second" (their first one went out above).
    (tehran(0, 12, 30), (0, 6, 0, 0)),
    # Thursday 22:30: "first" (8 open) and "waiting" (4) are due a reminder in the quiet
    # hours: postponed to Saturday 09:00 (Friday is quiet too). Nothing sent.
    (tehran(4, 22, 30), (0, 0, 0, 0)),
    # Saturday 12:30: those 12 reminders; the fresh 3 (looked at again on Friday, quiet)
    # get their first nudge.
    (tehran(6, 12, 30), (0, 12, 0, 3)),
    # Sunday 23:30, quiet: "second" reaches 14 days unanswered; recorded all the same.
    # "waiting" is due its second reminder: postponed to Monday 09:00.
    (tehran(7, 23, 30), (0, 0, 6, 0)),
    # Monday 12:30: "waiting" gets its second reminder; 6 second nudges (one step was
    # finished).
    (tehran(8, 12, 30), (0, 4, 0, 6)),
    # Monday a week later: "first" and "waiting" expire; 6 third (last) nudges, 3 second.
    (tehran(15, 13, 30), (0, 0, 12, 9)),
    # A nudged-out step marked not done again: capped, never looked at again; nothing sent.
    (tehran(15, 14, 30), (0, 0, 0, 0)),
]


async def between(svc: Services, cast: Cast, index: int) -> None:
    """What people do after sweep ``index`` (the same on every database)."""
    now = svc.clock.timestamp()
    if index == 0:  # one of "first" answers; one stuck person finishes the step
        rid, pk = cast.rounds["first"][0], cast.users["first"][0]
        assert await CheckinRepo(svc.db).answer(rid, pk, "operating", {}, now)
        assert await StepRepo(svc.db).mark_done(cast.users["stuck"][0], cast.step, now)
    if index == 6:  # a step that had its three nudges is marked not done again
        await StepRepo(svc.db).undo(cast.users["stuck"][1], cast.step, now)


Run = list[tuple[tuple[int, int, int, int], dict[str, list[tuple[Any, ...]]]]]


async def run_timeline(path: Path, make: Callable[[Services], Planner], size: int = 1) -> Run:
    """Seed, then sweep at every moment of the timeline: each sweep's report and the rows."""
    seen: Run = []
    async with services(path) as svc:
        cast = await seed(svc, size)
        for index, (moment, _) in enumerate(TIMELINE):
            assert isinstance(svc.clock, ManualClock)
            svc.clock.set(moment)
            report = await make(svc).sweep()
            seen.append((tuple(asdict(report).values()), await dump(svc.db)))  # type: ignore[misc]
            await between(svc, cast, index)
    return seen


@pytest.mark.parametrize("batch", [1000, 7])
async def test_batched_sweeps_write_exactly_what_the_per_item_sweep_wrote(
    tmp_path: Path, batch: int
) -> None:
    """Every kind of due item over a timeline with quiet hours: same reports, same rows (ids,
    payloads, dedupe keys, times), sweep after sweep; the reports are the hand-worked ones."""
    old = await run_timeline(
        tmp_path / "old.sqlite3", lambda s: PerItemPlanner(s, PLATFORM, batch=batch)
    )
    new = await run_timeline(
        tmp_path / "new.sqlite3", lambda s: Planner(s, PLATFORM, batch=batch)
    )
    if batch == 1000:  # small batches meet a round twice in one sweep: other counts
        assert [report for report, _ in new] == [expected for _, expected in TIMELINE]
    for moment, (old_report, old_rows), (new_report, new_rows) in zip(
        [m for m, _ in TIMELINE], old, new, strict=True
    ):
        assert new_report == old_report, moment
        for table in TABLES:
            assert new_rows[table] == old_rows[table], (moment, table)


async def test_batched_timeline_rows_are_the_hand_worked_ones(tmp_path: Path) -> None:
    """The rows themselves: reminders and nudges deduplicated per number, 'no answer' (never
    'closed') with a staff follow-up each, the next round planned, quiet-hours reminders
    postponed to Saturday 09:00, capped and retired steps never looked at again."""
    async with services(tmp_path / "bot.sqlite3") as svc:
        cast = await seed(svc)
        clock = svc.clock
        assert isinstance(clock, ManualClock)
        planner = Planner(svc, PLATFORM)
        clock.set(TIMELINE[0][0])
        await planner.sweep()
        rows = await dump(svc.db)
        keys = [r[7] for r in rows["outbox"] if r[4] in ("reminder", "nudge")]
        first = cast.rounds["first"] + cast.rounds["second"]
        stuck = cast.users["stuck"]
        assert keys == [f"remind:{rid}:1" for rid in sorted(first)] + [
            f"nudge:{pk}:{cast.step}:1" for pk in stuck
        ]
        expired = cast.rounds["expire"]
        by_id = {r[0]: r for r in rows["rounds"]}
        assert {by_id[rid][5] for rid in expired} == {"no_answer"}
        assert {by_id[rid][5] for rid in cast.rounds["answered"]} == {"answered"}
        answers = [(r[1], r[3], r[5]) for r in rows["answers"] if r[3] != "operating"]
        assert answers == [(rid, "no_answer", TS0) for rid in expired]
        followups = [(r[1], r[2], r[3]) for r in rows["followups"]]
        assert followups == [
            (by_id[rid][1], "no_answer", f'{{"round": {rid}}}') for rid in expired
        ]
        users = {r[0]: r[1] for r in rows["users"]}
        # Due Saturday 14 November: 90 days on is Friday 12 February, quiet: Saturday 09:00.
        planned = dt.datetime(2027, 2, 13, 9, 0, tzinfo=TEHRAN)
        assert {users[pk] for pk in cast.users["expire"]} == {int(planned.timestamp())}
        assert users[cast.users["closed"][0]] is None and users[cast.users["no_anchor"][0]] is None
        steps = {(r[0], r[1]): r for r in rows["steps"]}
        retired = [steps[pk, "a-step-no-longer-in-the-content"] for pk in cast.users["retired"]]
        assert {(s[5], s[7]) for s in retired} == {(0, None)}  # nudges_sent, nudge_at
        gone = steps[cast.users["unreachable"][0], cast.step]
        assert (gone[5], gone[7]) == (0, TS0 - 8 * DAY)  # not looked at
        # Quiet hours: the reminders due wait for Saturday 09:00, nothing is queued.
        await between(svc, cast, 0)
        for moment, _ in TIMELINE[1:3]:
            clock.set(moment)
            await planner.sweep()
        rows = await dump(svc.db)
        saturday = int(tehran(6, 9).timestamp())
        postponed = [r for r in rows["rounds"] if r[7] == saturday]  # next_action_at
        still_open = cast.rounds["first"][1:] + cast.rounds["waiting"]
        assert sorted(r[0] for r in postponed) == sorted(still_open)
        assert len([r for r in rows["outbox"] if r[4] == "reminder"]) == 15 + 6
        # To the end: capped after three nudges, and the undone step is never nudged again.
        for index, (moment, _) in enumerate(TIMELINE[3:], start=3):
            await between(svc, cast, index - 1)
            clock.set(moment)
            await planner.sweep()
        rows = await dump(svc.db)
        steps = {(r[0], r[1]): r for r in rows["steps"]}
        undone = steps[cast.users["stuck"][1], cast.step]
        assert (undone[3], undone[5], undone[7]) == (None, 3, None)  # done_at, sent, nudge_at
        nudged = [r[7] for r in rows["outbox"] if r[4] == "nudge"]
        assert len(nudged) == 7 + 3 + 6 + 9 and len(set(nudged)) == len(nudged)
        assert all(r[3] == "no_answer" or r[3] == "operating" for r in rows["answers"])


@contextmanager
def transactions(db: Database) -> Iterator[list[str]]:
    """Every write transaction on the connection while the block runs: a BEGIN, or a write
    statement outside one (autocommit), as the statement that started it."""
    started: list[str] = []
    inside = False

    def trace(sql: str) -> None:
        """Note where transactions start."""
        nonlocal inside
        word = sql.lstrip().split(None, 1)[0].upper()
        if word == "BEGIN":
            inside = True
            started.append(sql)
        elif word in ("COMMIT", "ROLLBACK"):
            inside = False
        elif word in ("INSERT", "UPDATE", "DELETE") and not inside:
            started.append(sql)

    db._conn.set_trace_callback(trace)
    try:
        yield started
    finally:
        db._conn.set_trace_callback(None)


async def count_transactions(path: Path, size: int, make: Callable[[Services], Planner]) -> int:
    """Write transactions of the first timeline sweep with ``size`` times the due items."""
    async with services(path) as svc:
        await seed(svc, size)
        with transactions(svc.db) as started:
            await make(svc).sweep()
        return len(started)


@pytest.mark.sqlite_only("counts transactions with SQLite's trace callback")
async def test_transactions_per_sweep_follow_the_batches_not_the_items(tmp_path: Path) -> None:
    """One transaction per kind of action a batch (expiries, reminders, postponements; nudges,
    later looks): 5 whether 39 or 179 items are due, where the per-item sweep had one each."""
    batched = [
        await count_transactions(tmp_path / f"{size}.sqlite3", size, lambda s: Planner(s, PLATFORM))
        for size in (1, 5)
    ]
    assert batched == [5, 5]
    per_item = await count_transactions(
        tmp_path / "old.sqlite3", 5, lambda s: PerItemPlanner(s, PLATFORM)
    )
    assert per_item > 150
    # In batches of 50: 127 due rounds (and the 30 due their second reminder at once, met
    # again) make 4 batches of at most 3 transactions, 52 stuck steps 2 of at most 2.
    small = await count_transactions(
        tmp_path / "small.sqlite3", 5, lambda s: Planner(s, PLATFORM, batch=50)
    )
    assert 5 < small <= 4 * 3 + 2 * 2


async def check_whole(db: Database) -> None:
    """Nothing half-done: a reminder count matches its queued reminders, a 'no answer' round
    has its history row and its follow-up, a nudge count matches its queued nudges."""
    rows = await dump(db)
    queued = [r[7] for r in rows["outbox"]]
    for r in rows["rounds"]:
        rid, status, reminders = r[0], r[5], r[4]
        assert [k for k in queued if k.startswith(f"remind:{rid}:")] == [
            f"remind:{rid}:{n}" for n in range(1, reminders + 1)
        ]
        history = [a for a in rows["answers"] if a[1] == rid and a[3] == "no_answer"]
        staff = [f for f in rows["followups"] if f[3] == f'{{"round": {rid}}}']
        assert (len(history), len(staff)) == ((1, 1) if status == "no_answer" else (0, 0))
    for s in rows["steps"]:
        pk, step, sent = s[0], s[1], s[5]
        assert len([k for k in queued if k.startswith(f"nudge:{pk}:{step}:")]) == sent


CRASHES = {
    "reminders": "BEFORE INSERT ON outbox WHEN NEW.dedupe_key = 'remind:' || {round} || ':1'",
    "expiries": "BEFORE INSERT ON followups WHEN NEW.detail = '{{\"round\": ' || {round} || '}}'",
    "nudges": "BEFORE INSERT ON outbox WHEN NEW.dedupe_key LIKE 'nudge:' || {user} || ':%'",
}


async def settled(svc: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Sweep at the same moment until nothing more is due; the rows, outbox ids left out (a
    rolled-back batch's ids are taken again by whatever is queued next)."""
    for _ in range(5):
        report = await Planner(svc, PLATFORM).sweep()
        if not (report.queued or report.expired):
            break
    rows = await dump(svc.db)
    rows["outbox"] = sorted(r[1:] for r in rows["outbox"])
    return rows


@pytest.mark.sqlite_only("injects the crash with a SQLite TEMP TRIGGER and RAISE(ABORT)")
@pytest.mark.parametrize("kind", list(CRASHES))
async def test_a_crash_mid_batch_leaves_nothing_half_done(tmp_path: Path, kind: str) -> None:
    """An exception on an item in the middle of a batch rolls the whole batch back; the next
    sweeps do it all, ending with exactly the rows of sweeps that never failed."""
    async with services(tmp_path / "clean.sqlite3") as svc:
        await seed(svc, 3)
        expected = await settled(svc)
    async with services(tmp_path / "crash.sqlite3") as svc:
        cast = await seed(svc, 3)
        middle = {"round": cast.rounds["first" if kind == "reminders" else "expire"][4],
                  "user": cast.users["stuck"][10]}  # fmt: skip
        await svc.db.execute(
            f"CREATE TEMP TRIGGER crash {CRASHES[kind].format(**middle)} "
            "BEGIN SELECT RAISE(ABORT, 'injected'); END"
        )
        before = await dump(svc.db)
        with pytest.raises(sqlite3.IntegrityError, match="injected"):
            await Planner(svc, PLATFORM).sweep()
        await check_whole(svc.db)
        after = await dump(svc.db)
        if kind == "expiries":  # expiries go first: nothing at all happened
            assert after == before
        if kind == "reminders":  # the expiries went through, no reminder did
            assert [r[4] for r in after["rounds"]] == [r[4] for r in before["rounds"]]
            assert after["answers"] != before["answers"]
        if kind == "nudges":  # the reminders went through, no nudge did
            assert after["steps"] == before["steps"]
            assert after["rounds"] != before["rounds"]
        await svc.db.execute("DROP TRIGGER crash")
        done = await settled(svc)
        await check_whole(svc.db)
    assert done == expected


async def test_rounds_answered_and_steps_finished_meanwhile_are_left_alone(
    tmp_path: Path,
) -> None:
    """A round answered and a step finished between the sweep's read and its write: no
    reminder or 'no answer' for that round, no nudge for that step and it is not looked at
    again. (The per-item sweep queued the reminder and revived the finished step's nudges.)"""
    async with services(tmp_path / "bot.sqlite3") as svc:
        cast = await seed(svc)
        repo, steps = CheckinRepo(svc.db), StepRepo(svc.db)
        planner = Planner(svc, PLATFORM)
        reminded, expiring = cast.rounds["first"][0], cast.rounds["expire"][0]
        finished = cast.users["stuck"][0]
        reads = planner.repo.due_actions

        async def answer_after_read(*args: Any) -> Any:
            """Read the due rounds, then two people answer theirs."""
            items = await reads(*args)
            if any(item.round_id == reminded for item in items):
                await repo.answer(reminded, cast.users["first"][0], "operating", {}, TS0)
                await repo.answer(expiring, cast.users["expire"][0], "paused", {}, TS0)
            return items

        stuck = planner.repo.stuck_steps

        async def finish_after_read(*args: Any) -> Any:
            """Read the stuck steps, then someone finishes theirs."""
            items = await stuck(*args)
            if any(item.user_pk == finished for item in items):
                await steps.mark_done(finished, cast.step, TS0)
            return items

        planner.repo.due_actions = answer_after_read  # type: ignore[method-assign]
        planner.repo.stuck_steps = finish_after_read  # type: ignore[method-assign]
        report = await planner.sweep()
        rows = await dump(svc.db)
    keys = {r[7] for r in rows["outbox"]}
    assert f"remind:{reminded}:1" not in keys
    assert not [k for k in keys if k.startswith(f"nudge:{finished}:")]
    by_id = {r[0]: r for r in rows["rounds"]}
    assert (by_id[reminded][4], by_id[reminded][5]) == (0, "answered")
    assert by_id[expiring][5] == "answered"
    assert [a[3] for a in rows["answers"] if a[1] == expiring] == ["paused"]
    assert not [f for f in rows["followups"] if f[3] == f'{{"round": {expiring}}}']
    step = next(s for s in rows["steps"] if s[0] == finished)
    assert (step[5], step[7]) == (0, None)  # no nudge counted, never looked at again
    assert (report.reminders, report.expired, report.nudges) == (14, 7, 6)


async def test_reminders_and_nudges_queued_twice_are_queued_once(tmp_path: Path) -> None:
    """The same batch written twice (a retried sweep) leaves one outbox row per reminder and
    nudge number: the dedupe keys hold."""
    async with services(tmp_path / "bot.sqlite3") as svc:
        await seed(svc)
        planner = Planner(svc, PLATFORM)
        now = dt.datetime.fromtimestamp(TS0, dt.UTC)
        rounds = await planner.repo.due_actions(PLATFORM, TS0, 1000)
        stuck = await planner.repo.stuck_steps(PLATFORM, TS0, 1000)
        plan = await planner._plan_rounds(rounds, now, quiet=False)
        nudges = await planner._plan_nudges(stuck, now)
        for _ in range(2):
            await planner.repo.remind_many(plan.remind, TS0)
            await planner.repo.nudge_many(nudges.nudge, TS0)
        rows = await dump(svc.db)
    kinds = [r[4] for r in rows["outbox"] if r[4] != "checkin"]
    assert kinds.count("reminder") == len(plan.remind) == 15
    assert kinds.count("nudge") == len(nudges.nudge) == 7
