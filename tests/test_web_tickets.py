"""The console's questions: lists, the conversation, notes, assignment, saved replies, replies
that travel like a staff group reply (outbox → applicant, copy in the group), close/reopen,
county scope, escaping and CSRF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.clock import ManualClock
from bot.messengers.fakeapi.client import ChatClient
from bot.repo.outbox import OutboxRepo
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.stores import Store
from tests.test_inbox import STAFF_CHAT, group_say, staff_messages
from tests.test_onboarding import onboard
from web.app import build_console

ADMIN = 500
STAFFER = 501
SCOPED = 502  # sees Fardis only
NONCE = "n" * 20


@dataclass
class Office:
    """A bot with a staff group, an admin, a staff member, a Fardis-only member, and the
    console over it."""

    bot: Bot
    desk: Desk


@pytest.fixture
async def office(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Office]:
    """The office, with the admin's hello in the group so the group exists."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        staff_chats={"telegram": STAFF_CHAT},
        web=WEB,
    )
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    now = clock.timestamp()
    await staff.add("telegram", STAFFER, "staff", ADMIN, now)
    await staff.add("telegram", SCOPED, "staff", ADMIN, now)
    await staff.set_scope("telegram", SCOPED, ["fardis"])
    bot.emulator.add_user(ADMIN, first_name="Maryam", language_code="fa")
    await group_say(bot, ADMIN, "سلام همکاران")
    async with open_desk(bot) as desk:
        yield Office(bot, desk)
    await bot.stop()


async def ask(bot: Bot, user_id: int, question: str, *, lang: str = "fa") -> ChatClient:
    """An applicant (Karaj) asks a question through the bot."""
    me = await onboard(bot, user_id, lang=lang)
    await me.press("💬 پرسش از کارشناس" if lang == "fa" else "💬 Ask a question")
    await me.send(question)
    return me


async def user_pk(bot: Bot, user_id: int) -> int:
    """The users.id of an applicant."""
    user = await bot.svc.users.find("telegram", user_id)
    assert user is not None
    return user.id


async def move_to(bot: Bot, user_id: int, county: str) -> None:
    """Say an applicant lives in another county."""
    await bot.svc.db.execute(
        "UPDATE users SET county = ? WHERE platform = 'telegram' AND user_id = ?",
        (county, user_id),
    )


def rows_of(page: str) -> list[str]:
    """The table rows of a list page."""
    return re.findall(r"<tr>\s*<td.*?</tr>", page, flags=re.S)


async def test_open_mine_and_closed_lists(office: Office) -> None:
    """Open lists every open question with its applicant, county, kind, latest words, age and
    assignee; mine lists those given to me; closed lists the closed ones."""
    bot, desk = office.bot, office.desk
    await ask(bot, 901, "برای ثبت‌نام چه مدارکی لازم است؟")
    bot.clock.advance(hours=30)
    await ask(bot, 902, "وام چه زمانی واریز می‌شود؟")
    await sign_in(desk, STAFFER)
    page = await desk.get("/tickets")
    rows = rows_of(page)
    assert len(rows) == 2
    first = rows[0]
    assert f'href="/applicants/{await user_pk(bot, 901)}"' in first and "زهرا احمدی" in first
    assert "کرج" in first and "پرسش" in first and "برای ثبت‌نام چه مدارکی" in first
    assert "۱ روز" in first and "tag warn" in first  # waiting more than a day is marked
    assert "بی‌مسئول" in first
    assert "۶ ساعت" not in rows[1] and "همین اکنون" in rows[1]
    await desk.post("/tickets/2/assign", {"to": "me"})
    mine = rows_of(await desk.get("/tickets?view=mine"))
    assert len(mine) == 1 and 'href="/tickets/2"' in mine[0] and "کارکن telegram:501" not in mine[0]
    assert "Test" in mine[0]  # the member's name, kept when they asked for the console link
    await desk.post("/tickets/1/close")
    assert [r for r in rows_of(await desk.get("/tickets")) if 'href="/tickets/1"' in r] == []
    closed = rows_of(await desk.get("/tickets?view=closed"))
    assert len(closed) == 1 and 'href="/tickets/1"' in closed[0]
    await desk.get("/tickets?view=nonsense")  # an unknown view is the open list


