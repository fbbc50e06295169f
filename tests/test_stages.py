"""The stage follows reality: a picked stage marks the steps behind it done, finished steps and
milestones move it forward (never back by themselves), and Settings can still correct it."""

from __future__ import annotations

from bot.messengers.fakeapi.client import ChatClient
from bot.repo.reports import ReportRepo
from scheduler.planner import Planner
from tests.conftest import Bot
from tests.test_onboarding import onboard


async def stage_of(bot: Bot, user_id: int) -> str | None:
    """The stored stage."""
    person = await bot.svc.users.find("telegram", user_id)
    assert person is not None
    return person.stage


async def profile_says(me: ChatClient) -> str:
    """The 🚩 line of the profile as Settings → Edit profile shows it."""
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    return next(line for line in me.last.splitlines() if line.startswith("🚩"))


def test_the_rules() -> None:
    """Forward only; each stage implies the steps up to its milestone."""
    from bot.content.loader import default_content_path, load_content
    from bot.rules.stages import STAGES, forward, steps_behind

    steps = load_content(default_content_path()).steps_for("food")
    assert [forward("idea", s) for s in STAGES] == [None, "applying", "permit", "loan", "operating"]
    assert forward("loan", "applying") is None and forward(None, "permit") == "permit"
    ids = {stage: [s.id for s in steps_behind(stage, steps)] for stage in STAGES}
    assert ids["idea"] == [] and ids["applying"] == ["register_system"]
    assert ids["permit"][-1] == "permit_issued" and "health_licence" in ids["permit"]
    assert ids["loan"] == [s.id for s in steps] == ids["operating"]


async def test_applying_marks_registration_done(bot: Bot) -> None:
    """ "درخواست مجوز در جریان است": registering is behind them, so progress is ۱ از ۳ and the
    next step is the agency's review, not registering."""
    me = await onboard(bot, 721, stage="درخواست مجوز در جریان است")
    assert any("✅ ۱ مرحله که پشت سر گذاشته‌اید" in m.content for m in me.history[-2:])
    await me.press("📈 پیشرفت من")
    assert "▰▱▱ ۱ از ۳" in me.last and "✅ ثبت‌نام در سامانه مشاغل خانگی\n" in me.last
    assert "👉 مرحله بعدی: بررسی و امضای اول دستگاه صادرکننده" in me.last


async def test_finishing_steps_and_milestones_moves_the_stage_forward(bot: Bot) -> None:
    """idea → applying (a first step) → permit (its date) → loan (its date) → operating (a
    check-in answered "operating"); the profile and the stats by stage follow each time."""
    me = await onboard(bot, 722)
    assert await stage_of(bot, 722) == "idea"
    await me.press("📋 مراحل مجوز")
    await me.press("✓ انجام شد")
    assert await stage_of(bot, 722) == "applying"
    assert await profile_says(me) == "🚩 مرحله: درخواست مجوز در جریان است"
    for step in bot.svc.content.steps_for("handicrafts")[1:]:
        await me.press_data(f"st:done:{step.id}")
        if step.milestone:
            await me.send("۱۴۰۵/۰۸/۲۰" if step.milestone == "permit_issued" else "۱۴۰۵/۰۹/۰۱")
            assert await stage_of(bot, 722) == ("permit" if step.id == "permit_issued" else "loan")
    assert await profile_says(me) == "🚩 مرحله: وام گرفته‌ام"
    assert (await ReportRepo(bot.svc.db.reader()).by_stage()).get("loan") == 1

    bot.clock.advance(days=41)  # a Saturday, in the sending window
    await Planner(bot.svc, "telegram").sweep()
    assert await bot.drain() == 1
    await me.press("✅ فعال است، مثل همیشه")
    assert await stage_of(bot, 722) == "operating"
    assert (await ReportRepo(bot.svc.db.reader()).by_stage()).get("operating") == 1


async def test_a_step_done_never_moves_the_stage_back(bot: Bot) -> None:
    """Someone at "loan" who marks an early step done keeps their stage."""
    me = await onboard(bot, 723, stage="وام گرفته‌ام")
    await me.press("📅 امروز")
    await me.press_data("st:undo:register_system")
    await me.press_data("st:done:register_system")
    assert await stage_of(bot, 723) == "loan"


async def test_forward_correction_marks_steps_and_asks_the_date(bot: Bot) -> None:
    """Settings: idea → "مجوز گرفته‌ام" marks the permit steps done and asks when."""
    me = await onboard(bot, 724)
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:stage")
    await me.press("مجوز گرفته‌ام")
    assert "✅ ۳ مرحله که پشت سر گذاشته‌اید «انجام‌شده» ثبت شد." in me.last
    assert "مجوزتان در چه تاریخی صادر شد؟" in me.last
    await me.send("۱۴۰۵/۰۸/۲۰")
    await me.press("📈 پیشرفت من")
    assert "▰▰▰ ۳ از ۳" in me.last and "✅ امضای دوم و صدور مجوز — ۱۴۰۵/۰۸/۲۰" in me.last
    assert "✅ ثبت‌نام در سامانه مشاغل خانگی\n" in me.last  # done, its day not known


async def test_backward_correction_keeps_steps_and_says_how_to_unmark(bot: Bot) -> None:
    """Settings: loan → applying asks nothing; it says the steps stay done and how to un-mark
    one; they stay done, and the next step done does not drag the stage anywhere."""
    me = await onboard(bot, 725, stage="وام گرفته‌ام")
    await me.send("۱۴۰۵/۰۸/۰۱")
    person = await bot.svc.users.find("telegram", 725)
    assert person is not None
    done_before = {k for k, p in (await bot.svc.steps.progress(person.id)).items() if p.done}
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:stage")
    replies = await me.press("درخواست مجوز در جریان است")
    assert len(replies) == 1
    assert "همان‌طور می‌ماند" in me.last and "«↩️ هنوز انجام نشده»" in me.last
    assert "چه تاریخی" not in me.last and "📋 مراحل مجوز" in me.reply_keyboard
    assert await stage_of(bot, 725) == "applying"
    done_after = {k for k, p in (await bot.svc.steps.progress(person.id)).items() if p.done}
    assert done_after == done_before and person.loan_on == "2026-10-23"
    await me.press_data("st:undo:county_review")
    await me.press_data("st:done:county_review")
    assert await stage_of(bot, 725) == "applying"


async def test_a_new_field_gets_the_steps_its_stage_is_past(bot: Bot) -> None:
    """At "permit", switching to home food production marks its extra approvals done too."""
    me = await onboard(bot, 726, stage="مجوز گرفته‌ام")
    await me.press("📅 امروز")
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:field")
    await me.press("تولید خانگی مواد غذایی")
    await me.press("📈 پیشرفت من")
    assert "▰▰▰▰▰ ۵ از ۵" in me.last and "✅ مجوز بهداشتی" in me.last
