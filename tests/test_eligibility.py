"""The eligibility rule, on the shipped questions and on synthetic ones."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.loader import load_content
from bot.content.model import Answer, EligibilityTexts, LText, Question
from bot.rules.eligibility import EligibilityResult, evaluate, verdict_texts

CONTENT_PATH = Path(__file__).resolve().parent.parent / "locales" / "content.yaml"


@cache
def shipped() -> tuple[Question, ...]:
    """The shipped eligibility questions (loaded once)."""
    return load_content(CONTENT_PATH).eligibility.questions


def _t(text: str) -> LText:
    """A synthetic text."""
    return LText(fa=f"«{text}»", en=text)


def _q(qid: str, *answers: tuple[str, str]) -> Question:
    """A synthetic question from (answer id, outcome) pairs; non-pass answers get a reason."""
    return Question(
        id=qid,
        text=_t(qid),
        answers=tuple(
            Answer(aid, _t(aid), outcome, None if outcome == "pass" else _t(f"{qid}/{aid}"))
            for aid, outcome in answers
        ),
    )


SYNTHETIC = (
    _q("citizen", ("yes", "pass"), ("no", "fail")),
    _q("space", ("yes", "pass"), ("no", "fail"), ("unsure", "warn")),
    _q("skill", ("yes", "pass"), ("willing", "warn"), ("no", "warn")),
)


def _passing(questions: tuple[Question, ...]) -> dict[str, str]:
    """For each question, its first passing answer."""
    return {q.id: next(a.id for a in q.answers if a.outcome == "pass") for q in questions}


def _reason(questions: tuple[Question, ...], qid: str, aid: str) -> LText:
    """The reason of one answer."""
    question = next(q for q in questions if q.id == qid)
    answer = question.answer(aid)
    assert answer is not None and answer.reason is not None
    return answer.reason


@pytest.mark.parametrize(
    ("changes", "eligible", "failures", "warnings"),
    [
        ({}, True, [], []),
        ({"citizen": "no"}, False, [("citizen", "no")], []),
        ({"space": "unsure"}, True, [], [("space", "unsure")]),
        ({"skill": "no", "space": "unsure"}, True, [], [("space", "unsure"), ("skill", "no")]),
        (
            {"citizen": "no", "space": "no", "skill": "willing"},
            False,
            [("citizen", "no"), ("space", "no")],
            [("skill", "willing")],
        ),
    ],
    ids=["all_pass", "one_fail", "one_warn", "warnings_in_question_order", "mixed"],
)
def test_synthetic_table(
    changes: dict[str, str],
    eligible: bool,
    failures: list[tuple[str, str]],
    warnings: list[tuple[str, str]],
) -> None:
    """Failures and warnings carry the answers' reasons, in question order."""
    answers = {**_passing(SYNTHETIC), **changes}
    result = evaluate(SYNTHETIC, answers)
    assert result == EligibilityResult(
        eligible=eligible,
        failures=tuple(_reason(SYNTHETIC, q, a) for q, a in failures),
        warnings=tuple(_reason(SYNTHETIC, q, a) for q, a in warnings),
    )


@pytest.mark.parametrize(
    ("changes", "eligible", "n_failures", "n_warnings"),
    [
        ({}, True, 0, 0),
        ({"nationality": "no"}, False, 1, 0),
        ({"age": "under18"}, True, 0, 1),
        ({"residence": "no"}, True, 0, 1),
        ({"age": "from18"}, True, 0, 1),
        ({"residence": "unsure", "space": "unsure"}, True, 0, 2),
        ({"insurance": "yes"}, True, 0, 1),
        ({"prior_loan": "yes"}, True, 0, 1),
        ({"prior_loan": "yes", "nationality": "no", "skill": "willing"}, False, 1, 2),
        ({"nationality": "no", "space": "no", "insurance": "unsure"}, False, 2, 1),
    ],
    ids=[
        "all_pass",
        "not_iranian",
        "under_18_is_a_warning",
        "living_elsewhere_is_a_warning",
        "aged_18_19",
        "unsure_twice",
        "insured",
        "prior_loan_rules_out_the_loan_only",
        "fail_and_warnings",
        "two_failures",
    ],
)
def test_shipped_table(
    changes: dict[str, str], eligible: bool, n_failures: int, n_warnings: int
) -> None:
    """The shipped questions judge typical answer sets as expected."""
    questions = shipped()
    answers = {**_passing(questions), **changes}
    result = evaluate(questions, answers)
    assert result.eligible is eligible
    assert len(result.failures) == n_failures
    assert len(result.warnings) == n_warnings
    expected = [
        _reason(questions, q, a)
        for q, a in changes.items()
        if (found := next(x for x in questions if x.id == q).answer(a)) and found.outcome == "fail"
    ]
    assert sorted(result.failures, key=repr) == sorted(expected, key=repr)


