"""The support inbox round trip: question in, card in the staff group, reply out, ticket closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.core.clock import ManualClock
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.model import FakeMessage
from bot.repo.staff import StaffRepo
from tests.conftest import Bot
from tests.support.stores import Store
from tests.test_onboarding import onboard

STAFF_CHAT = -100900
ADMIN = 1


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin and a staff group."""
    instance = Bot(
        db_path=tmp_path / "desk.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        staff_chats={"telegram": STAFF_CHAT},
    )
    await instance.start()
    instance.emulator.add_user(ADMIN, first_name="Maryam", language_code="fa")
    await group_say(instance, ADMIN, "سلام همکاران")
    yield instance
    await instance.stop()


async def group_say(
    bot: Bot, user_id: int, text: str, reply_to: int | None = None
) -> dict[str, Any]:
    """Someone writes in the staff group, optionally replying to a message there."""
    update = bot.emulator.group_text(STAFF_CHAT, user_id, text, enqueue=False)
    if reply_to is not None:
        known = [*bot.emulator.messages[STAFF_CHAT], *bot.emulator.deleted]
        target = next(m for m in known if m.chat_id == STAFF_CHAT and m.message_id == reply_to)
        update["message"]["reply_to_message"] = target.payload or {
            "message_id": reply_to,
            "date": target.date,
            "chat": {"id": STAFF_CHAT, "type": "group"},
        }
    await bot.app.process_update(Update.de_json(update, bot.app.bot))
    return update


async def group_edit(bot: Bot, sent: dict[str, Any], text: str) -> dict[str, Any]:
    """Someone edits a message they wrote in the staff group (an edited_message update)."""
    original = sent["message"]
    stored = bot.emulator._find(STAFF_CHAT, original["message_id"])
    assert stored is not None
    stored.text, stored.edited = text, True
    payload = {**original, "text": text, "edit_date": bot.emulator._now()}
    update = {"update_id": bot.emulator.next_update_id, "edited_message": payload}
    bot.emulator.next_update_id += 1
    await bot.app.process_update(Update.de_json(update, bot.app.bot))
    return update


async def deliver(bot: Bot) -> int:
    """Send what the outbox holds."""
    return await bot.drain()


def staff_messages(bot: Bot) -> list:
    """What the bot posted in the staff group."""
    return [m for m in bot.emulator.messages[STAFF_CHAT] if m.from_bot]


async def test_question_card_reply_and_close(desk: Bot) -> None:
    """An applicant asks; the card shows who they are; a staff reply reaches them; close."""
    me = await onboard(desk, 901)
    await me.press("💬 پرسش از کارشناس")
    await me.send("برای ثبت‌نام چه مدارکی لازم است؟")
    assert "شماره ۱" in me.last
    card = staff_messages(desk)[-1]
    assert "🎫 شماره ۱" in card.content and "زهرا احمدی" in card.content
    assert "کرج" in card.content and "برای ثبت‌نام چه مدارکی لازم است؟" in card.content
    assert card.inline_buttons()[0]["callback_data"] == "tk:close:1"
    await me.press("💬 پرسش از کارشناس")
    assert "شماره ۱ شما باز است" in me.last
    await me.send_photo("این هم کارت ملی")
    copy = staff_messages(desk)[-1]
    assert copy.kind == "photo" and copy.caption == "این هم کارت ملی"
    call = desk.emulator.calls_to("copyMessage")[-1]
    assert call["reply_parameters"]["message_id"] == card.message_id
    await group_say(desk, ADMIN, "کارت ملی و مدرک تحصیلی کافی است.", reply_to=card.message_id)
    assert staff_messages(desk)[-1].content == "✅ برای متقاضیِ پرسش ۱ فرستاده می‌شود."
    assert await deliver(desk) == 1
    assert "پاسخ کارشناس" in me.last and "کارت ملی و مدرک تحصیلی کافی است." in me.last
    await group_say(desk, ADMIN, "و عکس پرسنلی", reply_to=copy.message_id)
    await deliver(desk)
    assert "و عکس پرسنلی" in me.last
    press = desk.emulator.user_press(
        ADMIN, card.message_id, "tk:close:1", chat_id=STAFF_CHAT, enqueue=False
    )
    await desk.app.process_update(Update.de_json(press, desk.app.bot))
    assert await deliver(desk) == 2  # the card's new text and the applicant's notice: the outbox
    closed_card = desk.emulator._find(STAFF_CHAT, card.message_id)
    assert closed_card.content.endswith("\n\n✅ Maryam این پرسش را بست")
    assert closed_card.inline_buttons() == []
    assert "بسته شد" in me.last
    rows = await desk.svc.db.fetchall("SELECT direction, kind FROM ticket_messages ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("card", "card"),
        ("in", "text"),
        ("in", "photo"),
        ("out", "text"),
        ("out", "text"),
    ]
    actions = [e.action for e in await StaffRepo(desk.svc.db).latest()]
    assert actions.count("ticket_reply") == 2 and "ticket_closed" in actions
    await me.press("💬 پرسش از کارشناس")
    await me.send("یک پرسش تازه")
    assert "شماره ۲" in me.last


