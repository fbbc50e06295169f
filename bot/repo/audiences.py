"""Audiences: who a broadcast's filters hold, counted from a summary instead of every applicant.

An audience may span messengers: its "platform" filter names them (a broadcast reaches
everyone on Telegram and on Bale); without one it is the broadcast's own messenger.

``audience_cells`` (migration 008) holds how many reachable, consenting people (consent given,
no /stop, not unreachable) share each combination of the builder's filters — platform, county,
field, stage, language and the latest check-in answer (``users.checkin_status``) — kept exact
by triggers on users and checkin_answers. A count sums the matching cells: a few thousand rows
at most, the same on a million applicants as on ten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.db.engine import Database

DIMENSIONS = ("platform", "county", "field", "stage", "checkin", "lang")
CHECKIN_VALUES = ("operating", "problems", "paused", "closed", "no_answer", "none")
LANG_VALUES = ("fa", "en")
MAX_VALUES = 100  # per dimension; far above any real list, well below SQLite's variable limit

Audience = Mapping[str, Sequence[str]]

# Column names come from these tables only; chosen values always travel as parameters.
_CELLS = {
    "platform": "platform", "county": "county", "field": "field", "stage": "stage",
    "lang": "lang", "checkin": "checkin_status",
}  # fmt: skip
# ``+u.platform`` keeps SQLite from walking the (platform, user_id) index instead of the
# primary-key range a queueing chunk reads.
_USERS = {**{dim: f"u.{column}" for dim, column in _CELLS.items()}, "platform": "+u.platform"}
_REACHABLE = "u.consent_at IS NOT NULL AND u.proactive = 1 AND u.unreachable_at IS NULL"
# The latest answer as the builder used to find it (a reference for checks and benchmarks).
_LATEST_CHECKIN = (
    " LEFT JOIN (SELECT user_pk, MAX(id) AS last_id FROM checkin_answers GROUP BY user_pk)"
    " AS latest ON latest.user_pk = u.id"
    " LEFT JOIN checkin_answers AS ca ON ca.id = latest.last_id"
)


def _filters(audience: Audience, columns: Mapping[str, str]) -> tuple[list[str], list[Any]]:
    """WHERE clauses of an audience's filters over ``columns`` (dimension → column) and their
    parameters; raises ValueError on unknown filters or values."""
    unknown = set(audience) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown audience filters {sorted(unknown)}")
    clauses: list[str] = []
    params: list[Any] = []
    for dim in DIMENSIONS:
        chosen = [str(v) for v in audience.get(dim, ())]
        if not chosen:
            continue
        if len(chosen) > MAX_VALUES:
            raise ValueError(f"too many values for {dim}")
        column = columns[dim]
        if dim == "checkin":
            if set(chosen) - set(CHECKIN_VALUES):
                raise ValueError(f"unknown check-in status in {chosen}")
            known = [v for v in chosen if v != "none"]
            parts = [f"{column} IN ({', '.join('?' * len(known))})"] if known else []
            if "none" in chosen:
                parts.append(f"{column} IS NULL")
            clauses.append("(" + " OR ".join(parts) + ")")
            params.extend(known)
        else:
            clauses.append(f"{column} IN ({', '.join('?' * len(chosen))})")
            params.extend(chosen)
    return clauses, params


def on_messengers(platform: str, audience: Audience) -> dict[str, list[str]]:
    """The audience with its messengers said: those it names, else ``platform`` alone (a
    broadcast stored before audiences could span messengers)."""
    found = {k: list(v) for k, v in audience.items()}
    if not found.get("platform"):
        found["platform"] = [platform]
    return found


def audience_sql(platform: str, audience: Audience) -> tuple[str, list[Any]]:
    """The WHERE condition of an audience over ``users AS u`` and its parameters."""
    clauses, params = _filters(on_messengers(platform, audience), _USERS)
    return " AND ".join([_REACHABLE, *clauses]), params


def _cells_sql(platform: str, audience: Audience) -> tuple[str, list[Any]]:
    """The WHERE condition of an audience over ``audience_cells`` and its parameters."""
    clauses, params = _filters(on_messengers(platform, audience), _CELLS)
    return " AND ".join(clauses), params


class AudienceRepo:
    """SQL for counting audiences."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def count(self, platform: str, audience: Audience) -> int:
        """How many reachable, consenting people an audience holds."""
        where, params = _cells_sql(platform, audience)
        row = await self.db.fetchone(
            f"SELECT COALESCE(SUM(people), 0) FROM audience_cells WHERE {where}", params
        )
        return int(row[0]) if row else 0

    async def languages(self, platform: str, audience: Audience) -> dict[str, int]:
        """How many reachable, consenting people an audience holds, per language."""
        where, params = _cells_sql(platform, audience)
        rows = await self.db.fetchall(
            f"SELECT lang, SUM(people) FROM audience_cells WHERE {where} GROUP BY lang", params
        )
        return {str(r[0]): int(r[1]) for r in rows if r[1]}

    async def messengers(self, platform: str, audience: Audience) -> dict[str, int]:
        """How many reachable, consenting people an audience holds, per messenger."""
        where, params = _cells_sql(platform, audience)
        rows = await self.db.fetchall(
            f"SELECT platform, SUM(people) FROM audience_cells WHERE {where} GROUP BY platform",
            params,
        )
        return {str(r[0]): int(r[1]) for r in rows if r[1]}

    async def scan_count(self, platform: str, audience: Audience) -> int:
        """The same count read from every applicant's row and their latest answer, as it was
        before the cells: a reference for checks and benchmarks, never for a person's turn."""
        columns = {**_USERS, "platform": "u.platform", "checkin": "ca.status"}
        clauses, params = _filters(on_messengers(platform, audience), columns)
        where = " AND ".join([_REACHABLE, *clauses])
        row = await self.db.fetchone(
            f"SELECT COUNT(*) FROM users AS u{_LATEST_CHECKIN} WHERE {where}", params, slow=True
        )
        return int(row[0]) if row else 0
