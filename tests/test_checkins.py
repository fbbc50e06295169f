"""The follow-up loop through the real Application: sweep → outbox → check-in → answer → next."""

from __future__ import annotations

import datetime as dt

from bot.repo.checkins import CheckinRepo
from scheduler.planner import Planner
from tests.conftest import Bot
from tests.test_onboarding import onboard

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


async def deliver(bot: Bot) -> int:
    """Run a sweep and deliver what it queued; return how many messages went out."""
    await Planner(bot.svc, "telegram").sweep()
    return await bot.drain()


async def loan_holder(bot: Bot, user_id: int, lang: str = "en", loan_date: str = "1405/08/01"):
    """An applicant whose loan arrived on a given date, typed when asked."""
    me = await onboard(
        bot, user_id, lang=lang, stage="Loan received" if lang == "en" else "وام گرفته‌ام"
    )
    assert "receive the loan" in me.last or "وام را" in me.last
    await me.send(loan_date)
    return me


async def user(bot: Bot, user_id: int):
    """The stored user."""
    found = await bot.svc.users.find("telegram", user_id)
    assert found is not None
    return found


async def test_first_checkin_is_timed_from_the_loan_and_answered_operating(bot: Bot) -> None:
    """Loan 1405/08/01 → first check-in 30 days later (already past: now); then every 90 days."""
    me = await loan_holder(bot, 801)
    transcript = "\n".join(m.content for m in me.history[-4:])
    assert "“Loan received” done on 1405/08/01 (2026-10-23)" in transcript
    assert "From 1405/09/08 (2026-11-29) we will ask" in transcript
    person = await user(bot, 801)
    assert person.loan_on == "2026-10-23"
    assert await deliver(bot) == 1
    assert "Is your home business operating now?" in me.last
    assert me.buttons == [
        "✅ Operating normally",
        "⚠️ Operating, with problems",
        "⏸ Temporarily paused",
        "⛔ Closed",
    ]
    await me.press("✅ Operating normally")
    assert "How many people" in me.last
    await me.press("2")
    assert "sell" in me.last
    band = bot.svc.content.checkin.sales_bands[1]
    await me.press(band.label.en)
    assert "Wonderful" in me.last and "Next question: 1405/12/08 (2027-02-27)" in me.last
    history = await CheckinRepo(bot.svc.db).history(person.id)
    assert [(s, d) for s, d, _ in history] == [("operating", {"staff": 2, "sales": band.id})]
    nxt = await CheckinRepo(bot.svc.db).next_at(person.id)
    assert nxt is not None
    days = (dt.datetime.fromtimestamp(nxt, dt.UTC) - bot.clock.now()).days
    assert 89 <= days <= 91
    assert await deliver(bot) == 0


async def test_problems_give_help_and_a_staff_followup(bot: Bot) -> None:
    """Operating with problems → raw materials → help text from content, a follow-up recorded."""
    me = await loan_holder(bot, 802)
    await deliver(bot)
    await me.press("⚠️ Operating, with problems")
    problem = bot.svc.content.problem("raw_materials")
    await me.press(problem.label.en)
    assert problem.help.en in me.last and "staff" in me.last
    followups = await CheckinRepo(bot.svc.db).followups()
    assert [(f["kind"], f["user_id"]) for f in followups] == [("problems", 802)]


async def test_other_problem_takes_free_text_then_returns(bot: Bot) -> None:
    """ "Other" asks for a note; the note is stored; the person is back at the menu."""
    me = await loan_holder(bot, 803)
    await deliver(bot)
    await me.press("⚠️ Operating, with problems")
    await me.press(bot.svc.content.problem("other").label.en)
    await me.send("My supplier closed and prices doubled")
    history = await CheckinRepo(bot.svc.db).history((await user(bot, 803)).id)
    assert history[-1][1]["note"] == "My supplier closed and prices doubled"
    assert (await user(bot, 803)).state == ""


