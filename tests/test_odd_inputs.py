"""Whatever a person sends, at any point, gets a polite answer and the current question again."""

from __future__ import annotations

import pytest

from tests.conftest import Bot
from tests.test_onboarding import FA_NAME


async def _at_mobile_question(bot: Bot, user_id: int, lang: str = "fa"):
    """A person who has given a name and is now asked for the mobile number."""
    me = bot.client(user_id, lang=lang)
    await me.send("/start")
    await me.press("فارسی" if lang == "fa" else "English")
    await me.press("priv:yes")
    await me.send(FA_NAME)
    return me


ODD_INPUTS = {
    "sticker": lambda me: me.send_sticker(),
    "photo": lambda me: me.send_photo("عکس"),
    "voice": lambda me: me.send_voice(),
    "location": lambda me: me.send_location(),
    "document": lambda me: me.send_document(),
    "long_text": lambda me: me.send("ب" * 5000),
    "forged_callback": lambda me: me.press_data("pf:county:../../etc"),
    "unknown_namespace": lambda me: me.press_data("zz:1:2"),
    "empty_callback": lambda me: me.press_data(""),
    "unknown_command": lambda me: me.send("/frobnicate"),
    "emoji_only": lambda me: me.send("🙂🙂🙂"),
    "rtl_marks": lambda me: me.send("\u200f\u202b\u200c"),
}


@pytest.mark.parametrize("kind", sorted(ODD_INPUTS))
async def test_odd_input_at_mobile_question(bot: Bot, kind: str) -> None:
    """Each odd input: a Persian answer, then the mobile question again; the name is kept."""
    me = await _at_mobile_question(bot, 700)
    replies = await ODD_INPUTS[kind](me)
    assert replies, kind
    assert "شماره همراه" in replies[-1].content, (kind, [r.content for r in replies])
    assert all(r.content and "Traceback" not in r.content for r in replies)
    user = await bot.svc.users.find("telegram", 700)
    assert user is not None and user.full_name == FA_NAME and user.state == "profile:mobile"
    replies = await me.send("09123456789")
    assert "کد ملی" in replies[-1].content


@pytest.mark.parametrize("kind", sorted(ODD_INPUTS))
async def test_odd_input_before_anything(bot: Bot, kind: str) -> None:
    """Before consent, any input (an old message's button too) leads to the language question."""
    me = bot.client(701, lang="en")
    bot.emulator.handle("sendMessage", {"chat_id": 701, "text": "an old message"})
    replies = await ODD_INPUTS[kind](me)
    assert replies, kind
    assert me.buttons == ["فارسی", "English"], kind


async def test_edited_message_is_not_taken_as_an_answer(bot: Bot) -> None:
    """Editing an earlier answer gets an explanation; the stored name stays."""
    me = await _at_mobile_question(bot, 702, lang="en")
    name_message = next(
        m for m in bot.emulator.messages[702] if not m.from_bot and m.text == FA_NAME
    )
    replies = await me.edit(name_message.message_id, "Another Name")
    assert "edited" in replies[0].content and "mobile" in replies[-1].content
    user = await bot.svc.users.find("telegram", 702)
    assert user.full_name == FA_NAME


async def test_group_command_points_to_private_chat(bot: Bot) -> None:
    """A /start in a group is answered there with a pointer to a private chat, nothing stored."""
    bot.emulator.add_user(703)
    update = bot.emulator.group_text(-100500, 703, "/start", enqueue=False)
    from telegram import Update

    await bot.app.process_update(Update.de_json(update, bot.app.bot))
    assert "private chat" in bot.emulator.last_bot_message(-100500).content or "خصوصی" in (
        bot.emulator.last_bot_message(-100500).content
    )
    assert await bot.svc.users.find("telegram", 703) is None


async def test_group_chatter_and_channel_posts_are_ignored(bot: Bot) -> None:
    """Ordinary group messages and channel posts get no answer at all."""
    from telegram import Update

    bot.emulator.add_user(704)
    for update in (
        bot.emulator.group_text(-100501, 704, "hello all", enqueue=False),
        bot.emulator.channel_post(-100777, "news", enqueue=False),
    ):
        await bot.app.process_update(Update.de_json(update, bot.app.bot))
    assert not bot.emulator.bot_messages(-100501)
    assert not bot.emulator.bot_messages(-100777)


async def test_menu_is_always_reachable_from_any_flow(bot: Bot) -> None:
    """/menu from the middle of the eligibility questions returns to the menu; the profile stays."""
    from tests.test_onboarding import onboard

    me = await onboard(bot, 705, lang="en")
    await me.press("✅ Am I eligible?")
    await me.send("/menu")
    assert "📋 Permit steps" in me.reply_keyboard
    user = await bot.svc.users.find("telegram", 705)
    assert user.state == "" and user.profile_done
    replies = await me.send("random words")
    assert "send this message to the programme staff" in replies[0].content


async def test_stale_privacy_button_after_consent(bot: Bot) -> None:
    """Pressing the privacy button again later does nothing harmful."""
    from tests.test_onboarding import onboard

    me = await onboard(bot, 706, lang="en")
    replies = await me.press_data("priv:no")
    user = await bot.svc.users.find("telegram", 706)
    assert user.consent_at is not None and replies
