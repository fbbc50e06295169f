"""Where SQLite and PostgreSQL disagree: the few SQL fragments written twice, and the one
translation of a statement's text for PostgreSQL.

Repositories write SQL once, in what both engines accept (COUNT(x OR NULL), IS DISTINCT FROM,
ON CONFLICT, RETURNING, CASE); where the engines need different words they ask the database's
``dialect`` for the fragment (``db.dialect.json_ids("?")``). SQLite's planner hints (a unary
``+`` before a column, ``INDEXED BY``, ``NOT INDEXED``) and its "no limit" (``LIMIT -1``) mean
nothing to PostgreSQL and are dropped when a statement is translated for it, together with its
``?``/``?NNN`` placeholders becoming ``$n`` (``to_postgres``, once per statement text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Dialect:
    """The SQL fragments one engine needs where the two differ."""

    name: str

    @property
    def postgres(self) -> bool:
        """Whether this is PostgreSQL."""
        return self.name == "postgresql"

    def json_ids(self, param: str = "?") -> str:
        """A subquery: the integers of a JSON array parameter (``id IN (<this>)``)."""
        if self.postgres:
            return (
                f"SELECT value::bigint FROM jsonb_array_elements_text({param}::jsonb) AS j(value)"
            )
        return f"SELECT value FROM json_each({param})"

    def json_rows(self, param: str, alias: str = "j") -> str:
        """A FROM item: one row per element of a JSON array parameter, in column ``value``."""
        if self.postgres:
            return f"jsonb_array_elements({param}::jsonb) AS {alias}(value)"
        return f"json_each({param}) AS {alias}"

    def json_item(self, expr: str, index: int, sql_type: str = "bigint") -> str:
        """Element ``index`` of a JSON array value (of ``json_rows``), as ``sql_type``
        (SQLite gives JSON numbers as integers by itself)."""
        if self.postgres:
            return f"({expr} ->> {index})::{sql_type}"
        return f"{expr} ->> {index}"

    def json_list_length(self, column: str, key: str) -> str:
        """How many elements the array member ``key`` of a JSON object in ``column`` has
        (NULL when it has no such member)."""
        if self.postgres:
            return f"jsonb_array_length({column}::jsonb -> '{key}')"
        return f"json_array_length({column}, '$.{key}')"

    def json_list(self, column: str, key: str, alias: str = "j") -> str:
        """A FROM item: the elements of the array member ``key`` of a JSON object in
        ``column``, as text in column ``value``."""
        if self.postgres:
            return f"jsonb_array_elements_text({column}::jsonb -> '{key}') AS {alias}(value)"
        return f"json_each({column}, '$.{key}') AS {alias}"

    def json_field(self, column: str, key: str, sql_type: str | None = None) -> str:
        """Member ``key`` of a JSON object kept as text in ``column`` (cast to ``sql_type`` on
        PostgreSQL, where ``->>`` always gives text)."""
        if self.postgres:
            value = f"({column}::jsonb ->> '{key}')"
            return f"{value}::{sql_type}" if sql_type else value
        return f"json_extract({column}, '$.{key}')"

    def json_merge(self, column: str, param: str = "?") -> str:
        """The JSON object text of ``column`` with the members of the JSON object parameter
        set over it (no member of ours is ever null, where json_patch would remove it)."""
        if self.postgres:
            return f"({column}::jsonb || {param}::jsonb)::text"
        return f"json_patch({column}, {param})"

    @property
    def cross_join(self) -> str:
        """An inner join whose left table SQLite must read first (its CROSS JOIN); a plain
        JOIN on PostgreSQL, whose CROSS JOIN takes no ON."""
        return "JOIN" if self.postgres else "CROSS JOIN"

    @property
    def row_order(self) -> str:
        """The order rows were inserted in, for a table without an id of its own (rows never
        updated): SQLite's rowid, PostgreSQL's physical position."""
        return "ctid" if self.postgres else "rowid"

    def new_ids(self, table: str) -> str:
        """A query giving ``?`` new ids for rows of ``table`` that a transaction inserts with
        ids of its own: the sequence's next values on PostgreSQL; after the highest id on
        SQLite (whose write transaction holds the file)."""
        if self.postgres:
            return (
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
                " FROM generate_series(1, ?)"
            )
        return (
            "WITH RECURSIVE k(i) AS (SELECT 1 WHERE ? > 0 UNION ALL SELECT i + 1 FROM k"
            f" WHERE i < ?1) SELECT (SELECT COALESCE(MAX(id), 0) FROM {table}) + i FROM k"
        )

    def skip_locked(self, alias: str) -> str:
        """A claim's row lock: on PostgreSQL the rows of ``alias`` it selects are locked and
        rows another transaction holds are skipped (concurrent claimers never take the same
        row, nor wait for each other); nothing on SQLite, whose writer holds the whole file."""
        return f" FOR UPDATE OF {alias} SKIP LOCKED" if self.postgres else ""

    def greatest(self, *exprs: str) -> str:
        """The largest of a few values (SQLite's MAX with two or more arguments)."""
        return ("GREATEST(" if self.postgres else "MAX(") + ", ".join(exprs) + ")"


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgresql")

_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|\?\d*|[A-Za-z_][A-Za-z_0-9]*"""
    r"""|\d+|\s+|->>|.""",
    re.S,
)
# After these, a ``+`` is unary (SQLite's "not this index" hint), never an addition.
_BEFORE_UNARY = frozenset(
    {"AND", "OR", "NOT", "WHERE", "ON", "WHEN", "THEN", "ELSE", "SELECT", "BY", "(", ",", "=",
     "<", ">", "<=", ">=", "!=", "<>"}
)  # fmt: skip


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """A statement in SQLite's words as PostgreSQL takes it: ``?`` and ``?NNN`` placeholders
    numbered ``$n`` as SQLite numbers them, planner hints and ``LIMIT -1`` dropped; quoted
    text and comments are left alone."""
    tokens = _TOKEN.findall(sql)
    out: list[str] = []
    last = ""  # the previous significant token, upper-cased
    highest = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.upper()
        if tok.startswith("?"):
            number = int(tok[1:]) if len(tok) > 1 else highest + 1
            highest = max(highest, number)
            out.append(f"${number}")
        elif upper == "INDEXED" and _next(tokens, i).upper() == "BY":
            i = _skip(tokens, _skip(tokens, i)) + 1  # INDEXED BY name
            last = ""
            continue
        elif upper == "INDEXED" and last == "NOT":
            while out and out[-1].upper() != "NOT":
                out.pop()
            out.pop()
        elif (
            upper == "LIMIT"
            and _next(tokens, i) == "-"
            and (_next(tokens, _skip(tokens, i)) == "1")
        ):
            i = _skip(tokens, _skip(tokens, i)) + 1  # LIMIT - 1
            continue
        elif tok == "+" and last in _BEFORE_UNARY and re.match(r"[A-Za-z_]", _next(tokens, i)):
            pass  # a unary plus before a column: SQLite's hint not to use its index
        else:
            out.append(tok)
        if not tok.isspace() and not tok.startswith(("--", "/*")):
            last = upper
        i += 1
    return "".join(out)


def _skip(tokens: list[str], i: int) -> int:
    """The index of the next significant token after ``i`` (len(tokens) if none)."""
    j = i + 1
    while j < len(tokens) and (tokens[j].isspace() or tokens[j].startswith(("--", "/*"))):
        j += 1
    return j


def _next(tokens: list[str], i: int) -> str:
    """The next significant token after ``i`` ('' at the end)."""
    j = _skip(tokens, i)
    return tokens[j] if j < len(tokens) else ""
