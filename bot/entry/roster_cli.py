"""`homebiz roster …`: the programme list's commands (each part of issue 11 adds its word)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.core.config import Settings


def _cmd_roster_stats(args: argparse.Namespace, settings: Settings) -> int:
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
    """Add `homebiz roster` and its subcommands to the main parser's subcommands."""
    roster = sub.add_parser("roster", help="the programme's list of loan recipients")
    words = roster.add_subparsers(dest="roster_command", required=True)
    stats = words.add_parser("stats", help="invited, joined, answers and survival over the list")
    stats.add_argument("--lang", default="fa", choices=("fa", "en"))
    stats.set_defaults(func=_cmd_roster_stats)
