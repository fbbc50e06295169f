"""SQL for roster imports: staging a file's rows, the dry run's figures, the chunked commit.

Every write is a short transaction of its own (a batch of staged rows, one chunk of the commit)
run in the connection's worker thread, so a 200,000-row import never holds the database for
long while the bot serves everyone else; the commit's chunks are sized like the broadcast
queue's (bot.repo.broadcasts), each moving the import's cursor in the same transaction, so a
restart or a second press continues where it stopped and never counts a row twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database, Transaction
from bot.repo.broadcasts import CHUNK_RANGE, _resize
from bot.roster.model import COLUMNS, REQUIRED, new_link_token

__all__ = ["ImportInfo", "ProblemRow", "RosterImportRepo", "Tally"]

FIRST_CHUNK = 1000  # spreadsheet rows in the first commit chunk; later ones aim at CHUNK_SECONDS
PURGE_CHUNK = 2000  # staged rows removed per transaction once an import is finished
STAGING, STAGED, COMMITTING, COMMITTED, DISCARDED, INTERRUPTED = (
    "staging", "staged", "committing", "committed", "discarded", "interrupted",
)  # fmt: skip
_STAGE_COLUMNS = ("import_id", "line", "ok", *COLUMNS)
_STAGE = (
    f"INSERT INTO roster_import_rows ({', '.join(_STAGE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_STAGE_COLUMNS))})"
)
_PROBLEM = (
    "INSERT INTO roster_import_problems (import_id, line, col, code, value, arg) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_LATER_SAME_CODE = (
    "EXISTS (SELECT 1 FROM roster_import_rows AS e WHERE e.import_id = s.import_id "
    "AND e.national_code = s.national_code AND e.line < s.line)"
)
_FIELDS = COLUMNS[1:]  # national_code is the key


def _differs(column: str, new: str, old: str) -> str:
    """SQL: the staged value of a column would change the stored one (an empty optional cell
    keeps what the list holds)."""
    if column in REQUIRED:
        return f"{new}.{column} IS DISTINCT FROM {old}.{column}"
    return f"({new}.{column} IS NOT NULL AND {new}.{column} IS DISTINCT FROM {old}.{column})"


def _any_differs(new: str, old: str) -> str:
    """SQL: some column would change."""
    return "(" + " OR ".join(_differs(c, new, old) for c in _FIELDS) + ")"


_CHANGED = (
    "rtrim("
    + " || ".join(f"CASE WHEN {_differs(c, 's', 'r')} THEN '{c},' ELSE '' END" for c in _FIELDS)
    + ", ',')"
)
_IN_CHUNK = "s.import_id = ? AND s.line > ? AND s.line <= ? AND s.ok = 1"
_HISTORY = (
    f"INSERT INTO roster_history (roster_id, import_id, changed_at, changed, {', '.join(_FIELDS)}) "
    f"SELECT r.id, s.import_id, ?, {_CHANGED}, {', '.join('r.' + c for c in _FIELDS)} "
    f"FROM roster_import_rows AS s JOIN roster AS r ON r.national_code = s.national_code "
    f"WHERE {_IN_CHUNK} AND {_any_differs('s', 'r')}"
)
_UPDATE = (
    "UPDATE roster SET "
    + ", ".join(
        f"{c} = s.{c}" if c in REQUIRED else f"{c} = COALESCE(s.{c}, roster.{c})" for c in _FIELDS
    )
    + ", updated_at = ? FROM roster_import_rows AS s "
    f"WHERE {_IN_CHUNK} AND roster.national_code = s.national_code "
    f"AND {_any_differs('s', 'roster')}"
)
_NEW = (
    f"SELECT {', '.join('s.' + c for c in COLUMNS)} FROM roster_import_rows AS s "
    f"WHERE {_IN_CHUNK} AND NOT EXISTS "
    "(SELECT 1 FROM roster AS r WHERE r.national_code = s.national_code)"
)
_INSERT = (
    f"INSERT INTO roster ({', '.join(COLUMNS)}, link_token, created_at, updated_at) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 3))}) ON CONFLICT (national_code) DO NOTHING"
)
_TALLY = (
    "SELECT COUNT(r.id IS NULL OR NULL), "
    f"COUNT(r.id IS NOT NULL AND {_any_differs('s', 'r')} OR NULL), "
    f"COUNT(r.id IS NOT NULL AND NOT {_any_differs('s', 'r')} OR NULL) "
    "FROM roster_import_rows AS s LEFT JOIN roster AS r ON r.national_code = s.national_code "
    "WHERE s.import_id = ? AND s.ok = 1"
)
_INFO = (
    "SELECT id, platform, actor, kind, status, rows_read, new_rows, updated, unchanged, "
    "rejected, partial, cursor, created_at, finished_at FROM roster_imports "
)


@dataclass(frozen=True)
class Tally:
    """What an import would do (dry run) or did (commit)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def valid(self) -> int:
        """Rows that can be written."""
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True)
class ImportInfo:
    """One import's record (counts only, no personal data)."""

    id: int
    platform: str
    actor: int
    kind: str
    status: str
    rows_read: int
    tally: Tally
    rejected: int
    partial: bool
    cursor: int
    created_at: int
    finished_at: int | None


