"""Buttons fit a phone (issue 10, item 13): every choice keyboard is laid out by label length
with one helper (bot.text.pair_rows), and the content check refuses a label too wide for a row
of its own, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.text import PAIR_WIDTH, label_width
from bot.messengers.fakeapi.model import FakeMessage
from tests.conftest import Bot
from tests.test_broadcast import sbot, staff_member  # noqa: F401 (fixture)
from tests.test_cli import _main_fails, clean_env, kept_logging  # noqa: F401 (fixtures)
from tests.test_content import CONTENT_PATH
from tests.test_onboarding import FA_NAME


def reply_rows(bot: Bot, chat_id: int) -> list[list[str]]:
    """The reply keyboard on screen, row by row."""
    markup = bot.emulator.reply_keyboard(chat_id)
    assert markup is not None
    return [[button["text"] for button in row] for row in markup["keyboard"]]


def inline_rows(message: FakeMessage | None) -> list[list[str]]:
    """The inline keyboard of a message, row by row."""
    assert message is not None
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [[button["text"] for button in row] for row in rows]


def fits(rows: list[list[str]]) -> bool:
    """Every row is one button, or buttons whose labels all fit half a phone's width."""
    return all(len(row) == 1 or max(map(label_width, row)) <= PAIR_WIDTH for row in rows)


async def test_the_profile_choices_give_a_long_label_its_own_row(bot: Bot) -> None:
    """Counties pair up; «خدمات رایانه‌ای و دیجیتال» and «درخواست مجوز در جریان است» (the
    labels the issue saw cut) each have a row; short names still share one."""
    me = bot.client(781)
    await me.send("/start")
    await me.press("فارسی")
    await me.press("priv:yes")
    await me.send(FA_NAME)
    await me.send("09123456789")
    await me.press("رد شدن")
    assert reply_rows(bot, 781) == [
        ["کرج", "فردیس"], ["نظرآباد", "ساوجبلاغ"], ["اشتهارد", "طالقان"], ["چهارباغ"],
        ["« بازگشت"],
    ]  # fmt: skip
    await me.press("کرج")
    rows = reply_rows(bot, 781)
    assert ["خدمات رایانه‌ای و دیجیتال"] in rows and ["خدمات", "سایر رشته‌ها"] in rows
    fields = [f.name.fa for f in bot.svc.content.fields]
    assert [label for row in rows for label in row] == [*fields, "« بازگشت"] and fits(rows)
    await me.press("خدمات")
    assert reply_rows(bot, 781) == [
        ["فقط ایده دارم"], ["درخواست مجوز در جریان است"], ["مجوز گرفته‌ام", "وام گرفته‌ام"],
        ["کسب‌وکارم فعال است"], ["« بازگشت"],
    ]  # fmt: skip


async def test_english_choices_follow_the_same_rule(bot: Bot) -> None:
    """Editing the field in English: the longer English names each take a row."""
    from tests.test_onboarding import onboard

    me = await onboard(bot, 782, lang="en")
    await me.press("⚙️ Settings")
    await me.press("set:profile")
    await me.press("pf:field")
    rows = reply_rows(bot, 782)
    assert ["Handicrafts and traditional arts"] in rows and ["Services", "Other fields"] in rows
    assert rows[-1] == ["✖️ Cancel"] and fits(rows)


async def test_staff_filter_buttons_keep_their_places_when_ticked(sbot: Bot) -> None:  # noqa: F811
    """The broadcast's field filter is laid out by the same helper, as if every value were
    ticked: ticking «Services» changes its label, not the rows."""
    me = await staff_member(sbot)
    await me.send("/broadcast")
    await me.send("سلام")
    await me.press("Same for everyone")
    await me.press("bc:a:field")
    before = inline_rows(me.last_message)
    assert ["Services", "Other fields"] in before and fits(before)
    await me.press("Services")
    after = inline_rows(me.last_message)
    assert ["✓ Services", "Other fields"] in after
    assert [len(row) for row in after] == [len(row) for row in before] and fits(after)


def test_start_up_names_a_label_a_phone_would_cut(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A field renamed to a sentence: the bot does not start, and says which label and why."""
    text = CONTENT_PATH.read_text(encoding="utf-8")
    long = "خدمات رایانه‌ای، طراحی وب و تولید محتوای دیجیتال"
    path = tmp_path / "content.yaml"
    path.write_text(text.replace('"خدمات رایانه‌ای و دیجیتال"', f'"{long}"', 1), "utf-8")
    clean_env.setenv("HOMEBIZ_CONTENT", str(path))
    message = _main_fails(["stats"], capsys)
    assert message.startswith(
        f"homebiz: cannot start: {path}: fields[5].name.fa: the button label «{long}» has"
        f" {label_width(long)} characters; a phone cuts a button wider than 32: shorten it"
    ), message
