"""The sweep: ask the database who is due, open rounds, remind, expire and nudge via the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.entry.services import Services
from bot.repo.checkins import CheckinRepo, Expiry, Nudge, OpenRound, Reminder, StuckStep
from bot.rules.followup import anchor_of, policy_from
from bot.rules.schedule import (
    allowed_send_time,
    in_quiet_hours,
    next_checkin_due,
    no_answer_at,
    nudge_due,
    reminder_times,
    round_action,
)

log = logging.getLogger(__name__)
ANSWER_BUTTONS = ("op", "pr", "pa", "cl")
BATCH = 1000  # due items read, and written in one transaction per kind, at a time
MAX_BATCHES = 100  # a sweep's bound; what is left is due again at the next sweep
PLAN_SLICE = 200  # due items decided between two turns of the event loop (the maths is CPU)


@dataclass
class RoundPlan:
    """One batch of due rounds grouped by what each needs."""

    expire: list[Expiry] = field(default_factory=list)
    remind: list[Reminder] = field(default_factory=list)
    postpone: list[tuple[int, int]] = field(default_factory=list)  # (round id, when)


@dataclass
class NudgePlan:
    """One batch of stuck steps grouped by what each needs."""

    nudge: list[Nudge] = field(default_factory=list)
    later: list[tuple[int, str, int | None]] = field(default_factory=list)  # (user, step, when)


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

    def __init__(self, svc: Services, platform: str, *, batch: int = BATCH) -> None:
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

    def _after_sending(self, sent_at: dt.datetime, reminders_sent: int) -> int:
        """When an open round needs looking at next: its next reminder, else its expiry."""
        times = reminder_times(sent_at=sent_at, policy=self.policy)
        if reminders_sent < len(times):
            return int(times[reminders_sent].timestamp())
        return int(no_answer_at(sent_at=sent_at, policy=self.policy).timestamp())

    async def _open_due(self, now: dt.datetime, report: SweepReport) -> None:
        """Open a round for everyone due, in batches."""
        ts = int(now.timestamp())
        payloads: dict[str, dict[str, Any]] = {}
        next_action = self._after_sending(now, 0)
        while True:
            people = await self.repo.due(self.platform, ts, self.batch)
            if not people:
                return
            messages = []
            for person in people:
                if person.lang not in payloads:
                    payloads[person.lang] = checkin_payload(
                        self.svc, person.lang, "checkin.question"
                    )
                messages.append(payloads[person.lang])
            await self.repo.open_rounds(people, ts, messages, next_action)
            report.checkins += len(people)
            if len(people) < self.batch:
                return

    async def _expire_and_remind(self, now: dt.datetime, report: SweepReport) -> None:
        """Rounds whose next action is due: expire (no answer), remind, or look again later;
        a batch at a time, one transaction per kind of action."""
        quiet = in_quiet_hours(now, policy=self.policy)
        ts = int(now.timestamp())
        for _ in range(MAX_BATCHES):
            items = await self.repo.due_actions(self.platform, ts, self.batch)
            plan = await self._plan_rounds(items, now, quiet)
            if plan.expire:
                report.expired += await self.repo.expire_many(plan.expire, ts)
            if plan.remind:
                report.reminders += await self.repo.remind_many(plan.remind, ts)
            if plan.postpone:
                await self.repo.postpone_many(plan.postpone)
            if len(items) < self.batch:
                return

    async def _plan_rounds(
        self, items: list[OpenRound], now: dt.datetime, quiet: bool
    ) -> RoundPlan:
        """Group due rounds by what each needs (bot.rules.schedule.round_action): expire, remind, or
        postpone (a reminder due in the quiet hours waits for the sending window). Rounds opened
        by one sweep share their times, so each decision is worked out once for all of them. No
        I/O; the event loop turns every PLAN_SLICE rounds."""
        plan = RoundPlan()
        messages: dict[str, dict[str, Any]] = {}
        actions: dict[tuple[int, int], tuple[str, int]] = {}
        next_rounds: dict[tuple[dt.date | None, int], int | None] = {}
        window = int(allowed_send_time(now, policy=self.policy).timestamp()) if quiet else 0
        for seen, item in enumerate(items, start=1):
            key = (item.sent_at, item.reminders_sent)
            if key not in actions:
                action, when = round_action(
                    sent_at=dt.datetime.fromtimestamp(item.sent_at, dt.UTC),
                    reminders_sent=item.reminders_sent,
                    now=now,
                    policy=self.policy,
                )
                actions[key] = (action, int(when.timestamp()))
            action, when = actions[key]
            if action == "expire":
                anchor = anchor_of(item.permit_on, item.loan_on, item.operating_since)
                if (anchor, item.due_at) not in next_rounds:
                    next_rounds[anchor, item.due_at] = self._next_after(anchor, item.due_at, now)
                plan.expire.append(Expiry(item, next_rounds[anchor, item.due_at]))
            elif action == "wait":
                plan.postpone.append((item.round_id, when))
            elif quiet:
                plan.postpone.append((item.round_id, window))
            else:
                if item.lang not in messages:
                    messages[item.lang] = checkin_payload(self.svc, item.lang, "checkin.reminder")
                plan.remind.append(Reminder(item, messages[item.lang], when))
            if seen % PLAN_SLICE == 0:
                await asyncio.sleep(0)
        return plan

    def _next_after(self, anchor: dt.date | None, due_at: int, now: dt.datetime) -> int | None:
        """When the round after an unanswered one (due at ``due_at``) is due."""
        if anchor is None:
            return None
        due = next_checkin_due(
            anchor=anchor,
            last_round_due=dt.datetime.fromtimestamp(due_at, dt.UTC),
            paused_until=None,
            now=now,
            policy=self.policy,
        )
        return int(due.timestamp())

    async def _nudge(self, now: dt.datetime, report: SweepReport) -> None:
        """Nudge people stuck on the step they reached last, at most nudge_max times per step;
        a batch at a time, one transaction for the nudges and one for the later looks."""
        ts = int(now.timestamp())
        for _ in range(MAX_BATCHES):
            items = await self.repo.stuck_steps(self.platform, ts, self.batch)
            plan = await self._plan_nudges(items, now)
            if plan.nudge:
                report.nudges += await self.repo.nudge_many(plan.nudge, ts)
            if plan.later:
                await self.repo.set_nudge_at(plan.later)
            if len(items) < self.batch:
                return

    async def _plan_nudges(self, items: list[StuckStep], now: dt.datetime) -> NudgePlan:
        """Group stuck steps by what each needs: a nudge, a later look, or none ever again (its
        step left the content, or it had nudge_max nudges). No I/O; the event loop turns every
        PLAN_SLICE steps."""
        plan = NudgePlan()
        ts = int(now.timestamp())
        after = dt.timedelta(days=self.policy.nudge_after_days)
        messages: dict[tuple[str, str], dict[str, Any] | None] = {}
        for seen, item in enumerate(items, start=1):
            if seen % PLAN_SLICE == 0:
                await asyncio.sleep(0)
            key = (item.step_id, item.lang)
            if key not in messages:
                messages[key] = nudge_payload(self.svc, item)
            payload = messages[key]
            started = dt.datetime.fromtimestamp(item.started_at, dt.UTC)
            last = (
                dt.datetime.fromtimestamp(item.last_nudge_at, dt.UTC)
                if item.last_nudge_at
                else None
            )
            if payload is None or item.nudges_sent >= self.policy.nudge_max:
                plan.later.append((item.user_pk, item.step_id, None))
            elif nudge_due(
                step_started_at=started,
                nudges_sent=item.nudges_sent,
                last_nudge_at=last,
                now=now,
                policy=self.policy,
            ):
                done = item.nudges_sent + 1 >= self.policy.nudge_max
                next_at = None if done else int((now + after).timestamp()) + 1
                plan.nudge.append(Nudge(item, payload, next_at))
            else:
                since = max(started, last) if last else started
                when = max(int((since + after).timestamp()) + 1, ts + 60)
                plan.later.append((item.user_pk, item.step_id, when))
        return plan
