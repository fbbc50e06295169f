"""Check-in rounds, their answers (a history), milestones, nudges and staff follow-ups."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bot.db.engine import Database


@dataclass(frozen=True)
class Round:
    """One "is your business still operating?" round."""

    id: int
    user_pk: int
    due_at: int
    sent_at: int
    reminders_sent: int
    status: str
    closed_at: int | None


@dataclass(frozen=True)
class DuePerson:
    """Someone the sweep will message: enough to render and address the message."""

    user_pk: int
    platform: str
    chat_id: int
    lang: str
    due_at: int


@dataclass(frozen=True)
class OpenRound:
    """An open round with its person, for reminders and expiry."""

    round_id: int
    user_pk: int
    platform: str
    chat_id: int
    lang: str
    due_at: int
    sent_at: int
    reminders_sent: int
    permit_on: str | None
    loan_on: str | None
    operating_since: str | None


@dataclass(frozen=True)
class StuckStep:
    """A step someone started and has not finished."""

    user_pk: int
    platform: str
    chat_id: int
    lang: str
    field: str | None
    step_id: str
    started_at: int
    nudges_sent: int
    last_nudge_at: int | None


@dataclass(frozen=True)
class Reminder:
    """A reminder to queue for an open round, and when to look at the round next."""

    round: OpenRound
    message: dict[str, Any]
    next_action_at: int


@dataclass(frozen=True)
class Expiry:
    """An open round to close as no answer, and when the person's next round is due."""

    round: OpenRound
    next_checkin_at: int | None


@dataclass(frozen=True)
class Nudge:
    """A nudge to queue for a stuck step, and when to look at the step next (None: never)."""

    step: StuckStep
    message: dict[str, Any]
    next_at: int | None


# Every answer keeps where the dates its round was timed from came from (person or list).
_DATES_FROM = "(SELECT dates_from FROM users WHERE id = ?)"
_REACHABLE = "u.proactive = 1 AND u.unreachable_at IS NULL AND u.consent_at IS NOT NULL"
_CHECKED_IN = f"{_REACHABLE} AND u.checkins_closed = 0"  # whom the sweep opens rounds for


