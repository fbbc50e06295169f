"""`homebiz roster …`: the programme's list of loan recipients from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.core.config import Settings


def _cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    """`roster invite [COUNTY] [--yes]`: show the counts, confirm, queue the invitations."""
    from bot.entry.services import Services
    from bot.repo.invitations import InvitationRepo
    from scheduler.invitations import UnknownCounty, county_of, offer_text, queue_invitations

    async def go(confirm: Any) -> int:
        svc = await Services.open(settings)
        try:
            t = svc.i18n.t
            if settings.safir is None:
                print(t(args.lang, "invite.not_configured"))
                return 0
            try:
                county = county_of(svc.content, args.county)
            except UnknownCounty as exc:
                names = ", ".join(c.id for c in svc.content.counties)
                print(t(args.lang, "invite.unknown_county", name=str(exc), names=names))
                return 1
            counts = await InvitationRepo(svc.db).counts(county)
            print(offer_text(svc.i18n, args.lang, svc.content, county, counts, settings.safir))
            if counts.eligible == 0:
                return 0
            if not confirm(counts.eligible):
                print(t(args.lang, "invite.cancelled"))
                return 0
            queued = await queue_invitations(svc, county, counts.eligible)
            print(t(args.lang, "invite.queued", n=queued))
            return 0
        finally:
            await svc.close()

    def confirm(n: int) -> bool:
        """--yes, or a yes typed at a terminal."""
        if args.yes:
            return True
        if not sys.stdin.isatty():
            print("homebiz: add --yes to send without asking", file=sys.stderr)
            return False
        return input(f"[y/N] ({n}) ").strip().lower() in ("y", "yes", "بله")

    return asyncio.run(go(confirm))


def add_roster_commands(sub: Any) -> None:
    """Add `roster` and its actions to the `homebiz` subcommands."""
    roster = sub.add_parser("roster", help="the programme's list of loan recipients")
    actions = roster.add_subparsers(dest="roster_action", required=True)
    invite = actions.add_parser(
        "invite", help="invite through Bale Safir everyone on the list not invited yet"
    )
    invite.add_argument("county", nargs="*", help="only this county (its id or name)")
    invite.add_argument("--yes", action="store_true", help="queue without asking")
    invite.add_argument("--lang", default="fa", choices=("fa", "en"))
    invite.set_defaults(func=_cmd_invite)
