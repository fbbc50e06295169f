"""`homebiz roster …`: the programme's list of loan recipients from the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
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
    """Add `homebiz roster` and its words (links, invite, template, import) to the top-level
    subcommands."""
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
    template = words.add_parser("template", help="write the spreadsheet to fill in (XLSX)")
    template.add_argument("path", help="the .xlsx file to write")
    template.add_argument("--lang", default="fa", choices=("fa", "en"), help="header language")
    template.set_defaults(func=_cmd_template)
    load = words.add_parser(
        "import",
        help="check a filled spreadsheet (a dry run: nothing written); --commit imports it",
    )
    load.add_argument("file", help="an .xlsx or .csv file")
    load.add_argument("--lang", default="fa", choices=("fa", "en"), help="the report's language")
    load.add_argument("--commit", action="store_true", help="import it when the dry run passes")
    load.add_argument(
        "--skip-rejected",
        action="store_true",
        help="with --commit: import the valid rows although others were rejected",
    )
    load.add_argument(
        "--rejected",
        metavar="PATH",
        help="where to write the rejected rows (default: FILE-rejected.xlsx beside the file)",
    )
    load.set_defaults(func=_cmd_import)
    stats = words.add_parser("stats", help="invited, joined, answers and survival over the list")
    stats.add_argument("--lang", default="fa", choices=("fa", "en"))
    stats.set_defaults(func=_cmd_stats)


def _cmd_template(args: argparse.Namespace, settings: Settings) -> int:
    """Write the template workbook."""
    from bot.core.i18n import load_i18n
    from bot.roster.template import write_template

    target = Path(args.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        write_template(handle, load_i18n(), args.lang)
    print(f"wrote {target}")
    return 0


def _cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Dry run, rejected rows' file, and (with --commit) the import."""
    return asyncio.run(_import(args, settings))


async def _import(args: argparse.Namespace, settings: Settings) -> int:
    """The import's steps, printed as they go; the exit status."""
    from bot.entry.services import Services
    from bot.roster.importer import (
        Actor,
        commit,
        describe,
        describe_done,
        discard,
        dry_run,
        write_rejected,
    )
    from bot.roster.reader import UnreadableFile

    source = Path(args.file)
    if not source.is_file():
        print(f"homebiz: {source}: no such file")
        return 1
    svc = await Services.open(settings)
    try:
        actor = Actor("cli", os.getuid(), args.lang)
        now = svc.clock.timestamp()
        try:
            result = await dry_run(svc.db, svc.content, svc.i18n, source, actor, now)
        except UnreadableFile as exc:
            print(svc.i18n.t(args.lang, f"roster_import.unreadable.{exc.code}"))
            return 1
        print(describe(result, svc.i18n, args.lang, advice=False))
        if result.import_id is None:
            return 1
        if result.rejected:
            target = Path(args.rejected or source.with_name(f"{source.stem}-rejected.xlsx"))
            await write_rejected(svc.db, result.import_id, svc.i18n, args.lang, target)
            print(f"rejected rows: wrote {target}")
        if not result.undecided or not args.commit or (result.rejected and not args.skip_rejected):
            await discard(svc.db, result.import_id, actor, now, audit=False)
            return _verdict(result, args)
        done = await commit(
            svc.db,
            result.import_id,
            actor,
            now,
            partial=args.skip_rejected,
            content=svc.content,
            i18n=svc.i18n,
        )
        if done is None:
            print("not imported: the dry run is no longer open")
            return 1
        print(describe_done(done, svc.i18n, args.lang))
        return 0
    finally:
        await svc.close()


def _verdict(result: Any, args: argparse.Namespace) -> int:
    """What a run that wrote nothing says last, and its exit status."""
    if not result.valid:
        print("nothing imported: no row can be imported")
        return 1
    if not result.undecided:
        print("nothing to import: every row is on the list as it is")
        return 0
    if not args.commit:
        print("dry run only: nothing written; add --commit to import")
        return 0
    print(
        f"not imported: {result.rejected} rows were rejected; fix them, or add --skip-rejected "
        f"to import the {result.valid} valid rows only"
    )
    return 1
