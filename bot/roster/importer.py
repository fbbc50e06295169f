"""Importing the programme's list: a dry run into staging, then (once confirmed) the commit.

The file is read and checked a batch of rows at a time in a worker thread (the event loop keeps
serving everyone), each batch staged in a short transaction; nothing reaches the roster before
``commit``. Chat (handlers/roster_import.py) and command line (bot/entry/roster_cli.py) share
every step here, and the words each shows (``describe``, ``write_rejected``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.model import Content
from bot.core.i18n import I18n
from bot.core.jalali import TEHRAN
from bot.core.private_files import owner_only, temporary
from bot.core.text import format_number
from bot.db.engine import Database
from bot.repo.roster_imports import ImportInfo, RosterImportRepo, Tally
from bot.repo.staff import StaffRepo
from bot.roster.linking import link_verified_users
from bot.roster.model import COLUMNS
from bot.roster.reader import Cell, Row, open_sheet
from bot.roster.template import HEADER_ROWS, Header, HeaderWords, find_header
from bot.roster.validate import RowChecker
from bot.staffdesk.xlsx import XlsxWriter

__all__ = [
    "Actor",
    "Committed",
    "DryRun",
    "commit",
    "describe",
    "describe_done",
    "discard",
    "dry_run",
    "write_rejected",
]

BATCH = 1000  # rows checked in the worker thread and staged per transaction (~10 ms held)
EXPIRE_AFTER = 24 * 3600  # an undecided dry run is discarded after this many seconds
SAMPLE = 5  # problems quoted in the dry-run message (the file lists them all)


@dataclass(frozen=True)
class Actor:
    """Who imports: a staff member on a messenger (or 'cli' and the OS user), in a language;
    ``via`` names the front door when it is not the chat or the command line ("web")."""

    platform: str
    user_id: int
    lang: str
    via: str | None = None

    def detail(self, values: dict[str, Any]) -> dict[str, Any]:
        """An audit entry's detail, with the front door when there is one."""
        return {**values, "via": self.via} if self.via else values


@dataclass
class DryRun:
    """What the dry run found; ``import_id`` is None when the file could not be used."""

    import_id: int | None
    kind: str
    header: Header
    rows: int = 0
    tally: Tally = field(default_factory=Tally)
    rejected: int = 0
    unmatched: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    more_unmatched: dict[str, bool] = field(default_factory=dict)
    sample: list[Any] = field(default_factory=list)

    @property
    def valid(self) -> int:
        """Rows that can be written."""
        return self.tally.valid

    @property
    def undecided(self) -> bool:
        """Whether the staff member has something to decide (else the caller discards it,
        once the rejected rows' file is written)."""
        if self.import_id is None or not self.valid:
            return False
        return bool(self.rejected) or self.tally.valid != self.tally.unchanged


