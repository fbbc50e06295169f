"""The sweep's reminders, expiries and nudges as they ran before batching: one item at a time.

A frozen copy of scheduler/planner.py and bot/repo/checkins.py as of ad7885e (each due round
or stuck step with its own transaction or autocommit statement), kept only so the tests can
check the batched sweep gives exactly the same rows and the bench can time it beside the
batched one. Nothing in the bot uses it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.entry.services import Services
from bot.repo.checkins import OpenRound, StuckStep
from bot.rules.followup import anchor_of
from bot.rules.schedule import (
    allowed_send_time,
    in_quiet_hours,
    next_checkin_due,
    no_answer_at,
    nudge_due,
    reminder_due,
    reminder_times,
    round_expired,
)
from scheduler.planner import Planner, SweepReport, checkin_payload, nudge_payload


class PerItemPlanner(Planner):
    """The planner with today's batched reminders, expiries and nudges swapped for the old ones."""

    def __init__(self, svc: Services, platform: str, *, batch: int = 5000) -> None:
        """Bind to the services and a platform; read 5,000 due items at a time, as before."""
        super().__init__(svc, platform, batch=batch)

    async def _expire_and_remind(self, now: dt.datetime, report: SweepReport) -> None:
        """Rounds whose next action is due: expire (no answer) or remind, or look again later."""
        quiet = in_quiet_hours(now, policy=self.policy)
        ts = int(now.timestamp())
        for _ in range(100):  # bounded: at most 100 batches a sweep
            items = await self.repo.due_actions(self.platform, ts, self.batch)
            for item in items:
                await self._act_on(item, now, quiet, report)
            if len(items) < self.batch:
                return

    async def _act_on(
        self, item: OpenRound, now: dt.datetime, quiet: bool, report: SweepReport
    ) -> None:
        """One due round: expire it, remind, or postpone to when it can be acted on."""
        ts = int(now.timestamp())
        sent_at = dt.datetime.fromtimestamp(item.sent_at, dt.UTC)
        if round_expired(sent_at=sent_at, now=now, policy=self.policy):
            await _expire(self, item, ts, self._old_next_after(item, now))
            report.expired += 1
        elif reminder_due(
            sent_at=sent_at, reminders_sent=item.reminders_sent, now=now, policy=self.policy
        ):
            if quiet:
                later = allowed_send_time(now, policy=self.policy)
                await _postpone(self, item.round_id, int(later.timestamp()))
                return
            payload = checkin_payload(self.svc, item.lang, "checkin.reminder")
            await _remind(
                self, item, payload, ts, self._old_after_sending(sent_at, item.reminders_sent + 1)
            )
            report.reminders += 1
        else:
            await _postpone(
                self, item.round_id, self._old_after_sending(sent_at, item.reminders_sent)
            )

    def _old_after_sending(self, sent_at: dt.datetime, reminders_sent: int) -> int:
        """When an open round needs looking at next: its next reminder, else its expiry."""
        times = reminder_times(sent_at=sent_at, policy=self.policy)
        if reminders_sent < len(times):
            return int(times[reminders_sent].timestamp())
        return int(no_answer_at(sent_at=sent_at, policy=self.policy).timestamp())

    def _old_next_after(self, item: OpenRound, now: dt.datetime) -> int | None:
        """When the round after an unanswered one is due."""
        anchor = anchor_of(item.permit_on, item.loan_on, item.operating_since)
        if anchor is None:
            return None
        due = next_checkin_due(
            anchor=anchor,
            last_round_due=dt.datetime.fromtimestamp(item.due_at, dt.UTC),
            paused_until=None,
            now=now,
            policy=self.policy,
        )
        return int(due.timestamp())

    async def _nudge(self, now: dt.datetime, report: SweepReport) -> None:
        """Nudge people stuck on the step they reached last, at most nudge_max times per step."""
        ts = int(now.timestamp())
        after = dt.timedelta(days=self.policy.nudge_after_days)
        for _ in range(100):  # bounded: at most 100 batches a sweep
            items = await self.repo.stuck_steps(self.platform, ts, self.batch)
            later: list[tuple[int, str, int | None]] = []
            for item in items:
                started = dt.datetime.fromtimestamp(item.started_at, dt.UTC)
                last = (
                    dt.datetime.fromtimestamp(item.last_nudge_at, dt.UTC)
                    if item.last_nudge_at
                    else None
                )
                payload = nudge_payload(self.svc, item)
                if payload is None or item.nudges_sent >= self.policy.nudge_max:
                    later.append((item.user_pk, item.step_id, None))
                elif nudge_due(
                    step_started_at=started,
                    nudges_sent=item.nudges_sent,
                    last_nudge_at=last,
                    now=now,
                    policy=self.policy,
                ):
                    done = item.nudges_sent + 1 >= self.policy.nudge_max
                    next_at = None if done else int((now + after).timestamp()) + 1
                    await _nudge_one(self, item, payload, ts, next_at)
                    report.nudges += 1
                else:
                    since = max(started, last) if last else started
                    later.append(
                        (
                            item.user_pk,
                            item.step_id,
                            max(int((since + after).timestamp()) + 1, ts + 60),
                        )
                    )
            if later:
                await self.svc.db.executemany(
                    "UPDATE step_progress SET nudge_at = ? WHERE user_pk = ? AND step_id = ?",
                    [(when, user_pk, step_id) for user_pk, step_id, when in later],
                )
            if len(items) < self.batch:
                return


