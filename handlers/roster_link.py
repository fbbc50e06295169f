"""The programme's list meets the bot: a verified contact or a confirmed personal link joins a
person to their row, typed codes only tell staff, /delete unlinks, staff export and revoke links.

What a person sees never depends on whether something they typed is on the list; only their
own verified mobile or a personal link they confirm shows them what the list says.
"""

from __future__ import annotations

import datetime as dt
import io

from telegram import InlineKeyboardMarkup, InputFile

from bot.core.jalali import format_date
from bot.core.validators import ValidationError, parse_national_code
from bot.repo.roster import RosterRepo
from bot.repo.staff import StaffRepo
from bot.roster import linking
from bot.roster.model import RosterEntry
from bot.roster.personal_links import (
    LINK_FORMS,
    LinkSheet,
    county_id,
    personal_link,
    write_links,
)
from handlers import profile
from handlers.commands import command_of
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline

STATE = "rlink"


def _repo(turn: Turn) -> RosterRepo:
    """The roster's rows."""
    return RosterRepo(turn.svc.db)


def _found(turn: Turn, linked: linking.Linked) -> tuple[str, InlineKeyboardMarkup]:
    """The "what the list says" message and its dispute button."""
    text = linking.found_text(turn.svc.i18n, turn.lang, linked.dates)
    return text, inline([[(turn.t("roster_link.btn_wrong"), linking.DISPUTE)]])


# --- a verified contact ------------------------------------------------------------------------
async def on_mobile_verified(turn: Turn) -> None:
    """The person shared their own contact: link them when that mobile is on exactly one row
    that is free and they are not linked yet; otherwise, when it is on the list, tell staff."""
    repo = _repo(turn)
    mobile = turn.user.mobile or ""
    entries = await repo.by_mobile(mobile)
    mine = await repo.by_user(turn.user.id)
    if not entries or (mine is not None and mine.id in {e.id for e in entries}):
        return
    entry = entries[0]
    if len(entries) == 1 and entry.user_pk is None and mine is None:
        linked = await linking.link_user(
            turn.svc.db, turn.svc.content, turn.user, entry, linking.VIA_CONTACT, turn.now,
            prefill=True,
        )  # fmt: skip
        if linked is not None:
            await _given(turn, linked)
            await turn.say(*_found(turn, linked))
            return
    for other in entries:  # shared by several rows, or someone else's link: staff decide
        await repo.add_task(turn.user.id, "roster_claim", other.id, turn.now, typed="contact")


async def _given(turn: Turn, linked: linking.Linked) -> None:
    """Remember which profile answers the list gave, so onboarding does not ask them."""
    if linked.prefilled and turn.user.state.startswith("profile:"):
        given = sorted({*turn.user.state_data.get("given", []), *linked.prefilled})
        await turn.set_state(turn.user.state, **{**turn.user.state_data, "given": given})


# --- a personal link ---------------------------------------------------------------------------
async def _usable(turn: Turn, token: str) -> RosterEntry | None:
    """The row a token may link this person to: it exists, nobody is linked to it, and this
    person is linked to no other row."""
    repo = _repo(turn)
    entry = await repo.by_token(token)
    if entry is None or entry.user_pk is not None:
        return None
    return entry if await repo.by_user(turn.user.id) is None else None


async def offer(turn: Turn, token: str) -> bool:
    """/start <token> from someone who agreed to the privacy notice: ask whether they are the
    person on the list (True). The link of the person's own row says nothing more; any other
    token (unknown, revoked, someone else's) gets the same polite line (False either way)."""
    entry = await _repo(turn).by_token(token)
    if entry is not None and entry.user_pk == turn.user.id:
        return False
    if await _usable(turn, token) is None:
        await turn.say(turn.t("roster_link.link_invalid"))
        return False
    await turn.set_state(STATE, token=token)
    await ask(turn)
    return True


async def ask(turn: Turn) -> None:
    """Are you <name on the list>?"""
    entry = await _usable(turn, str(turn.user.state_data.get("token", "")))
    if entry is None:
        await _done(turn, turn.t("roster_link.link_invalid"))
        return
    name = entry.record.full_name
    rows = [[(turn.t("roster_link.btn_yes"), "rl:yes")], [(turn.t("roster_link.btn_no"), "rl:no")]]
    await turn.say(turn.t("roster_link.ask_identity", name=name), inline(rows))


async def on_text(turn: Turn, text: str) -> None:
    """Typed text while asked who they are: the buttons decide."""
    await turn.say(turn.t("errors.use_buttons"))
    await ask(turn)


async def on_button(turn: Turn, args: list[str]) -> None:
    """rl:yes / rl:no answer "are you …?"; rl:wrong disputes what the list says."""
    if args == ["wrong"]:
        await _dispute(turn)
        return
    if turn.user.state != STATE or args not in (["yes"], ["no"]):
        await turn.router.stale(turn)
        return
    await turn.ack()
    entry = await _usable(turn, str(turn.user.state_data.get("token", "")))
    if entry is None:
        await _done(turn, turn.t("roster_link.link_invalid"))
    elif args == ["no"]:
        await _repo(turn).add_task(turn.user.id, "roster_denied", entry.id, turn.now)
        await _done(turn, turn.t("roster_link.denied"))
    else:
        linked = await linking.link_user(
            turn.svc.db, turn.svc.content, turn.user, entry, linking.VIA_LINK, turn.now,
            prefill=True,
        )  # fmt: skip
        if linked is None:
            await _done(turn, turn.t("roster_link.link_invalid"))
            return
        await turn.clear_state()
        await turn.say(*_found(turn, linked))
        await _carry_on(turn, linked.prefilled)


