"""No leftover keyboards: whenever the question changes, the reply keyboard on screen is the one
that belongs to the new question (or the main menu's), never the previous question's."""

from __future__ import annotations

from pathlib import Path

from bot.core.clock import ManualClock
from bot.repo.checkins import CheckinRepo
from handlers.keyboards import MENU_ENTRIES
from tests.conftest import Bot
from tests.test_checkins import deliver, loan_holder
from tests.test_onboarding import onboard

STAGES = ["فقط ایده دارم", "درخواست مجوز در جریان است", "مجوز گرفته‌ام", "وام گرفته‌ام",
          "کسب‌وکارم فعال است", "✖️ انصراف"]  # fmt: skip


def counties(bot: Bot) -> list[str]:
    """The county question's keys while editing: every county, then «✖️ انصراف»."""
    return [c.name.fa for c in bot.svc.content.counties] + ["✖️ انصراف"]


def main_menu(bot: Bot, lang: str = "fa") -> list[str]:
    """The main menu's labels, in order."""
    return [bot.svc.i18n.t(lang, key) for key in MENU_ENTRIES]


async def edit_profile(me, item: str) -> None:
    """Settings → Edit profile → one item."""
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press(f"pf:{item}")


async def test_choosing_operating_replaces_the_stage_buttons_with_the_date_question(
    bot: Bot,
) -> None:
    """Stage → «کسب‌وکارم فعال است»: the stage buttons go, «📅 امروز» comes; a stage typed
    anyway is not a date; the answer brings the main menu back."""
    me = await onboard(bot, 761)
    await edit_profile(me, "stage")
    assert me.reply_keyboard == STAGES
    await me.press("کسب‌وکارم فعال است")
    assert "کسب‌وکارتان از چه تاریخی فعال است؟" in me.last
    assert me.reply_keyboard == ["📅 امروز"]
    await me.send("مجوز گرفته‌ام")
    assert "سال/ماه/روز" in me.last and me.reply_keyboard == ["📅 امروز"]
    await me.press("📅 امروز")
    assert me.reply_keyboard == main_menu(bot)
    person = await bot.svc.users.find("telegram", 761)
    assert person is not None and person.stage == "operating" and person.state == ""


async def test_onboarding_ends_with_one_message_and_the_right_keyboard(bot: Bot) -> None:
    """The last profile answer: the summary and the date question are one message carrying the
    date keyboard; for an idea, the summary and the menu with the main keyboard."""
    me = bot.client(762)
    await me.send("/start")
    await me.press("فارسی")
    await me.press("priv:yes")
    for answer in ("زهرا احمدی", "09123456789", "رد شدن", "کرج", "صنایع دستی و هنرهای سنتی"):
        await me.send(answer)
    replies = await me.press("مجوز گرفته‌ام")
    assert len(replies) == 1 and "نمایه شما کامل شد" in me.last and "چه تاریخی" in me.last
    assert me.reply_keyboard == ["📅 امروز"]
    other = await onboard(bot, 763)
    assert "نمایه شما کامل شد" in other.last and other.reply_keyboard == main_menu(bot)


async def test_a_date_asked_during_a_profile_question_gives_that_question_back(bot: Bot) -> None:
    """Answering the county question, the person marks "permit issued" done on an old card:
    the date keyboard replaces the counties; once answered, the county question and its
    keyboard return."""
    me = await onboard(bot, 764)
    await me.press("📋 مراحل مجوز")
    card = me.last_message
    await edit_profile(me, "county")
    assert me.reply_keyboard == counties(bot)
    await me.press_data("st:done:permit_issued", card.message_id)
    assert me.reply_keyboard == ["📅 امروز"]
    await me.press("📅 امروز")
    assert "در کدام شهرستان زندگی می‌کنید؟" in me.last and me.reply_keyboard == counties(bot)
    await me.press("طالقان")
    assert me.reply_keyboard == main_menu(bot)


async def test_settings_dates_has_its_own_keyboard_then_the_menu(bot: Bot) -> None:
    """Settings → dates: «📅 امروز» and «بدون تغییر»; keeping it brings the menu back."""
    me = await onboard(bot, 765, stage="کسب‌وکارم فعال است")
    await me.send("۱۴۰۵/۰۷/۰۱")
    await me.press("⚙️ تنظیمات")
    await me.press("set:dates")
    assert me.reply_keyboard == ["📅 امروز", "رد شدن"]  # the permit: implied, no date yet
    await me.press("رد شدن")
    assert me.reply_keyboard == ["📅 امروز", "رد شدن"]  # the loan, likewise
    await me.press("رد شدن")
    assert "تاریخ ثبت‌شده: ۱۴۰۵/۰۷/۰۱" in me.last
    assert me.reply_keyboard == ["📅 امروز", "بدون تغییر"]
    await me.press("بدون تغییر")
    assert me.reply_keyboard == main_menu(bot)


