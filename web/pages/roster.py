"""The loan list: upload a file, its dry run and rejected rows, confirm or discard; the import
history; invitation status by county; the template. The same importer as /roster in the chat
and `homebiz roster import` (bot.roster.importer), with the same rule: a staff member decides
their own dry run, and only one who sees every county imports (bot.staffdesk.roster_console)."""

from __future__ import annotations

import asyncio
import io
import logging
import shutil
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from bot.core.private_files import owner_only
from bot.core.text import parse_id
from bot.repo.roster_imports import (
    COMMITTING,
    DISCARDED,
    STAGED,
    STAGING,
    ImportInfo,
    RosterImportRepo,
)
from bot.roster.importer import Actor, Committed, commit, describe, discard, dry_run, write_rejected
from bot.roster.reader import UnreadableFile
from bot.roster.template import write_template
from bot.staffdesk.console_access import StaffSession
from bot.staffdesk.roster_console import may_import, reach_in_scope, rejected_page
from bot.staffdesk.roster_report import RosterFigures
from handlers.roster_figures import gather_roster
from web.guard import message
from web.keys import services, staff
from web.render import render

log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUFFIXES = (".xlsx", ".csv")
HISTORY_PAGE = 20
#: A confirm waits this long for the commit before showing its progress page instead.
COMMIT_WAIT = 8.0
#: The invitation figures are read again at most this often (one pass over the whole list).
FIGURES_TTL = 60.0
OPEN = (STAGING, STAGED, COMMITTING)


