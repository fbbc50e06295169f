"""One voice in Persian (issue 10, "Persian wording"): the corrections of the issue's table are
in place, and no locale or content text uses a variant the voice has dropped — «بات», the old
phrases, a second word for the loan, the FAQ or the field, or another way of writing «هٔ»."""

from __future__ import annotations

import re
from functools import cache

import pytest

from bot.content.loader import load_content
from bot.content.model import LText
from bot.core.i18n import load_i18n
from bot.staffdesk.reports import _LABELS as REPORT_LABELS
from tests.test_content import CONTENT_PATH, _texts

#: What the voice has dropped, each with the form to use instead.
FORBIDDEN: tuple[tuple[str, str], ...] = (
    (r"(?<![\w\u200c])بات(?!\w)", "«ربات», never «بات»"),
    ("خوش برگشتید", "«دوباره خوش آمدید!»"),
    ("دوباره بپرسید", "«🔄 پاسخ دوباره به پرسش‌ها»"),
    (r"انجام شد در", "«در … انجام شد»"),
    ("بستگی به آماده بودن", "«به آماده بودن … بستگی دارد»"),
    ("رقم کنترل", "«این کد ملی درست نیست»"),
    ("نویسه", "«حرف»"),
    ("بیرون آمدیم", "«بسیار خب، از این بخش خارج شدید.»"),
    ("که این را می‌شنویم", "«بسیار متأسفیم.»"),
    (r"سپاس که (خبر دادید|گفتید)", "«سپاس از اینکه خبر دادید / به ما گفتید»"),
    (r"(?<![\w\u200c])آفرین(?!\w)", "«تبریک می‌گوییم!»"),
    ("برگرداندیم", "«این مرحله «انجام‌نشده» ثبت شد.»"),
    ("بسته شد توسط", "«{name} این پرسش را بست»"),
    (r"پرسش‌های (پرتکرار|متداول)|سؤالات متداول", "«پرسش‌های رایج»"),
    (r"زمینه‌?ٔ? کسب‌وکار|رشته (شغلی|فعالیت)", "«رشته» (of a business)"),
    (r"(?<![\w\u200c])(الان|دفعه|کی)(?!\w)", "formal «اکنون», «نوبت», «چه زمانی»"),
    (r"(?<![\w\u200c])دستور(ها)?(?!\w)", "«فرمان» for a command"),
    ("\u06c0", "«هٔ» (U+0647 U+0654), not «ۀ»"),
    ("\u0647\u200c\u0654", "«هٔ» without a half-space before the hamza"),
    (r"\u0647\u200c\u06cc(?=[\s.,،؛:!؟?»)]|$)", "«هٔ», not «ه‌ی» for the ezafe"),
    ("[يك]", "Persian «ی» and «ک»"),
)


def problems(text: str) -> list[str]:
    """The dropped variants a Persian text uses, each with what to write instead."""
    return [instead for pattern, instead in FORBIDDEN if re.search(pattern, text)]


@cache
def persian_texts() -> tuple[tuple[str, str], ...]:
    """(where, text) for every Persian text a person may see: the locale files, the content
    and the staff report's labels."""
    i18n = load_i18n()
    keys = i18n.keys(prefix="")
    found = [(f"{i18n.file_of('fa', key)}: {key}", i18n.t("fa", key)) for key in keys]
    for path, text in _texts(load_content(CONTENT_PATH)):
        items = [text.fa] if isinstance(text, LText) else list(text.fa)
        found += [(f"content.yaml: {path}", item) for item in items]
    found += [(f"bot/reports.py: {key}", label) for key, label in REPORT_LABELS["fa"].items()]
    return tuple(found)


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("به بات راهنما خوش آمدید", "«ربات», never «بات»"),
        ("بات‌ها", "«ربات», never «بات»"),
        ("✅ بسته شد توسط زهرا", "«{name} این پرسش را بست»"),
        ("در بخش پرسش‌های پرتکرار", "«پرسش‌های رایج»"),
        ("🧵 زمینهٔ کسب‌وکار", "«رشته» (of a business)"),
        ("آفرین!", "«تبریک می‌گوییم!»"),
        ("دستورها:", "«فرمان» for a command"),
        ("فکر می‌کنید کی شروع می‌کنید؟", "formal «اکنون», «نوبت», «چه زمانی»"),
        ("شمارۀ همراه", "«هٔ» (U+0647 U+0654), not «ۀ»"),
        ("شماره‌ی همراه", "«هٔ», not «ه‌ی» for the ezafe"),
        ("همه‌ی مراحل", "«هٔ», not «ه‌ی» for the ezafe"),
    ],
)
def test_the_scan_catches_each_dropped_variant(text: str, caught: str) -> None:
    """Each variant is caught, with the form to use."""
    assert caught in problems(text)


@pytest.mark.parametrize(
    "text",
    [
        "ربات", "باتری", "شمارهٔ همراه", "نسخهٔ انگلیسی", "گزینه‌ای", "دانشگاهی", "کارآفرینی",
        "رشته کسب‌وکار", "کیفیت",
    ],
)
def test_the_voice_itself_passes(text: str) -> None:
    """The chosen forms, and words that merely contain a dropped one, are not flagged."""
    assert problems(text) == []


def test_no_text_uses_a_dropped_variant() -> None:
    """Every Persian text of the locale files, the content and the report speaks one voice."""
    found = [f"{where}: {instead}" for where, text in persian_texts() for instead in problems(text)]
    assert found == []


def test_the_loan_is_called_a_loan_and_explained_once() -> None:
    """«وام» throughout; «تسهیلات», the official word, once, where the loan page explains it."""
    uses = [where for where, text in persian_texts() if "تسهیلات" in text]
    assert uses == ["content.yaml: content.loans.intro"]


#: The issue's table: where each correction lives, and the words a person now reads there.
TABLE = [
    ("start.welcome_back", "دوباره خوش آمدید!"),
    ("eligibility.again", "🔄 پاسخ دوباره به پرسش‌ها"),
    ("steps.done_on", "✅ در {date} انجام شد"),
    ("validation.national_code.invalid", "این کد ملی درست نیست."),
    ("errors.too_long", "(بیش از {limit} حرف)"),
    ("menu.cancelled", "بسیار خب، از این بخش خارج شدید."),
    ("checkin.ask_closed", "بسیار متأسفیم."),
    ("checkin.thanks_operating", "سپاس از اینکه خبر دادید"),
    ("checkin.thanks_closed", "سپاس از اینکه به ما گفتید"),
    ("steps.all_done", "تبریک می‌گوییم!"),
    ("steps.undone", "این مرحله «انجام‌نشده» ثبت شد."),
    ("inbox.closed_by", "{name} این پرسش را بست"),
]


@pytest.mark.parametrize(("key", "now"), TABLE, ids=[key for key, _ in TABLE])
def test_each_correction_of_the_table(key: str, now: str) -> None:
    """Each row of the issue's table reads as the issue asked."""
    assert now in load_i18n().t("fa", key)


def test_the_documents_duration_reads_naturally() -> None:
    """«به آماده بودن مدارک شما بستگی دارد» (the table's content row)."""
    step = load_content(CONTENT_PATH).step("register_system")
    assert step is not None and step.duration.fa == "به آماده بودن مدارک شما بستگی دارد."
