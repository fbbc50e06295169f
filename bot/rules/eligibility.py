"""The eligibility rule: answers to the content's questions become a verdict with reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.content.model import EligibilityTexts, LText, Question

__all__ = ("EligibilityResult", "evaluate", "verdict_texts")


@dataclass(frozen=True)
class EligibilityResult:
    """Eligible unless an answer failed; failure and warning reasons in question order."""

    eligible: bool
    failures: tuple[LText, ...]
    warnings: tuple[LText, ...]

    @property
    def verdict(self) -> str:
        """'not_eligible', 'with_warnings' or 'eligible' (the keys of the result texts)."""
        if not self.eligible:
            return "not_eligible"
        return "with_warnings" if self.warnings else "eligible"


def evaluate(questions: Sequence[Question], answers: Mapping[str, str]) -> EligibilityResult:
    """Judge answers (question id -> answer id); each question needs a known answer."""
    failures: list[LText] = []
    warnings: list[LText] = []
    for question in questions:
        if question.id not in answers:
            raise ValueError(f"question {question.id!r} is not answered")
        answer_id = answers[question.id]
        answer = question.answer(answer_id)
        if answer is None:
            raise ValueError(f"question {question.id!r} has no answer {answer_id!r}")
        if answer.outcome == "pass":
            continue
        where = f"question {question.id!r}, answer {answer.id!r}"
        if answer.outcome not in ("fail", "warn"):
            raise ValueError(f"{where}: unknown outcome {answer.outcome!r}")
        if answer.reason is None:
            raise ValueError(f"{where}: a {answer.outcome} answer needs a reason")
        (failures if answer.outcome == "fail" else warnings).append(answer.reason)
    return EligibilityResult(
        eligible=not failures, failures=tuple(failures), warnings=tuple(warnings)
    )


def verdict_texts(texts: EligibilityTexts, result: EligibilityResult) -> tuple[LText, LText]:
    """The headline and the next-step text for a result."""
    headline = {
        "eligible": texts.eligible,
        "with_warnings": texts.with_warnings,
        "not_eligible": texts.not_eligible,
    }[result.verdict]
    following = texts.next_eligible if result.eligible else texts.next_not_eligible
    return headline, following