async def test_a_console_reply_travels_like_a_group_reply(office: Office) -> None:
    """The reply waits in the outbox, reaches the applicant with the same header as a group
    reply, and appears under the card in the staff group; a reply there to that copy reaches
    the same ticket."""
    bot, desk = office.bot, office.desk
    me = await ask(bot, 903, "Which documents do I need?", lang="en")
    card = staff_messages(bot)[-1]
    await sign_in(desk, STAFFER)
    page = await desk.post("/tickets/1/reply", {"text": "Your ID card only.", "nonce": NONCE})
    assert "در صف فرستادن" in page and "Your ID card only." in page
    assert "Your ID card only." not in me.last  # not yet: the outbox sends it
    await desk.post("/tickets/1/reply", {"text": "Your ID card only.", "nonce": NONCE})
    assert await bot.drain() == 2  # one answer and one copy, though the form came twice
    assert me.last == (
        "📩 Answer from the home-business programme staff (question 1):\nYour ID card only."
    )
    copy = staff_messages(bot)[-1]
    assert copy.content == "💬 پاسخ Test از پیشخوان به پرسش ۱:\nYour ID card only."
    assert copy.payload["reply_to_message"]["message_id"] == card.message_id
    page = await desk.get("/tickets/1")
    assert "فرستاده شد" in page and "از پیشخوان" in page
    await group_say(bot, ADMIN, "And a photo.", reply_to=copy.message_id)
    assert staff_messages(bot)[-1].content == "✅ برای متقاضیِ پرسش ۱ فرستاده می‌شود."
    assert await bot.drain() == 1
    assert me.last.endswith("And a photo.")
    page = await desk.get("/tickets/1")
    assert "در گروه کارکنان" in page and "And a photo." in page
    audit = await StaffRepo(bot.svc.db).latest(10, action="ticket_reply")
    assert [e.detail.get("via") for e in audit] == ["group", "web"]


async def test_without_the_bot_a_reply_waits_in_the_outbox(office: Office) -> None:
    """`homebiz web` alone (no bot in the process): the reply is kept, and sent once a bot runs."""
    bot = office.bot
    me = await ask(bot, 904, "Hello?", lang="en")
    async with TestClient(TestServer(build_console(bot.svc, {}))) as http:
        alone = Desk(bot, http)
        await sign_in(alone, STAFFER)
        await alone.post("/tickets/1/reply", {"text": "Hello!", "nonce": NONCE})
    pending = await OutboxRepo(bot.svc.db).by_status("pending")
    assert sorted(r.kind for r in pending) == ["reply", "ticket_copy"]
    await bot.restart()
    assert await bot.drain() == 2
    assert me.last.endswith("Hello!")


async def test_a_note_is_never_sent_to_the_applicant(office: Office) -> None:
    """An internal note shows on the page, is audited, and nothing leaves the outbox."""
    bot, desk = office.bot, office.desk
    me = await ask(bot, 905, "سلام")
    seen, in_group = len(me.messages), len(staff_messages(bot))
    await sign_in(desk, STAFFER)
    page = await desk.post("/tickets/1/note", {"text": "فردا تماس بگیرم\nشمارهٔ دوم را هم دارد"})
    assert "فردا تماس بگیرم\nشمارهٔ دوم را هم دارد" in page and "یادداشت ثبت شد" in page
    assert await bot.drain() == 0
    assert len(me.messages) == seen and len(staff_messages(bot)) == in_group
    entry = (await StaffRepo(bot.svc.db).latest(1))[0]
    assert (entry.action, entry.detail) == ("ticket_note", {"ticket": 1, "via": "web"})
    await desk.post("/tickets/1/note", {"text": "   "}, status=400)


