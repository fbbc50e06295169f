"""`homebiz roster …`: the programme's list of loan recipients from the command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.core.config import ConfigError, Settings


def _cmd_links(args: argparse.Namespace, settings: Settings) -> int:
    """Write everyone still to invite, with their personal links and SMS text, to PATH.xlsx."""
    from bot.entry.services import Services
    from bot.repo.roster import RosterRepo
    from bot.roster.personal_links import LinkSheet, county_id, write_links_file

    usernames = {p: u for p, u in (("telegram", args.telegram), ("bale", args.bale)) if u}
    if not usernames:
        raise ConfigError("roster links: give --bale USERNAME and/or --telegram USERNAME")
    sms = args.sms or ("bale" if "bale" in usernames else "telegram")
    if sms not in usernames:
        raise ConfigError(f"roster links: --sms {sms} needs --{sms} USERNAME")
    sheet = LinkSheet(usernames, sms)

    async def go() -> str:
        svc = await Services.open(settings)
        try:
            county = county_id(svc.content, args.county) if args.county else None
            if args.county and county is None:
                raise ConfigError(f"roster links: --county {args.county!r} is not a county")
            path, listed, too_long = await write_links_file(
                args.path, RosterRepo(svc.db).to_invite(county), sheet, content=svc.content,
                i18n=svc.i18n, lang=args.lang,
            )  # fmt: skip
        finally:
            await svc.close()
        late = f"; {too_long} SMS texts did not fit one SMS" if too_long else ""
        return f"wrote {path}: {listed} to invite{late}"

    print(asyncio.run(go()))
    return 0


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


def _cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Print /roster stats: the list's reach and survival by cohort, county and field."""
    from bot.entry.services import Services
    from handlers.roster_figures import roster_stats_messages

    async def go() -> list[str]:
        svc = await Services.open(settings)
        try:
            return await roster_stats_messages(svc, args.lang)
        finally:
            await svc.close()

    print("\n\n".join(asyncio.run(go())))
    return 0


def add_roster_commands(sub: Any) -> None:
    """Add `homebiz roster` and its words to the top-level subcommands."""
    roster = sub.add_parser("roster", help="the programme's list of loan recipients")
    words = roster.add_subparsers(dest="roster_command", required=True)
    links = words.add_parser(
        "links", help="personal invitation links with a one-SMS text each, as an owner-only XLSX"
    )
    links.add_argument("path", help="the workbook to write (.xlsx added when missing)")
    links.add_argument("--bale", metavar="USERNAME", help="the Bale bot's username")
    links.add_argument("--telegram", metavar="USERNAME", help="the Telegram bot's username")
    links.add_argument("--sms", choices=("bale", "telegram"), help="whose link the SMS carries")
    links.add_argument("--county", help="only this county (its id or name)")
    links.add_argument("--lang", default="fa", choices=("fa", "en"), help="the sheet's headers")
    links.set_defaults(func=_cmd_links)
    invite = words.add_parser(
        "invite", help="invite through Bale Safir everyone on the list not invited yet"
    )
    invite.add_argument("county", nargs="*", help="only this county (its id or name)")
    invite.add_argument("--yes", action="store_true", help="queue without asking")
    invite.add_argument("--lang", default="fa", choices=("fa", "en"))
    invite.set_defaults(func=_cmd_invite)
    stats = words.add_parser("stats", help="invited, joined, answers and survival over the list")
    stats.add_argument("--lang", default="fa", choices=("fa", "en"))
    stats.set_defaults(func=_cmd_stats)
