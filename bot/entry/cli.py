"""The `homebiz` command: run, chat, migrate and the operations staff need."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from bot.content.model import ContentError
from bot.core.config import (
    ConfigError,
    Settings,
    StartupError,
    check_db_path,
    load_dotenv_file,
    load_settings,
)
from bot.core.i18n import I18nError
from bot.core.logs import Redactor, describe_error, setup_logging
from bot.db.engine import MigrationError
from bot.entry.roster_cli import add_roster_commands

log = logging.getLogger("bot.entry.cli")


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, with --db overriding HOMEBIZ_DB."""
    settings = load_settings()
    if getattr(args, "db", None):
        if str(args.db).startswith(("postgresql://", "postgres://")):
            return replace(settings, db_url=args.db)
        settings = replace(settings, db_path=Path(args.db), db_url=None)
    return settings


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the configured platforms."""
    from bot.entry.runner import serve

    if not settings.platforms:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN or BALE_BOT_TOKEN: set at least one to run the bot "
            "(or try 'homebiz chat', which needs no token)"
        )
    asyncio.run(serve(settings))
    return 0


def _cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the staff console alone (no bot)."""
    from web.server import serve_console

    asyncio.run(serve_console(settings))
    return 0


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Talk to the bot in the terminal."""
    from bot.entry.console import run_chat

    run_chat(settings, user_id=args.user, lang=args.lang)
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the database schema up to date (SQLite or PostgreSQL); with --copy-to, copy the
    SQLite database into an empty PostgreSQL one instead."""
    from bot.db.open import open_database

    if args.copy_to:
        return _copy_to(args.copy_to, settings)

    async def go() -> list[str]:
        db = await open_database(settings, migrate=False)
        try:
            applied = await db.migrate()
            print(f"{db.path}: schema version {await db.version()}")
            return applied
        finally:
            await db.close()

    for name in asyncio.run(go()):
        print(f"applied {name}")
    return 0


