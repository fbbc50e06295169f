"""/roster stats (staff): the programme list's reach and survival figures, read through the
read-only companion connection; the same figures for /stats and the `homebiz` commands."""

from __future__ import annotations

from bot.entry.services import Services
from bot.repo.staff import StaffRepo
from bot.rules.scope import EVERYWHERE, Scope
from bot.staffdesk.figures import gather_roster
from bot.staffdesk.roster_text import roster_stats_blocks
from handlers.registry import Registry
from handlers.turn import Turn

__all__ = ["gather_roster", "register", "roster_stats_messages"]


async def roster_stats_messages(svc: Services, lang: str, scope: Scope = EVERYWHERE) -> list[str]:
    """/roster stats as messages: the reach, then survival by cohort, county and field."""
    figures = await gather_roster(svc, scope)
    if figures is None:
        return [svc.i18n.t(lang, "roster_figures.empty")]
    return roster_stats_blocks(figures, svc.content, svc.i18n, lang)


async def show_roster_stats(turn: Turn) -> None:
    """/roster stats: the figures (of the member's counties), as few messages as fit."""
    scope = await StaffRepo(turn.svc.db).scope(turn.platform, turn.user.user_id)
    for block in await roster_stats_messages(turn.svc, turn.lang, scope):
        await turn.say(block)


def register(reg: Registry) -> None:
    """Add the word "stats" to /roster."""
    reg.staff_subcommand("roster", "stats", show_roster_stats)
