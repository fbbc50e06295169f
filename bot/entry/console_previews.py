"""Console previews of what the bot sends on its own: a check-in, a reminder, a nudge.

Each is built by the scheduler's own functions (scheduler.planner.checkin_payload and
nudge_payload), queued through the same repository calls the sweep makes and delivered by
the real outbox sender, so the console shows exactly what the person would get, and its
buttons work: a previewed check-in opens a real round for the console user.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot

from bot.entry.services import Services
from bot.messengers.pacer import Limits, Pacer
from bot.repo.checkins import CheckinRepo, DuePerson, OpenRound, Reminder, StuckStep
from bot.repo.outbox import OutboxRepo
from bot.repo.users import User
from scheduler.outbox import OutboxSender
from scheduler.planner import checkin_payload, nudge_payload

__all__ = ["PREVIEW_HELP", "Preview"]

PREVIEW_HELP = (
    ":checkin  a check-in question, as the sweep sends it (its buttons record an answer)\n"
    ":reminder  the reminder of the open check-in (one is opened first if none is)\n"
    ":nudge [STEP]  the nudge for a permit step: its number in the person's list or its id;\n"
    "          without STEP, the list\n"
    ":buttons  number the buttons of recent messages again\n"
    ":help  this list"
)


@dataclass
class Preview:
    """Queues previews for one console user and delivers them through the outbox sender."""

    svc: Services
    bot: Bot
    platform: str

    async def _deliver(self) -> None:
        """Send what the outbox holds for this platform now, as the running bot would."""
        sender = OutboxSender(
            self.bot,
            OutboxRepo(self.svc.db),
            self.platform,
            self.svc.clock,
            pacer=Pacer(Limits.unlimited()),
        )
        await sender.drain_once()

    def _now(self) -> int:
        """The clock's time in Unix seconds."""
        return int(self.svc.clock.now().timestamp())

    async def checkin(self, user: User) -> str | None:
        """Open a check-in round for the user and send its question; None, or why not."""
        now = self._now()
        person = DuePerson(user.id, user.platform, user.chat_id, user.lang, now)
        payload = checkin_payload(self.svc, user.lang, "checkin.question")
        await CheckinRepo(self.svc.db).open_rounds([person], now, [payload], now + 3 * 86400)
        await self._deliver()
        return None

    async def reminder(self, user: User) -> str | None:
        """Remind the user of their open round (opening one first if there is none)."""
        repo = CheckinRepo(self.svc.db)
        latest = await repo.latest_round(user.id)
        if latest is None or latest.status != "open":
            await self.checkin(user)
            latest = await repo.latest_round(user.id)
        assert latest is not None
        opened = OpenRound(
            latest.id, user.id, user.platform, user.chat_id, user.lang, latest.due_at,
            latest.sent_at, latest.reminders_sent, user.permit_on, user.loan_on,
            user.operating_since,
        )  # fmt: skip
        payload = checkin_payload(self.svc, user.lang, "checkin.reminder")
        now = self._now()
        await repo.remind_many([Reminder(opened, payload, now + 4 * 86400)], now)
        await self._deliver()
        return None

    def steps(self, user: User) -> str:
        """The person's permit steps, numbered as the bot numbers them."""
        steps = self.svc.content.steps_for(user.field)
        return "\n".join(
            f"{i}. {step.id} — {step.title.get(user.lang)}" for i, step in enumerate(steps, 1)
        )

    async def nudge(self, user: User, which: str) -> str | None:
        """Send the nudge for one step (by number in the person's list, or by id), queued as
        the sweep queues it but without counting a nudge on the person's own progress."""
        steps = self.svc.content.steps_for(user.field)
        step = next((s for s in steps if s.id == which), None)
        if step is None and which.isdigit() and 1 <= int(which) <= len(steps):
            step = steps[int(which) - 1]
        if step is None:
            return f"no step {which!r}; the steps are:\n{self.steps(user)}"
        now = self._now()
        stuck = StuckStep(
            user.id, user.platform, user.chat_id, user.lang, user.field, step.id,
            now - 7 * 86400, 0, None,
        )  # fmt: skip
        payload = nudge_payload(self.svc, stuck)
        assert payload is not None  # the step is in the content
        await OutboxRepo(self.svc.db).enqueue(
            platform=user.platform,
            chat_id=user.chat_id,
            user_pk=user.id,
            kind="nudge",
            payload=payload,
            not_before=now,
            now=now,
        )
        await self._deliver()
        return None