@dataclass(frozen=True)
class ProblemRow:
    """One problem of a rejected row."""

    line: int
    column: str
    code: str
    value: str | None
    arg: int | None


def _info(row: Sequence[Any]) -> ImportInfo:
    """A roster_imports row as ImportInfo."""
    return ImportInfo(
        id=int(row[0]),
        platform=str(row[1]),
        actor=int(row[2]),
        kind=str(row[3]),
        status=str(row[4]),
        rows_read=int(row[5]),
        tally=Tally(int(row[6]), int(row[7]), int(row[8])),
        rejected=int(row[9]),
        partial=bool(row[10]),
        cursor=int(row[11]),
        created_at=int(row[12]),
        finished_at=row[13],
    )


async def _one(tx: Transaction, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first row of a query inside a transaction, or None."""
    return await (await tx.execute(sql, params)).fetchone()


class RosterImportRepo:
    """Imports, their staged rows and problems, and the roster's history."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def create(self, platform: str, actor: int, kind: str, now: int) -> int:
        """A new import, staging; its id."""
        return await self.db.execute(
            "INSERT INTO roster_imports (platform, actor, kind, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (platform, actor, kind, now),
        )

    async def stage(
        self,
        import_id: int,
        rows: Sequence[Sequence[Any]],
        problems: Sequence[Sequence[Any]],
        lines: tuple[int, int],
    ) -> None:
        """Stage one batch: rows (line, ok, *COLUMNS) and problems (line, column, code, value,
        arg) of the spreadsheet rows ``lines`` (first, last); a national code already staged
        on an earlier row makes this one a rejected duplicate."""
        async with self.db.transaction(slow=True) as tx:
            await tx.executemany(_STAGE, [(import_id, *row) for row in rows])
            await tx.executemany(_PROBLEM, [(import_id, *p) for p in problems])
            batch = "s.import_id = ? AND s.line BETWEEN ? AND ?"
            await tx.execute(
                "INSERT INTO roster_import_problems (import_id, line, col, code, value, arg) "
                "SELECT s.import_id, s.line, 'national_code', 'duplicate', s.national_code, "
                "(SELECT MIN(e.line) FROM roster_import_rows AS e "
                "WHERE e.import_id = s.import_id AND e.national_code = s.national_code) "
                f"FROM roster_import_rows AS s WHERE {batch} AND {_LATER_SAME_CODE}",
                (import_id, *lines),
            )
            await tx.execute(
                "UPDATE roster_import_rows AS s SET ok = 0 "
                f"WHERE {batch} AND ok = 1 AND {_LATER_SAME_CODE}",
                (import_id, *lines),
            )

    async def tally(self, import_id: int) -> tuple[Tally, int]:
        """What committing would do now, and how many rows are rejected (read through the
        read-only companion: no write lock taken)."""
        reader = self.db.reader()
        row = await reader.fetchone(_TALLY, (import_id,), slow=True)
        rejected = await reader.fetchone(
            "SELECT COUNT(DISTINCT line) FROM roster_import_problems WHERE import_id = ?",
            (import_id,),
            slow=True,
        )
        tally = Tally(*(int(v) for v in row)) if row else Tally()
        return tally, int(rejected[0]) if rejected else 0

    async def staged(
        self, import_id: int, rows_read: int, tally: Tally, rejected: int
    ) -> None:
        """The dry run is done: its figures, and the import waits for a decision."""
        await self.db.execute(
            "UPDATE roster_imports SET status = ?, rows_read = ?, new_rows = ?, updated = ?, "
            "unchanged = ?, rejected = ? WHERE id = ? AND status = ?",
            (STAGED, rows_read, *_tally(tally), rejected, import_id, STAGING),
        )

    async def get(self, import_id: int) -> ImportInfo | None:
        """One import."""
        row = await self.db.fetchone(_INFO + "WHERE id = ?", (import_id,))
        return _info(row) if row else None

    async def recent(self, limit: int = 20, before: int | None = None) -> list[ImportInfo]:
        """The latest imports (counts only), newest first; ``before``: only older ids."""
        rows = await self.db.fetchall(
            _INFO + "WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**63 - 1, limit),
        )
        return [_info(row) for row in rows]

    async def problems(self, import_id: int, after: int = 0, limit: int = 5000) -> list[ProblemRow]:
        """Problems of rows after ``after``, in row order (a page of them)."""
        rows = await self.db.reader().fetchall(
            "SELECT line, col, code, value, arg FROM roster_import_problems "
            f"WHERE import_id = ? AND line > ? ORDER BY line, {self.db.dialect.row_order} "
            "LIMIT ?",
            (import_id, after, limit),
        )
        return [ProblemRow(int(r[0]), str(r[1]), str(r[2]), r[3], r[4]) for r in rows]

    async def claim(
        self, import_id: int, platform: str, actor: int, *, partial: bool
    ) -> ImportInfo | None:
        """Start (or resume) committing a staged import of this staff member; None when it is
        not theirs, not open, or has rejected rows and ``partial`` was not chosen."""
        async with self.db.transaction() as tx:
            row = await _one(tx, _INFO + "WHERE id = ? AND platform = ? AND actor = ?",
                             (import_id, platform, actor))
            if row is None:
                return None
            info = _info(row)
            if info.status == STAGED:
                if info.rejected and not partial:
                    return None
                await tx.execute(
                    "UPDATE roster_imports SET status = ?, partial = ?, new_rows = 0, "
                    "updated = 0, unchanged = 0, cursor = 0 WHERE id = ?",
                    (COMMITTING, int(bool(info.rejected)), import_id),
                )
            elif info.status != COMMITTING:
                return None
            row = await _one(tx, _INFO + "WHERE id = ?", (import_id,))
        return _info(row)

    async def commit(self, import_id: int, now: int) -> Tally:
        """Write a committing import's valid rows into the roster, chunk after chunk; what the
        whole import did (this call's chunks and any before a restart)."""
        span = FIRST_CHUNK
        while True:
            began = time.perf_counter()
            if await self._chunk(import_id, span, now):
                break
            span = _resize(span, time.perf_counter() - began, CHUNK_RANGE)
            await asyncio.sleep(0)  # let whoever waits for the connection have it
        info = await self.get(import_id)
        return info.tally if info else Tally()

    async def _chunk(self, import_id: int, span: int, now: int) -> bool:
        """Commit the staged rows of the next ``span`` spreadsheet rows; True when no row is
        left (or the import no longer commits)."""
        async with self.db.transaction(slow=True) as tx:
            found = await _one(
                tx, "SELECT status, cursor FROM roster_imports WHERE id = ?", (import_id,)
            )
            if found is None or found[0] != COMMITTING:
                return True
            last = await _one(
                tx, "SELECT MAX(line) FROM roster_import_rows WHERE import_id = ?", (import_id,)
            )
            after = int(found[1])
            upto = min(after + span, int(last[0] or 0) if last else 0)
            if upto <= after:
                return True
            chunk = (import_id, after, upto)
            changed = (await tx.execute(_HISTORY, (now, *chunk))).rowcount
            await tx.execute(_UPDATE, (now, *chunk))
            fresh = await (await tx.execute(_NEW, chunk)).fetchall()
            added = (
                await tx.executemany(
                    _INSERT, [(*row, new_link_token(), now, now) for row in fresh]
                )
            ).rowcount if fresh else 0
            valid = await _one(
                tx, "SELECT COUNT(*) FROM roster_import_rows AS s WHERE " + _IN_CHUNK, chunk
            )
            same = int(valid[0]) - changed - max(added, 0)
            await tx.execute(
                "UPDATE roster_imports SET cursor = ?, new_rows = new_rows + ?, "
                "updated = updated + ?, unchanged = unchanged + ? WHERE id = ?",
                (upto, max(added, 0), changed, same, import_id),
            )
        return False

    async def finish(self, import_id: int, now: int) -> ImportInfo | None:
        """Mark a fully committed import done and drop its staged rows; the finished import,
        or None when another call finished it first."""
        changed = await self.db.changes(
            "UPDATE roster_imports SET status = ?, finished_at = ? WHERE id = ? AND status = ? "
            "AND cursor >= COALESCE((SELECT MAX(line) FROM roster_import_rows "
            "WHERE import_id = ?), 0)",
            (COMMITTED, now, import_id, COMMITTING, import_id),
        )
        if not changed:
            return None
        await self.purge(import_id)
        return await self.get(import_id)

    async def discard(self, import_id: int, platform: str, actor: int, now: int) -> bool:
        """Discard a staged import of this staff member (nothing was written); False if it
        was not theirs or not staged any more."""
        changed = await self.db.changes(
            "UPDATE roster_imports SET status = ?, finished_at = ? "
            "WHERE id = ? AND platform = ? AND actor = ? AND status IN (?, ?)",
            (DISCARDED, now, import_id, platform, actor, STAGING, STAGED),
        )
        if changed:
            await self.purge(import_id)
        return changed > 0

    async def expire(self, before: int, now: int) -> list[int]:
        """Imports left undecided since before ``before``: discarded (or, when a commit was
        cut short and never resumed, marked interrupted), their staged rows dropped."""
        rows = await self.db.fetchall(
            "SELECT id, status FROM roster_imports WHERE status IN (?, ?, ?) AND created_at < ?",
            (STAGING, STAGED, COMMITTING, before),
        )
        for import_id, status in rows:
            final = INTERRUPTED if status == COMMITTING else DISCARDED
            await self.db.execute(
                "UPDATE roster_imports SET status = ?, finished_at = ? WHERE id = ? AND status = ?",
                (final, now, import_id, status),
            )
            await self.purge(import_id)
        return [int(r[0]) for r in rows]

    async def purge(self, import_id: int) -> None:
        """Remove an import's staged rows and problems (personal data), a chunk at a time."""
        for table in ("roster_import_rows", "roster_import_problems"):
            while True:
                removed = await self.db.changes(
                    f"DELETE FROM {table} WHERE import_id = ? AND line <= COALESCE(("
                    f"SELECT line FROM {table} WHERE import_id = ? ORDER BY line "
                    "LIMIT 1 OFFSET ?), 9223372036854775807)",
                    (import_id, import_id, PURGE_CHUNK),
                    slow=True,
                )
                if not removed:
                    break
                await asyncio.sleep(0)

    async def history(self, roster_id: int) -> list[dict[str, Any]]:
        """A roster row's earlier values, oldest first: changed columns and what they were."""
        rows = await self.db.fetchall(
            f"SELECT import_id, changed_at, changed, {', '.join(_FIELDS)} FROM roster_history "
            "WHERE roster_id = ? ORDER BY id",
            (roster_id,),
        )
        return [dict(row) for row in rows]


def _tally(tally: Tally) -> tuple[int, int, int]:
    """A tally's figures in the table's order."""
    return tally.new, tally.updated, tally.unchanged