async def _done(turn: Turn, text: str) -> None:
    """Leave the question with a line, and carry on where the person would be."""
    await turn.clear_state()
    await turn.say(text)
    await _carry_on(turn, ())


async def _carry_on(turn: Turn, given: tuple[str, ...]) -> None:
    """On with the profile (skipping what the list gave), or the person's current place."""
    if not turn.user.profile_done:
        await profile.begin(turn, mode="onboard", given=given)
    else:
        await turn.router.ask_current(turn)


async def _dispute(turn: Turn) -> None:
    """ "This is not right": a staff task (once while open), never an edit of the list."""
    entry = await _repo(turn).by_user(turn.user.id)
    if entry is None:
        await turn.router.stale(turn)
        return
    await _repo(turn).add_task(turn.user.id, "roster_dispute", entry.id, turn.now)
    await turn.ack(turn.t("roster_link.dispute_filed"))
    await turn.say(turn.t("roster_link.dispute_filed"))


# --- dates the list gave -----------------------------------------------------------------------
async def official_note(turn: Turn, columns: frozenset[str]) -> None:
    """Say which dates are the list's (not editable here), with the dispute button."""
    lines = [turn.t("roster_link.official")]
    for column in sorted(columns, reverse=True):  # permit_on, then loan_on
        day = getattr(turn.user, column)
        if day:
            shown = format_date(dt.date.fromisoformat(day), turn.lang)
            lines.append(turn.t(f"roster_link.official_{column}", date=shown))
    lines.append(turn.t("roster_link.found.wrong_hint"))
    await turn.say("\n".join(lines), inline([[(turn.t("roster_link.btn_wrong"), "rl:wrong")]]))


# --- /delete -----------------------------------------------------------------------------------
async def before_delete(turn: Turn) -> None:
    """/delete: the row stays (the programme's record), unlinked and never to be invited."""
    entry = await _repo(turn).by_user(turn.user.id)
    if entry is not None:
        await _repo(turn).unlink(entry.id, turn.now, do_not_contact=True)


# --- staff: /roster links, /roster revoke ------------------------------------------------------
def _words(turn: Turn) -> list[str]:
    """The words after /roster <sub>."""
    parsed = command_of(turn.update.effective_message)
    return parsed[1][1:] if parsed is not None else []


async def links(turn: Turn) -> None:
    """/roster links [county]: everyone still to invite, with their personal link and SMS text,
    as a workbook for the office's SMS panel; recorded in the audit log."""
    if turn.platform not in LINK_FORMS:
        await turn.say(turn.t("roster_link.links_unsupported"))
        return
    words = _words(turn)
    county = county_id(turn.svc.content, " ".join(words)) if words else None
    if words and county is None:
        await turn.say(turn.t("roster_link.unknown_county", county=" ".join(words)))
        return
    sheet = LinkSheet({turn.platform: turn.context.bot.username}, turn.platform)
    buffer = io.BytesIO()
    listed, too_long = await write_links(
        buffer, _repo(turn).to_invite(county), sheet, content=turn.svc.content,
        i18n=turn.svc.i18n, lang=turn.lang,
    )  # fmt: skip
    if not listed:
        await turn.say(turn.t("roster_link.links_none"))
        return
    caption = turn.t("roster_link.links_done", count=listed)
    if too_long:
        caption += "\n" + turn.t("roster_link.links_too_long", count=too_long)
    name = f"roster-links-{county or 'all'}.xlsx"
    await turn.flush()
    await turn.context.bot.send_document(
        turn.user.chat_id, document=InputFile(buffer.getvalue(), filename=name), caption=caption
    )
    await StaffRepo(turn.svc.db).audit(
        turn.platform, turn.user.user_id, "roster_links", {"county": county, "count": listed},
        turn.now,
    )  # fmt: skip


async def revoke(turn: Turn) -> None:
    """/roster revoke <national code>: a new personal link for that row, the old one dead."""
    words = _words(turn)
    try:
        code = parse_national_code(words[0]) if words else ""
    except ValidationError:
        code = ""
    if not code:
        await turn.say(turn.t("roster_link.revoke_usage"))
        return
    entry = await _repo(turn).by_national_code(code)
    if entry is None:
        await turn.say(turn.t("roster_link.revoke_not_found"))
        return
    token = await _repo(turn).revoke_token(entry.id, turn.now)
    shown = (
        personal_link(turn.platform, turn.context.bot.username, token)
        if turn.platform in LINK_FORMS
        else token
    )
    await turn.say(turn.t("roster_link.revoked", name=entry.record.full_name, link=shown))
    await StaffRepo(turn.svc.db).audit(
        turn.platform, turn.user.user_id, "roster_revoke", {"roster": entry.id}, turn.now
    )


def register(reg: Registry) -> None:
    """Add the identity question, its buttons, the listeners and the staff words."""
    reg.flow(STATE, Flow(ask=ask, on_text=on_text))
    reg.callback("rl", on_button)
    reg.on("mobile_verified", on_mobile_verified)
    reg.on("before_delete", before_delete)
    reg.staff_subcommand("roster", "links", links)
    reg.staff_subcommand("roster", "revoke", revoke)
