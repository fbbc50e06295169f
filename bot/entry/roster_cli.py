"""`homebiz roster …`: the programme's list from the command line (each part adds its words)."""

from __future__ import annotations

import argparse
import asyncio
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