async def test_strangers_in_the_staff_group_are_ignored_and_recorded(desk: Bot) -> None:
    """A non-staff member's reply to a card is not forwarded; the attempt is audited."""
    me = await onboard(desk, 902)
    await me.press("💬 پرسش از کارشناس")
    await me.send("سلام")
    card = staff_messages(desk)[-1]
    desk.emulator.add_user(555)
    before = len(staff_messages(desk))
    await group_say(desk, 555, "I am not staff", reply_to=card.message_id)
    assert len(staff_messages(desk)) == before
    assert await deliver(desk) == 0
    assert [e.action for e in await StaffRepo(desk.svc.db).latest()] == ["denied"]
    press = desk.emulator.user_press(
        555, card.message_id, "tk:close:1", chat_id=STAFF_CHAT, enqueue=False
    )
    await desk.app.process_update(Update.de_json(press, desk.app.bot))
    row = await desk.svc.db.fetchone("SELECT status FROM tickets WHERE id = 1")
    assert row[0] == "open"


async def test_followups_become_cards(desk: Bot) -> None:
    """A follow-up recorded by the check-ins ("I need help" on a step) arrives as a ticket card."""
    from scheduler.followups import post_followups

    me = await onboard(desk, 903, lang="en")
    await me.press("📋 Permit steps")
    await me.press("🙋 I need help")
    posted = await post_followups(desk.app, desk.svc, "telegram")
    assert posted == 1
    card = staff_messages(desk)[-1]
    assert "درخواست کمک" in card.content and "Sara Moradi" in card.content
    assert await post_followups(desk.app, desk.svc, "telegram") == 0


async def test_followup_cards_are_posted_a_few_per_tick(desk: Bot) -> None:
    """Twenty-five follow-ups: ten cards a minute (the group allows twenty), none lost."""
    from scheduler.followups import CARDS_PER_TICK, post_followups

    me = await onboard(desk, 905, lang="en")
    user = await desk.svc.users.find("telegram", 905)
    assert user is not None
    await desk.svc.db.executemany(
        "INSERT INTO followups (user_pk, kind, detail, created_at) "
        "VALUES (?, 'step_help', '{}', ?)",
        [(user.id, desk.clock.timestamp())] * 25,
    )
    before = len(staff_messages(desk))
    posted = [await post_followups(desk.app, desk.svc, "telegram") for _ in range(4)]
    assert posted == [CARDS_PER_TICK, CARDS_PER_TICK, 5, 0]
    assert len(staff_messages(desk)) - before == 25
    del me


async def test_question_without_staff_group_is_still_kept(bot: Bot) -> None:
    """No staff group configured: the ticket is stored and the applicant told it was received."""
    me = await onboard(bot, 904, lang="en")
    await me.press("💬 Ask a question")
    await me.send_voice()
    assert "question no. 1" in me.last
    row = await bot.svc.db.fetchone("SELECT kind FROM ticket_messages WHERE direction = 'in'")
    assert row[0] == "voice"


