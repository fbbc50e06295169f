"""Eligibility says no more than the facts (issue 10, items 8 and 12): answers in one order,
hedged claims about age, residence and the food approvals, and for someone found not
eligible no "next step" but what they can do instead."""

from __future__ import annotations

from bot.messengers.fakeapi.client import ChatClient
from tests.conftest import Bot
from tests.test_onboarding import onboard


async def answer(bot: Bot, me: ChatClient, changes: dict[str, str]) -> None:
    """Go through the questionnaire by tapping labels: a passing answer unless ``changes``
    names another label for the question."""
    await me.press("✅ آیا واجد شرایطم؟")
    for question in bot.svc.content.eligibility.questions:
        assert question.text.fa in me.last
        passing = next(a for a in question.answers if a.outcome == "pass")
        await me.press(changes.get(question.id, passing.label.fa))


def result_of(me: ChatClient) -> str:
    """The verdict message (the one carrying «🔄 پاسخ دوباره به پرسش‌ها»)."""
    message = me._inline_message()
    assert message is not None and me.buttons == ["🔄 پاسخ دوباره به پرسش‌ها"]
    return message.content


async def test_yes_is_always_above_no(bot: Bot) -> None:
    """Every question offering «بله» and «خیر» shows «بله» first: the insurance and earlier-loan
    questions used to put «خیر» on top, inviting a mis-tap."""
    me = await onboard(bot, 741)
    await me.press("✅ آیا واجد شرایطم؟")
    orders = {}
    for question in bot.svc.content.eligibility.questions:
        shown = me.buttons
        if "بله" in shown and "خیر" in shown:
            orders[question.id] = shown.index("بله") < shown.index("خیر")
        passing = next(a for a in question.answers if a.outcome == "pass")
        await me.press(passing.label.fa)
    assert {"insurance", "prior_loan", "nationality", "residence"} <= set(orders)
    assert all(orders.values()), orders


async def test_under_18_hears_a_hedge_not_a_verdict(bot: Bot) -> None:
    """«کمتر از ۱۸ سال» no longer fails the person: a warning says no age limit is reported
    for their own business and sends them to the county office; the next step stays."""
    me = await onboard(bot, 742)
    await answer(bot, me, {"age": "کمتر از ۱۸ سال"})
    shown = result_of(me)
    assert shown.startswith(bot.svc.content.eligibility.result.with_warnings.fa)
    assert "⚠️ برای کسب‌وکار خانگی خودتان شرط سنی گزارش نشده است" in shown
    assert "سن قانونی (۱۸ سال)" in shown and "از اداره شهرستان بپرسید" in shown
    assert "✖️" not in shown and "👉 قدم بعدی: «📋 مراحل مجوز» را در منو بزنید" in shown


async def test_living_elsewhere_is_a_warning_that_names_independent_businesses(bot: Bot) -> None:
    """The residence question no longer asks about the province, and «خیر» warns only that the
    condition is reported for independent home businesses."""
    me = await onboard(bot, 743)
    residence = bot.svc.content.question("residence")
    assert residence is not None
    assert "استان" not in residence.text.fa and "province" not in residence.text.en
    await answer(bot, me, {"residence": "خیر"})
    shown = result_of(me)
    assert "✖️" not in shown and "فقط برای کسب‌وکار خانگی مستقل" in shown
    assert "در همین استان" not in "\n".join(m.content for m in me.history)


async def test_not_eligible_is_told_what_to_do_not_a_next_step(bot: Bot) -> None:
    """A failing answer: the reason, then what the person can do instead (ask the county
    office or the secretariat, re-answer) — no «👉 قدم بعدی» towards steps they cannot take."""
    me = await onboard(bot, 744)
    await answer(bot, me, {"nationality": "خیر"})
    shown = result_of(me)
    assert shown.startswith(bot.svc.content.eligibility.result.not_eligible.fa)
    assert "✖️ تابعیت ایرانی از شرایط گزارش‌شده" in shown
    assert "👉" not in shown and "قدم بعدی" not in shown
    assert "\n\n💡 آنچه می‌توانید بکنید: وضعیت خودتان را از اداره تعاون" in shown
    assert "«💬 پرسش از کارشناس»" in shown and "«🔄 پاسخ دوباره به پرسش‌ها»" in shown
    await me.press("🔄 پاسخ دوباره به پرسش‌ها")
    assert "پرسش ۱ از ۸" in me.last


async def test_food_approvals_say_their_order_is_not_confirmed(bot: Bot) -> None:
    """A food applicant's extra approvals sit before the agency's review in the list, and each
    card says that order is not confirmed and whom to ask."""
    me = await onboard(bot, 745)
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:field")
    await me.press("تولید خانگی مواد غذایی")
    for step_id in ("agri_approval", "health_licence"):
        step = bot.svc.content.step(step_id)
        assert step is not None
        await me.press("📋 مراحل مجوز")
        await me.press("📋 همه مراحل")
        await me.press(next(label for label in me.buttons if step.title.fa in label))
        card = me.last
        assert card.splitlines()[0].endswith(step.title.fa)
        assert "مرحلهٔ «بررسی و امضای اول دستگاه صادرکننده»" in card
        assert "برای ما تأیید نشده است" in card and "بپرسید" in card
