"""The programme content (locales/content.yaml) as frozen dataclasses; the loader is apart."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Protocol, TypeVar

__all__ = (
    "ID_PATTERN",
    "MILESTONES",
    "OUTCOMES",
    "STEP_FILLS",
    "TRACKS",
    "TRACK_MILESTONES",
    "WEEKDAYS",
    "Answer",
    "CheckinContent",
    "Choice",
    "Contact",
    "Content",
    "ContentError",
    "County",
    "Eligibility",
    "EligibilityTexts",
    "FaqItem",
    "Field",
    "LList",
    "LText",
    "Loans",
    "Portal",
    "Programme",
    "Question",
    "ScheduleSettings",
    "Step",
)

#: Ids go into button data (e.g. ``st:done:<id>``), so they are short and plain.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
#: What an eligibility answer means.
OUTCOMES = ("pass", "fail", "warn")
#: The steps follow-up check-ins are timed from.
MILESTONES = ("permit_issued", "loan_received")
#: What a step's "what" and "where" may hold: {agency}, the issuing agency of the person's field.
STEP_FILLS = frozenset({"agency"})
#: The two tracks of steps, in order: the permit, then the loan. Each ends with its milestone.
TRACKS = ("permit", "loan")
#: The milestone that closes each track.
TRACK_MILESTONES: Mapping[str, str] = {"permit": "permit_issued", "loan": "loan_received"}
#: Weekday names in content, as Python weekday numbers (Monday=0 … Sunday=6).
WEEKDAYS: Mapping[str, int] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}


class ContentError(Exception):
    """The content file is unreadable or invalid; the message names the file, key and line."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        """Keep the file name and every problem (each 'key: message'), one per message line.

        An empty source: the problems span several files and each names its own.
        """
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One 'file: key: message' line per problem."""
        return [f"{self.source}: {p}" if self.source else p for p in self.problems]


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class LText:
    """A user-visible text in Persian and English."""

    fa: str
    en: str

    def get(self, lang: str) -> str:
        """The text in lang; Persian when lang is unknown or its text is empty."""
        return self.en if lang == "en" and self.en else self.fa


@dataclass(frozen=True)
class LList:
    """A user-visible list of texts in Persian and English, the same length in both."""

    fa: tuple[str, ...]
    en: tuple[str, ...]

    def get(self, lang: str) -> list[str]:
        """The items in lang; Persian when lang is unknown or its list is not complete."""
        if lang == "en" and len(self.en) == len(self.fa):
            return list(self.en)
        return list(self.fa)

    def __len__(self) -> int:
        """The number of items."""
        return len(self.fa)


@dataclass(frozen=True)
class Programme:
    """The programme's name and its secretariat."""

    name: LText
    secretariat: LText


@dataclass(frozen=True)
class Contact:
    """Where applicants can call; hours and note are optional.

    followup: what happens after someone asks for help ("I need help" on a step): how the staff
    get back to them and roughly when.
    """

    office: LText
    phone: str
    followup: LText
    hours: LText | None = None
    note: LText | None = None


@dataclass(frozen=True)
class Portal:
    """A web portal applicants use."""

    id: str
    name: LText
    url: str
    note: LText | None = None


@dataclass(frozen=True)
class County:
    """A county of the province."""

    id: str
    name: LText


@dataclass(frozen=True)
class Field:
    """A business field, its issuing agency and the extra steps only it needs."""

    id: str
    name: LText
    agency: LText
    extra_steps: tuple[str, ...] = ()
    note: LText | None = None


@dataclass(frozen=True)
class Step:
    """One step of the permit-and-loan path."""

    id: str
    title: LText
    what: LText
    where: LText
    documents: LList
    duration: LText
    help: LText
    only_for: tuple[str, ...] = ()
    milestone: str | None = None
    track: str = "permit"

    def applies_to(self, field_id: str | None) -> bool:
        """True for a common step, or when field_id is one of the step's only_for fields."""
        return not self.only_for or field_id in self.only_for


@dataclass(frozen=True)
class Answer:
    """One answer to an eligibility question; fail and warn carry a reason."""

    id: str
    label: LText
    outcome: str
    reason: LText | None = None


@dataclass(frozen=True)
class Question:
    """An eligibility question with its answers (at least two)."""

    id: str
    text: LText
    answers: tuple[Answer, ...]

    def answer(self, answer_id: str) -> Answer | None:
        """The answer with this id, or None."""
        return _by_id(self.answers, answer_id)


