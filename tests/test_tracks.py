"""Permit and loan are two tracks: the cards, the list and the progress page show two sections
with their own numbering and progress; the content file says which step is in which."""

from __future__ import annotations

from bot.core.text import progress_bar
from tests.conftest import Bot
from tests.test_onboarding import onboard


async def test_cards_number_each_track_on_its_own(bot: Bot) -> None:
    """The last permit step is ۳ از ۳ in «📋 مراحل مجوز»; the loan steps are «💰 مراحل وام»,
    ۱ to ۵ — no more "مرحله ۸ از ۸: دریافت وام" under the permit steps."""
    me = await onboard(bot, 741)
    await me.press("📋 مراحل مجوز")
    assert me.last.startswith("📋 مراحل مجوز — مرحله ۱ از ۳: ثبت‌نام در سامانه مشاغل خانگی")
    await me.press_data("st:show:permit_issued")
    assert me.last.startswith("📋 مراحل مجوز — مرحله ۳ از ۳: امضای دوم و صدور مجوز")
    await me.press("بعدی »")
    assert me.last.startswith("💰 مراحل وام — مرحله ۱ از ۵: ثبت درخواست وام")
    await me.press_data("st:show:loan_received")
    assert me.last.startswith("💰 مراحل وام — مرحله ۵ از ۵: دریافت وام")
    assert "۸ از ۸" not in "\n".join(m.content for m in me.history)


async def test_list_and_progress_have_two_sections(bot: Bot) -> None:
    """The list says how far each track is and names each step by track and number; the
    progress page has a bar per track."""
    me = await onboard(bot, 742, lang="en")
    await me.press("📋 Permit steps")
    await me.press("✓ Done")
    await me.press("📋 All steps")
    assert "📋 Permit steps: 1 of 3 done" in me.last and "💰 Loan steps: 0 of 5 done" in me.last
    assert me.buttons[0] == "✅ Permit 1: Register in the home-business system"
    assert me.buttons[3] == "⬜️ Loan 1: Register for the loan"
    assert me.buttons[-1] == "⬜️ Loan 5: Loan received"
    await me.press("📈 My progress")
    permit, loan = me.last.split("💰 Loan steps")
    assert "📋 Permit steps" in permit and f"{progress_bar(1, 3)} 1 of 3" in permit
    assert "Register for the loan" not in permit
    assert f"{progress_bar(0, 5)} 0 of 5" in loan and "⬜️ Loan received" in loan


async def test_a_field_with_extra_approvals_has_them_in_the_permit_track(bot: Bot) -> None:
    """Home food production: five permit steps, the loan track unchanged."""
    me = await onboard(bot, 743)
    await me.press("⚙️ تنظیمات")
    await me.press("set:profile")
    await me.press("pf:field")
    await me.press("تولید خانگی مواد غذایی")
    await me.press("📋 مراحل مجوز")
    assert "مرحله ۱ از ۵" in me.last
    await me.press_data("st:show:health_licence")
    assert me.last.startswith("📋 مراحل مجوز — مرحله ۳ از ۵: مجوز بهداشتی")
    await me.press_data("st:show:loan_register")
    assert me.last.startswith("💰 مراحل وام — مرحله ۱ از ۵")
