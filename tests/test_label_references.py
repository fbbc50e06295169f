"""The start-up check that a «quoted» button or section a text sends people to really exists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.content.loader import load_content
from bot.content.references import label_problems, references
from bot.core.i18n import load_i18n
from tests.test_cli import _main_fails, clean_env, kept_logging  # noqa: F401 (fixtures)
from tests.test_content import CONTENT_PATH

LOCALES = CONTENT_PATH.parent
# What the issue found, as the content file had it; the loan page's entry has since been
# renamed from «💰 تسهیلات» to «💰 وام», so the old name is now the one that names nothing.
OLD_CONTACT = "شماره تماس در بخش «تماس» آمده است."
NEW_CONTACT = "شماره تماس در «💬 پرسش از کارشناس» آمده است."
OLD_LOAN = "پیش از ثبت، بخش «تسهیلات» را در ربات بخوانید"
NEW_LOAN = "پیش از ثبت، «💰 وام» را در منوی ربات بخوانید"


def test_the_shipped_texts_name_only_real_labels() -> None:
    """Every reference in content.yaml and the locale files names a button, entry or step."""
    assert label_problems(load_content(CONTENT_PATH), load_i18n()) == []


@pytest.mark.parametrize(
    ("text", "lang", "found"),
    [
        ("شماره تماس در بخش «تماس» آمده است.", "fa", ["تماس"]),
        ("پیش از ثبت، بخش «وام» را بخوانید", "fa", ["وام"]),
        ("می‌توانید «رد شدن» را بزنید.", "fa", ["رد شدن"]),
        ("از «💬 پرسش از کارشناس» بفرستید.", "fa", ["💬 پرسش از کارشناس"]),
        ("وقتی مرحله «الف» یا «ب» را انجام دادید", "fa", ["الف", "ب"]),
        ("See the “Loans” section.", "en", ["Loans"]),
        ("send it from “💬 Ask a question”.", "en", ["💬 Ask a question"]),
        ("Press “Skip”.", "en", ["Skip"]),
        # Ordinary quotes are not references.
        ("روی همین پیام «پاسخ» (Reply) بزنید.", "fa", []),
        ("یا «۳ ساعت دیگر»، «3h» یا «۹۰ دقیقه دیگر».", "fa", []),
        ("or “in 3 hours”, “3h” or “90 min”.", "en", []),
        ("در مرحله «{title}» هستید", "fa", []),  # filled in at run time
        ("این مرحله «انجام‌نشده» ثبت شد.", "fa", []),  # what this step is, not a place
        ("This step is “not done”.", "en", []),
        ("“{title}”", "en", []),
    ],
)
def test_what_counts_as_a_reference(text: str, lang: str, found: list[str]) -> None:
    """Led by an emoji, after or before a word for a place on screen, or joined to one."""
    assert references(text, lang) == found


def _content_with(tmp_path: Path, *swaps: tuple[str, str]) -> Path:
    """A copy of the shipped content file with texts swapped."""
    text = CONTENT_PATH.read_text(encoding="utf-8")
    for new, old in swaps:
        assert text.count(new) == 1, new
        text = text.replace(new, old)
    path = tmp_path / "content.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_issues_sections_are_refused_with_file_and_key(tmp_path: Path) -> None:
    """«تماس» and «تسهیلات» name sections that do not exist: each is one problem, file and key."""
    path = _content_with(tmp_path, (NEW_CONTACT, OLD_CONTACT), (NEW_LOAN, OLD_LOAN))
    problems = label_problems(load_content(path), load_i18n())
    assert problems == [
        f"{path}: steps[6].help.fa: «تسهیلات» matches no button, menu entry or step"
        " (use its exact label)",
        f"{path}: faq[6].a.fa: «تماس» matches no button, menu entry or step"
        " (use its exact label)",
    ]


def test_a_label_without_its_emoji_is_accepted(tmp_path: Path) -> None:
    """"بخش «پرسش از کارشناس»" names the menu entry «💬 پرسش از کارشناس»."""
    path = _content_with(tmp_path, (NEW_CONTACT, "شماره تماس در بخش «پرسش از کارشناس» آمده است."))
    assert label_problems(load_content(path), load_i18n()) == []


def test_a_renamed_button_is_caught_in_the_locale_file_that_names_it(tmp_path: Path) -> None:
    """Renaming the menu entry leaves «💬 پرسش از کارشناس» in fa.inbox.yaml pointing nowhere."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales, ignore=shutil.ignore_patterns("content.yaml"))
    fa = locales / "fa.yaml"
    fa.write_text(
        fa.read_text(encoding="utf-8").replace(
            'ask: "💬 پرسش از کارشناس"', 'ask: "💬 پرسش از کارشناسان"'
        ),
        encoding="utf-8",
    )
    problems = label_problems(load_content(CONTENT_PATH), load_i18n(locales))
    assert "locales/fa.inbox.yaml: inbox.closed_notice: «💬 پرسش از کارشناس» matches no" in (
        "\n".join(problems)
    )
    assert all("«💬 پرسش از کارشناس»" in p for p in problems), problems


def test_start_up_stops_with_one_line_per_reference(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The bot refuses to start, naming the file and the key, as for any content mistake."""
    path = _content_with(tmp_path, (NEW_CONTACT, OLD_CONTACT))
    clean_env.setenv("HOMEBIZ_CONTENT", str(path))
    message = _main_fails(["stats"], capsys)
    assert re.fullmatch(
        rf"homebiz: cannot start: {re.escape(str(path))}: faq\[6\]\.a\.fa: «تماس» matches no"
        r" button, menu entry or step \(use its exact label\)",
        message,
    ), message
