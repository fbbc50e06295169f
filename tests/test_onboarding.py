"""A Persian and an English applicant from /start to a finished profile, and every bad input."""

from __future__ import annotations

from tests.conftest import Bot

FA_NAME = "زهرا احمدی"


async def onboard(bot: Bot, user_id: int = 501, *, lang: str = "fa", stage: str | None = None):
    """Take one person through /start, language, privacy and the whole profile."""
    me = bot.client(user_id, lang=lang)
    await me.send("/start")
    await me.press("فارسی" if lang == "fa" else "English")
    await me.press("priv:yes")
    await me.send(FA_NAME if lang == "fa" else "Sara Moradi")
    await me.send("۰۹۱۲ ۳۴۵ ۶۷۸۹")
    await me.send("0013542419")
    await me.press("کرج" if lang == "fa" else "Karaj")
    await me.press(
        "صنایع دستی و هنرهای سنتی" if lang == "fa" else "Handicrafts and traditional arts"
    )
    await me.press(stage or ("فقط ایده دارم" if lang == "fa" else "Only an idea"))
    return me


async def test_persian_applicant_completes_profile(bot: Bot) -> None:
    """The whole Persian onboarding, with what is stored at the end."""
    me = bot.client(501, lang="fa")
    replies = await me.send("/start")
    assert "زبان" in replies[-1].content
    assert me.buttons == ["فارسی", "English"]
    await me.press("فارسی")
    assert "/delete" in me.last and "حریم خصوصی" in me.last
    await me.press("priv:yes")
    assert "نام و نام خانوادگی" in me.last
    assert "پرسش ۱ از ۶" in me.last
    await me.send(FA_NAME)
    assert "شماره همراه" in me.last
    assert "📱 ارسال شماره من" in me.reply_keyboard
    await me.send("۰۹۱۲ ۳۴۵ ۶۷۸۹")
    assert "کد ملی" in me.last
    await me.send("۰۰۱۳۵۴۲۴۱۹")
    assert "شهرستان" in me.last
    assert "کرج" in me.reply_keyboard and "طالقان" in me.reply_keyboard
    await me.press("کرج")
    await me.press("صنایع دستی و هنرهای سنتی")
    assert "مرحله" in me.last
    await me.press("مجوز گرفته‌ام")
    user = await bot.svc.users.find("telegram", 501)
    assert user is not None and user.profile_done
    assert (user.full_name, user.mobile, user.national_code) == (
        FA_NAME,
        "+989123456789",
        "0013542419",
    )
    assert (user.county, user.field, user.stage) == ("karaj", "handicrafts", "permit")
    assert "مجوزتان در چه تاریخی صادر شد" in me.last and "تاریخ ثبت‌شده" not in me.last
    assert me.reply_keyboard == ["📅 امروز"]
    await me.send("۱۴۰۵/۰۸/۲۰")
    assert "«امضای دوم و صدور مجوز» در ۱۴۰۵/۰۸/۲۰ انجام شد" in me.last
    assert "📋 مراحل مجوز" in me.reply_keyboard
    transcript = "\n".join(m.content for m in me.history)
    assert "نمایه شما کامل شد" in transcript and "📱 همراه: \u200e۰۹۱۲ ۳۴۵ ۶۷۸۹" in transcript
    assert "+۹۸" not in transcript


async def test_english_applicant_and_contact_button(bot: Bot) -> None:
    """An English speaker shares their contact instead of typing it, and skips the code."""
    me = bot.client(502, lang="en")
    await me.send("/start")
    await me.press("English")
    assert "Privacy" in me.last
    await me.press("priv:yes")
    await me.send("Sara Moradi")
    await me.share_contact("989351112233")
    assert "national code" in me.last
    await me.press("Skip")
    await me.press("Fardis")
    await me.press("Home food production")
    assert any("approval" in m.content.lower() for m in me.history[-3:])
    await me.press("Operating")
    user = await bot.svc.users.find("telegram", 502)
    assert user is not None
    assert (user.lang, user.mobile, user.national_code, user.county) == (
        "en",
        "+989351112233",
        "",
        "fardis",
    )
    assert "Since what date has your business been operating" in me.last
    assert me.reply_keyboard == ["📅 Today"]
    await me.press("📅 Today")
    assert "📋 Permit steps" in me.reply_keyboard


