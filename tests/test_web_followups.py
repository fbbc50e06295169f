"""The console's follow-ups: grouped, oldest first, a day marked as too long, handled with a note
(who, when), the overview's waiting figures, county scope, escaping and CSRF."""

from __future__ import annotations

import re

from telegram import Update

from bot.repo.checkins import CheckinRepo
from bot.repo.followups import FOLLOWUP_GROUPS, FollowupRepo, Waiting
from bot.repo.roster import RosterRepo
from bot.repo.staff import StaffRepo
from bot.rules.scope import Scope
from scheduler.followups import post_followups
from tests.conftest import Bot
from tests.support.console import sign_in
from tests.test_inbox import STAFF_CHAT, staff_messages
from tests.test_onboarding import onboard
from tests.test_web_tickets import ADMIN, SCOPED, STAFFER, Office, move_to, office, user_pk

__all__ = ["office"]  # the fixture, shared with the tickets tests


async def person(bot: Bot, user_id: int, county: str = "karaj") -> int:
    """An onboarded applicant in a county; their users.id."""
    await onboard(bot, user_id)
    if county != "karaj":
        await move_to(bot, user_id, county)
    return await user_pk(bot, user_id)


async def file_each_kind(bot: Bot) -> dict[str, int]:
    """One follow-up of every group, a few hours apart (problems first); their ids by group."""
    checkins = CheckinRepo(bot.svc.db)
    ids: dict[str, int] = {}
    filed = [
        ("problems", {"round": 1, "problem": "financing"}),
        ("closed", {"round": 1, "reason": "other"}),
        ("no_answer", {"round": 1}),
        ("step_help", {"step": "register_system"}),
    ]
    for n, (kind, detail) in enumerate(filed):
        pk = await person(bot, 920 + n)
        ids[kind] = await checkins.add_followup(pk, kind, detail, bot.clock.timestamp())
        bot.clock.advance(hours=7)
    pk = await person(bot, 930)
    assert await RosterRepo(bot.svc.db).add_task(pk, "roster_claim", 7, bot.clock.timestamp())
    ids["roster"] = int((await bot.svc.db.fetchone("SELECT MAX(id) FROM followups"))[0])
    return ids


def rows_of(page: str) -> list[str]:
    """The table rows of the list."""
    return re.findall(r'<tr id="f\d+">.*?</tr>', page, flags=re.S)


async def test_follow_ups_are_grouped_and_oldest_first(office: Office) -> None:
    """Every waiting follow-up, oldest first, with its subject and wait; over a day is marked;
    each group's tab counts its own; a group's page lists only it."""
    bot, desk = office.bot, office.desk
    ids = await file_each_kind(bot)
    bot.clock.advance(hours=1)
    await sign_in(desk, STAFFER)
    page = await desk.get("/followups")
    rows = rows_of(page)
    assert [int(re.search(r'id="f(\d+)"', r).group(1)) for r in rows] == list(ids.values())
    assert "پیگیری: مشکل در کار" in rows[0] and "سرمایه یا بازپرداخت اقساط" in rows[0]
    assert "۱ روز" in rows[0] and "tag bad" in rows[0]  # 29 hours: past a day
    assert "tag bad" not in rows[-1] and "۱ ساعت" in rows[-1]
    assert "ردیف ۷ فهرست" in rows[-1] and "در فهرست است" in rows[-1]
    assert "۵ پیگیری منتظر است؛ قدیمی‌ترین ۱ روز" in page
    for group in FOLLOWUP_GROUPS:
        tab = rf'kind={group}&amp;show=waiting"[^>]*>[^<]+<span class="count">\(۱\)'
        assert re.search(tab, page), group
    only = rows_of(await desk.get("/followups?kind=step_help"))
    assert len(only) == 1 and f'id="f{ids["step_help"]}"' in only[0]


async def test_handled_with_a_note_who_and_when(office: Office) -> None:
    """Marking handled takes it off the waiting list; the handled list says who, when and the
    note; undo puts it back. Both audited with "via": "web"."""
    bot, desk = office.bot, office.desk
    ids = await file_each_kind(bot)
    await sign_in(desk, STAFFER)
    page = await desk.post(
        f"/followups/{ids['problems']}/handled",
        {"note": "تماس گرفتم؛ وام دوم را پیگیری می‌کند", "kind": "problems", "show": "waiting"},
    )
    assert "رسیدگی ثبت شد" in page and rows_of(page) == []
    await desk.post(f"/followups/{ids['problems']}/handled", {"note": ""}, status=409)
    page = await desk.get("/followups?show=handled")
    (row,) = rows_of(page)
    assert "Test، " in row and "۱۴۰۵" in row and "تماس گرفتم؛ وام دوم را پیگیری می‌کند" in row
    assert len(rows_of(await desk.get("/followups"))) == 4
    await desk.post(f"/followups/{ids['problems']}/reopen", {"show": "handled"})
    assert len(rows_of(await desk.get("/followups"))) == 5
    audit = await StaffRepo(bot.svc.db).latest(2)
    assert [(e.action, e.detail) for e in audit] == [
        ("followup_reopened", {"followup": ids["problems"], "via": "web"}),
        ("followup_handled", {"followup": ids["problems"], "via": "web"}),
    ]
    await desk.post(f"/followups/{ids['closed']}/handled", {"note": "x" * 501}, status=400)


