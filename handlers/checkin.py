"""The check-in conversation, answered from its own buttons whatever else the person is doing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.jalali import format_date, tehran_today
from bot.core.labels import STAFF_COUNTS, staff_count_label
from bot.core.text import parse_id
from bot.core.validators import ValidationError, parse_jalali_date
from bot.repo.checkins import CheckinRepo, Round
from bot.rules.followup import plan, policy_from
from handlers import stage
from handlers.contact import contact_text
from handlers.keyboards import main_keyboard
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline, reply_keyboard

STATUS = {"op": "operating", "pr": "problems", "pa": "paused", "cl": "closed"}
RESUME_MONTHS = ("1", "3", "6")
MAX_NOTE = 1000


async def _resume(turn: Turn) -> None:
    """Ask the question the person was at before the check-in, if there was one."""
    if turn.user.state:
        await turn.router.ask_current(turn)


def _repo(turn: Turn) -> CheckinRepo:
    """The check-in repository."""
    return CheckinRepo(turn.svc.db)


async def on_button(turn: Turn, args: list[str]) -> None:
    """ci:<round>:<answer>[:<detail>] — any stale, foreign or forged data gets a clear answer."""
    router = turn.router
    round_id = parse_id(args[0]) if len(args) >= 2 else None
    if round_id is None:
        await router.stale(turn)
        return
    rnd = await _repo(turn).get_round(round_id)
    if rnd is None or rnd.user_pk != turn.user.id:
        await _expired(turn)
        return
    if args[1] in STATUS and len(args) == 2:
        await _first_answer(turn, rnd, STATUS[args[1]])
    elif len(args) == 3 and args[1] in DETAIL_ACTIONS:
        answer = await _repo(turn).round_answer(rnd.id)
        if answer is None or answer[1] != DETAIL_ACTIONS[args[1]][0]:
            await _expired(turn)
            return
        await DETAIL_ACTIONS[args[1]][1](turn, rnd, answer[0], args[2])
    else:
        await router.stale(turn)


async def _expired(turn: Turn) -> None:
    """A button of a round that is gone, closed without answer, or someone else's."""
    await turn.ack()
    await turn.say(turn.t("checkin.expired"))
    await _resume(turn)


async def _first_answer(turn: Turn, rnd: Round, status: str) -> None:
    """The main answer: record it once (a running business moves the stage to operating),
    then ask its follow-up question."""
    answer_id = await _repo(turn).answer(rnd.id, turn.user.id, status, {}, turn.now)
    if answer_id is not None and status in ("operating", "problems"):
        await stage.advance(turn, "operating")
    if answer_id is None:
        await turn.ack()
        previous = await _repo(turn).round_answer(rnd.id)
        if previous is not None and previous[1] != "no_answer":
            when = dt.datetime.fromtimestamp(previous[3], dt.UTC)
            await turn.say(turn.t("checkin.already", date=format_date(when, turn.lang)))
        else:
            await turn.say(turn.t("checkin.expired"))
        return
    await turn.ack(turn.t("checkin.recorded"))
    await turn.edit_or_say(
        turn.t("checkin.question") + "\n✔️ " + turn.t(f"checkin.btn_{_code(status)}")
    )
    if status == "operating":
        rows = [
            [
                (staff_count_label(n, turn.lang), f"ci:{rnd.id}:staff:{n}")
                for n in STAFF_COUNTS
            ],
            [(turn.t("buttons.skip"), f"ci:{rnd.id}:staff:skip")],
        ]
        await turn.say(turn.t("checkin.ask_staff"), inline(rows))
    elif status == "problems":
        rows = [
            [(c.label.get(turn.lang), f"ci:{rnd.id}:prob:{c.id}")]
            for c in turn.svc.content.checkin.problems
        ]
        await turn.say(turn.t("checkin.ask_problem"), inline(rows))
    elif status == "paused":
        rows = [
            [(c.label.get(turn.lang), f"ci:{rnd.id}:pause:{c.id}")]
            for c in turn.svc.content.checkin.pause_reasons
        ]
        await turn.say(turn.t("checkin.ask_pause"), inline(rows))
    else:
        await _repo(turn).set_next(turn.user.id, None, closed=True)
        rows = [
            [(c.label.get(turn.lang), f"ci:{rnd.id}:closed:{c.id}")]
            for c in turn.svc.content.checkin.closed_reasons
        ]
        await turn.say(turn.t("checkin.ask_closed"), inline(rows))