async def test_someone_elses_contact_is_refused(bot: Bot) -> None:
    """A contact card of another person is not taken as the applicant's number."""
    me = bot.client(503, lang="en")
    await me.send("/start")
    await me.press("English")
    await me.press("priv:yes")
    await me.send("Sara Moradi")
    replies = await me.share_contact("+989121111111", own=False)
    assert len(replies) == 1  # the reason and the question again, in one message
    assert "someone else" in me.last and "mobile number" in me.last
    user = await bot.svc.users.find("telegram", 503)
    assert user is not None and user.mobile is None


async def test_every_prompt_rejects_bad_input_and_asks_again(bot: Bot) -> None:
    """Bad answers at each question get a reason and the same question again."""
    me = bot.client(504, lang="fa")
    await me.send("/start")
    await me.send("سلام")
    assert "دکمه" in me.last and me.buttons == ["فارسی", "English"]
    await me.press("فارسی")
    replies = await me.send("هر چی")
    assert len(replies) == 1 and "دکمه" in me.last and me.buttons[0] == "موافقم ✅"
    await me.press("priv:yes")
    for bad in ("12345", "a", "https://example.com"):
        replies = await me.send(bad)
        assert len(replies) == 1, bad  # why, and the question again, in one message
        assert "نام و نام خانوادگی" in replies[0].content, bad
    await me.send(FA_NAME)
    for bad in ("02166747747", "0912345", "+1 555 123 4567", "abc"):
        replies = await me.send(bad)
        assert "شماره همراه" in replies[-1].content, bad
        assert "۰۹" in replies[0].content
    await me.send("+98 912 345 6789")
    replies = await me.send("1234567890")
    assert replies[0].content.startswith("این کد ملی درست نیست.")
    await me.press("رد شدن")
    replies = await me.send("تهران")
    assert "دکمه" in replies[0].content and "شهرستان" in replies[-1].content
    await me.press("کرج")
    replies = await me.send("کشاورزی خیلی خوب")
    assert "رشته" in replies[-1].content
    user = await bot.svc.users.find("telegram", 504)
    assert user is not None
    assert (user.full_name, user.mobile, user.national_code, user.county, user.field) == (
        FA_NAME,
        "+989123456789",
        "",
        "karaj",
        None,
    )


async def test_back_button_returns_to_previous_question(bot: Bot) -> None:
    """Back goes one question up and shows the stored answer; nothing is lost."""
    me = bot.client(505, lang="en")
    await me.send("/start")
    await me.press("English")
    await me.press("priv:yes")
    await me.send("Sara Moradi")
    await me.send("09123456789")
    await me.press("« Back")
    assert "mobile number" in me.last and "(currently: \u200e0912 345 6789)" in me.last
    await me.press("« Back")
    assert "full name" in me.last and "Sara Moradi" in me.last
    await me.send("Sara Karimi")
    assert "mobile" in me.last
    user = await bot.svc.users.find("telegram", 505)
    assert user is not None and (user.full_name, user.mobile) == ("Sara Karimi", "+989123456789")


async def test_cancel_keeps_answers_and_start_resumes(bot: Bot) -> None:
    """/cancel mid-profile keeps what was saved; /start continues at the next question."""
    me = bot.client(506, lang="fa")
    await me.send("/start")
    await me.press("فارسی")
    await me.press("priv:yes")
    await me.send(FA_NAME)
    replies = await me.send("/cancel")
    assert len(replies) == 1 and "ذخیره" in me.last
    user = await bot.svc.users.find("telegram", 506)
    assert user is not None and user.full_name == FA_NAME and user.state == ""
    await me.send("/start")
    assert "شماره همراه" in me.last


async def test_restart_mid_profile_resumes_exactly(bot: Bot) -> None:
    """The process stops after two answers; after a restart the third question comes next."""
    me = bot.client(507, lang="fa")
    await me.send("/start")
    await me.press("فارسی")
    await me.press("priv:yes")
    await me.send(FA_NAME)
    await me.send("09123456789")
    await bot.restart()
    me = bot.client(507, lang="fa")
    replies = await me.send("0013542419")
    assert "شهرستان" in replies[-1].content
    user = await bot.svc.users.find("telegram", 507)
    assert (
        user is not None and user.national_code == "0013542419" and user.mobile == "+989123456789"
    )


