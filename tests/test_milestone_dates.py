"""The dates a person gives are the dates we keep and show: progress, the step card, check-in
timing, stats and exports all read the milestone date they typed, not the day of the tap."""

from __future__ import annotations

import datetime as dt

from bot.messengers.fakeapi.client import ChatClient
from bot.repo.checkins import CheckinRepo
from bot.repo.reports import ReportRepo
from bot.rules.followup import policy_from
from bot.rules.schedule import next_checkin_due
from bot.staffdesk.export_sheets import jalali_date
from tests.conftest import Bot
from tests.test_onboarding import onboard

PERMIT_DAY = dt.date(2026, 11, 11)  # ۱۴۰۵/۰۸/۲۰, eighteen days before the test's "today"


async def at_permit_step(bot: Bot, user_id: int, lang: str = "fa") -> ChatClient:
    """An applicant who has done the steps before "permit issued" and sees its card."""
    me = await onboard(bot, user_id, lang=lang)
    await me.press("📋 مراحل مجوز" if lang == "fa" else "📋 Permit steps")
    steps = [s.id for s in bot.svc.content.steps_for("handicrafts")]
    for step_id in steps[: steps.index("permit_issued")]:
        await me.press_data(f"st:done:{step_id}")
    assert bot.svc.content.milestone_step("permit_issued").title.get(lang) in me.last
    return me


async def stored(bot: Bot, user_id: int) -> tuple[str | None, str | None, int | None]:
    """The permit date, the permit step's day and the next check-in time as stored."""
    person = await bot.svc.users.find("telegram", user_id)
    assert person is not None
    progress = await bot.svc.steps.progress(person.id)
    record = progress.get("permit_issued")
    next_at = await CheckinRepo(bot.svc.db).next_at(person.id)
    return person.permit_on, record.done_on if record else None, next_at


async def test_permit_date_given_is_the_date_shown_everywhere(bot: Bot) -> None:
    """Done → "when was it?" (before the next card, nothing claimed as recorded) → ۱۴۰۵/۰۸/۲۰:
    the progress page, the card, the check-in timing, the stats and the export all say so,
    and the person is back on the steps with the next step's card."""
    me = await at_permit_step(bot, 701)
    card = me.last_message
    replies = await me.press_data("st:done:permit_issued", card.message_id)
    assert len(replies) == 1  # the question alone: the card did not move on to the next step
    assert "مجوزتان در چه تاریخی صادر شد؟" in me.last and "تاریخ ثبت‌شده" not in me.last
    assert me.reply_keyboard == ["📅 امروز"]
    assert "امضای دوم و صدور مجوز" in bot.emulator._find(card.chat_id, card.message_id).content

    replies = await me.send("۱۴۰۵/۰۸/۲۰")
    saved, next_card = replies
    assert "✅ «امضای دوم و صدور مجوز» در ۱۴۰۵/۰۸/۲۰ انجام شد." in saved.content
    assert "🚩 مرحله شما در نمایه: مجوز گرفته‌ام" in saved.content
    assert "💰 مراحل وام — مرحله ۱ از ۵: ثبت درخواست وام" in next_card.content
    assert "st:done:loan_register" in [b["callback_data"] for b in next_card.inline_buttons()]

    policy = policy_from(bot.svc.content.schedule)
    due = next_checkin_due(
        anchor=PERMIT_DAY, last_round_due=None, paused_until=None, now=bot.clock.now(),
        policy=policy,
    )  # fmt: skip
    assert await stored(bot, 701) == ("2026-11-11", "2026-11-11", int(due.timestamp()))
    assert due.date() - PERMIT_DAY < dt.timedelta(days=35)  # timed from the permit, not today

    await me.press("📈 پیشرفت من")
    assert "✅ امضای دوم و صدور مجوز — ۱۴۰۵/۰۸/۲۰" in me.last
    assert "۱۴۰۵/۰۹/۰۸" in me.last  # the other steps: the day they were marked
    await me.press_data("st:show:permit_issued")
    assert "✅ در ۱۴۰۵/۰۸/۲۰ انجام شد" in me.last

    reports = ReportRepo(bot.svc.db.reader())
    assert (await reports.by_stage()).get("permit") == 1
    steps = [row async for row in reports.step_progress() if row["step_id"] == "permit_issued"]
    assert [row["done_on"] for row in steps] == ["2026-11-11"]
    applicants = [row async for row in reports.applicants()]
    assert [row["permit_on"] for row in applicants] == ["2026-11-11"]
    assert jalali_date(steps[0]["done_on"]) == ("1405/08/20", "2026-11-11")