async def test_assign_to_myself_a_colleague_or_nobody(office: Office) -> None:
    """Assignment names people; a stranger or a colleague who cannot see the county is refused."""
    bot, desk = office.bot, office.desk
    await ask(bot, 906, "سلام")
    await sign_in(desk, ADMIN)
    page = await desk.get("/tickets/1")
    assert 'value="telegram:501"' in page and 'value="telegram:502"' in page
    page = await desk.post("/tickets/1/assign", {"to": "telegram:501"})
    assert "مسئول پرسش ثبت شد" in page
    await desk.post("/tickets/1/assign", {"to": "telegram:777"}, status=400)
    await desk.post("/tickets/1/assign", {"to": f"telegram:{SCOPED}"}, status=400)
    await desk.post("/tickets/1/assign", {"to": "nonsense"}, status=400)
    row = await bot.svc.db.fetchone("SELECT assignee_platform, assignee_id FROM tickets")
    assert tuple(row) == ("telegram", STAFFER)
    await desk.post("/tickets/1/assign", {"to": ""})
    row = await bot.svc.db.fetchone("SELECT assignee_id FROM tickets")
    assert row[0] is None
    actions = await StaffRepo(bot.svc.db).latest(5, action="ticket_assigned")
    assert [e.detail["to"] for e in actions] == [None, "telegram:501"]
    assert all(e.detail["via"] == "web" for e in actions)


async def test_saved_replies_are_added_changed_inserted_and_deleted(office: Office) -> None:
    """Any member adds a saved reply; it can be put in the reply box; changed; deleted."""
    bot, desk = office.bot, office.desk
    await ask(bot, 907, "سلام")
    await sign_in(desk, STAFFER)
    page = await desk.post(
        "/tickets/replies", {"title": "مدارک", "body": "کارت ملی و <b>شناسنامه</b>"}
    )
    assert "پاسخ آماده ذخیره شد" in page and "&lt;b&gt;شناسنامه&lt;/b&gt;" in page
    assert "<b>شناسنامه" not in page
    page = await desk.get("/tickets/1")
    assert 'href="/tickets/1?use=1#reply"' in page and "مدارک" in page
    assert 'data-body="کارت ملی و &lt;b&gt;شناسنامه&lt;/b&gt;"' in page
    page = await desk.get("/tickets/1?use=1")
    assert re.search(r'<textarea id="reply-text"[^>]*>کارت ملی و &lt;b&gt;شناسنامه', page)
    await desk.post("/tickets/replies/1", {"title": "مدارک لازم", "body": "فقط کارت ملی"})
    page = await desk.get("/tickets/replies")
    assert "مدارک لازم" in page and "فقط کارت ملی" in page and "آخرین تغییر: Test" in page
    await desk.post("/tickets/replies", {"title": "", "body": "x"}, status=400)
    await desk.post("/tickets/replies/99", {"title": "x", "body": "y"}, status=404)
    page = await desk.post("/tickets/replies/1/delete")
    assert "پاسخ آماده حذف شد" in page and "فقط کارت ملی" not in page
    await desk.post("/tickets/replies/1/delete", status=404)
    actions = [e.action for e in await StaffRepo(bot.svc.db).latest(3)]
    assert actions == ["saved_reply_deleted", "saved_reply_changed", "saved_reply_added"]


async def test_closing_in_the_console_updates_the_card_like_the_button(office: Office) -> None:
    """Close: the card says who closed it and loses its button, the applicant is told, replies
    are refused; reopen: the card gets its button back."""
    bot, desk = office.bot, office.desk
    me = await ask(bot, 908, "Hello?", lang="en")
    card = staff_messages(bot)[-1]
    await sign_in(desk, STAFFER)
    page = await desk.post("/tickets/1/close")
    assert "پرسش بسته شد" in page and 'id="reply-text"' not in page
    assert await bot.drain() == 2
    shown = bot.emulator._find(STAFF_CHAT, card.message_id)
    assert shown.content.startswith(card.content)
    assert shown.content.endswith("\n\n✅ Test این پرسش را بست")
    assert shown.inline_buttons() == []
    assert "was closed" in me.last
    await desk.post("/tickets/1/reply", {"text": "late", "nonce": NONCE}, status=409)
    await desk.post("/tickets/1/close", status=409)
    await desk.post("/tickets/1/reopen")
    assert await bot.drain() == 1
    shown = bot.emulator._find(STAFF_CHAT, card.message_id)
    assert shown.content.endswith("🔄 Test این پرسش را دوباره باز کرد")
    assert shown.inline_buttons()[0]["callback_data"] == "tk:close:1"
    audit = await StaffRepo(bot.svc.db).latest(2)
    assert [(e.action, e.detail["via"]) for e in audit] == [
        ("ticket_reopened", "web"),
        ("ticket_closed", "web"),
    ]


