"""The FAQ matcher: normalised Persian words, scores, and what counts as a greeting or thanks."""

from __future__ import annotations

import pytest

from bot.content.faq_match import best_matches, content_words, greets, says_thanks, words
from bot.content.loader import load_content
from bot.content.model import Content, FaqItem, LText
from tests.test_content import CONTENT_PATH


@pytest.fixture(scope="module")
def content() -> Content:
    """The shipped content."""
    return load_content(CONTENT_PATH)


def ids(items: list[FaqItem]) -> list[str]:
    """The ids of FAQ entries."""
    return [item.id for item in items]


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("هزينه مجوز", "هزینه مجوز"),  # Arabic yeh
        ("كسب‌وكار", "کسب‌وکار"),  # Arabic kaf
        ("کسب‌وکار", "کسبوکار"),  # half-space or none
        ("مدارک‌شان", "مدارک"),  # an ending after a half-space
        ("وام‌ها", "وام"),  # plural
        ("وامم", "وام"),  # "my loan"
        ("هزینه‌ای", "هزینه"),
        ("آموزش", "اموزش"),  # alef madda
        ("کسب و کار", "کسب‌وکار"),  # a compound written apart
        ("LOANS", "loan"),
    ],
)
def test_spellings_meet(typed: str, same_as: str) -> None:
    """Spellings people type for the same word become the same word."""
    assert words(same_as) <= words(typed)


def test_function_words_greetings_and_thanks_carry_no_meaning() -> None:
    """What is left of a message is what it is about."""
    assert content_words("سلام، وام کی واریز می‌شود؟") == {"وام", "واریز"}
    assert content_words("ممنون") == content_words("سلام خسته نباشید") == frozenset()
    assert content_words("123 ؟ 👍") == frozenset()
    assert says_thanks("خیلی ممنونم!") and says_thanks("thanks a lot")
    assert greets("سلام وقت بخیر") and not greets("وام")


def test_the_issues_question_finds_the_loan_entry(content: Content) -> None:
    """"When is the loan paid?" shares "وام" with one question only: that entry, alone."""
    assert ids(best_matches(content.faq, "سلام، وام کی واریز می‌شود؟")) == ["loan_no_permit"]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("گرفتن مجوز چقدر هزینه داره؟", "permit_cost"),
        ("How much does the permit cost?", "permit_cost"),
        ("مجوزم کی صادر میشه", "who_issues"),
        ("آموزش و مشاوره می‌خواهم", "where_help"),
        ("کسب و کارم متوقف شده", "business_stopped"),
    ],
)
def test_best_entry_first(content: Content, typed: str, first: str) -> None:
    """The entry whose question shares the most words comes first; at most three."""
    found = best_matches(content.faq, typed)
    assert found and found[0].id == first and len(found) <= 3


def test_scores_and_ties(content: Content) -> None:
    """A question word counts 2, an answer word 1; below 2 nothing; ties keep file order."""
    faq = (
        FaqItem("a", LText("درباره ثبت نام", "about signing up"), LText("بیمه لازم نیست", "x")),
        FaqItem("b", LText("درباره بیمه", "about insurance"), LText("متن", "text")),
        FaqItem("c", LText("بیمه تکمیلی", "insurance"), LText("متن", "text")),
    )
    assert ids(best_matches(faq, "بیمه")) == ["b", "c"]  # "a" has it in its answer only: 1
    assert ids(best_matches(faq, "بیمه ثبت")) == ["a", "b", "c"]  # a: 1 + 2 = 3, b and c: 2
    assert best_matches(faq, "آب و هوا") == []
    assert best_matches(faq, "سلام") == []
