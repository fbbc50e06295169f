"""Joining a bot user to their row on the programme's list, without leaking the list.

A person is linked only by something a stranger cannot fake: the mobile they shared as their
own contact card (the messenger vouches for it), a personal link they opened and confirmed,
or, at import, a row whose mobile is such a verified mobile. A typed national code or mobile
never links and never shows anything of the list; it can only put a task on the staff list,
and the person is answered exactly as if it were not on the list.

Linking makes the list's permit and loan dates the person's milestones (the figures and the
check-ins follow the programme's record); dates the person had told us themselves that the
list replaces are kept in ``users.own_dates`` and named in the message that tells them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from bot.content.loader import default_content_path, load_content
from bot.content.model import Content
from bot.core.i18n import I18n, load_i18n
from bot.core.jalali import format_date
from bot.db.engine import Database
from bot.repo.checkins import CheckinRepo
from bot.repo.outbox import OutboxRepo
from bot.repo.roster import RosterRepo
from bot.repo.users import User, UserRepo
from bot.roster.model import RosterEntry, RosterRecord
from bot.rules.followup import anchor_column, plan, policy_from
from bot.rules.schedule import allowed_send_time
from bot.rules.stages import forward, steps_behind

__all__ = [
    "DATE_COLUMNS",
    "Linked",
    "MergedDates",
    "found_buttons",
    "found_text",
    "link_user",
    "link_verified_users",
    "merge_dates",
    "note_claim",
    "official_columns",
]

VIA_CONTACT, VIA_LINK, VIA_IMPORT = "contact", "link", "import"
#: The list's milestone dates, as users columns, with the milestone each one is.
DATE_COLUMNS = {"permit_on": "permit_issued", "loan_on": "loan_received"}
#: Profile answers a confirmed personal link takes from the list when the person has none.
PREFILLED = ("full_name", "mobile", "county", "field")
#: The button under the "what the list says" message: the person says it is wrong.
DISPUTE = "rl:wrong"


@dataclass(frozen=True)
class MergedDates:
    """A linked person's milestone dates: the list's where it has them, else their own."""

    permit_on: str | None
    loan_on: str | None
    dates_from: str
    official: frozenset[str]
    replaced: dict[str, str] = field(default_factory=dict)


def merge_dates(listed: RosterRecord, user: User) -> MergedDates:
    """The list's dates win; a date only the person gave stays. ``dates_from`` says where the
    date the check-ins are timed from (loan, else permit, else operating) came from."""
    official = frozenset(c for c in DATE_COLUMNS if getattr(listed, c))
    merged = {c: getattr(listed, c) or getattr(user, c) for c in DATE_COLUMNS}
    replaced = {
        c: getattr(user, c)
        for c in official
        if getattr(user, c) and getattr(user, c) != getattr(listed, c)
    }
    anchor = anchor_column(merged["permit_on"], merged["loan_on"], user.operating_since)
    return MergedDates(
        permit_on=merged["permit_on"],
        loan_on=merged["loan_on"],
        dates_from="roster" if anchor in official else "self",
        official=official,
        replaced=replaced,
    )


@dataclass(frozen=True)
class Linked:
    """A person just linked: their row, their dates, and what linking filled in."""

    entry: RosterEntry
    dates: MergedDates
    stage: str | None
    prefilled: tuple[str, ...]


async def link_user(
    db: Database,
    content: Content,
    user: User,
    entry: RosterEntry,
    via: str,
    now: int,
    *,
    prefill: bool = False,
) -> Linked | None:
    """Link ``user`` to ``entry`` and give them what the list says (dates, the stage and steps
    they imply, and with ``prefill`` the profile answers they have not given), then re-plan
    their check-ins; None when either was linked already. ``user`` is updated in place."""
    dates = merge_dates(entry.record, user)
    values: dict[str, Any] = {
        "permit_on": dates.permit_on,
        "loan_on": dates.loan_on,
        "dates_from": dates.dates_from,
    }
    reached = "loan" if dates.loan_on else "permit" if dates.permit_on else None
    stage = forward(user.stage, reached) if reached else None
    if stage is not None:
        values["stage"] = stage
    filled = tuple(
        c for c in PREFILLED if prefill and getattr(user, c) is None and getattr(entry.record, c)
    )
    values.update({c: getattr(entry.record, c) for c in filled})
    steps = content.steps_for(values.get("field", user.field))
    dated = [
        (step.id, getattr(entry.record, column))
        for column, milestone in DATE_COLUMNS.items()
        if column in dates.official and (step := content.milestone_step(milestone))
    ]
    implied = [s.id for s in steps_behind(stage, steps)] if stage else []
    done = await RosterRepo(db).link_person(
        entry.id,
        user.id,
        via,
        now,
        values=values,
        own_dates=dates.replaced,
        dated_steps=dated,
        implied_steps=implied,
    )
    if not done:
        return None
    for column, value in values.items():
        setattr(user, column, value)
    policy = policy_from(content.schedule)
    await plan(CheckinRepo(db), user, policy, dt.datetime.fromtimestamp(now, dt.UTC))
    return Linked(entry=entry, dates=dates, stage=stage, prefilled=filled)


async def official_columns(db: Database, user_pk: int) -> frozenset[str]:
    """The milestone date columns of this user that are the list's (none when not linked)."""
    entry = await RosterRepo(db).by_user(user_pk)
    if entry is None:
        return frozenset()
    return frozenset(c for c in DATE_COLUMNS if getattr(entry.record, c))