async def test_a_scoped_member_sees_and_acts_only_in_their_counties(office: Office) -> None:
    """The Fardis-only member does not see a Karaj question; its id answers 404 everywhere,
    exactly like a missing one; a Fardis question is theirs to see."""
    bot, desk = office.bot, office.desk
    await ask(bot, 909, "از کرج")
    await ask(bot, 910, "از فردیس")
    await move_to(bot, 910, "fardis")
    await sign_in(desk, SCOPED)
    rows = rows_of(await desk.get("/tickets"))
    assert len(rows) == 1 and 'href="/tickets/2"' in rows[0] and "فردیس" in rows[0]
    for ticket in (1, 99):
        await desk.get(f"/tickets/{ticket}", status=404)
        await desk.post(f"/tickets/{ticket}/reply", {"text": "x", "nonce": NONCE}, status=404)
        await desk.post(f"/tickets/{ticket}/note", {"text": "x"}, status=404)
        await desk.post(f"/tickets/{ticket}/assign", {"to": "me"}, status=404)
        await desk.post(f"/tickets/{ticket}/close", status=404)
        await desk.post(f"/tickets/{ticket}/reopen", status=404)
    await desk.get("/tickets/2")
    assert await bot.drain() == 0
    row = await bot.svc.db.fetchone("SELECT status, assignee_id FROM tickets WHERE id = 1")
    assert tuple(row) == ("open", None)


async def test_what_an_applicant_wrote_is_shown_as_text(office: Office) -> None:
    """A question or a name with markup shows as text in the list and on the page."""
    bot, desk = office.bot, office.desk
    await ask(bot, 911, "<script>alert(1)</script> سلام")
    await bot.svc.db.execute("UPDATE users SET full_name = '<img src=x onerror=alert(2)>'")
    await sign_in(desk, STAFFER)
    for path in ("/tickets", "/tickets/1"):
        page = await desk.get(path)
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page


async def test_every_action_needs_the_form_token(office: Office) -> None:
    """Without this session's CSRF token nothing is replied, noted, assigned or closed."""
    bot, desk = office.bot, office.desk
    await ask(bot, 912, "سلام")
    await sign_in(desk, STAFFER)
    desk.csrf = "forged"
    await desk.post("/tickets/1/reply", {"text": "x", "nonce": NONCE}, status=403)
    await desk.post("/tickets/1/note", {"text": "x"}, status=403)
    await desk.post("/tickets/1/assign", {"to": "me"}, status=403)
    await desk.post("/tickets/1/close", status=403)
    await desk.post("/tickets/replies", {"title": "x", "body": "y"}, status=403)
    assert await bot.drain() == 0
    assert await bot.svc.db.fetchone("SELECT 1 FROM ticket_notes") is None
    assert await bot.svc.db.fetchone("SELECT 1 FROM saved_replies") is None
    row = await bot.svc.db.fetchone("SELECT status, assignee_id FROM tickets")
    assert tuple(row) == ("open", None)
    desk.http.session.cookie_jar.clear()
    await desk.get("/tickets", status=401)
    await desk.get("/tickets/1", status=401)


async def test_media_are_labelled_not_fetched(office: Office) -> None:
    """A photo or voice note shows as a label with its caption; no file is downloaded."""
    bot, desk = office.bot, office.desk
    me = await ask(bot, 913, "اول متن")
    await me.press("💬 پرسش از کارشناس")
    await me.send_photo("کارت ملی")
    await me.press("💬 پرسش از کارشناس")
    await me.send_voice()
    await sign_in(desk, STAFFER)
    page = await desk.get("/tickets/1")
    assert "[عکس] کارت ملی" in page and "[پیام صوتی]" in page
    assert "[پیام صوتی]" in rows_of(await desk.get("/tickets"))[0]
    assert bot.emulator.calls_to("getFile") == []
