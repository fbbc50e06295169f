"""A seeded programme list whose figures are worked out by hand (tests/test_roster_figures.py).

Sixteen people on the list; the clock stands at 1405/09/08 11:30 Tehran (2026-11-29). Windows
(bot.rules.roster_survival.window) run from the loan day to the end of the same day 3, 6 or 12
months later; a horizon counts someone once that window has closed.

who  county/field        loan        linked by   answers (Tehran, 10:00 unless a time is given)
a1   karaj/handicrafts   2025-06-01  contact     operating 07-01, operating 10-01, closed 2026-01-10
a2   karaj/food          2025-06-01  link*       problems 07-02, problems 11-20, expired 2026-02-20
a3   fardis/handicrafts  2025-06-01  import      paused 09-01 23:00 (last hour of 3 months),
                                                 closed 11-15
a4   fardis/food         2025-06-01  contact     operating 05-25 (before the loan),
                                                 operating 2026-04-01
a5   karaj/handicrafts   2025-06-01  —           (Safir: no Bale account, so not invited)
a6   karaj/food          2025-06-01  —           (invited by link: declined)
a7   fardis/handicrafts  2025-06-01  link        operating 09-02 00:30 (just after 3 months),
                                                 paused 2026-03-01
b1   karaj/handicrafts   2026-04-15  contact     operating 05-15, problems 08-20
b2   karaj/food          2026-04-15  contact     —
b3   fardis/food         2026-04-15  —           (invited by Safir: on Bale)
c1   karaj/handicrafts   2026-09-10  link*       operating 10-10 (no window of theirs closed)
c2   fardis/food         2026-08-28  —           (3-month window closed at 00:00 today)
c3   fardis/food         2026-08-29  —           (3-month window closes at 00:00 tomorrow)
d1   fardis/food         2025-10-05  contact     closed 11-20
d2   fardis/food         2025-10-05  —           —
e1   karaj/other         (none)      —           (a permit date only)

* invited by personal link first. Invitation columns are written as the invitation part
  writes them (SafirOutboxRepo.mark_sent, mark_not_on_bale); a personal link's invitation
  ('link') is set directly, as nothing marks it yet.

Cohorts: 1404 Farvardin–Shahrivar (a*), 1404 Mehr–Esfand (d*), 1405 Farvardin–Shahrivar (b*, c*).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.jalali import TEHRAN
from bot.db.engine import Database
from bot.repo.checkins import CheckinRepo, DuePerson, Expiry, OpenRound
from bot.repo.roster import RosterRepo
from bot.repo.users import UserRepo
from bot.roster.model import RosterRecord

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)  # 1405/09/08 11:30 Tehran


def national_code(n: int) -> str:
    """A valid national code (check digit and all) made from a small number."""
    body = f"{n:09d}"
    rem = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rem if rem < 2 else 11 - rem)


def at(day: str, hour: int = 10, minute: int = 0) -> int:
    """Unix seconds of an ISO day at a Tehran wall-clock time."""
    when = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), TEHRAN)
    return int(when.timestamp())


@dataclass(frozen=True)
class Person:
    """One row of the seeded list."""

    key: str
    county: str
    field: str
    loan_on: str | None
    linked_via: str | None = None
    answers: tuple[tuple[str, int], ...] = ()
    invited_via: str | None = None
    not_on_bale: bool = False
    declined: bool = False


PEOPLE: tuple[Person, ...] = (
    Person("a1", "karaj", "handicrafts", "2025-06-01", "contact",
           (("operating", at("2025-07-01")), ("operating", at("2025-10-01")),
            ("closed", at("2026-01-10")))),
    Person("a2", "karaj", "food", "2025-06-01", "link",
           (("problems", at("2025-07-02")), ("problems", at("2025-11-20")),
            ("no_answer", at("2026-02-20"))), invited_via="link"),
    Person("a3", "fardis", "handicrafts", "2025-06-01", "import",
           (("paused", at("2025-09-01", 23)), ("closed", at("2025-11-15")))),
    Person("a4", "fardis", "food", "2025-06-01", "contact",
           (("operating", at("2025-05-25")), ("operating", at("2026-04-01")))),
    Person("a5", "karaj", "handicrafts", "2025-06-01", not_on_bale=True),
    Person("a6", "karaj", "food", "2025-06-01", invited_via="link", declined=True),
    Person("a7", "fardis", "handicrafts", "2025-06-01", "link",
           (("operating", at("2025-09-02", 0, 30)), ("paused", at("2026-03-01")))),
    Person("b1", "karaj", "handicrafts", "2026-04-15", "contact",
           (("operating", at("2026-05-15")), ("problems", at("2026-08-20")))),
    Person("b2", "karaj", "food", "2026-04-15", "contact"),
    Person("b3", "fardis", "food", "2026-04-15", invited_via="safir"),
    Person("c1", "karaj", "handicrafts", "2026-09-10", "link",
           (("operating", at("2026-10-10")),), invited_via="link"),
    Person("c2", "fardis", "food", "2026-08-28"),
    Person("c3", "fardis", "food", "2026-08-29"),
    Person("d1", "fardis", "food", "2025-10-05", "contact", (("closed", at("2025-11-20")),)),
    Person("d2", "fardis", "food", "2025-10-05"),
    Person("e1", "karaj", "other", None),
)  # fmt: skip


async def _answer(checkins: CheckinRepo, user_pk: int, status: str, when: int) -> None:
    """One check-in round, opened a day before ``when`` and answered (or expired) then."""
    person = DuePerson(user_pk, "telegram", 0, "fa", when - 86_400)
    (round_id,) = await checkins.open_rounds(
        [person], when - 86_400, [{"text": "?"}], next_action_at=when
    )
    if status == "no_answer":
        still = OpenRound(round_id, user_pk, "telegram", 0, "fa", 0, 0, 0, None, None, None)
        assert await checkins.expire_many([Expiry(still, None)], when) == 1
    else:
        assert await checkins.answer(round_id, user_pk, status, {}, when) is not None


async def seed_roster(db: Database, *, first_user_id: int = 5000) -> dict[str, int]:
    """Put PEOPLE on the list, create and link the bot users, record their answers and
    invitations; the roster row id of each person by key."""
    roster, users, checkins = RosterRepo(db), UserRepo(db), CheckinRepo(db)
    records = [
        RosterRecord(
            national_code(100 + i),
            f"نفر {p.key}",
            f"+98912000{i:04d}",
            p.county,
            p.field,
            permit_on="2025-01-20",
            loan_on=p.loan_on,
            loan_amount=2_000_000_000 if p.loan_on else None,
            bank="ملی",
            case_no=f"A-{i}",
        )
        for i, p in enumerate(PEOPLE)
    ]
    imported = at("2025-05-01")
    assert await roster.add_many(records, now=imported) == len(PEOPLE)
    ids: dict[str, int] = {}
    for i, (p, record) in enumerate(zip(PEOPLE, records, strict=True)):
        entry = await roster.by_national_code(record.national_code)
        assert entry is not None
        ids[p.key] = entry.id
        if p.invited_via or p.not_on_bale:
            await db.execute(  # the invitation part's repository writes these columns
                "UPDATE roster SET invited_at = ?, invited_via = ?, on_bale = ? WHERE id = ?",
                (
                    imported + 3600 if p.invited_via else None,
                    p.invited_via,
                    0 if p.not_on_bale else 1 if p.invited_via == "safir" else None,
                    entry.id,
                ),
            )
        if p.declined:
            await roster.unlink(entry.id, imported + 7200, do_not_contact=True)
        if p.linked_via is None:
            continue
        user = await users.get_or_create("telegram", first_user_id + i, first_user_id + i, "fa",
                                         imported)  # fmt: skip
        await users.update(user, imported, consent_at=imported, full_name=record.full_name,
                           county=p.county, field=p.field, loan_on=p.loan_on)  # fmt: skip
        assert await roster.link(entry.id, user.id, p.linked_via, imported + 86_400)
        for status, when in p.answers:
            await _answer(checkins, user.id, status, when)
    return ids
