"""Staff exports of a 100,000-applicant database: the workbook and the CSVs, timed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from bench.common import START_TS, Row, Section, open_services, population, seed_users
from bot.db.engine import Database
from bot.repo.reports import ReportRepo
from bot.staffdesk import export
from bot.staffdesk.export import export_paths, write_export
from bot.staffdesk.export_sheets import SHEET_NAMES

EXPORT_APPLICANTS = 100_000
TARGET_SECONDS = 60.0
#: Steps each seeded applicant has started: three done, the fourth under way.
STEPS = ("register_system", "agency_review", "permit_issued", "loan_register")
#: Check-in answers in turn: each shape of detail the check-in conversation stores.
ANSWERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("operating", {"staff": 2, "sales": "m10_50"}),
    ("operating", {"sales": "under10"}),
    ("problems", {"problem": "sales_market"}),
    ("problems", {"problem": "other", "note": "مشتری کم است"}),
    ("paused", {"reason": "seasonal", "restart": "2027-03-21"}),
    ("closed", {"reason": "costs"}),
    ("no_answer", {}),
)


def _steps(total: int) -> Iterator[tuple[Any, ...]]:
    """Step rows: per applicant three done steps and one started."""
    for uid in range(1, total + 1):
        began = START_TS - 86400 * 50 - uid % 86400
        for i, step in enumerate(STEPS):
            done = began + 86400 * (i + 1) if i < len(STEPS) - 1 else None
            yield (uid, step, began + 86400 * i, done, None)


def _rounds(total: int) -> Iterator[tuple[Any, ...]]:
    """One check-in round per applicant, answered or expired."""
    for uid in range(1, total + 1):
        status = "no_answer" if ANSWERS[uid % len(ANSWERS)][0] == "no_answer" else "answered"
        due = START_TS - 86400 * 10 - uid % 3600
        yield (uid, uid, due, due, 0, status, due + 3600)


def _answers(total: int) -> Iterator[tuple[Any, ...]]:
    """Each round's answer, cycling through every kind of detail."""
    for uid in range(1, total + 1):
        status, detail = ANSWERS[uid % len(ANSWERS)]
        yield (uid, uid, status, json.dumps(detail, ensure_ascii=False), START_TS - 86400 * 9)