async def test_paused_moves_the_next_checkin_to_the_restart_date(bot: Bot) -> None:
    """Paused → reason → a typed restart date: the next round is that date at 10:00 Tehran."""
    me = await loan_holder(bot, 804)
    await deliver(bot)
    await me.press("⏸ Temporarily paused")
    await me.press(bot.svc.content.checkin.pause_reasons[0].label.en)
    await me.send("۱۴۰۶/۰۱/۱۵")
    person = await user(bot, 804)
    nxt = await CheckinRepo(bot.svc.db).next_at(person.id)
    assert dt.datetime.fromtimestamp(nxt, TEHRAN).replace(tzinfo=None) == dt.datetime(
        2027, 4, 4, 10, 0
    )
    assert person.state == ""


async def test_paused_by_button_in_three_months(bot: Bot) -> None:
    """The three-month button plans the next round about 90 days on."""
    me = await loan_holder(bot, 805)
    await deliver(bot)
    await me.press("⏸ Temporarily paused")
    await me.press(bot.svc.content.checkin.pause_reasons[1].label.en)
    await me.press("In about three months")
    nxt = await CheckinRepo(bot.svc.db).next_at((await user(bot, 805)).id)
    assert 89 <= (dt.datetime.fromtimestamp(nxt, dt.UTC) - bot.clock.now()).days <= 91


async def test_closed_stops_checkins_and_lists_for_staff(bot: Bot) -> None:
    """Closed → reason → kind words and contact; no more rounds; a follow-up recorded."""
    me = await loan_holder(bot, 806, lang="fa")
    await deliver(bot)
    await me.press("⛔ تعطیل شده است")
    await me.press(bot.svc.content.checkin.closed_reasons[0].label.fa)
    assert "۶۶۷۴۷۷۴۷" in me.last
    person = await user(bot, 806)
    assert await CheckinRepo(bot.svc.db).next_at(person.id) is None
    assert [f["kind"] for f in await CheckinRepo(bot.svc.db).followups()] == ["closed"]
    bot.clock.advance(days=200)
    assert await deliver(bot) == 0


async def test_checkin_mid_profile_edit_does_not_break_it(bot: Bot) -> None:
    """A check-in answered while editing the name: afterwards the name question comes back."""
    me = await loan_holder(bot, 807)
    await me.press("⚙️ Settings")
    await me.press("set:profile")
    await me.press("pf:full_name")
    await deliver(bot)
    await me.press("✅ Operating normally")
    await me.press("Skip")
    await me.press(bot.svc.content.checkin.sales_bands[0].label.en)
    assert "full name" in me.last
    await me.send("Sara Karimi")
    assert (await user(bot, 807)).full_name == "Sara Karimi"


async def test_answered_expired_forged_and_foreign_buttons(bot: Bot) -> None:
    """Each stale check-in button gets a clear sentence, never an error."""
    me = await loan_holder(bot, 808)
    other = await loan_holder(bot, 809)
    await deliver(bot)
    card = me.last_message
    first_button = card.inline_buttons()[0]["callback_data"]
    await me.press("✅ Operating normally")
    replies = await me.press_data(first_button, card.message_id)
    assert "already answered" in replies[0].content
    replies = await me.press_data("ci:99999:op")
    assert "expired" in replies[0].content
    their_round = other.last_message.inline_buttons()[0]["callback_data"]
    replies = await me.press_data(their_round)
    assert "expired" in replies[0].content
    replies = await me.press_data("ci:abc:op:extra:stuff")
    assert "no longer works" in replies[0].content


async def test_no_answer_reminds_twice_then_records_no_answer_not_closed(bot: Bot) -> None:
    """Reminders after 3 and 7 days; after 14 the round is 'no answer' and the next is planned."""
    me = await loan_holder(bot, 810)
    await deliver(bot)
    bot.clock.advance(days=3, hours=1)
    assert await deliver(bot) == 1 and "reminder" in me.last
    bot.clock.advance(days=4)
    assert await deliver(bot) == 1 and "reminder" in me.last
    bot.clock.advance(days=2)
    assert await deliver(bot) == 0
    bot.clock.advance(days=5)
    await deliver(bot)
    person = await user(bot, 810)
    history = await CheckinRepo(bot.svc.db).history(person.id)
    assert [s for s, _, _ in history] == ["no_answer"]
    assert [f["kind"] for f in await CheckinRepo(bot.svc.db).followups()] == ["no_answer"]
    assert await CheckinRepo(bot.svc.db).next_at(person.id) is not None