class CheckinRepo:
    """SQL for check-ins, nudges and follow-ups."""

    def __init__(self, db: Database) -> None:
        """Use one database."""
        self.db = db

    async def set_next(
        self,
        user_pk: int,
        when: int | None,
        *,
        paused_until: str | None = None,
        closed: bool = False,
    ) -> None:
        """Plan (or clear) someone's next round."""
        await self.db.execute(
            "UPDATE users SET next_checkin_at = ?, paused_until = ?, checkins_closed = ? "
            "WHERE id = ?",
            (when, paused_until, int(closed), user_pk),
        )

    async def next_at(self, user_pk: int) -> int | None:
        """When someone's next round is planned."""
        row = await self.db.fetchone("SELECT next_checkin_at FROM users WHERE id = ?", (user_pk,))
        return int(row[0]) if row and row[0] is not None else None

    async def due(self, platform: str, now: int, limit: int) -> list[DuePerson]:
        """People whose next round is due and who may be messaged."""
        rows = await self.db.fetchall(
            "SELECT u.id, u.platform, u.chat_id, u.lang, u.next_checkin_at FROM users u "
            f"WHERE u.next_checkin_at <= ? AND +u.platform = ? AND {_CHECKED_IN} "
            "ORDER BY u.next_checkin_at, u.id LIMIT ?",
            (now, platform, limit),
        )
        return [DuePerson(*r) for r in rows]

    async def upcoming(
        self, platforms: Collection[str], limit: int = 50
    ) -> list[tuple[int, str, int, int]]:
        """The rounds the sweep will open, soonest first: (user_pk, platform, user_id, when)."""
        marks = ", ".join("?" * len(platforms))
        rows = await self.db.fetchall(
            "SELECT u.id, u.platform, u.user_id, u.next_checkin_at FROM users u "
            f"WHERE u.next_checkin_at IS NOT NULL AND u.platform IN ({marks}) AND {_CHECKED_IN} "
            "ORDER BY u.next_checkin_at LIMIT ?",
            (*platforms, limit),
        )
        return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def held_back(self, platforms: Collection[str]) -> int:
        """People with a planned round the sweep skips: stopped, unreachable, closed, no consent."""
        marks = ", ".join("?" * len(platforms))
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM users u WHERE u.next_checkin_at IS NOT NULL "
            f"AND u.platform IN ({marks}) AND NOT ({_CHECKED_IN})",
            tuple(platforms),
        )
        return int(row[0]) if row else 0

    async def open_rounds(
        self,
        people: list[DuePerson],
        now: int,
        messages: list[dict[str, Any]],
        next_action_at: int,
    ) -> list[int]:
        """Open one round per person and queue its message, in one transaction of 3 statements
        (in the connection's worker thread: a batch takes longer than a turn may wait)."""
        async with self.db.transaction(slow=True) as conn:
            cur = await conn.execute(self.db.dialect.new_ids("checkin_rounds"), (len(people),))
            ids = [int(row[0]) for row in cur.rows]
            await conn.executemany(
                "INSERT INTO checkin_rounds (id, user_pk, due_at, sent_at, next_action_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (rid, p.user_pk, p.due_at, now, next_action_at)
                    for rid, p in zip(ids, people, strict=True)
                ],
            )
            await conn.executemany(
                "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, "
                "dedupe_key, not_before, created_at) VALUES (?, ?, ?, 'checkin', 10, ?, ?, ?, ?) "
                "ON CONFLICT (dedupe_key) DO NOTHING",
                [
                    (
                        p.platform,
                        p.chat_id,
                        p.user_pk,
                        json.dumps(_with_round(m, rid)),
                        f"checkin:{rid}",
                        now,
                        now,
                    )
                    for rid, p, m in zip(ids, people, messages, strict=True)
                ],
            )
            await conn.executemany(
                "UPDATE users SET next_checkin_at = NULL WHERE id = ?",
                [(p.user_pk,) for p in people],
            )
        return ids

    async def due_actions(self, platform: str, now: int, limit: int) -> list[OpenRound]:
        """Open rounds whose next reminder or expiry is due, soonest first."""
        rows = await self.db.fetchall(
            "SELECT r.id, r.user_pk, u.platform, u.chat_id, u.lang, r.due_at, r.sent_at, "
            "r.reminders_sent, u.permit_on, u.loan_on, u.operating_since "
            "FROM checkin_rounds r JOIN users u ON u.id = r.user_pk "
            "WHERE r.status = 'open' AND r.next_action_at <= ? AND +u.platform = ? "
            "ORDER BY r.next_action_at, r.id LIMIT ?",
            (now, platform, limit),
        )
        return [OpenRound(*r) for r in rows]

    async def postpone_many(self, rounds: list[tuple[int, int]]) -> None:
        """Look at open rounds again later, as (round id, when), in one transaction."""
        async with self.db.transaction(slow=True) as tx:
            await tx.executemany(
                "UPDATE checkin_rounds SET next_action_at = ? WHERE id = ? AND status = 'open'",
                [(when, round_id) for round_id, when in rounds],
            )

    async def remind_many(self, reminders: list[Reminder], now: int) -> int:
        """Count a reminder on each round still open, plan its next action and queue the
        reminder (deduplicated per round and number), in one transaction; how many."""
        async with self.db.transaction(slow=True) as tx:
            still = await tx.execute(
                "SELECT id FROM checkin_rounds "
                f"WHERE id IN ({self.db.dialect.json_ids()}) AND status = 'open'",
                (json.dumps([r.round.round_id for r in reminders]),),
            )
            open_ids = {row[0] for row in still.rows}
            due = [r for r in reminders if r.round.round_id in open_ids]
            await tx.executemany(
                "UPDATE checkin_rounds SET reminders_sent = ?, next_action_at = ? "
                "WHERE id = ? AND status = 'open'",
                [(r.round.reminders_sent + 1, r.next_action_at, r.round.round_id) for r in due],
            )
            await tx.executemany(
                "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, "
                "dedupe_key, not_before, created_at) VALUES (?, ?, ?, 'reminder', 10, ?, ?, ?, ?) "
                "ON CONFLICT (dedupe_key) DO NOTHING",
                [
                    (
                        r.round.platform,
                        r.round.chat_id,
                        r.round.user_pk,
                        json.dumps(_with_round(r.message, r.round.round_id)),
                        f"remind:{r.round.round_id}:{r.round.reminders_sent + 1}",
                        now,
                        now,
                    )
                    for r in due
                ],
            )
        return len(due)

    async def expire_many(self, expiries: list[Expiry], now: int) -> int:
        """Close each round still open as no answer (not closed!), record it in the history,
        list it for staff and plan the person's next round, in one transaction; how many."""
        async with self.db.transaction(slow=True) as tx:
            closed = await tx.execute(
                "UPDATE checkin_rounds SET status = 'no_answer', closed_at = ? "
                f"WHERE id IN ({self.db.dialect.json_ids()}) AND status = 'open' RETURNING id",
                (now, json.dumps([e.round.round_id for e in expiries])),
            )
            closed_ids = {row[0] for row in closed.rows}
            done = [e for e in expiries if e.round.round_id in closed_ids]
            await tx.executemany(
                "INSERT INTO checkin_answers (round_id, user_pk, status, answered_at, dates_from) "
                f"VALUES (?, ?, 'no_answer', ?, {_DATES_FROM})",
                [(e.round.round_id, e.round.user_pk, now, e.round.user_pk) for e in done],
            )
            await tx.executemany(
                "INSERT INTO followups (user_pk, kind, detail, created_at) "
                "VALUES (?, 'no_answer', ?, ?)",
                [(e.round.user_pk, json.dumps({"round": e.round.round_id}), now) for e in done],
            )
            await tx.executemany(
                "UPDATE users SET next_checkin_at = ? WHERE id = ? AND checkins_closed = 0",
                [(e.next_checkin_at, e.round.user_pk) for e in done],
            )
        return len(done)

    async def get_round(self, round_id: int) -> Round | None:
        """One round by id."""
        row = await self.db.fetchone(
            "SELECT id, user_pk, due_at, sent_at, reminders_sent, status, closed_at "
            "FROM checkin_rounds WHERE id = ?",
            (round_id,),
        )
        return Round(*row) if row else None

    async def latest_round(self, user_pk: int) -> Round | None:
        """Someone's most recent round."""
        row = await self.db.fetchone(
            "SELECT id, user_pk, due_at, sent_at, reminders_sent, status, closed_at "
            "FROM checkin_rounds WHERE user_pk = ? ORDER BY id DESC LIMIT 1",
            (user_pk,),
        )
        return Round(*row) if row else None

    async def answer(
        self, round_id: int, user_pk: int, status: str, detail: dict[str, Any], now: int
    ) -> int | None:
        """Record the first answer to an open round; None when it was not open any more."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE checkin_rounds SET status = 'answered', closed_at = ? "
                "WHERE id = ? AND user_pk = ? AND status = 'open'",
                (now, round_id, user_pk),
            )
            if cur.rowcount == 0:
                return None
            cur = await conn.execute(
                "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at, "
                f"dates_from) VALUES (?, ?, ?, ?, ?, {_DATES_FROM}) RETURNING id",
                (round_id, user_pk, status, json.dumps(detail, ensure_ascii=False), now, user_pk),
            )
            return int(cur.rows[0][0])

    async def round_answer(self, round_id: int) -> tuple[int, str, dict[str, Any], int] | None:
        """The answer given to a round: (answer id, status, detail, time)."""
        row = await self.db.fetchone(
            "SELECT id, status, detail, answered_at FROM checkin_answers "
            "WHERE round_id = ? ORDER BY id DESC LIMIT 1",
            (round_id,),
        )
        return (row[0], row[1], json.loads(row[2]), row[3]) if row else None

    async def add_detail(self, answer_id: int, values: dict[str, Any]) -> None:
        """Add follow-up details (staff count, sales band, reason…) to an answer."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "SELECT detail FROM checkin_answers WHERE id = ?", (answer_id,)
            )
            row = await cur.fetchone()
            if row is None:
                return
            detail = {**json.loads(row[0]), **values}
            await conn.execute(
                "UPDATE checkin_answers SET detail = ? WHERE id = ?",
                (json.dumps(detail, ensure_ascii=False), answer_id),
            )

    async def sources(self, user_pk: int) -> list[tuple[str, str]]:
        """Every answer of one person as (status, where its timing came from), oldest first."""
        rows = await self.db.fetchall(
            "SELECT status, dates_from FROM checkin_answers WHERE user_pk = ? ORDER BY id",
            (user_pk,),
        )
        return [(r[0], r[1]) for r in rows]

    async def history(self, user_pk: int) -> list[tuple[str, dict[str, Any], int]]:
        """Every answer of one person, oldest first."""
        rows = await self.db.fetchall(
            "SELECT status, detail, answered_at FROM checkin_answers WHERE user_pk = ? ORDER BY id",
            (user_pk,),
        )
        return [(r[0], json.loads(r[1]), r[2]) for r in rows]

    async def add_followup(self, user_pk: int, kind: str, detail: dict[str, Any], now: int) -> int:
        """Put someone on the staff follow-up list."""
        return await self.db.execute(
            "INSERT INTO followups (user_pk, kind, detail, created_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (user_pk, kind, json.dumps(detail, ensure_ascii=False), now),
        )

    async def step_help_pending(self, user_pk: int, step_id: str) -> bool:
        """Whether someone's "I need help" on a step is still with the staff: filed and not yet
        on a card, or on a card whose ticket is open."""
        row = await self.db.fetchone(
            "SELECT 1 FROM followups f WHERE f.user_pk = ? AND f.kind = 'step_help'"
            f" AND f.status = 'open' AND {self.db.dialect.json_field('f.detail', 'step')} = ?"
            " AND (f.posted_at IS NULL OR EXISTS (SELECT 1 FROM tickets t"
            " WHERE t.user_pk = f.user_pk AND t.status = 'open' AND t.followup_id = f.id))"
            " LIMIT 1",
            (user_pk, step_id),
        )
        return row is not None

    async def followups(self, status: str = "open", limit: int = 100) -> list[dict[str, Any]]:
        """The staff follow-up list, oldest first."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.kind, f.detail, f.created_at, u.platform, u.user_id, u.full_name, "
            "u.mobile FROM followups f JOIN users u ON u.id = f.user_pk "
            "WHERE f.status = ? ORDER BY f.id LIMIT ?",
            (status, limit),
        )
        return [dict(r) for r in rows]

    async def stuck_steps(self, platform: str, now: int, limit: int) -> list[StuckStep]:
        """Unfinished steps whose nudge check is due, of people who may be messaged."""
        rows = await self.db.fetchall(
            "SELECT u.id, u.platform, u.chat_id, u.lang, u.field, s.step_id, s.started_at, "
            "s.nudges_sent, s.last_nudge_at FROM step_progress s JOIN users u ON u.id = s.user_pk "
            f"WHERE s.nudge_at <= ? AND +u.platform = ? AND u.profile_done = 1 AND {_REACHABLE} "
            "ORDER BY s.nudge_at, s.user_pk, s.step_id LIMIT ?",
            (now, platform, limit),
        )
        return [StuckStep(*r) for r in rows]

    async def set_nudge_at(self, items: list[tuple[int, str, int | None]]) -> None:
        """Plan when each (user, step) still awaiting a nudge is looked at again (None: never),
        in one transaction; a step finished or left meanwhile stays as it is."""
        async with self.db.transaction(slow=True) as tx:
            await tx.executemany(
                "UPDATE step_progress SET nudge_at = ? "
                "WHERE user_pk = ? AND step_id = ? AND nudge_at IS NOT NULL",
                [(when, user_pk, step_id) for user_pk, step_id, when in items],
            )

    async def nudge_many(self, nudges: list[Nudge], now: int) -> int:
        """Count a nudge on each step still awaiting one, plan its next look and queue it
        (deduplicated per user, step and number), in one transaction; how many."""
        keys = [[n.step.user_pk, n.step.step_id, n.step.nudges_sent] for n in nudges]
        d = self.db.dialect
        async with self.db.transaction(slow=True) as tx:
            still = await tx.execute(
                f"SELECT s.user_pk, s.step_id FROM {d.json_rows('?')} JOIN step_progress s "
                f"ON s.user_pk = {d.json_item('j.value', 0)} "
                f"AND s.step_id = {d.json_item('j.value', 1, 'text')} "
                f"WHERE s.nudge_at IS NOT NULL AND s.nudges_sent = {d.json_item('j.value', 2)}",
                (json.dumps(keys),),
            )
            waiting = {(row[0], row[1]) for row in still.rows}
            due = [n for n in nudges if (n.step.user_pk, n.step.step_id) in waiting]
            await tx.executemany(
                "UPDATE step_progress SET nudges_sent = ?, last_nudge_at = ?, nudge_at = ? "
                "WHERE user_pk = ? AND step_id = ?",
                [
                    (n.step.nudges_sent + 1, now, n.next_at, n.step.user_pk, n.step.step_id)
                    for n in due
                ],
            )
            await tx.executemany(
                "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, "
                "dedupe_key, not_before, created_at) VALUES (?, ?, ?, 'nudge', 10, ?, ?, ?, ?) "
                "ON CONFLICT (dedupe_key) DO NOTHING",
                [
                    (
                        n.step.platform,
                        n.step.chat_id,
                        n.step.user_pk,
                        json.dumps(n.message),
                        f"nudge:{n.step.user_pk}:{n.step.step_id}:{n.step.nudges_sent + 1}",
                        now,
                        now,
                    )
                    for n in due
                ],
            )
        return len(due)

def _with_round(payload: dict[str, Any], round_id: int) -> dict[str, Any]:
    """Fill the round id into button data written as 'ci:{round}:…'."""
    buttons = payload.get("buttons")
    if not buttons:
        return payload
    filled = [
        [[label, data.replace("{round}", str(round_id))] for label, data in row] for row in buttons
    ]
    return {**payload, "buttons": filled}