async def rows(bot: Bot) -> dict[str, int]:
    """How many rows the tables a person leaves traces in hold."""
    out = {}
    for table in ("users", "step_progress", "followups", "tickets", "outbox"):
        out[table] = (await bot.svc.db.fetchone(f"SELECT COUNT(*) FROM {table}"))[0]
    return out


async def test_declining_privacy_stores_nothing(bot: Bot) -> None:
    """Before a language is picked nothing is kept; then only the language and the question;
    declining erases that too, and the next message starts afresh in both languages."""
    none = {"users": 0, "step_progress": 0, "followups": 0, "tickets": 0, "outbox": 0}
    me = bot.client(508, lang="fa")
    await me.send("/start")
    await me.send("سلام")
    assert "دکمه" in me.last and me.buttons == ["فارسی", "English"]
    assert await rows(bot) == none
    await me.press("English")  # the app is in Persian; the person reads English
    held = await bot.svc.users.find("telegram", 508)
    assert held is not None and (held.lang, held.state, held.full_name) == (
        "en",
        "start:privacy",
        None,
    )
    await me.press("I do not agree")
    assert me.last == bot.svc.i18n.t("en", "start.declined")  # told in the language chosen
    assert await rows(bot) == none
    replies = await me.send("Zahra")
    assert me.buttons == ["فارسی", "English"] and "Please choose your language" in me.last
    assert len(replies) == 1 and await rows(bot) == none
    replies = await me.send("/delete")
    assert bot.svc.i18n.t("fa", "delete.nothing_stored") in replies[0].content
    assert me.buttons == ["فارسی", "English"] and await rows(bot) == none
    await me.send("/start")
    await me.press("فارسی")
    await me.press("موافقم ✅")
    user = await bot.svc.users.find("telegram", 508)
    assert user is not None and user.consent_at is not None and user.lang == "fa"
    assert "نام و نام خانوادگی" in me.last


async def test_a_visitor_row_left_at_the_privacy_question_goes_after_a_day(bot: Bot) -> None:
    """Someone who picked a language and left: their row is erased a day later, not before;
    applicants and staff without consent keep theirs."""
    from bot.repo.staff import StaffRepo
    from bot.repo.users import VISITOR_TTL
    from scheduler import Proactive

    left = bot.client(509, lang="fa")
    await left.send("/start")
    await left.press("فارسی")
    applicant = bot.client(510, lang="fa")
    await applicant.send("/start")
    await applicant.press("فارسی")
    await applicant.press("priv:yes")
    await StaffRepo(bot.svc.db).add("telegram", 511, "staff", 1, bot.clock.timestamp())
    staff = bot.client(511, lang="fa")
    await staff.send("/start")
    await staff.press("فارسی")  # staff without consent, at the privacy question
    sweep = Proactive(bot.app, bot.svc, "telegram")  # its minute tick, without the JobQueue
    await sweep.lead.start()  # the only replica: it leads the ticks (on PostgreSQL, elected)
    bot.clock.advance(seconds=VISITOR_TTL - 60)
    try:
        await sweep._tick(None)  # type: ignore[arg-type]
        assert await bot.svc.users.find("telegram", 509) is not None
        bot.clock.advance(seconds=120)
        await sweep._tick(None)  # type: ignore[arg-type]
    finally:
        await sweep.lead.stop()
    assert await bot.svc.users.find("telegram", 509) is None
    assert await bot.svc.users.find("telegram", 510) is not None
    assert await bot.svc.users.find("telegram", 511) is not None
    await left.press("priv:yes")  # the old privacy button: they start again, nothing broke
    assert left.buttons == ["فارسی", "English"]
    assert await bot.svc.users.find("telegram", 509) is None


async def test_edit_profile_from_settings(bot: Bot) -> None:
    """Settings → Edit profile → county changes only the county."""
    me = await onboard(bot, 509)
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:county")
    assert "کرج" in me.last
    await me.press("طالقان")
    user = await bot.svc.users.find("telegram", 509)
    assert user is not None and user.county == "taleqan" and user.full_name == FA_NAME
    assert "📋 مراحل مجوز" in me.reply_keyboard