async def _postpone(planner: Planner, round_id: int, next_action_at: int) -> None:
    """Look at an open round again later (its reminder waits for the sending window)."""
    await planner.svc.db.execute(
        "UPDATE checkin_rounds SET next_action_at = ? WHERE id = ? AND status = 'open'",
        (next_action_at, round_id),
    )


async def _remind(
    planner: Planner, item: OpenRound, payload: dict[str, Any], now: int, next_action_at: int
) -> None:
    """Count a reminder, plan the round's next action and queue the reminder, atomically."""
    number = item.reminders_sent + 1
    async with planner.svc.db.transaction() as conn:
        await conn.execute(
            "UPDATE checkin_rounds SET reminders_sent = ?, next_action_at = ? "
            "WHERE id = ? AND status = 'open'",
            (number, next_action_at, item.round_id),
        )
        await conn.execute(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, "
            "dedupe_key, not_before, created_at) VALUES (?, ?, ?, 'reminder', 10, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            (
                item.platform,
                item.chat_id,
                item.user_pk,
                json.dumps(_with_round(payload, item.round_id)),
                f"remind:{item.round_id}:{number}",
                now,
                now,
            ),
        )


async def _expire(planner: Planner, item: OpenRound, now: int, next_at: int | None) -> bool:
    """Close a round as no answer (not closed!), record it, list it for staff, plan the next."""
    async with planner.svc.db.transaction() as conn:
        cur = await conn.execute(
            "UPDATE checkin_rounds SET status = 'no_answer', closed_at = ? "
            "WHERE id = ? AND status = 'open'",
            (now, item.round_id),
        )
        if cur.rowcount == 0:
            return False
        await conn.execute(
            "INSERT INTO checkin_answers (round_id, user_pk, status, answered_at) "
            "VALUES (?, ?, 'no_answer', ?)",
            (item.round_id, item.user_pk, now),
        )
        await conn.execute(
            "INSERT INTO followups (user_pk, kind, detail, created_at) "
            "VALUES (?, 'no_answer', ?, ?)",
            (item.user_pk, json.dumps({"round": item.round_id}), now),
        )
        await conn.execute(
            "UPDATE users SET next_checkin_at = ? WHERE id = ? AND checkins_closed = 0",
            (next_at, item.user_pk),
        )
    return True


async def _nudge_one(
    planner: Planner, item: StuckStep, payload: dict[str, Any], now: int, next_at: int | None
) -> None:
    """Count a nudge, plan the next look, and queue it, atomically."""
    number = item.nudges_sent + 1
    async with planner.svc.db.transaction() as conn:
        await conn.execute(
            "UPDATE step_progress SET nudges_sent = ?, last_nudge_at = ?, nudge_at = ? "
            "WHERE user_pk = ? AND step_id = ?",
            (number, now, next_at, item.user_pk, item.step_id),
        )
        await conn.execute(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, priority, payload, "
            "dedupe_key, not_before, created_at) VALUES (?, ?, ?, 'nudge', 10, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING",
            (
                item.platform,
                item.chat_id,
                item.user_pk,
                json.dumps(payload),
                f"nudge:{item.user_pk}:{item.step_id}:{number}",
                now,
                now,
            ),
        )


def _with_round(payload: dict[str, Any], round_id: int) -> dict[str, Any]:
    """Fill the round id into button data written as 'ci:{round}:…'."""
    buttons = payload.get("buttons")
    if not buttons:
        return payload
    filled = [
        [[label, data.replace("{round}", str(round_id))] for label, data in row] for row in buttons
    ]
    return {**payload, "buttons": filled}