async def test_the_overview_figures_count_waiting_and_the_oldest(office: Office) -> None:
    """FollowupRepo.waiting: per group, how many wait and since when the oldest, in scope."""
    bot = office.bot
    ids = await file_each_kind(bot)
    fardis = await person(bot, 940, "fardis")
    await CheckinRepo(bot.svc.db).add_followup(fardis, "problems", {}, bot.clock.timestamp())
    repo = FollowupRepo(bot.svc.db)
    now = bot.clock.timestamp()
    everywhere = await repo.waiting(Scope())
    assert list(everywhere) == list(FOLLOWUP_GROUPS)
    assert everywhere["problems"].count == 2
    assert everywhere["problems"].oldest_age(now) == 28 * 3600
    assert everywhere["roster"] == Waiting("roster", 1, now)
    await repo.handle(ids["no_answer"], "telegram", STAFFER, None, now)
    assert (await repo.waiting(Scope()))["no_answer"] == Waiting("no_answer", 0, None)
    scoped = await repo.waiting(Scope.of(["fardis"]))
    assert scoped["problems"] == Waiting("problems", 1, now)
    assert sum(w.count for w in scoped.values()) == 1


async def test_a_scoped_member_sees_only_their_counties(office: Office) -> None:
    """A Karaj follow-up is not listed for the Fardis member and answers 404 like a missing id."""
    bot, desk = office.bot, office.desk
    ids = await file_each_kind(bot)
    fardis = await person(bot, 941, "fardis")
    mine = await CheckinRepo(bot.svc.db).add_followup(fardis, "closed", {}, bot.clock.timestamp())
    await sign_in(desk, SCOPED)
    page = await desk.get("/followups")
    assert [f'id="f{mine}"' in r for r in rows_of(page)] == [True]
    assert "۱ پیگیری منتظر است" in page
    for followup in (ids["problems"], 9999):
        await desk.post(f"/followups/{followup}/handled", {"note": "x"}, status=404)
        await desk.post(f"/followups/{followup}/reopen", status=404)
    assert (await FollowupRepo(bot.svc.db).get(ids["problems"])).status == "open"
    await desk.post(f"/followups/{mine}/handled", {"note": "ok"})


async def test_closing_a_follow_ups_ticket_handles_it(office: Office) -> None:
    """A follow-up's card closed in the staff group counts as handled, by whoever closed it."""
    bot, desk = office.bot, office.desk
    pk = await person(bot, 942)
    followup = await CheckinRepo(bot.svc.db).add_followup(
        pk, "step_help", {"step": "register_system"}, bot.clock.timestamp()
    )
    assert await post_followups(bot.app, bot.svc, "telegram") == 1
    card = staff_messages(bot)[-1]
    press = bot.emulator.user_press(
        ADMIN, card.message_id, "tk:close:1", chat_id=STAFF_CHAT, enqueue=False
    )
    await bot.app.process_update(Update.de_json(press, bot.app.bot))
    item = await FollowupRepo(bot.svc.db).get(followup)
    assert item is not None and item.handled and (item.handled_by, item.ticket_id) == (ADMIN, 1)
    await sign_in(desk, STAFFER)
    (row,) = rows_of(await desk.get("/followups?show=handled"))
    assert "Maryam، " in row and 'href="/tickets/1"' in row and "(بسته)" in row
    page = await desk.get("/tickets/1")
    assert "ثبت‌نام در سامانه مشاغل خانگی" in page  # the step asked about


async def test_names_are_text_and_forms_need_the_token(office: Office) -> None:
    """A name with markup shows as text; a forged form changes nothing."""
    bot, desk = office.bot, office.desk
    pk = await person(bot, 943)
    await bot.svc.db.execute(
        "UPDATE users SET full_name = '<script>alert(1)</script>' WHERE id = ?", (pk,)
    )
    followup = await CheckinRepo(bot.svc.db).add_followup(pk, "no_answer", {}, 0)
    await sign_in(desk, STAFFER)
    page = await desk.get("/followups?kind=no_answer")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    desk.csrf = "forged"
    await desk.post(f"/followups/{followup}/handled", {"note": "x"}, status=403)
    assert (await FollowupRepo(bot.svc.db).get(followup)).status == "open"
    desk.http.session.cookie_jar.clear()
    await desk.get("/followups", status=401)
