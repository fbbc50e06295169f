"""Roster import of 200,000 rows: dry run (read, check, stage) and commit, timed, with peak memory.

Each measurement runs in a child process of its own (``python -m bench.roster_import child …``)
so its peak resident memory (VmHWM, which starts again at exec) is its own. The file is an XLSX
as Excel saves it (every text in the shared-string table, some codes as numbers) or a UTF-8
CSV, with one row in about 150 wrong (a check digit, an unknown county, a repeated code),
committed with "the valid rows only". A probe statement runs every 10 ms on the same connection
meanwhile: its longest wait is what a person's update would have waited for the database.
Baselines from the same run: the same CSV checked and written the naive way (one autocommit
upsert per row, no dry run), and openpyxl's read-only mode reading the XLSX beside this reader.

Run alone: ``python -m bench.roster_import [--quick]``, or ``python -m bench.run --only roster``;
it is a section of ``python -m bench.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jdatetime

from bench.common import REPO_ROOT, START_TS, Row, Scale, Section, open_services
from tests.support.spreadsheets import national_code, write_csv, write_excel_like

ROWS = {"full": 200_000, "quick": 20_000}
SMALL = 20_000  # the size memory is compared with, and the readers' comparison size
TARGET_SECONDS = 60.0
FLAT_MB = 50.0  # "memory flat": 10× the rows may cost at most this much more peak memory
HEADER = ["کد ملی", "نام و نام خانوادگی", "تلفن همراه", "شهرستان", "رشته", "تاریخ صدور مجوز",
          "تاریخ پرداخت تسهیلات", "مبلغ تسهیلات (ریال)", "بانک عامل", "شماره پرونده"]  # fmt: skip
FIRST = ("زهرا", "فاطمه", "مریم", "علی", "رضا", "محمد", "سارا", "نرگس", "حسین", "کاوه", "ليلا",
         "مهدی", "زینب", "امیر", "سمیه", "یاسر", "شیما", "پریسا", "بهزاد", "نیلوفر")  # fmt: skip
LAST = ("احمدی", "کریمی", "رضایی", "موسوی", "حسینی", "محمدی", "جعفری", "صادقی", "كاظمي",
        "رحیمی", "نوری", "قاسمی", "یزدانی", "طاهری", "عباسی", "نجفی", "اکبری", "شریفی")  # fmt: skip
COUNTIES = ("کرج", "فردیس", "نظرآباد", "ساوجبلاغ", "اشتهارد", "طالقان", "چهارباغ", "Karaj")
FIELDS = ("صنایع دستی و هنرهای سنتی", "پوشاک، دوخت و منسوجات", "Food")
BANKS = ("ملی", "ملت", "صادرات", "کشاورزی", "رفاه", "توسعه تعاون")
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def roster_rows(count: int, *, excel: bool, seed: int = 11) -> Iterator[list[Any]]:
    """The header and ``count`` rows as a county office's list might hold them."""
    rng = random.Random(seed)
    yield HEADER
    previous = ""
    for i in range(1, count + 1):
        code = national_code(100_000_000 + i * 7)
        if i % 200 == 0:
            code = code[:9] + str((int(code[9]) + 1) % 10)  # a typing slip in the check digit
        elif i % 500 == 7:
            code = previous  # the same person twice
        previous = code
        mobile = f"0912{i:07d}"
        if i % 3 == 0:
            mobile = f"{mobile[:4]} {mobile[4:7]} {mobile[7:]}".translate(_PERSIAN)
        year, month, day = 1395 + rng.randrange(9), 1 + rng.randrange(12), 1 + rng.randrange(28)
        permit = jdatetime.date(year, month, day)
        loan = permit + jdatetime.timedelta(days=30 + rng.randrange(200))
        county = "تهران" if i % 333 == 0 else COUNTIES[i % len(COUNTIES)]
        amount: Any = 500_000_000 + rng.randrange(2_500) * 1_000_000
        yield [
            int(code) if excel and i % 10 == 0 else code,  # Excel made a number of it
            f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
            mobile,
            county,
            FIELDS[i % len(FIELDS)],
            permit.strftime("%Y/%m/%d"),
            loan.strftime("%Y-%m-%d") if i % 4 else loan.strftime("%Y/%m/%d").translate(_PERSIAN),
            amount if excel else f"{amount:,}",
            BANKS[i % len(BANKS)],
            f"AL-{i:06d}",
        ]


