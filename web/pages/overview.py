"""/overview: survival, check-in response, the step funnel, the monthly trend and the follow-ups
waiting, for the staff member's counties; answered from figures read in the background."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from bot.repo.followups import FollowupRepo
from bot.staffdesk.overview_cache import OverviewCache
from web.keys import SERVICES, services, staff
from web.overview_view import present
from web.render import render

#: The overview's figures, kept per console (bot.staffdesk.overview_cache).
OVERVIEW = web.AppKey("overview", OverviewCache)
#: Seconds after the console starts before the first figures are read (the bot starts first).
WARM_AFTER = 3.0
#: How soon the "figures on their way" page reloads itself.
RELOAD_AFTER = 3


async def overview(request: web.Request) -> web.StreamResponse:
    """The overview of the member's counties (or a page saying the figures are on their way)."""
    session = staff(request)
    svc = services(request)
    figures = await request.app[OVERVIEW].overview(session.scope)
    counties = (
        None
        if session.scope.counties is None
        else [
            c.name.get(session.lang) for c in svc.content.counties if c.id in session.scope.counties
        ]
    )
    if figures is None:
        return render(
            request, "overview.html", pending=True, reload=RELOAD_AFTER, counties=counties
        )
    waiting = await FollowupRepo(svc.db).waiting(session.scope)  # live: handled ones leave it
    context = await asyncio.to_thread(
        present, figures, waiting, svc.clock.timestamp(), svc.content, svc.i18n, session.lang
    )
    return render(request, "overview.html", pending=False, counties=counties, **context)


async def _start(app: web.Application) -> None:
    """Keep the figures for this console; read them once the bot is up."""
    cache = OverviewCache(app[SERVICES])
    app[OVERVIEW] = cache

    async def warm() -> None:
        """The first read, a little after start."""
        await asyncio.sleep(WARM_AFTER)
        await cache.refresh()

    app[_WARMING] = asyncio.create_task(warm(), name="overview-warm")


async def _stop(app: web.Application) -> None:
    """Stop a read under way."""
    task = app[_WARMING]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[OVERVIEW].close()


_WARMING = web.AppKey("overview_warming", asyncio.Task)


def setup(app: web.Application) -> None:
    """Add /overview and the figures it keeps."""
    app.router.add_get("/overview", overview)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