@dataclass
class RosterState:
    """What the roster pages keep between requests: commits running, the figures read last."""

    commits: dict[int, asyncio.Task[Committed | None]] = field(default_factory=dict)
    figures: tuple[float, RosterFigures | None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def reach(self, request: web.Request) -> RosterFigures | None:
        """The list's invitation figures, at most FIGURES_TTL seconds old."""
        async with self.lock:
            if self.figures is None or time.monotonic() - self.figures[0] > FIGURES_TTL:
                figures = await gather_roster(services(request), survival=False)
                self.figures = (time.monotonic(), figures)
            return self.figures[1]

    def start(
        self, import_id: int, work: Coroutine[Any, Any, Committed | None]
    ) -> asyncio.Task[Committed | None]:
        """The commit of an import: the one running, or ``work`` started now (it outlives the
        request, so a closed tab never cuts an import short)."""
        running = self.commits.get(import_id)
        if running is not None and not running.done():
            work.close()
            return running
        task: asyncio.Task[Committed | None] = asyncio.ensure_future(work)
        self.commits[import_id] = task
        task.add_done_callback(lambda _: self._finished(import_id, task))
        return task

    def _finished(self, import_id: int, task: asyncio.Task[Committed | None]) -> None:
        """Forget a finished commit (logging a failure nobody waited for); the next figures
        are read afresh."""
        if self.commits.get(import_id) is task:
            del self.commits[import_id]
        self.figures = None
        if not task.cancelled() and (failure := task.exception()) is not None:
            log.error("roster import %s: commit failed: %s", import_id, type(failure).__name__)

    def running(self, import_id: int) -> bool:
        """Whether this process is committing the import now."""
        task = self.commits.get(import_id)
        return task is not None and not task.done()

    async def finish(self, _app: web.Application) -> None:
        """On shutdown: let commits in progress finish (each chunk is short)."""
        pending = [t for t in self.commits.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=60)


ROSTER = web.AppKey("roster", RosterState)


def _actor(session: StaffSession) -> Actor:
    """The staff member as the importer knows them; their audit entries say "via": "web"."""
    return Actor(session.platform, session.user_id, session.lang, via="web")


def _mine(info: ImportInfo, session: StaffSession) -> bool:
    """Whether this import is the staff member's own."""
    return (info.platform, info.actor) == (session.platform, session.user_id)


async def _own_import(request: web.Request) -> ImportInfo:
    """The import in the path, when it is this staff member's and they may import; else 404
    (someone else's dry run holds rows of every county)."""
    session = staff(request)
    import_id = parse_id(request.match_info["id"])
    info = await RosterImportRepo(services(request).db).get(import_id) if import_id else None
    if info is None or not _mine(info, session) or not may_import(session.scope):
        raise web.HTTPNotFound()
    return info


def _cursor(request: web.Request, name: str) -> int | None:
    """A positive whole number from the query string, or None."""
    value = parse_id(request.query.get(name, ""))
    return value if value and value > 0 else None


async def roster_page(
    request: web.Request, error: str | None = None, status: int = 200
) -> web.Response:
    """The page: upload (or why not), invitation status by county, import history."""
    session = staff(request)
    svc = services(request)
    allowed = may_import(session.scope)
    figures = await request.app[ROSTER].reach(request)
    counties, total = reach_in_scope(figures.reach_by_county if figures else (), session.scope)
    names = {c.id: c.name.get(session.lang) for c in svc.content.counties}
    history: list[ImportInfo] = []
    older = None
    if allowed:
        before = _cursor(request, "before")
        history = await RosterImportRepo(svc.db).recent(HISTORY_PAGE + 1, before)
        if len(history) > HISTORY_PAGE:
            history, older = history[:HISTORY_PAGE], history[HISTORY_PAGE - 1].id
    return render(
        request,
        "roster.html",
        status=status,
        error=error,
        may_import=allowed,
        max_mb=request.client_max_size // 2**20,
        figures=figures,
        counties=counties,
        total=total,
        county_names=names,
        history=history,
        older=older,
        newest="before" in request.query,
        mine=lambda info: _mine(info, session),
    )


async def show(request: web.Request) -> web.StreamResponse:
    """GET /roster."""
    return await roster_page(request)


async def template(request: web.Request) -> web.StreamResponse:
    """The XLSX to fill, headers in the staff member's language, a guide on its second sheet."""
    svc = services(request)
    buffer = io.BytesIO()
    write_template(buffer, svc.i18n, staff(request).lang)
    return web.Response(
        body=buffer.getvalue(),
        content_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="roster-template.xlsx"'},
    )


def _text(request: web.Request, key: str, **values: Any) -> str:
    """A text in the staff member's language."""
    return services(request).i18n.t(staff(request).lang, key, **values)


def _copy(source: IO[bytes], target: Path) -> None:
    """The uploaded file into an owner-only file (run in a worker thread)."""
    source.seek(0)
    with owner_only(target, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)


async def upload(request: web.Request) -> web.StreamResponse:
    """Read and check a file (the dry run): nothing reaches the list until Confirm."""
    session = staff(request)
    if not may_import(session.scope):
        return message(request, "web.roster.upload.scoped", 403)
    form = await request.post()
    sent = form.get("file")
    if not isinstance(sent, web.FileField) or not sent.filename:
        return await roster_page(request, _text(request, "web.roster.upload.none"), 400)
    name = sent.filename.lower()
    if name.endswith(".xls"):
        return await roster_page(request, _text(request, "roster_import.unreadable.xls"), 400)
    if not name.endswith(SUFFIXES):
        return await roster_page(request, _text(request, "roster_import.not_spreadsheet"), 400)
    svc = services(request)
    actor = _actor(session)
    with tempfile.TemporaryDirectory(prefix="homebiz-roster-") as tmp:
        path = Path(tmp) / ("upload" + Path(name).suffix)
        await asyncio.to_thread(_copy, sent.file, path)
        try:
            result = await dry_run(
                svc.db, svc.content, svc.i18n, path, actor, svc.clock.timestamp()
            )
        except UnreadableFile as exc:
            text = _text(request, f"roster_import.unreadable.{exc.code}")
            return await roster_page(request, text, 400)
    if result.import_id is None or not result.rows:
        if result.import_id is not None:
            await discard(svc.db, result.import_id, actor, svc.clock.timestamp(), audit=False)
        return await roster_page(request, describe(result, svc.i18n, session.lang), 400)
    if not result.undecided and not result.rejected:  # nothing to change: nothing to decide
        await discard(svc.db, result.import_id, actor, svc.clock.timestamp(), audit=False)
    raise web.HTTPSeeOther(f"/roster/imports/{result.import_id}")


async def show_import(request: web.Request) -> web.StreamResponse:
    """A dry run: its figures, its rejected rows a page at a time, Confirm / Discard; or what
    became of it."""
    info = await _own_import(request)
    svc = services(request)
    lang = staff(request).lang
    after = _cursor(request, "after") or 0
    rejected, following = await rejected_page(
        RosterImportRepo(svc.db), info.id, after, svc.i18n, lang
    )
    return render(
        request,
        "roster_import.html",
        info=info,
        rejected=rejected,
        following=following,
        after=after,
        valid=info.rows_read - info.rejected,
        running=request.app[ROSTER].running(info.id),
        nothing_to_do=info.status == DISCARDED
        and not info.rejected
        and not (info.tally.new or info.tally.updated),
        open=info.status in OPEN,
        committing=info.status == COMMITTING,
    )


async def rejected_file(request: web.Request) -> web.StreamResponse:
    """The rejected rows as XLSX (row, column, problem, cell), as the chat sends them."""
    info = await _own_import(request)
    svc = services(request)
    with tempfile.TemporaryDirectory(prefix="homebiz-rejected-") as tmp:
        target = Path(tmp) / "rejected.xlsx"
        await write_rejected(svc.db, info.id, svc.i18n, staff(request).lang, target)
        body = await asyncio.to_thread(target.read_bytes)
    return web.Response(
        body=body,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="rejected-rows-{info.id}.xlsx"'},
    )


async def confirm(request: web.Request) -> web.StreamResponse:
    """Commit a dry run (its valid rows only when some were rejected, as the button says)."""
    info = await _own_import(request)
    form = await request.post()
    if info.status not in (STAGED, COMMITTING):
        return message(request, "roster_import.closed", 409)
    svc = services(request)
    work = commit(
        svc.db,
        info.id,
        _actor(staff(request)),
        svc.clock.timestamp(),
        partial=form.get("partial") == "1",
        content=svc.content,
        i18n=svc.i18n,
    )
    task = request.app[ROSTER].start(info.id, work)
    where = web.HTTPSeeOther(f"/roster/imports/{info.id}")
    try:
        done = await asyncio.wait_for(asyncio.shield(task), COMMIT_WAIT)
    except TimeoutError:
        raise where from None  # still going: the page shows its progress
    if done is None:
        return message(request, "roster_import.closed", 409)
    raise where


async def drop(request: web.Request) -> web.StreamResponse:
    """Discard a dry run: nothing was written, its staged rows are removed."""
    info = await _own_import(request)
    svc = services(request)
    dropped = await discard(svc.db, info.id, _actor(staff(request)), svc.clock.timestamp())
    if not dropped:
        return message(request, "roster_import.closed", 409)
    raise web.HTTPSeeOther(f"/roster/imports/{info.id}")


def setup(app: web.Application) -> None:
    """Add the roster routes."""
    app[ROSTER] = state = RosterState()
    app.on_shutdown.append(state.finish)
    app.router.add_get("/roster", show)
    app.router.add_get("/roster/template.xlsx", template)
    app.router.add_post("/roster/upload", upload)
    app.router.add_get("/roster/imports/{id}", show_import)
    app.router.add_get("/roster/imports/{id}/rejected.xlsx", rejected_file)
    app.router.add_post("/roster/imports/{id}/confirm", confirm)
    app.router.add_post("/roster/imports/{id}/discard", drop)