async def test_checkin_note_has_a_skip_key_then_the_menu(bot: Bot) -> None:
    """Problems → other: the note question brings «رد شدن»; a note, or the key, gives the
    main menu back."""
    me = await loan_holder(bot, 766, lang="fa")
    skipper = await loan_holder(bot, 767, lang="fa")
    await deliver(bot)
    other = bot.svc.content.problem("other").label.fa
    for person in (me, skipper):
        await person.press("⚠️ فعال است ولی با مشکل")
        await person.press(other)
        assert "مشکل را در یکی دو جمله بنویسید" in person.last
        assert person.reply_keyboard == ["رد شدن"]
    await me.send("تأمین‌کننده‌ام تعطیل شد")
    assert "ثبت شد" in me.last and me.reply_keyboard == main_menu(bot)
    await skipper.press("رد شدن")
    assert "بدون توضیح" in skipper.last and skipper.reply_keyboard == main_menu(bot)
    repo = CheckinRepo(bot.svc.db)
    notes = []
    for uid in (766, 767):
        person = await bot.svc.users.find("telegram", uid)
        assert person is not None
        notes.append((await repo.history(person.id))[-1][1].get("note"))
    assert notes == ["تأمین‌کننده‌ام تعطیل شد", None]


async def test_checkin_restart_date_has_its_choices_as_keys_then_the_menu(bot: Bot) -> None:
    """Paused → reason: "when do you restart?" brings its three choices; one of them (or a
    typed date) gives the main menu back."""
    me = await loan_holder(bot, 768, lang="fa")
    await deliver(bot)
    await me.press("⏸ فعلاً متوقف است")
    await me.press(bot.svc.content.checkin.pause_reasons[0].label.fa)
    assert "چه زمانی دوباره شروع می‌کنید" in me.last
    assert me.reply_keyboard == ["حدود یک ماه دیگر", "حدود سه ماه دیگر", "حدود شش ماه دیگر"]
    await me.send("۱۴۰۵/۰۱/۰۱")  # in the past: asked again, same keys
    assert "گذشته است" in me.last and len(me.reply_keyboard) == 3
    await me.press("حدود سه ماه دیگر")
    assert "امیدواریم زود دوباره شروع کنید" in me.last and me.reply_keyboard == main_menu(bot)


async def test_checkin_note_during_a_profile_edit_gives_that_question_back(bot: Bot) -> None:
    """Editing the name («✖️ انصراف» on screen) when a check-in comes: the note question has
    «رد شدن» instead — so «انصراف» cannot become the note — and afterwards the name question
    and its key return."""
    me = await loan_holder(bot, 769, lang="fa")
    await edit_profile(me, "full_name")
    assert me.reply_keyboard == ["✖️ انصراف"]
    await deliver(bot)
    await me.press("⚠️ فعال است ولی با مشکل")
    await me.press(bot.svc.content.problem("other").label.fa)
    assert me.reply_keyboard == ["رد شدن"]
    await me.send("قیمت مواد اولیه دو برابر شد")
    assert "نام و نام خانوادگی" in me.last and me.reply_keyboard == ["✖️ انصراف"]


async def test_delete_from_a_profile_question_gives_the_menu_back(bot: Bot) -> None:
    """/delete while the counties are on screen: the question is left (said so) and the main
    keyboard returns with the confirmation."""
    me = await onboard(bot, 770)
    await edit_profile(me, "county")
    replies = await me.send("/delete")
    assert bot.svc.i18n.t("fa", "menu.cancelled") in replies[0].content
    assert bot.svc.i18n.t("fa", "delete.confirm") in me.last
    assert me.reply_keyboard == main_menu(bot)
    await me.press("del:no")
    assert me.reply_keyboard == main_menu(bot)


async def test_a_menu_label_typed_during_a_question_gives_the_menu_back(bot: Bot) -> None:
    """During the date question the menu is not on screen; typing an entry still opens it,
    and the keyboard becomes the menu's again."""
    me = await onboard(bot, 771, stage="مجوز گرفته‌ام")
    assert me.reply_keyboard == ["📅 امروز"]
    await me.send("💰 وام")
    assert bot.svc.content.loans.intro.fa in me.last
    assert me.reply_keyboard == main_menu(bot)


async def test_broadcast_from_a_profile_question_gives_the_menu_back(
    tmp_path: Path, clock: ManualClock
) -> None:
    """An admin who is also an applicant types /broadcast while the counties are on screen: the
    counties go (a tap on «کرج» must not become the message to everyone)."""
    staff = Bot(db_path=tmp_path / "bc.sqlite3", clock=clock, admins=frozenset({("telegram", 1)}))
    await staff.start()
    try:
        me = await onboard(staff, 1)
        await edit_profile(me, "county")
        await me.send("/broadcast")
        assert me.reply_keyboard == main_menu(staff)
        person = await staff.svc.users.find("telegram", 1)
        assert person is not None and person.state == "bc:content"
    finally:
        await staff.stop()
