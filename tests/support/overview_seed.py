"""Applicants whose overview figures are known, written through the repositories (the console and
/stats tests compare the two on these). The clock stands at 1405/09/08 11:30 Tehran (2026-11-29).

who  county/field            stage     loan        latest answer      open steps (days)  follow-up
p1   karaj/handicrafts       loan      2025-06-01  operating          —                  —
p2   karaj/food              loan      2025-06-01  closed             —                  closed
p3   fardis/handicrafts      loan      2025-10-05  problems           —                  problems
p4   fardis/food             loan      2026-04-15  —                  loan_register (20) —
p5   karaj/handicrafts       loan      2026-08-01  no_answer (expired) —                 no_answer*
p6   nazarabad/food          idea      —           —                  register_system (40) —
p7   karaj/other             applying  —           —                  register_system (10) step_help
p8   EVIL_COUNTY/EVIL_FIELD  loan      2025-06-01  operating          —                  —
* added by the round's expiry, as the bot does.
plus a staff member who tried the guide (counted nowhere) and a visitor (no consent).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.engine import Database
from bot.repo.checkins import CheckinRepo
from bot.repo.staff import StaffRepo
from bot.repo.steps import StepRepo
from bot.repo.users import UserRepo
from tests.support.roster_cohort import _answer, at

NOW_TS = at("2026-11-29", 11, 30)
DAY = 86_400
#: A county and a field id no content knows, written as markup: shown as text, never as HTML.
EVIL_COUNTY = "<b>evil</b>"
EVIL_FIELD = "<i>odd</i>"
FIRST_ID = 7000


@dataclass(frozen=True)
class Applicant:
    """One seeded applicant."""

    key: str
    county: str
    field: str
    stage: str
    loan_on: str | None = None
    answers: tuple[tuple[str, int], ...] = ()
    steps: tuple[tuple[str, int], ...] = ()  # (step id, days ago it started)
    followup: str | None = None


APPLICANTS: tuple[Applicant, ...] = (
    Applicant("p1", "karaj", "handicrafts", "loan", "2025-06-01",
              (("operating", at("2026-01-10")),)),
    Applicant("p2", "karaj", "food", "loan", "2025-06-01", (("closed", at("2026-02-01")),),
              followup="closed"),
    Applicant("p3", "fardis", "handicrafts", "loan", "2025-10-05",
              (("problems", at("2026-03-01")),), followup="problems"),
    Applicant("p4", "fardis", "food", "loan", "2026-04-15", steps=(("loan_register", 20),)),
    Applicant("p5", "karaj", "handicrafts", "loan", "2026-08-01",
              (("no_answer", at("2026-09-01")),)),  # the expiry puts them on the list
    Applicant("p6", "nazarabad", "food", "idea", steps=(("register_system", 40),)),
    Applicant("p7", "karaj", "other", "applying", steps=(("register_system", 10),),
              followup="step_help"),
    Applicant("p8", EVIL_COUNTY, EVIL_FIELD, "loan", "2025-06-01",
              (("operating", at("2026-01-11")),)),
)  # fmt: skip


async def seed_applicants(db: Database, staff_user_id: int | None = None) -> dict[str, int]:
    """Write APPLICANTS (and, when given, a staff member who went through the guide too);
    each applicant's users.id by key."""
    users, checkins, steps = UserRepo(db), CheckinRepo(db), StepRepo(db)
    joined = at("2025-05-01")
    ids: dict[str, int] = {}
    for i, a in enumerate(APPLICANTS):
        user = await users.get_or_create("telegram", FIRST_ID + i, FIRST_ID + i, "fa", joined)
        await users.update(
            user,
            joined + i * 40 * DAY,
            consent_at=joined + i * 40 * DAY,
            full_name=f"نفر {a.key}",
            county=a.county,
            field=a.field,
            stage=a.stage,
            loan_on=a.loan_on,
            profile_done=1,
        )
        ids[a.key] = user.id
        for status, when in a.answers:
            await _answer(checkins, user.id, status, when)
        for step, days in a.steps:
            await steps.start(user.id, step, NOW_TS - days * DAY)
        if a.followup:
            await checkins.add_followup(user.id, a.followup, {}, NOW_TS - (3 + i) * DAY)
    if staff_user_id is not None:
        member = await users.get_or_create("telegram", staff_user_id, staff_user_id, "fa", joined)
        await users.update(member, joined, consent_at=joined, county="karaj", field="food",
                           stage="loan", loan_on="2025-06-01")  # fmt: skip
        assert await StaffRepo(db).role("telegram", staff_user_id) is not None
    visitor = await users.get_or_create("telegram", FIRST_ID + 99, FIRST_ID + 99, "fa", joined)
    await users.update(visitor, joined, county="karaj")
    return ids