def _copy_to(url: str, settings: Settings) -> int:
    """Copy the SQLite file into the empty PostgreSQL database at ``url``; print the counts."""
    from bot.core.clock import Clock
    from bot.db.pgcopy import CopyRefused, copy_sqlite_to_postgres
    from bot.db.postgres import is_url, redact

    if settings.db_url is not None or not is_url(url):
        where = "names PostgreSQL" if settings.db_url else "is the SQLite file to copy"
        print(
            "homebiz: --copy-to takes a postgresql:// URL and copies the SQLite file that "
            f"HOMEBIZ_DB (or --db) names; here HOMEBIZ_DB {where}"
            + ("" if settings.db_url else f" and the target is not a URL: {redact(url)}"),
            file=sys.stderr,
        )
        return 1
    job = copy_sqlite_to_postgres(settings.db_path, url, now=Clock().timestamp())
    try:
        counts = asyncio.run(job)
    except CopyRefused as exc:
        print(f"homebiz: cannot copy: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    width = max(len("table"), *(len(c.table) for c in counts)) + 2
    print(f"{'table':{width}}{'sqlite':>10}{'postgresql':>12}")
    for c in counts:
        print(f"{c.table:{width}}{c.source:>10}{c.target:>12}")
    total = sum(c.target for c in counts)
    print(
        f"copied {total} rows of {len(counts)} tables from {settings.db_path} to {redact(url)}; "
        "every count matches and each table's ids go on after the highest copied. "
        "Set HOMEBIZ_DB to the URL before starting the bot."
    )
    return 0


def _cmd_checkins(args: argparse.Namespace, settings: Settings) -> int:
    """`checkins due` or `checkins send-now`."""
    from bot.entry import ops

    job = ops.checkins_due(settings) if args.action == "due" else ops.send_now(settings)
    for line in asyncio.run(job):
        print(line)
    return 0


def _cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    """Outbox counts per kind and status."""
    from bot.entry import ops

    for line in asyncio.run(ops.outbox_counts(settings)):
        print(line)
    return 0


def _cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """A consistent copy of the database, safe while the bot is writing (VACUUM INTO); on
    PostgreSQL it says to use the engine's own tools instead."""
    from bot.db.engine import Database

    if settings.db_url:
        print(
            "homebiz: the database is PostgreSQL: back it up with its own tools, "
            "pg_dump -Fc -f FILE '<HOMEBIZ_DB>' for a copy, or base backups with WAL "
            "archiving (pg_basebackup) for point-in-time recovery; homebiz backup copies "
            "SQLite files only",
            file=sys.stderr,
        )
        return 1

    async def go() -> None:
        db = await Database.open(settings.db_path, migrate=False)
        try:
            await db.backup(args.path)
        finally:
            await db.close()

    try:
        asyncio.run(go())
    except FileExistsError:
        print(f"homebiz: {args.path} exists; choose a new file", file=sys.stderr)
        return 1
    print(f"backup written to {args.path}")
    return 0


def _cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Print the staff figures; with --chart, also write the chart as an owner-only PNG."""
    from bot.core.private_files import write_private
    from bot.entry.services import Services
    from handlers.reports import stats_report

    async def go() -> str:
        svc = await Services.open(settings)
        try:
            texts, png = await stats_report(svc, args.lang, chart=bool(args.chart))
            if args.chart:
                write_private(args.chart, png)
            return "\n\n".join(texts)
        finally:
            await svc.close()

    print(asyncio.run(go()))
    if args.chart:
        print(f"wrote {args.chart}")
    return 0


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write PATH.xlsx and PATH-<table>.csv beside it."""
    from bot.entry.services import Services
    from handlers.reports import export_files

    base = Path(args.path)
    base.parent.mkdir(parents=True, exist_ok=True)

    async def go() -> list[Path]:
        svc = await Services.open(settings)
        try:
            return await export_files(svc, base, args.lang)
        finally:
            await svc.close()

    for path in asyncio.run(go()):
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="homebiz", description=__doc__)
    parser.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default: HOMEBIZ_DB or data/homebiz.sqlite3)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot on Telegram and/or Bale").set_defaults(func=_cmd_run)
    sub.add_parser(
        "web", help="serve the staff console alone (HOMEBIZ_WEB_PORT), without the bot"
    ).set_defaults(func=_cmd_web)
    chat = sub.add_parser("chat", help="talk to the bot in this terminal (no token needed)")
    chat.add_argument("--user", type=int, default=1, help="the console user's id (default 1)")
    chat.add_argument("--lang", default="fa", choices=("fa", "en"), help="the user's app language")
    chat.set_defaults(func=_cmd_chat)
    migrate = sub.add_parser(
        "migrate",
        help="apply database migrations (or copy SQLite into PostgreSQL: --copy-to)",
        description="Bring the database schema up to date. With --copy-to, copy the SQLite "
        "file (HOMEBIZ_DB or --db, at the latest schema) into an empty PostgreSQL database "
        "instead: the target is migrated, every table copied in one transaction, the id "
        "sequences reset and the row counts compared. Stop the bot (homebiz run, homebiz web) "
        "first: a copy refuses while a running bot's heartbeat is live or the file is locked.",
    )
    migrate.add_argument(
        "--copy-to",
        metavar="URL",
        help="postgresql://user:password@host:5432/db (?search_path=schema): an empty "
        "database to copy the SQLite file into, with the bot stopped",
    )
    migrate.set_defaults(func=_cmd_migrate)
    checkins = sub.add_parser("checkins", help="check-ins: what is due, or run a sweep now")
    checkins.add_argument("action", choices=("due", "send-now"))
    checkins.set_defaults(func=_cmd_checkins)
    stats = sub.add_parser("stats", help="the staff figures as text (and the chart as PNG)")
    stats.add_argument("--lang", default="fa", choices=("fa", "en"))
    stats.add_argument("--chart", metavar="PATH", help="also write the chart to this PNG file")
    stats.set_defaults(func=_cmd_stats)
    export = sub.add_parser("export", help="applicants, steps, check-ins, tickets as XLSX + CSV")
    export.add_argument("path", help="PATH: writes PATH.xlsx and PATH-applicants.csv etc.")
    export.add_argument("--lang", default="fa", choices=("fa", "en"))
    export.set_defaults(func=_cmd_export)
    backup = sub.add_parser("backup", help="write a consistent copy of the database")
    backup.add_argument("path", help="a new file")
    backup.set_defaults(func=_cmd_backup)
    sub.add_parser("outbox", help="outbox counts per kind and status").set_defaults(
        func=_cmd_outbox
    )
    add_roster_commands(sub)
    return parser


def _say(line: str, redact: Redactor) -> None:
    """Print one line about a failure on stderr, secrets hidden."""
    print(redact(f"homebiz: {' '.join(line.split())}"), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, load settings, run a subcommand; any failure is one clear line.

    Exit status 2: a setting, a content or locale file, a migration or the platform refused
    start-up. 1: anything unexpected (its traceback only at HOMEBIZ_LOG_LEVEL=DEBUG, through
    the redacting log handler). 130: interrupted. Nothing ever reaches stderr raw.
    """
    load_dotenv_file()
    args = build_parser().parse_args(argv)
    redact = Redactor()
    try:
        settings = _settings(args)
        secrets = settings.secrets
        target = getattr(args, "copy_to", None)
        if target and urlsplit(target).password:
            secrets = [*secrets, str(urlsplit(target).password)]
        redact = Redactor(secrets)
        if settings.db_url is None:  # a file; a server is checked when it is reached
            check_db_path(settings.db_path, "--db" if getattr(args, "db", None) else "HOMEBIZ_DB")
        serving = args.command in ("run", "web")
        setup_logging(settings.log_level if serving else "WARNING", secrets)
        return int(args.func(args, settings))
    except ConfigError as exc:
        _say(f"configuration error: {exc}", redact)
        return 2
    except ContentError as exc:
        for line in exc.lines():  # one line per problem: staff fix them all at once
            _say(f"cannot start: {line}", redact)
        return 2
    except (StartupError, I18nError, MigrationError) as exc:
        _say(f"cannot start: {exc}", redact)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected failure", exc_info=exc)
        _say(f"failed: {describe_error(exc)}", redact)
        return 1


if __name__ == "__main__":
    sys.exit(main())