async def note_claim(
    db: Database, user: User, now: int, *, national_code: str = "", mobile: str = ""
) -> None:
    """A typed national code or mobile: when it is on the list (and not this person's own
    linked row), a staff task "says they are on the list". The caller answers the person the
    same either way; the lookups run either way too."""
    repo = RosterRepo(db)
    found = [await repo.by_national_code(national_code)] if national_code else []
    found += await repo.by_mobile(mobile) if mobile else []
    typed = "national_code" if national_code else "mobile"
    for entry in found:
        if entry is not None and entry.user_pk != user.id:
            await repo.add_task(user.id, "roster_claim", entry.id, now, typed=typed)


def found_text(i18n: I18n, lang: str, dates: MergedDates) -> str:
    """What the list says about the person, in one message: the official dates, any date of
    theirs the list replaced, and that the button below tells staff if it is wrong."""
    t = i18n.t
    shown = {
        c: format_date(dt.date.fromisoformat(getattr(dates, c)), lang) for c in dates.official
    }
    if "permit_on" in shown and "loan_on" in shown:
        both = {"permit": shown["permit_on"], "loan": shown["loan_on"]}
        lines = [t(lang, "roster_link.found.both", **both)]
    elif "loan_on" in shown:
        lines = [t(lang, "roster_link.found.loan", loan=shown["loan_on"])]
    elif "permit_on" in shown:
        lines = [t(lang, "roster_link.found.permit", permit=shown["permit_on"])]
    else:
        lines = [t(lang, "roster_link.found.listed")]
    for column, own in sorted(dates.replaced.items()):
        day = format_date(dt.date.fromisoformat(own), lang)
        lines.append(t(lang, f"roster_link.found.replaced_{column}", date=day))
    lines.append(t(lang, "roster_link.found.wrong_hint"))
    return "\n".join(lines)


def found_buttons(i18n: I18n, lang: str) -> list[list[list[str]]]:
    """The dispute button under the found message, as outbox payload rows."""
    return [[[i18n.t(lang, "roster_link.btn_wrong"), DISPUTE]]]


async def link_verified_users(
    db: Database, now: int, *, content: Content | None = None, i18n: I18n | None = None
) -> list[Linked]:
    """After an import: link each row whose mobile one consenting user shared as their own
    contact (``linked_via='import'``), and queue each reachable one the found message (in the
    sending window). Pass the running bot's content and texts; the shipped ones otherwise."""
    content = content or load_content(default_content_path())
    i18n = i18n or load_i18n()
    roster, users, outbox = RosterRepo(db), UserRepo(db), OutboxRepo(db)
    policy = policy_from(content.schedule)
    linked: list[Linked] = []
    for entry_id, user_pk in await roster.verified_matches():
        entry, user = await roster.get(entry_id), await users.get(user_pk)
        if entry is None or user is None:
            continue
        done = await link_user(db, content, user, entry, VIA_IMPORT, now)
        if done is None:
            continue
        linked.append(done)
        if user.proactive and user.unreachable_at is None:
            when = allowed_send_time(dt.datetime.fromtimestamp(now, dt.UTC), policy=policy)
            await outbox.enqueue(
                platform=user.platform,
                chat_id=user.chat_id,
                user_pk=user.id,
                kind="roster_found",
                payload={
                    "text": found_text(i18n, user.lang, done.dates),
                    "buttons": found_buttons(i18n, user.lang),
                },
                not_before=int(when.timestamp()),
                now=now,
                dedupe_key=f"roster_found:{entry.id}:{user.id}",
            )
    return linked
