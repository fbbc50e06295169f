"""Where an applicant is (idea → applying → permit → loan → operating) and what that implies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.content.model import Step

#: The stages, in the order people go through them.
STAGES: tuple[str, ...] = ("idea", "applying", "permit", "loan", "operating")
RANK: Mapping[str, int] = {stage: rank for rank, stage in enumerate(STAGES)}
#: The stage a milestone reaches (a milestone date given, or its step done).
MILESTONE_STAGES: Mapping[str, str] = {
    "permit_issued": "permit",
    "loan_received": "loan",
    "operating": "operating",
}
#: The milestones whose date a stage asks for when a person picks it.
STAGE_MILESTONES: Mapping[str, tuple[str, ...]] = {
    "permit": ("permit_issued",),
    "loan": ("loan_received",),
    "operating": ("operating",),
}


def rank(stage: str | None) -> int:
    """A stage's place in the order (an unknown or missing stage counts as "idea")."""
    return RANK.get(stage or "", 0)


def forward(current: str | None, reached: str) -> str | None:
    """The stage to move to when something reached ``reached`` (None: stay, never backward)."""
    if reached not in RANK or (current in RANK and rank(current) >= rank(reached)):
        return None
    return reached


def reached_by_step(step: Step) -> str:
    """The stage finishing a step shows: its milestone's, else the application is under way."""
    return MILESTONE_STAGES.get(step.milestone or "", "applying")


def steps_behind(stage: str | None, steps: Sequence[Step]) -> list[Step]:
    """The steps someone at a stage has done: none for an idea, the first (registering) for
    an application under way, every step up to a milestone for permit and loan, all of them
    once the business operates."""
    if stage == "applying":
        return list(steps[:1])
    if stage == "operating":
        return list(steps)
    milestone = next((m for m, s in MILESTONE_STAGES.items() if s == stage), None)
    if milestone is None:
        return []
    last = next((i for i, s in enumerate(steps) if s.milestone == milestone), -1)
    return list(steps[: last + 1])
