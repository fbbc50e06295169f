"""The sweep: ask the database who is due, open rounds, remind, expire and nudge via the outbox."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from bot.followup import anchor_of, policy_from
from bot.repo.checkins import CheckinRepo, OpenRound, StuckStep
from bot.schedule import (
    allowed_send_time,
    in_quiet_hours,
    next_checkin_due,
    no_answer_at,
    nudge_due,
    reminder_due,
    reminder_times,
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
            await self.repo.expire(item, ts, self._next_after(item, now))
            report.expired += 1
        elif reminder_due(
            sent_at=sent_at, reminders_sent=item.reminders_sent, now=now, policy=self.policy
        ):
            if quiet:
                later = allowed_send_time(now, policy=self.policy)
                await self.repo.postpone(item.round_id, int(later.timestamp()))
                return
            payload = checkin_payload(self.svc, item.lang, "checkin.reminder")
            await self.repo.remind(
                item, payload, ts, self._after_sending(sent_at, item.reminders_sent + 1)
            )
            report.reminders += 1
        else:
            await self.repo.postpone(
                item.round_id, self._after_sending(sent_at, item.reminders_sent)
            )

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
                    await self.repo.nudge(item, payload, ts, next_at)
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
                await self.repo.set_nudge_at(later)
            if len(items) < self.batch:
                return
