"""Content that is checked is shown (issue 10, item 11): every field of content.yaml reaches a
screen, and a field no screen shows stops the bot at start-up with a clear message."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from bot.content.model import LList, LText
from bot.core.text import localize_digits
from bot.messengers.fakeapi.client import ChatClient
from tests.conftest import Bot
from tests.test_checkins import deliver, loan_holder
from tests.test_cli import _main_fails, clean_env, kept_logging  # noqa: F401 (fixtures)
from tests.test_content import CONTENT_PATH
from tests.test_onboarding import FA_NAME

#: Plain-text content fields a person reads (every other plain field is an id or a setting).
SHOWN_STRINGS = ("phone", "url")


def _tag(n: int) -> str:
    """A short mark no text contains: ⟦a⟧, ⟦b⟧, … ⟦ba⟧ …"""
    letters = ""
    while True:
        n, rest = divmod(n, 26)
        letters = chr(ord("a") + rest) + letters
        if not n:
            return f"⟦{letters}⟧"


def marked(node: Any, path: str, marks: dict[str, list[str]]) -> Any:
    """The content with a distinct mark after each text (the same in both languages), and
    in ``marks`` the marks of each field (list positions written []); a shown plain field
    (a phone number, an address) is its own mark."""
    if isinstance(node, LText):
        tag = _tag(sum(map(len, marks.values())))
        marks.setdefault(path, []).append(tag)
        return LText(f"{node.fa} {tag}", f"{node.en} {tag}")
    if isinstance(node, LList):
        tags = [_tag(sum(map(len, marks.values())) + i) for i in range(len(node))]
        marks.setdefault(path, []).extend(tags)
        fa = tuple(f"{item} {tag}" for item, tag in zip(node.fa, tags, strict=True))
        en = tuple(f"{item} {tag}" for item, tag in zip(node.en, tags, strict=True))
        return LList(fa, en)
    if isinstance(node, tuple):
        return tuple(marked(item, f"{path}[]", marks) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {}
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            key = f"{path}.{field.name}" if path else field.name
            if isinstance(value, str) and field.name in SHOWN_STRINGS:
                marks.setdefault(key, []).append(value)
            else:
                changes[field.name] = marked(value, key, marks)
        return dataclasses.replace(node, **changes)
    return node


def strings(node: Any) -> list[str]:
    """Every string inside a Bot API call's parameters (texts, captions, button labels)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def unseen(marks: dict[str, list[str]], transcript: str) -> list[str]:
    """The content fields none of whose marks appear in what the bot sent."""
    return [
        path
        for path, tags in marks.items()
        if tags
        and not any(tag in transcript or localize_digits(tag, "fa") in transcript for tag in tags)
    ]


async def tour(bot: Bot, user_id: int, lang: str) -> None:
    """One applicant through every screen that shows content: the profile (a food business),
    every step card and its help, the questionnaire three times, the loans, FAQ, contact and
    help pages; four loan holders through each kind of check-in answer."""
    fa = lang == "fa"
    content, t = bot.svc.content, (lambda key: bot.svc.i18n.t(lang, key))
    me = bot.client(user_id, lang=lang)
    await me.send("/start")
    await me.press("فارسی" if fa else "English")
    await me.press("priv:yes")
    await me.send(FA_NAME if fa else "Sara Moradi")
    await me.send("09123456789")
    await me.press(t("buttons.skip"))
    await me.press(content.counties[0].name.get(lang))
    food = content.field("food")
    assert food is not None
    await me.press(food.name.get(lang))
    await me.press(t("stages.idea"))
    for step in content.steps_for("food"):
        await me.press(t("menu.steps"))
        await me.press(t("steps.btn_list"))
        await me.press(f"st:show:{step.id}")
    await me.press(t("steps.btn_help"))
    questions = content.eligibility.questions
    for pick in ("pass", "warn", "fail"):
        await me.press(t("menu.eligibility"))
        for question in questions:
            wanted = [a for a in question.answers if a.outcome == pick] or [
                a for a in question.answers if a.outcome == "pass"
            ]
            await me.press(wanted[0].label.get(lang))
    await me.press(t("menu.loans"))
    await me.press(t("menu.faq"))
    await me.press(content.faq[0].q.get(lang))
    await me.press(t("menu.ask"))
    await me.send("/cancel")
    await me.press(t("menu.help"))
    answers: list[tuple[str, str | None]] = [
        ("btn_op", content.checkin.sales_bands[0].label.get(lang)),
        ("btn_pr", content.checkin.problems[0].label.get(lang)),
        ("btn_pa", content.checkin.pause_reasons[0].label.get(lang)),
        ("btn_cl", content.checkin.closed_reasons[0].label.get(lang)),
    ]
    holders: list[ChatClient] = [await loan_holder(bot, user_id + i, lang) for i in (1, 2, 3, 4)]
    await deliver(bot)
    for holder, (status, choice) in zip(holders, answers, strict=True):
        await holder.press(t(f"checkin.{status}"))
        if status == "btn_op":
            await holder.press(t("buttons.skip"))
        await holder.press(choice)
        if status == "btn_pa":
            await holder.press(t("checkin.in_3_months"))