# --- in a child process ---------------------------------------------------------------------


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM, since its exec), MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class Probe:
    """A statement every 10 ms on the import's connection: the longest one waited."""

    def __init__(self, db: Any) -> None:
        """Probe ``db``."""
        self.db, self.longest, self.count = db, 0.0, 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        """Probe until cancelled."""
        while True:
            began = time.perf_counter()
            await self.db.fetchone("SELECT COUNT(*) FROM staff")
            self.longest = max(self.longest, time.perf_counter() - began)
            self.count += 1
            await asyncio.sleep(0.01)

    def __enter__(self) -> Probe:
        """Start probing."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()


async def _import(path: Path, db_path: Path) -> dict[str, Any]:
    """Dry run, rejected rows' file and commit of one file: seconds, CPU and memory."""
    from bot.roster.importer import Actor, commit, dry_run, write_rejected

    svc = await open_services(db_path)
    actor = Actor("cli", 0, "fa")
    base = _rss_mb()
    cpu = time.process_time()
    try:
        with Probe(svc.db) as probe:
            began = time.perf_counter()
            result = await dry_run(svc.db, svc.content, svc.i18n, path, actor, START_TS)
            checked = time.perf_counter()
            assert result.import_id is not None
            await write_rejected(svc.db, result.import_id, svc.i18n, "fa", path.with_suffix(".rej"))
            rejected = time.perf_counter()
            done = await commit(
                svc.db,
                result.import_id,
                actor,
                START_TS,
                partial=True,
                content=svc.content,
                i18n=svc.i18n,
            )
            committed = time.perf_counter()
        assert done is not None
        return {
            "rows": result.rows,
            "rejected": result.rejected,
            "new": done.info.tally.new,
            "dry_run": checked - began,
            "rejected_file": rejected - checked,
            "commit": committed - rejected,
            "total": committed - began,
            "cpu": time.process_time() - cpu,
            "peak_mb": _rss_mb("VmHWM") - base,
            "longest_wait": probe.longest,
        }
    finally:
        await svc.close()


async def _naive(path: Path, db_path: Path) -> dict[str, Any]:
    """The baseline: each row read, checked and upserted on its own (autocommit), no dry run."""
    from bot.roster.model import COLUMNS, new_link_token
    from bot.roster.reader import open_sheet
    from bot.roster.template import HeaderWords, find_header
    from bot.roster.validate import RowChecker

    svc = await open_services(db_path)
    base = _rss_mb()
    cpu = time.process_time()
    checker = RowChecker(svc.content, dt.date(2026, 11, 29))
    upsert = (
        f"INSERT INTO roster ({', '.join(COLUMNS)}, link_token, created_at, updated_at) VALUES "
        f"({', '.join('?' * (len(COLUMNS) + 3))}) ON CONFLICT (national_code) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    )
    written = 0
    try:
        with Probe(svc.db) as probe:
            began = time.perf_counter()
            with open_sheet(path) as sheet:
                head = [next(sheet.rows)]
                header = find_header(head, sheet.merges, HeaderWords(svc.i18n))
                for _number, cells in sheet.rows:
                    picked = {n: cells[i] for i, n in header.columns.items() if i < len(cells)}
                    _code, record, _problems = checker.check(picked)
                    if record is not None:
                        params = (*record.values(), new_link_token(), START_TS, START_TS)
                        await svc.db.execute(upsert, params)
                        written += 1
            seconds = time.perf_counter() - began
        return {
            "rows": written,
            "total": seconds,
            "cpu": time.process_time() - cpu,
            "peak_mb": _rss_mb("VmHWM") - base,
            "longest_wait": probe.longest,
        }
    finally:
        await svc.close()


def _read(path: Path, limit: int, reader: str) -> dict[str, Any]:
    """Seconds for a reader to go through the first ``limit`` rows of an XLSX."""
    began = time.perf_counter()
    count = 0
    if reader == "openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        for _row in book.worksheets[0].iter_rows(values_only=True):
            count += 1
            if count > limit:
                break
        book.close()
    else:
        from bot.roster.reader import open_sheet

        with open_sheet(path) as sheet:
            for _row in sheet.rows:
                count += 1
                if count > limit:
                    break
    return {"rows": count - 1, "total": time.perf_counter() - began}


def child(argv: list[str]) -> None:
    """One measurement, printed as JSON on the last line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("import", "naive", "openpyxl", "ours"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--limit", type=int, default=SMALL)
    args = parser.parse_args(argv)
    if args.mode == "import":
        out = asyncio.run(_import(args.file, args.db))
    elif args.mode == "naive":
        out = asyncio.run(_naive(args.file, args.db))
    else:
        out = _read(args.file, args.limit, args.mode)
    print(json.dumps(out))


def _measure(mode: str, file: Path, *extra: str) -> dict[str, Any]:
    """Run one measurement in a child process and read its figures."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.roster_import", "child", mode, str(file), *extra],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} {file.name}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the section ----------------------------------------------------------------------------