async def test_sticker_as_question_is_refused_politely(desk: Bot) -> None:
    """A sticker cannot be a question; the person is asked again."""
    me = await onboard(desk, 905, lang="en")
    await me.press("💬 Ask a question")
    replies = await me.send_sticker()
    assert "cannot pass this kind" in replies[0].content
    assert "Write your question" in replies[-1].content


async def test_an_edited_reply_reaches_the_applicant_as_a_correction(desk: Bot) -> None:
    """A staff member corrects a sent answer: the applicant gets the correction, marked as one."""
    me = await onboard(desk, 906, lang="en")
    await me.press("💬 Ask a question")
    await me.send("Which documents do I need?")
    card = staff_messages(desk)[-1]
    reply = await group_say(desk, ADMIN, "Your ID card only.", reply_to=card.message_id)
    assert await deliver(desk) == 1
    answer = me.last_message
    assert answer is not None and answer.content == (
        "📩 Answer from the home-business programme staff (question 1):\nYour ID card only."
    )
    await group_edit(desk, reply, "Your ID card and your diploma.")
    assert staff_messages(desk)[-1].content == "✅ اصلاحیه برای متقاضیِ پرسش ۱ فرستاده می‌شود."
    assert await deliver(desk) == 1
    assert me.last == (
        "✏️ Correction to the answer from the home-business programme staff (question 1):\n"
        "Your ID card and your diploma."
    )
    assert me.messages[-2].content == answer.content  # the first answer is left as it was
    edited = await group_edit(desk, reply, "Your ID card, your diploma and a photo.")
    assert await deliver(desk) == 1
    assert me.last.endswith("Your ID card, your diploma and a photo.")
    confirmations = len(staff_messages(desk))
    await desk.app.process_update(Update.de_json(edited, desk.app.bot))  # delivered twice
    assert len(staff_messages(desk)) == confirmations  # nothing new was queued: no confirmation
    assert await deliver(desk) == 0
    rows = await desk.svc.db.fetchall("SELECT direction FROM ticket_messages WHERE direction='out'")
    assert len(rows) == 3


async def test_a_reply_delivered_twice_is_sent_and_confirmed_once(desk: Bot) -> None:
    """The same staff reply update processed again (a webhook retry) queues and says nothing."""
    me = await onboard(desk, 907, lang="en")
    await me.press("💬 Ask a question")
    await me.send("Hello?")
    card = staff_messages(desk)[-1]
    reply = await group_say(desk, ADMIN, "Hello!", reply_to=card.message_id)
    confirmations = len(staff_messages(desk))
    await desk.app.process_update(Update.de_json(reply, desk.app.bot))
    assert len(staff_messages(desk)) == confirmations
    assert await deliver(desk) == 1
    assert me.last.endswith("Hello!")


# --- /delete in the staff group ---------------------------------------------------------------
@pytest.fixture
async def clocked_desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """The desk, with a Bot API whose 48-hour deletion window runs on the test's clock."""
    instance = Bot(
        db_path=tmp_path / "clocked.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        staff_chats={"telegram": STAFF_CHAT},
        emulator=BotApiEmulator(clock=lambda: clock.timestamp()),
    )
    await instance.start()
    instance.emulator.add_user(ADMIN, first_name="Maryam", language_code="fa")
    await group_say(instance, ADMIN, "سلام همکاران")
    yield instance
    await instance.stop()


def in_group(bot: Bot, message_id: int) -> FakeMessage | None:
    """A message as it stands in the staff group now (None once deleted)."""
    return bot.emulator._find(STAFF_CHAT, message_id)