async def test_quiet_hours_and_friday_hold_checkins(bot: Bot) -> None:
    """Due at night or on Friday: nothing goes out until the window opens."""
    await loan_holder(bot, 811)
    bot.clock.set(dt.datetime(2026, 12, 4, 12, 0, tzinfo=TEHRAN))  # a Friday
    assert await deliver(bot) == 0
    bot.clock.set(dt.datetime(2026, 12, 5, 22, 0, tzinfo=TEHRAN))  # Saturday night
    assert await deliver(bot) == 0
    bot.clock.set(dt.datetime(2026, 12, 6, 9, 1, tzinfo=TEHRAN))
    assert await deliver(bot) == 1


async def test_stuck_step_nudges_at_most_three_times(bot: Bot) -> None:
    """Stuck on a step for over 7 days: a nudge with its help text, three at most."""
    me = await onboard(bot, 812, lang="en")
    await me.press("📋 Permit steps")
    step = bot.svc.content.steps_for("handicrafts")[0]
    sent = []
    for _ in range(5):
        bot.clock.advance(days=8)
        bot.clock.set(bot.clock.now().replace(hour=8))  # 11:30 Tehran
        if bot.clock.now().astimezone(TEHRAN).weekday() == 4:
            bot.clock.advance(days=1)
        sent.append(await deliver(bot))
    assert sent == [1, 1, 1, 0, 0]
    assert step.help.en in me.last and me.buttons == ["📋 Open this step", "🙋 I need help"]


async def test_restart_between_answer_and_detail(bot: Bot) -> None:
    """The process restarts after "operating"; the staff-count button still works."""
    me = await loan_holder(bot, 813)
    await deliver(bot)
    await me.press("✅ Operating normally")
    await bot.restart()
    me = bot.client(813, lang="en")
    await me.press("3")
    assert "sell" in me.last
    history = await CheckinRepo(bot.svc.db).history((await user(bot, 813)).id)
    assert history[-1][1] == {"staff": 3}


async def test_step_help_goes_on_the_staff_list(bot: Bot) -> None:
    """ "I need help" on a step is a staff follow-up."""
    me = await onboard(bot, 814, lang="en")
    await me.press("📋 Permit steps")
    await me.press("🙋 I need help")
    assert [f["kind"] for f in await CheckinRepo(bot.svc.db).followups()] == ["step_help"]


async def test_cli_lists_due_sweeps_and_counts(bot: Bot) -> None:
    """`homebiz checkins due`, `checkins send-now` (no token: queue only) and `outbox`."""
    from tests.support import stores
    from tests.test_cli import _homebiz

    await loan_holder(bot, 815)
    person = await user(bot, 815)
    await CheckinRepo(bot.svc.db).set_next(person.id, 1)  # long due, whatever the real time
    schedule = bot.svc.content.schedule
    await bot.stop()
    db = str(stores.current.target(bot.db_path))
    from bot.rules.followup import policy_from
    from bot.rules.schedule import in_quiet_hours

    quiet = in_quiet_hours(dt.datetime.now(dt.UTC), policy=policy_from(schedule))
    due = _homebiz(["--db", db, "checkins", "due"], bot.db_path.parent)
    state = "planned" if quiet else "DUE"  # the real clock: at night the sweep waits too
    assert due.stdout.startswith(state) and "telegram:815" in due.stdout, due.stderr
    sweep = _homebiz(["--db", db, "checkins", "send-now"], bot.db_path.parent)
    if quiet:
        assert "telegram: queued 0" in sweep.stdout, sweep.stderr  # the real clock is at night
        return
    assert "telegram: queued 1 (check-ins 1" in sweep.stdout, sweep.stderr
    counts = _homebiz(["--db", db, "outbox"], bot.db_path.parent)
    line = next(row for row in counts.stdout.splitlines() if row.startswith("checkin"))
    assert line.split()[1:3] == ["1", "0"]
    await bot.start()


