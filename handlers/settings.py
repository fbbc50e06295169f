"""Settings: language, profile edits, stopping proactive messages, and erasing one's data."""

from __future__ import annotations

import logging

from telegram import ReplyKeyboardRemove

from handlers import milestones, profile, staff
from handlers.keyboards import leave_question
from handlers.registry import Flow, Registry
from handlers.start import LANG_BUTTONS
from handlers.turn import Turn, inline

log = logging.getLogger(__name__)


async def show(turn: Turn) -> None:
    """Menu → Settings."""
    proactive = (
        (turn.t("settings.btn_stop"), "set:stop")
        if turn.user.proactive
        else (turn.t("settings.btn_resume"), "set:resume")
    )
    rows = [
        [(turn.t("settings.btn_language"), "set:lang")],
        [(turn.t("settings.btn_profile"), "set:profile")],
        [(turn.t("settings.btn_dates"), "set:dates")],
        [proactive],
        [(turn.t("settings.btn_delete"), "set:delete")],
    ]
    state = turn.t("settings.state_on") if turn.user.proactive else turn.t("settings.state_off")
    await turn.say(turn.t("settings.title", state=state), inline(rows))


async def on_button(turn: Turn, args: list[str]) -> None:
    """A Settings button."""
    action = args[0] if len(args) == 1 else ""
    if action == "lang":
        await turn.ack()
        await turn.say(turn.t("start.choose_language"), inline(LANG_BUTTONS))
    elif action == "profile":
        await turn.ack()
        if turn.user.profile_done:
            await profile.show_edit_menu(turn)
        else:
            await profile.resume(turn)
    elif action == "dates":
        await turn.ack()
        await edit_dates(turn)
    elif action == "stop":
        await turn.ack()
        await stop(turn)
    elif action == "resume":
        await turn.ack()
        await resume(turn)
    elif action == "delete":
        await turn.ack()
        await ask_delete(turn)
    else:
        await turn.router.stale(turn)


async def edit_dates(turn: Turn) -> None:
    """Settings → Dates: each milestone date the person has, or whose step is done, or that
    their stage implies, asked again with what is recorded (kept unless they change it)."""
    from bot.rules.followup import MILESTONE_COLUMNS, STAGE_MILESTONES
    progress = await turn.svc.steps.progress(turn.user.id)
    implied = STAGE_MILESTONES.get(turn.user.stage or "", ())
    wanted = []
    for milestone, column in MILESTONE_COLUMNS.items():
        step = turn.svc.content.milestone_step(milestone)
        done = step is not None and step.id in progress and progress[step.id].done
        if getattr(turn.user, column) or done or milestone in implied:
            wanted.append(milestone)
    if not wanted:
        await turn.say(turn.t("settings.no_dates"))
        return
    if await milestones.begin(turn, tuple(wanted), mode=milestones.CORRECT):
        await milestones.ask(turn)


async def stop(turn: Turn) -> None:
    """/stop: no more proactive messages until /start."""
    await turn.save(proactive=0)
    await turn.say(turn.t("settings.stopped"))


async def resume(turn: Turn) -> None:
    """Resume proactive messages."""
    await turn.save(proactive=1, unreachable_at=None)
    await turn.say(turn.t("settings.resumed"))


async def ask_delete(turn: Turn) -> None:
    """/delete: ask for confirmation first (admins from the settings are told why they cannot)."""
    if staff.configured_admin(turn):
        await turn.say(turn.t("delete.admin_refused"))
        return
    if not turn.user.stored and not await staff.has_role(turn):
        await staff.forget_attempts(turn)  # a refused staff command is all we could hold
        await turn.say(turn.t("delete.nothing_stored"))
        await turn.router.ask_current(turn)
        return
    await leave_question(turn)
    await turn.set_state("delete")
    await ask(turn)


async def ask(turn: Turn) -> None:
    """The confirmation question; staff are told they leave the staff too."""
    rows = [[(turn.t("delete.yes"), "del:yes")], [(turn.t("delete.no"), "del:no")]]
    text = turn.t("delete.confirm")
    if await staff.has_role(turn):
        text += "\n\n" + turn.t("delete.staff_note")
    await turn.say(text, inline(rows))


async def on_text(turn: Turn, text: str) -> None:
    """Typed text while confirming: the buttons decide."""
    await turn.say(turn.t("errors.use_buttons"))
    await ask(turn)


async def on_confirm(turn: Turn, args: list[str]) -> None:
    """Erase everything, or keep it; only while the question is open."""
    router = turn.router
    if turn.user.state != "delete" or args not in (["yes"], ["no"]):
        await router.stale(turn)
        return
    await turn.ack()
    if args == ["no"]:
        await turn.clear_state()
        await turn.say(turn.t("delete.kept"))
        await router.ask_current(turn)
        return
    if staff.configured_admin(turn):  # named in HOMEBIZ_ADMINS since the question was asked
        await turn.clear_state()
        await turn.say(turn.t("delete.admin_refused"))
        return
    progress = await turn.svc.steps.progress(turn.user.id)
    steps = sum(1 for p in progress.values() if p.done_at)
    await router.reg.emit("before_delete", turn)
    if not await turn.svc.users.delete(turn.user):
        log.warning("/delete: a reader held the WAL; old page images stay until it checkpoints")
    await turn.say(turn.t("delete.done", steps=steps), ReplyKeyboardRemove())


def register(reg: Registry) -> None:
    """Add Settings, /stop, /delete and /language."""
    reg.flow("delete", Flow(ask=ask, on_text=on_text))
    reg.callback("set", on_button)
    reg.callback("del", on_confirm)
    reg.menu["menu.settings"] = show
    reg.commands["stop"] = stop
    reg.commands["delete"] = ask_delete
    reg.commands["settings"] = show
    reg.commands["language"] = lambda turn: on_button(turn, ["lang"])