async def test_delete_clears_the_bots_cards_and_copies_in_the_staff_group(
    clocked_desk: Bot,
) -> None:
    """Younger than 48 h: deleted. Older: the card becomes a tombstone, copies stay."""
    desk, t = clocked_desk, clocked_desk.svc.i18n.t
    other = await onboard(desk, 910, lang="en")
    await other.press("💬 Ask a question")
    await other.send("Someone else's question")
    others_card = staff_messages(desk)[-1]
    me = await onboard(desk, 911, lang="en")
    await me.press("💬 Ask a question")
    await me.send("My mobile is 09123456789, can I apply?")
    old_card = staff_messages(desk)[-1]
    await me.press("💬 Ask a question")
    await me.send_photo("my national card 0013542419")
    old_copy = staff_messages(desk)[-1]
    staff_reply = await group_say(desk, ADMIN, "بله", reply_to=old_card.message_id)
    desk.clock.advance(hours=49)
    await me.press("💬 Ask a question")
    await me.send("And the loan?")
    young_copy = staff_messages(desk)[-1]
    assert young_copy.content == "And the loan?" and young_copy.kind == "text"
    await me.send("/delete")
    assert "older than 48 hours" in me.last
    await me.press("del:yes")
    assert in_group(desk, young_copy.message_id) is None
    card_now = in_group(desk, old_card.message_id)
    assert card_now is not None and card_now.content == t("fa", "inbox.card_erased")
    assert card_now.inline_buttons() == []
    copy_now = in_group(desk, old_copy.message_id)
    assert copy_now is not None and copy_now.caption == "my national card 0013542419"  # as said
    reply_now = in_group(desk, staff_reply["message"]["message_id"])
    assert reply_now is not None and reply_now.content == "بله"  # the staff's own message
    assert in_group(desk, others_card.message_id).content == others_card.content
    rows = await desk.svc.db.fetchall("SELECT * FROM erased_staff_messages ORDER BY 2")
    assert [tuple(r) for r in rows] == [
        (STAFF_CHAT, m)
        for m in sorted(
            [
                old_card.message_id,
                old_copy.message_id,
                staff_reply["message"]["message_id"],
                young_copy.message_id,
            ]
        )
    ]


async def test_a_card_young_enough_is_deleted_outright(clocked_desk: Bot) -> None:
    """Within 48 hours the card and the copies leave the staff group altogether."""
    desk = clocked_desk
    me = await onboard(desk, 912, lang="en")
    await me.press("💬 Ask a question")
    await me.send("A question")
    await me.press("💬 Ask a question")
    await me.send_voice()
    posted = [m.message_id for m in staff_messages(desk)][-2:]
    desk.clock.advance(hours=47)
    await me.send("/delete")
    await me.press("del:yes")
    assert [in_group(desk, m) for m in posted] == [None, None]
    assert [c["message_id"] for c in desk.emulator.calls_to("deleteMessage")] == posted


async def test_a_staff_reply_to_a_deleted_person_is_answered(clocked_desk: Bot) -> None:
    """Replying to the card or a copy of someone who used /delete: told so, nothing is sent."""
    desk, t = clocked_desk, clocked_desk.svc.i18n.t
    me = await onboard(desk, 913, lang="en")
    await me.press("💬 Ask a question")
    await me.send("First")
    card = staff_messages(desk)[-1]
    await me.press("💬 Ask a question")
    await me.send("Second")
    copy = staff_messages(desk)[-1]
    desk.clock.advance(hours=72)
    await me.send("/delete")
    await me.press("del:yes")
    for target in (card, copy):
        await group_say(desk, ADMIN, "پاسخ", reply_to=target.message_id)
        assert staff_messages(desk)[-1].content == t("fa", "inbox.person_erased")
    assert await deliver(desk) == 0
    press = desk.emulator.user_press(
        ADMIN, card.message_id, "tk:close:1", chat_id=STAFF_CHAT, enqueue=False
    )
    await desk.app.process_update(Update.de_json(press, desk.app.bot))
    assert desk.emulator.callbacks[press["callback_query"]["id"]].answer == {
        "text": t("fa", "inbox.person_erased")
    }