async def test_dates_can_be_corrected_from_settings(bot: Bot) -> None:
    """Settings → dates asks the loan date again; the next check-in moves with it."""
    me = await loan_holder(bot, 816)
    person = await user(bot, 816)
    before = await CheckinRepo(bot.svc.db).next_at(person.id)
    await me.press("⚙️ Settings")
    await me.press("set:dates")
    assert "permit issued" in me.last  # implied by the loan stage, its date never given
    assert me.reply_keyboard == ["📅 Today", "Skip"]
    await me.press("Skip")
    assert "receive the loan" in me.last and "Recorded date: 1405/08/01" in me.last
    assert me.reply_keyboard == ["📅 Today", "No change"]
    await me.send("1405/09/01")
    person = await user(bot, 816)
    assert person.loan_on == "2026-11-22"
    after = await CheckinRepo(bot.svc.db).next_at(person.id)
    assert after is not None and before is not None and after > before


async def test_no_dates_yet_is_said_plainly(bot: Bot) -> None:
    """Someone at the idea stage has no dates to correct."""
    me = await onboard(bot, 817, lang="en")
    await me.press("⚙️ Settings")
    replies = await me.press("set:dates")
    assert "No permit, loan or operating date" in replies[-1].content


async def _everyone_due_in_some_state(bot: Bot) -> dict[str, int]:
    """Loan holders all due now, then stopped, unreachable, closed, unconsented; one planned."""
    states = ("reachable", "stopped", "unreachable", "closed", "unconsented")
    people = {state: 830 + i for i, state in enumerate(states)}
    for uid in people.values():
        await loan_holder(bot, uid)
    repo, now = CheckinRepo(bot.svc.db), bot.clock.timestamp()
    for uid in people.values():
        assert await repo.next_at((await user(bot, uid)).id) == now  # due this very minute
    await bot.client(831, lang="en").send("/stop")
    await bot.svc.users.update(await user(bot, 832), now, unreachable_at=now)
    await repo.set_next((await user(bot, 833)).id, now, closed=True)
    await bot.svc.users.update(await user(bot, 834), now, consent_at=None)
    await loan_holder(bot, 835, loan_date="1405/09/01")  # its first round is 30 days after
    return {**people, "later": 835}


async def _due_listing(bot: Bot) -> list[str]:
    """What `homebiz checkins due` prints, on the test's clock and database."""
    from bot.core.config import Settings
    from bot.entry.ops import checkins_due
    from tests.support import stores

    return await checkins_due(Settings(**stores.current.settings(bot.db_path)), clock=bot.clock)


async def _opened_by_a_sweep(bot: Bot, people: dict[str, int]) -> set[int]:
    """Run the real sweep; whom it opened a round for."""
    await Planner(bot.svc, "telegram").sweep()
    repo = CheckinRepo(bot.svc.db)
    return {
        uid for uid in people.values() if await repo.latest_round((await user(bot, uid)).id)
    }


async def test_checkins_due_lists_exactly_whom_the_sweep_will_message(bot: Bot) -> None:
    """DUE are the people the next sweep opens a round for; /stop and the like are not."""
    people = await _everyone_due_in_some_state(bot)
    lines = await _due_listing(bot)
    assert lines == [
        "DUE      1405/09/08 (2026-11-29) 11:30  telegram:830",
        "planned  1405/10/01 (2026-12-22) 10:00  telegram:835",
        "(4 more with a planned date get nothing: stopped, unreachable, check-ins closed"
        " or no consent)",
    ]
    assert await _opened_by_a_sweep(bot, people) == {830}


async def test_checkins_due_in_the_quiet_hours_waits_like_the_sweep(bot: Bot) -> None:
    """At 22:00 Tehran the sweep opens nothing: the listing shows the morning, not DUE."""
    people = await _everyone_due_in_some_state(bot)
    bot.clock.set(dt.datetime(2026, 11, 29, 22, 0, tzinfo=TEHRAN))
    lines = await _due_listing(bot)
    assert lines[0] == "planned  1405/09/09 (2026-11-30) 09:00  telegram:830"
    assert not [line for line in lines if line.startswith("DUE")]
    assert await _opened_by_a_sweep(bot, people) == set()
    bot.clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TEHRAN))
    assert (await _due_listing(bot))[0] == "DUE      1405/09/08 (2026-11-29) 11:30  telegram:830"
    assert await _opened_by_a_sweep(bot, people) == {830}