def _code(status: str) -> str:
    """The button code of a status."""
    return next(code for code, name in STATUS.items() if name == status)


async def _plan_next(turn: Turn, rnd: Round, *, paused_until: dt.date | None = None) -> str:
    """Plan the round after this one and say when it is."""
    due = await plan(
        _repo(turn),
        turn.user,
        policy_from(turn.svc.content.schedule),
        turn.svc.clock.now(),
        last_round_due=dt.datetime.fromtimestamp(rnd.due_at, dt.UTC),
        paused_until=paused_until,
    )
    return turn.t("checkin.next", date=format_date(due, turn.lang)) if due else ""


async def _staff(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """How many people work in it (optional), then the sales band."""
    if value != "skip" and value not in STAFF_COUNTS:
        await turn.router.stale(turn)
        return
    await turn.ack()
    if value != "skip":
        await _repo(turn).add_detail(answer_id, {"staff": int(value)})
    rows = [
        [(c.label.get(turn.lang), f"ci:{rnd.id}:sales:{c.id}")]
        for c in turn.svc.content.checkin.sales_bands
    ]
    await turn.edit_or_say(turn.t("checkin.ask_sales"), inline(rows))


async def _sales(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """The monthly sales band, then thanks and the next date."""
    band = turn.svc.content.sales_band(value)
    if band is None:
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _repo(turn).add_detail(answer_id, {"sales": band.id})
    nxt = await _plan_next(turn, rnd)
    await turn.edit_or_say(turn.t("checkin.thanks_operating") + "\n" + nxt)
    await _resume(turn)


async def _problem(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """Which problem: its help text, a staff follow-up, and (for "other") a note."""
    problem = turn.svc.content.problem(value)
    if problem is None:
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _repo(turn).add_detail(answer_id, {"problem": problem.id})
    await _repo(turn).add_followup(
        turn.user.id, "problems", {"round": rnd.id, "problem": problem.id}, turn.now
    )
    nxt = await _plan_next(turn, rnd)
    help_text = problem.help.get(turn.lang) if problem.help else ""
    await turn.edit_or_say(
        f"{problem.label.get(turn.lang)}\n\n{help_text}\n\n{turn.t('checkin.staff_will_call')}\n{nxt}"
    )
    if problem.id == "other":
        await _enter_note(turn, answer_id)
    else:
        await _resume(turn)


async def _enter_note(turn: Turn, answer_id: int) -> None:
    """Wait for a free-text description, remembering where the person was."""
    await turn.detour("cinote", answer=answer_id)
    await ask_note(turn)


async def ask_note(turn: Turn) -> None:
    """Ask for the free-text description of the problem (its keyboard: «رد شدن»)."""
    await turn.say(turn.t("checkin.ask_note"), reply_keyboard([[turn.t("buttons.skip")]]))


async def on_note(turn: Turn, text: str) -> None:
    """Store the description (trimmed to a sane length) and go back; «رد شدن» skips it."""
    if text in turn.svc.i18n.variants("buttons.skip"):
        await _return(turn, turn.t("checkin.note_skipped"))
        return
    answer_id = int(turn.user.state_data.get("answer", 0))
    await _repo(turn).add_detail(answer_id, {"note": text[:MAX_NOTE]})
    await _return(turn, turn.t("checkin.note_saved"))


async def on_note_skip(turn: Turn, args: list[str]) -> None:
    """The inline «skip» of note questions sent before they had their own keyboard."""
    if turn.user.state != "cinote":
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _return(turn, turn.t("checkin.note_skipped"))


async def _return(turn: Turn, text: str) -> None:
    """Say ``text`` and go back to the conversation the check-in interrupted: its question
    again (with its keyboard), or the main keyboard in place of the check-in question's."""
    await turn.end_detour()
    if turn.user.state:
        await turn.say(text)
        await turn.router.ask_current(turn)
    else:
        await turn.say(text, main_keyboard(turn))


async def _pause(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """Why paused, then when they expect to restart."""
    reason = turn.svc.content.pause_reason(value)
    if reason is None:
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _repo(turn).add_detail(answer_id, {"reason": reason.id})
    await turn.edit_or_say(turn.t("checkin.ask_pause") + "\n✔️ " + reason.label.get(turn.lang))
    await turn.detour("cidate", round=rnd.id, answer=answer_id)
    await ask_date(turn)


async def _resume_in(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """A restart in N months."""
    if value not in RESUME_MONTHS:
        await turn.router.stale(turn)
        return
    await turn.ack()
    day = tehran_today(turn.svc.clock.now()) + dt.timedelta(days=30 * int(value))
    await _paused_until(turn, rnd, answer_id, day)


async def _paused_until(turn: Turn, rnd: Round, answer_id: int, day: dt.date) -> None:
    """Record the restart date; the next round moves to it."""
    await _repo(turn).add_detail(answer_id, {"restart": day.isoformat()})
    nxt = await _plan_next(turn, rnd, paused_until=day)
    help_text = turn.svc.content.checkin.paused_help.get(turn.lang)
    text = f"{turn.t('checkin.thanks_paused')}\n{help_text}\n{nxt}"
    if turn.user.state == "cidate":
        await _return(turn, text)
    else:
        await turn.say(text)


async def ask_date(turn: Turn) -> None:
    """Ask the restart date: typed, or «in about N months» from its keyboard."""
    rows = [[turn.t(f"checkin.in_{m}_months")] for m in RESUME_MONTHS]
    await turn.say(turn.t("checkin.ask_restart"), reply_keyboard(rows))


async def on_date(turn: Turn, text: str) -> None:
    """A restart date: «in about N months», or typed (today or later, Solar Hijri, any digits)."""
    rnd = await _repo(turn).get_round(int(turn.user.state_data.get("round", 0)))
    if rnd is None:
        await _return(turn, turn.t("checkin.expired"))
        return
    answer_id = int(turn.user.state_data.get("answer", 0))
    months = next(
        (m for m in RESUME_MONTHS if text in turn.svc.i18n.variants(f"checkin.in_{m}_months")), None
    )
    today = tehran_today(turn.svc.clock.now())
    if months is not None:
        await _paused_until(turn, rnd, answer_id, today + dt.timedelta(days=30 * int(months)))
        return
    try:
        day = parse_jalali_date(text, today=today + dt.timedelta(days=3650))
    except ValidationError as exc:
        await turn.say(turn.t(f"validation.{exc.code}"))
        await ask_date(turn)
        return
    if day < today:
        await turn.say(turn.t("checkin.restart_past"))
        await ask_date(turn)
        return
    await _paused_until(turn, rnd, answer_id, day)


async def _closed(turn: Turn, rnd: Round, answer_id: int, value: str) -> None:
    """Why it closed: a kind answer, where to get help, a staff follow-up; check-ins stop."""
    reason = turn.svc.content.closed_reason(value)
    if reason is None:
        await turn.router.stale(turn)
        return
    await turn.ack()
    await _repo(turn).add_detail(answer_id, {"reason": reason.id})
    await _repo(turn).add_followup(
        turn.user.id, "closed", {"round": rnd.id, "reason": reason.id}, turn.now
    )
    text = turn.svc.content.checkin.closed_help.get(turn.lang)
    await turn.edit_or_say(f"{turn.t('checkin.thanks_closed')}\n\n{text}\n\n{contact_text(turn)}")
    await _resume(turn)


DETAIL_ACTIONS: dict[str, tuple[str, Any]] = {
    "staff": ("operating", _staff),
    "sales": ("operating", _sales),
    "prob": ("problems", _problem),
    "pause": ("paused", _pause),
    "resume": ("paused", _resume_in),
    "closed": ("closed", _closed),
}


def register(reg: Registry) -> None:
    """Add the check-in buttons and its two free-text questions."""
    reg.callback("ci", on_button)
    reg.callback("cinote", on_note_skip)
    reg.flow("cinote", Flow(ask=ask_note, on_text=on_note))
    reg.flow("cidate", Flow(ask=ask_date, on_text=on_date))