async def test_an_unrelated_reply_in_the_staff_group_stays_unanswered(desk: Bot) -> None:
    """A reply to a message that never was a card (staff chatting) gets no answer from the bot."""
    hello = next(m for m in desk.emulator.messages[STAFF_CHAT] if not m.from_bot)
    before = len(staff_messages(desk))
    await group_say(desk, ADMIN, "Agreed", reply_to=hello.message_id)
    assert len(staff_messages(desk)) == before


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_privacy_notice_says_what_stays_with_the_staff(lang: str) -> None:
    """The notice and the confirmation name the 48-hour window the platform allows, no more."""
    from bot.core.i18n import load_i18n
    from bot.core.text import localize_digits
    from bot.messengers.fakeapi.messaging import DELETE_WINDOW
    from handlers.inbox import BOT_DELETE_WINDOW

    assert BOT_DELETE_WINDOW == DELETE_WINDOW == 48 * 3600  # Telegram's documented limit
    i18n = load_i18n()
    hours = localize_digits(str(BOT_DELETE_WINDOW // 3600), lang)
    for key in ("start.privacy", "delete.confirm"):
        text = i18n.t(lang, key)
        assert f"{hours} " in text, key
    notice = i18n.t(lang, "start.privacy")
    stays = {"en": "stay with the staff", "fa": "نزد کارشناسان می‌ماند"}[lang]
    assert stays in notice
    assert {"en": "erases all of it.", "fa": "همه اطلاعاتتان پاک می‌شود."}[lang] not in notice


async def inbox_rows(bot: Bot) -> list[tuple[int, str, str | None]]:
    """(ticket, direction, text) of every ticket message, in order."""
    rows = await bot.svc.db.fetchall(
        "SELECT ticket_id, direction, text FROM ticket_messages ORDER BY id"
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def test_a_question_typed_at_the_menu_reaches_the_staff_in_one_tap(desk: Bot) -> None:
    """The issue's words: "سلام، وام کی واریز می‌شود؟" at the menu. The closest FAQ entry and a
    button; nothing filed until the tap; the tap, after a restart, sends exactly that text; the
    receipt replaces the offer; a later "ممنون" is thanked, not filed."""
    me = await onboard(desk, 911)
    question = "سلام، وام کی واریز می‌شود؟"
    replies = await me.send(question)
    assert len(replies) == 1
    assert me.last == desk.svc.i18n.t("fa", "inbox.typed_offer_faq")
    assert me.buttons == ["بدون مجوز می‌توانم وام بگیرم؟", "📨 فرستادن برای کارشناسان"]
    assert await inbox_rows(desk) == [] and staff_messages(desk) == []
    await desk.restart()
    me = desk.client(911)
    offer = me.last_message
    await me.press("📨 فرستادن برای کارشناسان")
    receipt = desk.emulator._find(911, offer.message_id)
    assert receipt.content == "✅ برای کارشناسان طرح فرستاده شد (پرسش شماره ۱). پاسخ همین‌جا می‌رسد."
    assert receipt.inline_buttons() == []  # nothing left to tap twice
    card = staff_messages(desk)[-1]
    assert question in card.content and "📱 \u200e۰۹۱۲ ۳۴۵ ۶۷۸۹" in card.content
    assert "+۹۸" not in card.content
    assert await inbox_rows(desk) == [(1, "card", None), (1, "in", question)]
    user = await desk.svc.users.find("telegram", 911)
    assert user is not None and (user.state, user.state_data) == ("", {})
    replies = await me.send("ممنون")
    assert [m.content for m in replies] == [desk.svc.i18n.t("fa", "inbox.typed_thanks")]
    stale = await me.press_data("typed:send:offer", offer.message_id)
    assert "دیگر کار نمی‌کند" in stale[0].content
    assert len(await inbox_rows(desk)) == 2 and len(staff_messages(desk)) == 1
    await group_say(desk, ADMIN, "هفته آینده واریز می‌شود.", reply_to=card.message_id)
    await deliver(desk)
    assert "هفته آینده واریز می‌شود." in me.last


async def test_typed_messages_join_until_the_tap_and_faq_answers_offer_it_too(desk: Bot) -> None:
    """A greeting alone is greeted; two typed messages go as one question; the tap under a FAQ
    answer sends it too; a menu button in between drops the kept text."""
    me = await onboard(desk, 912)
    replies = await me.send("سلام")
    assert [m.content for m in replies] == [desk.svc.i18n.t("fa", "inbox.typed_hello")]
    assert (await desk.svc.users.find("telegram", 912)).state == ""
    await me.send("ببخشید، یک سؤال دیگر: بیمه")
    await me.press("📋 مراحل مجوز")  # changed their mind: the kept text goes
    assert (await desk.svc.users.find("telegram", 912)).state == ""
    await me.send("گرفتن مجوز چقدر هزینه دارد؟")
    assert me.buttons[0] == "گرفتن مجوز چقدر هزینه دارد؟"  # the FAQ entry, best first
    await me.press("گرفتن مجوز چقدر هزینه دارد؟")
    assert desk.svc.content.faq_item("permit_cost").a.fa in me.last
    assert me.buttons == ["« پرسش‌های رایج", "📨 فرستادن برای کارشناسان"]
    await me.send("و برای رشته غذایی هم همین است؟")
    await me.press(desk.svc.content.faq_item("permit_cost").q.fa)
    answer = me.last_message
    await me.press("📨 فرستادن برای کارشناسان")
    assert desk.svc.content.faq_item("permit_cost").a.fa in desk.emulator._find(
        912, answer.message_id
    ).content  # the answer they were reading stays
    assert "پرسش شماره ۱" in me.last
    joined = "گرفتن مجوز چقدر هزینه دارد؟\nو برای رشته غذایی هم همین است؟"
    assert await inbox_rows(desk) == [(1, "card", None), (1, "in", joined)]
    assert joined in staff_messages(desk)[-1].content


async def test_a_typed_question_joins_the_open_ticket_as_a_new_message(desk: Bot) -> None:
    """With a question already open, the kept text goes under its card as a message of its
    own (the bot's offer is never copied)."""
    me = await onboard(desk, 913)
    await me.press("💬 پرسش از کارشناس")
    await me.send("کارت ملی لازم است؟")
    card = staff_messages(desk)[-1]
    copies = len(desk.emulator.calls_to("copyMessage"))
    await me.send("ممنون")  # the ask state ended with the question: thanks are not filed
    assert me.last == desk.svc.i18n.t("fa", "inbox.typed_thanks")
    await me.send("شناسنامه چطور؟")  # nor is a second question, until they choose to
    assert len(await inbox_rows(desk)) == 2 and "📨 فرستادن برای کارشناسان" in me.buttons
    await me.press("📨 فرستادن برای کارشناسان")
    assert "پرسش شماره ۱" in me.last
    posted = staff_messages(desk)[-1]
    assert posted.content == "شناسنامه چطور؟" and posted.message_id != card.message_id
    assert desk.emulator.calls_to("sendMessage")[-1]["reply_parameters"]["message_id"] == (
        card.message_id
    )
    assert len(desk.emulator.calls_to("copyMessage")) == copies
    assert [r[1:] for r in await inbox_rows(desk)] == [
        ("card", None),
        ("in", "کارت ملی لازم است؟"),
        ("in", "شناسنامه چطور؟"),
    ]
    await group_say(desk, ADMIN, "آن هم لازم است.", reply_to=posted.message_id)
    await deliver(desk)
    assert "آن هم لازم است." in me.last


async def test_i_need_help_is_filed_again_once_the_staff_closed_it(desk: Bot) -> None:
    """Open (card posted, ticket open): not filed again. Closed by the staff: a new request."""
    from scheduler.followups import post_followups

    me = await onboard(desk, 914, lang="en")
    await me.press("📋 Permit steps")
    card_msg = me.last_message
    await me.press("🙋 I need help")
    assert await post_followups(desk.app, desk.svc, "telegram") == 1
    await me.press_data("st:help:register_system", card_msg.message_id)
    assert "already passed" in me.last
    assert await post_followups(desk.app, desk.svc, "telegram") == 0
    staff_card = staff_messages(desk)[-1]
    press = desk.emulator.user_press(
        ADMIN, staff_card.message_id, "tk:close:1", chat_id=STAFF_CHAT, enqueue=False
    )
    await desk.app.process_update(Update.de_json(press, desk.app.bot))
    await me.press_data("st:help:register_system", card_msg.message_id)
    assert "has been passed to the programme staff" in me.last
    assert await post_followups(desk.app, desk.svc, "telegram") == 1
