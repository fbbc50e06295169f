"""Invitations: staff's `/roster invite [county]` (a count, then a confirmation), and the
"do not contact me" link of an invitation, which anyone may open without becoming a user.

The invitation's buttons are links (Safir documents no callback buttons), so "do not contact
me" arrives as ``/start nc-<personal token>`` from a visitor who may never have started the bot:
it marks their roster row, answers politely, and stores nothing about the visitor.
"""

from __future__ import annotations

from bot.repo.invitations import InvitationRepo
from bot.repo.staff import StaffRepo
from bot.roster.invitation import stop_token
from handlers.commands import command_of
from handlers.registry import Action, Registry
from handlers.turn import Turn, inline
from scheduler.invitations import UnknownCounty, county_of, offer_text, queue_invitations

ALL = "*"  # the whole list, in a button's data


async def cmd_invite(turn: Turn) -> None:
    """/roster invite [county]: how many would be invited, and a button to confirm."""
    safir = turn.svc.settings.safir
    if safir is None:
        await turn.say(turn.t("invite.not_configured"))
        return
    parsed = command_of(turn.update.effective_message)
    words = parsed[1][1:] if parsed is not None else []
    try:
        county = county_of(turn.svc.content, words)
    except UnknownCounty as exc:
        names = "، ".join(c.name.get(turn.lang) for c in turn.svc.content.counties)
        await turn.say(turn.t("invite.unknown_county", name=str(exc), names=names))
        return
    counts = await InvitationRepo(turn.svc.db).counts(county)
    text = offer_text(turn.svc.i18n, turn.lang, turn.svc.content, county, counts, safir)
    if counts.eligible == 0:
        await turn.say(text)
        return
    go = f"rinv:go:{county or ALL}:{counts.eligible}"
    buttons = [
        [(turn.t("invite.go", n=counts.eligible), go)],
        [(turn.t("buttons.cancel"), "rinv:no")],
    ]
    await turn.say(text, inline(buttons))


async def on_button(turn: Turn, args: list[str]) -> None:
    """Confirm (queue at most the confirmed count) or cancel."""
    if args == ["no"]:
        await turn.ack()
        await turn.edit_or_say(turn.t("invite.cancelled"))
        return
    if len(args) != 3 or args[0] != "go" or not args[2].isdigit() or int(args[2]) < 1:
        await turn.router.stale(turn)
        return
    county = None if args[1] == ALL else args[1]
    if county is not None and turn.svc.content.county(county) is None:
        await turn.router.stale(turn)
        return
    await turn.ack()
    if turn.svc.settings.safir is None:
        await turn.edit_or_say(turn.t("invite.not_configured"))
        return
    queued = await queue_invitations(turn.svc, county, int(args[2]))
    detail = {"county": county, "confirmed": int(args[2]), "queued": queued}
    await StaffRepo(turn.svc.db).audit(
        turn.platform, turn.user.user_id, "roster_invite", detail, turn.now
    )
    await turn.edit_or_say(turn.t("invite.queued", n=queued))


def _with_stop_link(start: Action) -> Action:
    """/start as before, except for an invitation's "do not contact me" link."""

    async def cmd_start(turn: Turn) -> None:
        """``/start nc-<token>``: never contact this person again; anything else: /start."""
        parsed = command_of(turn.update.effective_message)
        args = parsed[1] if parsed is not None else []
        token = stop_token(args[0]) if len(args) == 1 else None
        if token is None:
            await start(turn)
            return
        declined = await InvitationRepo(turn.svc.db).decline(token, turn.now)
        await turn.say(turn.t("invite.declined" if declined else "invite.decline_unknown"))

    return cmd_start


def register(reg: Registry) -> None:
    """Add `/roster invite`, its buttons, and the stop link to /start (register after start)."""
    reg.staff_subcommand("roster", "invite", cmd_invite)
    reg.staff_callback("rinv", on_button)
    reg.commands["start"] = _with_stop_link(reg.commands["start"])