@pytest.mark.parametrize("lang", ["fa", "en"])
async def test_every_content_field_reaches_a_screen(bot: Bot, lang: str) -> None:
    """With each text of the content marked, a tour of the screens shows a mark of every field:
    portals (with the mojavez.ir note), programme.secretariat, contact.hours and each field's
    agency used to be checked at start-up and never shown."""
    marks: dict[str, list[str]] = {}
    bot.svc.content = marked(bot.svc.content, "", marks)
    await tour(bot, 7700 if lang == "fa" else 7800, lang)
    transcript = "\n".join(s for _, params in bot.emulator.calls for s in strings(params))
    assert unseen(marks, transcript) == []


def test_the_check_names_the_fields_no_screen_shows(bot: Bot) -> None:
    """Screens that show every field but the portals, the secretariat and the hours (the bot
    before issue 10): the check names exactly those fields."""
    hidden = ["programme.secretariat", "contact.hours", "portals[].name", "portals[].url",
              "portals[].note"]  # fmt: skip
    marks: dict[str, list[str]] = {}
    marked(bot.svc.content, "", marks)
    shown = "\n".join(tag for path, tags in marks.items() if path not in hidden for tag in tags)
    assert unseen(marks, shown) == hidden


async def test_the_agency_of_the_persons_field_is_on_the_review_card(bot: Bot) -> None:
    """{agency} in the review step's text becomes the issuing agency of the person's field."""
    from tests.test_onboarding import onboard

    me = await onboard(bot, 7901)  # handicrafts
    review = bot.svc.content.step("agency_review")
    assert review is not None
    await me.press("📋 مراحل مجوز")
    await me.press("📋 همه مراحل")
    await me.press(next(b for b in me.buttons if b.endswith(review.title.fa)))
    assert (
        "📍 کجا: سامانه مشاغل خانگی. دستگاه صادرکننده برای رشته شما:"
        " اداره کل میراث فرهنگی، گردشگری و صنایع دستی"
    ) in me.last
    assert "{agency}" not in me.last


async def test_help_names_the_programme_from_the_content(bot: Bot) -> None:
    """The programme's name in /help comes from content.yaml, so a staff edit shows."""
    from tests.test_onboarding import onboard

    me = await onboard(bot, 7902)
    await me.send("/help")
    assert me.last.startswith(f"این ربات شما را در {bot.svc.content.programme.name.fa} راهنمایی")


def test_start_up_refuses_a_field_no_screen_shows(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """A staff member adds an e-mail address to the contact: no screen shows it, so the bot
    does not start and says where the field is and which fields the contact has."""
    text = CONTENT_PATH.read_text(encoding="utf-8")
    anchor = '  phone: "021-66747747"\n'
    assert text.count(anchor) == 1
    path = tmp_path / "content.yaml"
    path.write_text(text.replace(anchor, anchor + '  email: "info@example.org"\n'), "utf-8")
    clean_env.setenv("HOMEBIZ_CONTENT", str(path))
    message = _main_fails(["stats"], capsys)
    assert re.fullmatch(
        re.escape(
            f"homebiz: cannot start: {path}: contact.email: no screen shows a field called"
            " 'email', so editing it would change nothing; remove it or correct its name"
            " (the fields here: office, phone, followup, hours, note)"
        )
        + r" \(line \d+\)",
        message,
    ), message