@dataclass(frozen=True)
class EligibilityTexts:
    """The verdict texts and the next-step texts after the questionnaire."""

    eligible: LText
    not_eligible: LText
    with_warnings: LText
    next_eligible: LText
    next_not_eligible: LText


@dataclass(frozen=True)
class Eligibility:
    """The eligibility questionnaire."""

    intro: LText
    questions: tuple[Question, ...]
    result: EligibilityTexts


@dataclass(frozen=True)
class Loans:
    """What the loan page says."""

    intro: LText
    facts: LList
    steps: LList
    exclusions: LList


@dataclass(frozen=True)
class FaqItem:
    """A frequently asked question and its answer."""

    id: str
    q: LText
    a: LText


@dataclass(frozen=True)
class Choice:
    """A button choice in a check-in; help is set for problems."""

    id: str
    label: LText
    help: LText | None = None


@dataclass(frozen=True)
class CheckinContent:
    """The follow-up check-in's choices and help texts."""

    problems: tuple[Choice, ...]
    sales_bands: tuple[Choice, ...]
    pause_reasons: tuple[Choice, ...]
    closed_reasons: tuple[Choice, ...]
    closed_help: LText
    paused_help: LText


@dataclass(frozen=True)
class ScheduleSettings:
    """Follow-up timing; send only in [quiet_start, quiet_end) local time, not on quiet_weekdays."""

    first_checkin_days: int
    checkin_every_days: int
    reminder_days: tuple[int, ...]
    no_answer_after_days: int
    quiet_start: time
    quiet_end: time
    quiet_weekdays: frozenset[int]
    nudge_after_days: int
    nudge_max: int
    timezone: str


class _HasId(Protocol):
    """Anything with an id (for the lookup helper's typing)."""

    @property
    def id(self) -> str:
        """The item's id."""
        ...


_T = TypeVar("_T", bound=_HasId)


def _by_id(items: Iterable[_T], item_id: str | None) -> _T | None:
    """The first item whose id is item_id, or None."""
    return next((item for item in items if item.id == item_id), None)


@dataclass(frozen=True)
class Content:
    """All programme content, validated; lists keep the file's order."""

    programme: Programme
    contact: Contact
    portals: tuple[Portal, ...]
    counties: tuple[County, ...]
    fields: tuple[Field, ...]
    steps: tuple[Step, ...]
    eligibility: Eligibility
    loans: Loans
    faq: tuple[FaqItem, ...]
    checkin: CheckinContent
    schedule: ScheduleSettings
    source: str = ""

    def steps_for(self, field_id: str | None) -> list[Step]:
        """The common steps plus those only for field_id, in file order."""
        return [s for s in self.steps if s.applies_to(field_id)]

    def track_steps(self, field_id: str | None, track: str) -> list[Step]:
        """The steps of one track (permit or loan) for field_id, in file order."""
        return [s for s in self.steps_for(field_id) if s.track == track]

    def step(self, step_id: str | None) -> Step | None:
        """The step with this id, or None."""
        return _by_id(self.steps, step_id)

    def milestone_step(self, milestone: str) -> Step | None:
        """The step that marks this milestone (permit_issued or loan_received), or None."""
        return next((s for s in self.steps if s.milestone == milestone), None)

    def field(self, field_id: str | None) -> Field | None:
        """The business field with this id, or None."""
        return _by_id(self.fields, field_id)

    def county(self, county_id: str | None) -> County | None:
        """The county with this id, or None."""
        return _by_id(self.counties, county_id)

    def portal(self, portal_id: str | None) -> Portal | None:
        """The portal with this id, or None."""
        return _by_id(self.portals, portal_id)

    def question(self, question_id: str | None) -> Question | None:
        """The eligibility question with this id, or None."""
        return _by_id(self.eligibility.questions, question_id)

    def faq_item(self, faq_id: str | None) -> FaqItem | None:
        """The FAQ entry with this id, or None."""
        return _by_id(self.faq, faq_id)

    def problem(self, problem_id: str | None) -> Choice | None:
        """The check-in problem with this id, or None."""
        return _by_id(self.checkin.problems, problem_id)

    def sales_band(self, band_id: str | None) -> Choice | None:
        """The sales band with this id, or None."""
        return _by_id(self.checkin.sales_bands, band_id)

    def pause_reason(self, reason_id: str | None) -> Choice | None:
        """The pause reason with this id, or None."""
        return _by_id(self.checkin.pause_reasons, reason_id)

    def closed_reason(self, reason_id: str | None) -> Choice | None:
        """The closure reason with this id, or None."""
        return _by_id(self.checkin.closed_reasons, reason_id)