async def test_today_button_and_dates_in_any_digits(bot: Bot) -> None:
    """«امروز» records today; Latin and Arabic-Indic digits are read like Persian ones."""
    me = await at_permit_step(bot, 702)
    await me.press_data("st:done:permit_issued")
    await me.press("📅 امروز")
    assert "در ۱۴۰۵/۰۹/۰۸ انجام شد" in me.history[-2].content
    assert (await stored(bot, 702))[:2] == ("2026-11-29", "2026-11-29")

    other = await at_permit_step(bot, 703)
    await other.press_data("st:done:permit_issued")
    await other.send("١٤٠٥/٠٨/٢٠")
    assert (await stored(bot, 703))[:2] == ("2026-11-11", "2026-11-11")


async def test_future_and_impossible_dates_are_refused_and_asked_again(bot: Bot) -> None:
    """A day not yet come, a month that does not exist or a Gregorian date: why, and the same
    question with its keyboard; what is stored stays the day of the tap until a good answer."""
    me = await at_permit_step(bot, 704)
    await me.press_data("st:done:permit_issued")
    for typed, why in (
        ("۱۴۰۵/۱۰/۰۱", "هنوز نرسیده"),
        ("۱۴۰۵/۱۳/۰۱", "در تقویم نیست"),
        ("2026/11/11", "نه میلادی"),
        ("دیروز", "سال/ماه/روز"),
    ):
        replies = await me.send(typed)
        assert len(replies) == 1, typed  # why, and the question again, in one message
        assert why in me.last and "مجوزتان در چه تاریخی صادر شد؟" in me.last, typed
        assert me.reply_keyboard == ["📅 امروز"], typed
        assert (await stored(bot, 704))[:2] == ("2026-11-29", "2026-11-29"), typed
    await me.send("1405/8/20")
    assert (await stored(bot, 704))[:2] == ("2026-11-11", "2026-11-11")


async def test_walking_away_keeps_the_day_of_the_tap(bot: Bot) -> None:
    """Someone who leaves the question for the menu still has the permit recorded (that day),
    so the check-ins are timed and Settings can correct it later."""
    me = await at_permit_step(bot, 705)
    await me.press_data("st:done:permit_issued")
    await me.send("📈 پیشرفت من")  # typed: the menu is not on screen during the question
    assert "✅ امضای دوم و صدور مجوز — ۱۴۰۵/۰۹/۰۸" in me.last
    permit_on, day, next_at = await stored(bot, 705)
    assert (permit_on, day) == ("2026-11-29", "2026-11-29") and next_at is not None


async def test_settings_corrects_the_date_and_everything_follows(bot: Bot) -> None:
    """Settings → dates shows what is recorded; a new date moves the card, the progress page
    and the next check-in together."""
    me = await at_permit_step(bot, 706)
    await me.press_data("st:done:permit_issued")
    await me.send("۱۴۰۵/۰۸/۲۰")
    before = (await stored(bot, 706))[2]
    await me.press("⚙️ تنظیمات")
    await me.press("set:dates")
    assert "مجوزتان در چه تاریخی صادر شد؟" in me.last and "تاریخ ثبت‌شده: ۱۴۰۵/۰۸/۲۰" in me.last
    assert me.reply_keyboard == ["📅 امروز", "بدون تغییر"]
    await me.send("۱۴۰۵/۰۸/۰۱")
    permit_on, day, after = await stored(bot, 706)
    assert (permit_on, day) == ("2026-10-23", "2026-10-23")
    assert after is not None and before is not None and after < before
    await me.press("📈 پیشرفت من")
    assert "✅ امضای دوم و صدور مجوز — ۱۴۰۵/۰۸/۰۱" in me.last and "۱۴۰۵/۰۸/۲۰" not in me.last


async def test_not_done_yet_clears_the_permit_date_and_its_checkins(bot: Bot) -> None:
    """↩️ on "permit issued" takes its date away too: no check-ins timed from a permit the
    person says they do not have."""
    me = await at_permit_step(bot, 707)
    await me.press_data("st:done:permit_issued")
    await me.send("۱۴۰۵/۰۸/۲۰")
    await me.press_data("st:undo:permit_issued")
    assert me.last_query is not None and "تاریخ آن پاک شد" in me.last_query.answer.get("text", "")
    assert await stored(bot, 707) == (None, None, None)
    await me.press("📈 پیشرفت من")
    assert "⬜️ امضای دوم و صدور مجوز" in me.last


async def test_undo_while_its_date_is_asked_ends_the_question(bot: Bot) -> None:
    """Done, then ↩️ on the same card before answering: the question goes, the menu is back."""
    me = await at_permit_step(bot, 708)
    card = me.last_message
    await me.press_data("st:done:permit_issued", card.message_id)
    await me.press_data("st:undo:permit_issued", card.message_id)
    person = await bot.svc.users.find("telegram", 708)
    assert person is not None and person.state == "" and person.permit_on is None
    assert "📋 مراحل مجوز" in me.reply_keyboard