def _followups(total: int) -> Iterator[tuple[Any, ...]]:
    """A staff follow-up for one applicant in ten."""
    kinds = (
        ("problems", {"problem": "sales_market"}),
        ("closed", {"reason": "costs"}),
        ("no_answer", {}),
        ("step_help", {"step": "agency_review"}),
    )
    for uid in range(10, total + 1, 10):
        kind, detail = kinds[uid // 10 % len(kinds)]
        body = {"round": uid, **detail} if kind != "step_help" else detail
        yield (uid, kind, json.dumps(body), START_TS - 86400 * 8)


async def seed_export_database(db: Database, applicants: int = EXPORT_APPLICANTS) -> float:
    """Applicants with steps, a check-in each, follow-ups (1 in 10) and questions (1 in 20)
    with an answer each; return the seconds taken."""
    began = time.perf_counter()
    await seed_users(db, population(applicants, 0, 0, 0, 0))
    async with db.transaction(slow=True) as tx:
        await tx.executemany(
            "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, help_at)"
            " VALUES (?, ?, ?, ?, ?)",
            _steps(applicants),
        )
        await tx.executemany(
            "INSERT INTO checkin_rounds (id, user_pk, due_at, sent_at, reminders_sent, status,"
            " closed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            _rounds(applicants),
        )
        await tx.executemany(
            "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at)"
            " VALUES (?, ?, ?, ?, ?)",
            _answers(applicants),
        )
        await tx.executemany(
            "INSERT INTO followups (user_pk, kind, detail, created_at) VALUES (?, ?, ?, ?)",
            _followups(applicants),
        )
        await tx.executemany(
            "INSERT INTO tickets (id, platform, user_pk, created_at) VALUES (?, 'telegram', ?, ?)",
            ((uid, uid, START_TS - 86400) for uid in range(20, applicants + 1, 20)),
        )
        await tx.executemany(
            "INSERT INTO ticket_messages (ticket_id, direction, kind, text, at)"
            " VALUES (?, ?, 'text', ?, ?)",
            (
                (uid, direction, text, START_TS - 86400)
                for uid in range(20, applicants + 1, 20)
                for direction, text in (("in", "وام کی واریز می‌شود؟"), ("out", "هفته بعد"))
            ),
        )
    return time.perf_counter() - began


def file_sizes(paths: list[Path]) -> str:
    """The files' total size in MB."""
    return f"{sum(p.stat().st_size for p in paths) / 2**20:,.1f} MB"


class OpenpyxlBook:
    """The baseline: openpyxl's write-only workbook behind bot.staffdesk.xlsx's interface
    (the writer exports used before), fed the very same cells."""

    def __init__(self, target: IO[bytes], *, rtl: bool = False) -> None:
        """An empty write-only workbook."""
        from openpyxl import Workbook

        self.target, self.rtl = target, rtl
        self.wb = Workbook(write_only=True)
        self.ws: Any = None
        self.rows = 0

    def add_sheet(
        self,
        title: str,
        header: Sequence[str],
        *,
        text_columns: Any = (),
        widths: Any = None,
    ) -> None:
        """A new sheet with a bold, frozen header."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        ws = self.wb.create_sheet(title[:31])
        ws.sheet_view.rightToLeft = self.rtl
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for text in header:
            cell = WriteOnlyCell(ws, value=text)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        self.ws, self.rows = ws, 1

    def append_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows."""
        for row in rows:
            self.ws.append(row)
        self.rows += len(rows)

    def close(self) -> None:
        """Save into the target."""
        self.wb.save(self.target)

    def abort(self) -> None:
        """Nothing to release."""


async def _timed(repo: ReportRepo, svc: Any, base: Path, *, xlsx: bool, csvs: bool) -> float:
    """Seconds to write the workbook and/or the CSVs of ``repo`` in Persian."""
    book, tables = export_paths(base, SHEET_NAMES)
    began = time.perf_counter()
    await write_export(
        repo,
        content=svc.content,
        i18n=svc.i18n,
        lang="fa",
        workbook=book if xlsx else None,
        csvs=tables if csvs else None,
    )
    return time.perf_counter() - began


async def exports(
    workdir: Path,
    section: Section,
    *,
    applicants: int = EXPORT_APPLICANTS,
    db_path: Path | None = None,
) -> None:
    """Export a database of ``applicants`` (seeded into workdir, or the one at ``db_path``) as
    `homebiz export` and /export do — the workbook and the CSVs in one pass — and beside it
    each format alone and the workbook through openpyxl (the baseline), in the same run."""
    path = db_path or workdir / "exports.sqlite3"
    svc = await open_services(path)
    try:
        if db_path is None:
            seconds = await seed_export_database(svc.db, applicants)
            section.line(
                f"seeded {applicants:,} applicants with 4 steps, one check-in answer each, "
                f"{applicants // 10:,} follow-ups and {applicants // 20:,} questions in "
                f"{seconds:.1f} s"
            )
        repo = ReportRepo(svc.db.reader())
        out = workdir / "export-out"
        out.mkdir(exist_ok=True)
        both = await _timed(repo, svc, out / "both", xlsx=True, csvs=True)
        book, tables = export_paths(out / "both", SHEET_NAMES)
        section.line(
            f"XLSX + CSV in one pass (what `homebiz export` and /export run): {both:.1f} s "
            f"for {applicants:,} applicants; files {file_sizes([book, *tables])}"
        )
        xlsx = await _timed(repo, svc, out / "xlsx", xlsx=True, csvs=False)
        csvs = await _timed(repo, svc, out / "csv", xlsx=False, csvs=True)
        section.line(f"each alone: XLSX {xlsx:.1f} s, CSV {csvs:.1f} s")
        real = export.XlsxWriter
        export.XlsxWriter = OpenpyxlBook  # type: ignore[assignment, misc]
        try:
            baseline = await _timed(repo, svc, out / "openpyxl", xlsx=True, csvs=False)
        finally:
            export.XlsxWriter = real  # type: ignore[misc]
        try:
            from openpyxl import LXML
        except ImportError:
            LXML = False
        section.line(
            f"baseline, the same workbook through openpyxl's write-only mode "
            f"({'with' if LXML else 'without'} lxml): {baseline:.1f} s, "
            f"{baseline / xlsx:.1f}× bot.staffdesk.xlsx's {xlsx:.1f} s"
        )
        section.rows.append(
            Row(
                f"export of {applicants:,} applicants, XLSX + CSV",
                f"{both:.1f} s (openpyxl XLSX alone {baseline:.1f} s)",
                f"< {TARGET_SECONDS:.0f} s",
                both < TARGET_SECONDS,
            )
        )
    finally:
        await svc.close()