@dataclass
class _Batch:
    """Checked rows of one batch: staged rows, problems, the lines they span."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    problems: list[tuple[Any, ...]] = field(default_factory=list)
    first: int = 0
    last: int = 0
    read: int = 0


def _scan(
    path: Path, words: HeaderWords, checker: RowChecker
) -> Iterator[str | Header | _Batch]:
    """The file's kind, its header, then batches of checked rows (run in a worker thread, a
    step at a time)."""
    with open_sheet(path) as sheet:
        yield sheet.kind
        head: list[Row] = []
        for row in sheet.rows:
            head.append(row)
            if len(head) >= HEADER_ROWS:
                break
        header = find_header(head, sheet.merges, words)
        yield header
        if not header.usable:
            return
        batch = _Batch()

        def rows() -> Iterator[Row]:
            """The buffered rows below the header, then the rest of the file."""
            yield from (r for r in head if r[0] > header.row)
            yield from sheet.rows

        for number, cells in rows():
            picked: dict[str, Cell] = {
                name: cells[index] for index, name in header.columns.items() if index < len(cells)
            }
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked.values()):
                continue  # an empty line (or one with values only in other columns)
            code, record, problems = checker.check(picked)
            batch.first = batch.first or number
            batch.last = number
            batch.read += 1
            if code is not None:
                values = record.values() if record else (code, *[None] * (len(COLUMNS) - 1))
                batch.rows.append((number, int(record is not None), *values))
            batch.problems.extend((number, p.column, p.code, p.value, p.arg) for p in problems)
            if batch.read >= BATCH:
                yield batch
                batch = _Batch()
        if batch.read:
            yield batch


async def dry_run(
    db: Database, content: Content, i18n: I18n, path: Path, actor: Actor, now: int
) -> DryRun:
    """Read, check and stage a file; the figures of what committing it would do."""
    repo = RosterImportRepo(db)
    await repo.expire(now - EXPIRE_AFTER, now)
    today = dt.datetime.fromtimestamp(now, TEHRAN).date()
    checker = RowChecker(content, today)
    steps = _scan(path, HeaderWords(i18n), checker)
    import_id: int | None = None
    try:
        kind = str(await asyncio.to_thread(next, steps))
        header = await asyncio.to_thread(next, steps)
        assert isinstance(header, Header)
        result = DryRun(None, kind, header)
        if not header.usable:
            return result
        result.import_id = import_id = await repo.create(actor.platform, actor.user_id, kind, now)
        while (batch := await asyncio.to_thread(next, steps, None)) is not None:
            assert isinstance(batch, _Batch)
            result.rows += batch.read
            await repo.stage(import_id, batch.rows, batch.problems, (batch.first, batch.last))
    except BaseException:
        if import_id is not None:  # cut short (a broken row further down, a shutdown)
            await repo.discard(import_id, actor.platform, actor.user_id, now)
        raise
    finally:
        steps.close()
    result.tally, result.rejected = await repo.tally(import_id)
    result.unmatched = {k: v.most_common() for k, v in checker.unmatched.items() if v}
    result.more_unmatched = dict(checker.more_unmatched)
    result.sample = await repo.problems(import_id, limit=SAMPLE)
    await repo.staged(import_id, result.rows, result.tally, result.rejected)
    detail = {"import": import_id, "kind": kind, "rows": result.rows, **_figures(result.tally)}
    detail = actor.detail({**detail, "rejected": result.rejected})
    await StaffRepo(db).audit(actor.platform, actor.user_id, "roster_dry_run", detail, now)
    return result


def _figures(tally: Tally) -> dict[str, int]:
    """A tally for the audit log."""
    return {"new": tally.new, "updated": tally.updated, "unchanged": tally.unchanged}


@dataclass(frozen=True)
class Committed:
    """A finished import, and how many bot users it linked to their rows."""

    info: ImportInfo
    linked: int = 0


async def commit(
    db: Database,
    import_id: int,
    actor: Actor,
    now: int,
    *,
    partial: bool = False,
    content: Content | None = None,
    i18n: I18n | None = None,
) -> Committed | None:
    """Write a staged import of this staff member into the roster (``partial``: its valid rows
    although others were rejected), then link the rows whose mobile a bot user verified as
    their own (bot.roster.linking, with the running bot's ``content`` and ``i18n``); None if it
    could not be committed (not theirs, not open, or rejected rows without ``partial``)."""
    repo = RosterImportRepo(db)
    claimed = await repo.claim(import_id, actor.platform, actor.user_id, partial=partial)
    if claimed is None:
        return None
    await repo.commit(import_id, now)
    done = await repo.finish(import_id, now)
    if done is None:  # finished meanwhile by another press
        info = await repo.get(import_id)
        return Committed(info) if info is not None else None
    linked = await link_verified_users(db, now, content=content, i18n=i18n)
    detail = {"import": import_id, **_figures(done.tally), "rejected": done.rejected}
    detail.update(partial=int(done.partial), linked=len(linked))
    detail = actor.detail(detail)
    await StaffRepo(db).audit(actor.platform, actor.user_id, "roster_import", detail, now)
    return Committed(done, len(linked))


async def discard(
    db: Database, import_id: int, actor: Actor, now: int, *, audit: bool = True
) -> bool:
    """Drop a staged import of this staff member; False if there was none to drop."""
    dropped = await RosterImportRepo(db).discard(import_id, actor.platform, actor.user_id, now)
    if dropped and audit:
        detail = actor.detail({"import": import_id})
        await StaffRepo(db).audit(actor.platform, actor.user_id, "roster_discard", detail, now)
    return dropped


def column_label(i18n: I18n, lang: str, column: str) -> str:
    """A roster column's header in a language."""
    return i18n.t(lang, f"roster_import.column.{column}")


def problem_text(i18n: I18n, lang: str, code: str, arg: int | None) -> str:
    """A problem in words (a duplicate names the earlier row)."""
    key = f"roster_import.problem.{code}"
    if not i18n.has(key):
        key = "roster_import.problem.other"
    return i18n.t(lang, key, row=arg) if code == "duplicate" else i18n.t(lang, key)


async def write_rejected(
    db: Database, import_id: int, i18n: I18n, lang: str, target: Path
) -> Path:
    """The rejected rows as an owner-only XLSX (row, column, problem, cell), in row order."""
    repo = RosterImportRepo(db)
    staging = temporary(target)
    try:
        with owner_only(staging, "wb") as handle:
            writer = XlsxWriter(handle, rtl=lang == "fa")
            words = ("row", "column", "problem", "value")
            header = [i18n.t(lang, f"roster_import.rejected.{word}") for word in words]
            sheet = i18n.t(lang, "roster_import.rejected.sheet")
            writer.add_sheet(sheet, header, text_columns=[3], widths=[8, 22, 60, 30])
            after = 0
            while page := await repo.problems(import_id, after):
                writer.append_rows(
                    [
                        p.line,
                        column_label(i18n, lang, p.column),
                        problem_text(i18n, lang, p.code, p.arg),
                        p.value,
                    ]
                    for p in page
                )
                after = page[-1].line
            writer.close()
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def describe(result: DryRun, i18n: I18n, lang: str, *, advice: bool = True) -> str:
    """The dry run in words: figures, names not found, first problems and (``advice``, for the
    chat) what the staff member may do next."""

    def t(key: str, **values: Any) -> str:
        """One of the import's texts."""
        return i18n.t(lang, f"roster_import.{key}", **values)

    if not result.header.usable:
        found = [column_label(i18n, lang, c) for c in result.header.columns.values()]
        missing = [column_label(i18n, lang, c) for c in result.header.missing]
        return t("no_header", missing=_join(missing, lang), found=_join(found, lang) or "—")
    if not result.rows:
        return t("no_rows")
    tally = result.tally
    lines = [
        t(
            "summary",
            rows=result.rows,
            new=tally.new,
            updated=tally.updated,
            unchanged=tally.unchanged,
            rejected=result.rejected,
        )
    ]
    for column, names in result.unmatched.items():
        shown = _join([f"{name} ({format_number(n, lang)})" for name, n in names], lang)
        if result.more_unmatched.get(column):
            shown += " …"
        lines.append(t(f"unmatched.{column}", names=shown))
    if result.header.ignored:
        lines.append(t("ignored", names=_join(list(result.header.ignored), lang)))
    if result.sample:
        lines.append(t("first_problems"))
        for p in result.sample:
            column = column_label(i18n, lang, p.column)
            problem = problem_text(i18n, lang, p.code, p.arg)
            lines.append(t("problem_line", row=p.line, column=column, problem=problem))
    if not advice:
        pass
    elif not result.valid:
        lines.append(t("nothing_valid"))
    elif result.rejected:
        lines.append(t("rejected_advice", rejected=result.rejected, valid=result.valid))
    elif not result.undecided:
        lines.append(t("nothing_to_do"))
    else:
        lines.append(t("confirm_advice"))
    return "\n".join(lines)


def describe_done(done: Committed, i18n: I18n, lang: str) -> str:
    """A finished commit in words."""
    info = done.info
    tally = info.tally
    text = i18n.t(
        lang,
        "roster_import.committed",
        new=tally.new,
        updated=tally.updated,
        unchanged=tally.unchanged,
    )
    if info.partial:
        text += "\n" + i18n.t(lang, "roster_import.left_out", rejected=info.rejected)
    if done.linked:
        text += "\n" + i18n.t(lang, "roster_import.linked", linked=done.linked)
    return text


def _join(items: list[str], lang: str) -> str:
    """Items separated as the language does."""
    return ("، " if lang == "fa" else ", ").join(items)