def _files(workdir: Path, rows: int) -> dict[str, Path]:
    """The XLSX and CSV of ``rows`` rows, written once."""
    return {
        "xlsx": write_excel_like(workdir / f"roster-{rows}.xlsx", roster_rows(rows, excel=True)),
        "csv": write_csv(workdir / f"roster-{rows}.csv", roster_rows(rows, excel=False)),
    }


async def run(scale: Scale, workdir: Path, section: Section) -> None:
    """The roster import section: both formats at full size and at SMALL rows, baselines."""
    rows = ROWS[scale.name]
    began = time.perf_counter()
    big = await asyncio.to_thread(_files, workdir, rows)
    small = await asyncio.to_thread(_files, workdir, SMALL) if rows != SMALL else big
    section.line(
        f"generated {rows:,} rows as XLSX (Excel's shape, {big['xlsx'].stat().st_size / 2**20:.1f}"
        f" MB) and CSV ({big['csv'].stat().st_size / 2**20:.1f} MB) in "
        f"{time.perf_counter() - began:.1f} s; one row in about 150 is wrong on purpose"
    )
    figures: dict[str, dict[str, Any]] = {}
    sizes = ((rows, big), (SMALL, small)) if rows != SMALL else ((rows, big),)
    for kind in ("xlsx", "csv"):
        for size, files in sizes:
            db = workdir / f"roster-{kind}-{size}.sqlite3"
            got = await asyncio.to_thread(_measure, "import", files[kind], "--db", str(db))
            figures[f"{kind}-{size}"] = got
            section.line(
                f"{kind.upper()} {size:,} rows: dry run {got['dry_run']:.1f} s, rejected rows' "
                f"file {got['rejected_file']:.1f} s, commit {got['commit']:.1f} s — total "
                f"{got['total']:.1f} s ({got['cpu']:.1f} s CPU); {got['new']:,} written, "
                f"{got['rejected']:,} rejected; peak memory +{got['peak_mb']:.0f} MB; a "
                f"statement beside it waited at most {got['longest_wait'] * 1000:.0f} ms"
            )
    naive_db = workdir / "roster-naive.sqlite3"
    naive = await asyncio.to_thread(_measure, "naive", big["csv"], "--db", str(naive_db))
    ours = figures[f"csv-{rows}"]
    section.line(
        f"baseline, the same CSV checked and upserted row by row (autocommit, no dry run): "
        f"{naive['total']:.1f} s ({naive['cpu']:.1f} s CPU) for {naive['rows']:,} rows, peak "
        f"+{naive['peak_mb']:.0f} MB, longest wait {naive['longest_wait'] * 1000:.0f} ms; "
        f"ours (dry run + commit) {ours['total']:.1f} s"
    )
    theirs = await asyncio.to_thread(_measure, "openpyxl", big["xlsx"], "--limit", str(SMALL))
    mine = await asyncio.to_thread(_measure, "ours", big["xlsx"], "--limit", str(SMALL))
    section.line(
        f"baseline, reading the first {SMALL:,} rows of the XLSX: openpyxl read-only "
        f"{theirs['total']:.1f} s, bot.roster.reader {mine['total']:.1f} s "
        f"({theirs['total'] / max(mine['total'], 1e-9):.1f}× faster); at {rows:,} rows openpyxl "
        f"alone would take about {theirs['total'] * rows / SMALL:.0f} s"
    )
    for kind in ("xlsx", "csv"):
        got = figures[f"{kind}-{rows}"]
        flat = figures[f"{kind}-{SMALL}"]
        growth = got["peak_mb"] - flat["peak_mb"]
        met = got["total"] <= TARGET_SECONDS and growth <= FLAT_MB
        section.rows.append(
            Row(
                f"roster import of {rows:,} rows ({kind.upper()}): dry run + commit",
                f"{got['total']:.1f} s, peak +{got['peak_mb']:.0f} MB (+{flat['peak_mb']:.0f} MB "
                f"at {SMALL:,} rows; row-by-row baseline {naive['total']:.0f} s)",
                f"≤ {TARGET_SECONDS:.0f} s, memory flat",
                met if scale.name == "full" else None,
            )
        )


def main(argv: list[str] | None = None) -> int:
    """``child …`` (one measurement) or the whole section printed."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.roster_import")
    parser.add_argument("--quick", action="store_true", help=f"{ROWS['quick']:,} rows")
    args = parser.parse_args(argv)
    from bench.common import FULL, QUICK

    section = Section("Roster import", "roster")
    with tempfile.TemporaryDirectory(prefix="homebiz-roster-bench-") as tmp:
        asyncio.run(run(QUICK if args.quick else FULL, Path(tmp), section))
    for row in section.rows:
        print(f"{row.what}: {row.measured} (target {row.target}; met: {row.met})")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
