"""/exports: the workbook, the CSV tables (one zip) and the report's chart that /export and /stats
send, for the member's counties, streamed as downloads; each download is in the audit log."""

from __future__ import annotations

import asyncio
import tempfile
import zipfile
from pathlib import Path

from aiohttp import web

from bot.core.private_files import owner_only
from bot.repo.staff import StaffRepo
from bot.staffdesk.figures import export_base_name, export_files, stats_report
from web.keys import services, staff
from web.render import SECURITY_HEADERS, render

#: One export at a time per console: each reads every table of the database.
EXPORTING = web.AppKey("exporting", asyncio.Semaphore)
CHUNK = 256 * 1024
KINDS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
    "chart": "image/png",
}


async def page(request: web.Request) -> web.StreamResponse:
    """What can be downloaded, and for which counties."""
    session = staff(request)
    svc = services(request)
    counties = (
        None
        if session.scope.counties is None
        else [
            c.name.get(session.lang) for c in svc.content.counties if c.id in session.scope.counties
        ]
    )
    return render(request, "exports.html", counties=counties)


def _zip(paths: list[Path], target: Path) -> Path:
    """The CSVs in one owner-only zip (a worker thread)."""
    with owner_only(target, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in paths:
            bundle.write(path, arcname=path.name)
    return target


async def _stream(request: web.Request, path: Path, kind: str) -> web.StreamResponse:
    """Send a file as an attachment, chunk by chunk, read in a worker thread."""
    response = web.StreamResponse(
        headers={
            **SECURITY_HEADERS,  # set before the headers go out (the guard adds them too late)
            "Content-Type": KINDS[kind],
            "Content-Disposition": f'attachment; filename="{path.name}"',
            "Content-Length": str(path.stat().st_size),
        }
    )
    await response.prepare(request)
    with path.open("rb") as source:
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


async def download(request: web.Request) -> web.StreamResponse:
    """POST /exports/{kind}: build the file in a private temporary folder, send it, remove it."""
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise web.HTTPNotFound()
    session = staff(request)
    svc = services(request)
    now = svc.clock.now()
    async with request.app[EXPORTING]:
        with tempfile.TemporaryDirectory(prefix="homebiz-web-export-") as tmp:  # 0700
            base = Path(tmp) / export_base_name(now)
            if kind == "chart":
                _texts, png = await stats_report(svc, session.lang, scope=session.scope)
                path = base.with_suffix(".png")
                with owner_only(path, "wb") as out:
                    out.write(png)
                files = [path]
            else:
                files = await export_files(
                    svc,
                    base,
                    session.lang,
                    session.scope,
                    workbook=kind == "xlsx",
                    tables=kind == "csv",
                )
                path = files[0]
                if kind == "csv":
                    path = await asyncio.to_thread(_zip, files, base.with_suffix(".zip"))
            detail: dict[str, object] = {
                "format": kind,
                "files": [p.name for p in files],
                "via": "web",
            }
            if session.scope.counties is not None:
                detail["counties"] = sorted(session.scope.counties)
            await StaffRepo(svc.db).audit(
                session.platform, session.user_id, "export_taken", detail, svc.clock.timestamp()
            )
            return await _stream(request, path, kind)


def setup(app: web.Application) -> None:
    """Add /exports and its downloads."""
    app[EXPORTING] = asyncio.Semaphore(1)
    app.router.add_get("/exports", page)
    app.router.add_post("/exports/{kind}", download)
