"""The sweep: ask the database who is due, open rounds, remind, expire and nudge via the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from bot.followup import anchor_of, policy_from
from bot.repo.checkins import CheckinRepo, OpenRound, StuckStep
from bot.schedule import (
    in_quiet_hours,
    next_checkin_due,
    nudge_due,
    reminder_due,
    round_expired,
)
from bot.services import Services

log = logging.getLogger(__name__)
ANSWER_BUTTONS = ("op", "pr", "pa", "cl")


@dataclass
class SweepReport:
    """What one sweep did."""

    checkins: int = 0
    reminders: int = 0
    expired: int = 0
    nudges: int = 0

    @property
    def queued(self) -> int:
        """Messages put in the outbox."""
        return self.checkins + self.reminders + self.nudges


def checkin_payload(svc: Services, lang: str, key: str) -> dict[str, Any]:
    """The check-in question (or a reminder of it) with its four answers."""
    t = svc.i18n.t
    buttons = [[[t(lang, f"checkin.btn_{a}"), f"ci:{{round}}:{a}"]] for a in ANSWER_BUTTONS]
    return {"text": t(lang, key), "buttons": buttons}


def nudge_payload(svc: Services, item: StuckStep) -> dict[str, Any] | None:
    """A nudge with the step's help text; None if the step left the content."""
    step = svc.content.step(item.step_id)
    if step is None:
        return None
    t, lang = svc.i18n.t, item.lang
    text = t(lang, "nudge.text", title=step.title.get(lang)) + "\n\n" + step.help.get(lang)
    buttons = [
        [[t(lang, "nudge.open"), f"st:show:{step.id}"]],
        [[t(lang, "steps.btn_help"), f"st:help:{step.id}"]],
    ]
    return {"text": text, "buttons": buttons}


class Planner:
    """Runs sweeps for one platform."""

    def __init__(self, svc: Services, platform: str, *, batch: int = 5000) -> None:
        """Bind to the services and a platform."""
        self.svc = svc
        self.platform = platform
        self.batch = batch
        self.repo = CheckinRepo(svc.db)
        self.policy = policy_from(svc.content.schedule)

    async def sweep(self, now: dt.datetime | None = None) -> SweepReport:
        """One pass: due check-ins, reminders, expiries and nudges."""
        now = now or self.svc.clock.now()
        report = SweepReport()
        await self._expire_and_remind(now, report)
        if in_quiet_hours(now, policy=self.policy):
            return report
        await self._open_due(now, report)
        await self._nudge(now, report)
        if report.queued or report.expired:
            log.info("sweep %s: %s", self.platform, report)
        return report

    async def _open_due(self, now: dt.datetime, report: SweepReport) -> None:
        """Open a round for everyone due, in batches."""
        ts = int(now.timestamp())
        while True:
            people = await self.repo.due(self.platform, ts, self.batch)
            if not people:
                return
            messages = [checkin_payload(self.svc, p.lang, "checkin.question") for p in people]
            await self.repo.open_rounds(people, ts, messages)
            report.checkins += len(people)
            if len(people) < self.batch:
                return

    async def _expire_and_remind(self, now: dt.datetime, report: SweepReport) -> None:
        """Remind open rounds when due; close expired ones as no answer and plan the next."""
        quiet = in_quiet_hours(now, policy=self.policy)
        ts = int(now.timestamp())
        for item in await self.repo.open_for_platform(self.platform, self.batch * 4):
            sent_at = dt.datetime.fromtimestamp(item.sent_at, dt.UTC)
            if round_expired(sent_at=sent_at, now=now, policy=self.policy):
                await self.repo.expire(item, ts, self._next_after(item, now))
                report.expired += 1
            elif not quiet and reminder_due(
                sent_at=sent_at, reminders_sent=item.reminders_sent, now=now, policy=self.policy
            ):
                await self.repo.remind(
                    item, checkin_payload(self.svc, item.lang, "checkin.reminder"), ts
                )
                report.reminders += 1

    def _next_after(self, item: OpenRound, now: dt.datetime) -> int | None:
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
        """Nudge people stuck on a step, at most nudge_max times per step."""
        cutoff = int((now - dt.timedelta(days=self.policy.nudge_after_days)).timestamp())
        stuck = await self.repo.stuck_steps(
            self.platform, cutoff, self.policy.nudge_max, self.batch
        )
        latest: dict[int, StuckStep] = {}
        for item in stuck:  # only the step each person reached last
            if item.user_pk not in latest or item.started_at > latest[item.user_pk].started_at:
                latest[item.user_pk] = item
        ts = int(now.timestamp())
        for item in latest.values():
            last = (
                dt.datetime.fromtimestamp(item.last_nudge_at, dt.UTC)
                if item.last_nudge_at
                else None
            )
            if not nudge_due(
                step_started_at=dt.datetime.fromtimestamp(item.started_at, dt.UTC),
                nudges_sent=item.nudges_sent,
                last_nudge_at=last,
                now=now,
                policy=self.policy,
            ):
                continue
            payload = nudge_payload(self.svc, item)
            if payload is not None:
                await self.repo.nudge(item, payload, ts)
                report.nudges += 1