def test_unanswered_question_is_an_error() -> None:
    """Every question needs an answer."""
    answers = _passing(SYNTHETIC)
    del answers["space"]
    with pytest.raises(ValueError, match="'space' is not answered"):
        evaluate(SYNTHETIC, answers)


def test_unknown_answer_is_an_error() -> None:
    """An answer id the question does not offer is refused."""
    answers = {**_passing(SYNTHETIC), "skill": "maybe"}
    with pytest.raises(ValueError, match="'skill' has no answer 'maybe'"):
        evaluate(SYNTHETIC, answers)


def test_answers_to_other_questions_are_ignored() -> None:
    """Stored answers to questions no longer asked do not matter."""
    answers = {**_passing(SYNTHETIC), "retired_question": "yes"}
    assert evaluate(SYNTHETIC, answers).eligible


def test_no_questions_is_eligible() -> None:
    """An empty questionnaire passes."""
    assert evaluate((), {}) == EligibilityResult(True, (), ())


def test_malformed_synthetic_answers_are_errors() -> None:
    """Outcomes outside pass/fail/warn, and fail without a reason, are programming errors."""
    odd = Question("q", _t("q"), (Answer("a", _t("a"), "pass"), Answer("b", _t("b"), "maybe")))
    with pytest.raises(ValueError, match="unknown outcome 'maybe'"):
        evaluate((odd,), {"q": "b"})
    bare = Question("q", _t("q"), (Answer("a", _t("a"), "pass"), Answer("b", _t("b"), "fail")))
    with pytest.raises(ValueError, match="needs a reason"):
        evaluate((bare,), {"q": "b"})


def test_verdict_and_texts() -> None:
    """The verdict picks the headline and the next-step text."""
    texts = EligibilityTexts(*(_t(n) for n in ("ok", "no", "warn", "next_ok", "next_no")))
    ok = EligibilityResult(True, (), ())
    warned = EligibilityResult(True, (), (_t("w"),))
    failed = EligibilityResult(False, (_t("f"),), (_t("w"),))
    assert [r.verdict for r in (ok, warned, failed)] == [
        "eligible",
        "with_warnings",
        "not_eligible",
    ]
    assert verdict_texts(texts, ok) == (texts.eligible, texts.next_eligible)
    assert verdict_texts(texts, warned) == (texts.with_warnings, texts.next_eligible)
    assert verdict_texts(texts, failed) == (texts.not_eligible, texts.next_not_eligible)


@settings(max_examples=200, database=None, deadline=None)
@given(st.data())
def test_any_answer_set(data: st.DataObject) -> None:
    """For any choice of answers: eligible iff nothing failed; reasons follow the choices."""
    questions = data.draw(st.sampled_from([SYNTHETIC, shipped()]))
    chosen = {q.id: data.draw(st.sampled_from(q.answers)) for q in questions}
    result = evaluate(questions, {qid: a.id for qid, a in chosen.items()})
    fails = [a.reason for a in chosen.values() if a.outcome == "fail"]
    warns = [a.reason for a in chosen.values() if a.outcome == "warn"]
    assert result.eligible is (not fails)
    assert list(result.failures) == fails
    assert list(result.warnings) == warns
