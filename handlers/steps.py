"""The permit steps: one card per step with Done / Help / Back / Next, and My progress."""

from __future__ import annotations

import datetime as dt

from bot.content import Step
from bot.jalali import format_date
from bot.repo.checkins import CheckinRepo
from bot.repo.steps import StepProgress
from bot.text import localize_digits, progress_bar
from handlers.registry import Registry
from handlers.turn import Turn, inline


def _applicable(turn: Turn) -> list[Step]:
    """The steps for the person's field, in order."""
    return turn.svc.content.steps_for(turn.user.field)


def _date(turn: Turn, ts: int) -> str:
    """A stored time as a Solar Hijri date in the person's digits."""
    return format_date(dt.datetime.fromtimestamp(ts, dt.UTC), turn.lang)


def next_step(steps: list[Step], progress: dict[str, StepProgress]) -> Step | None:
    """The first step not yet done."""
    return next((s for s in steps if not (s.id in progress and progress[s.id].done_at)), None)


def card_text(turn: Turn, step: Step, steps: list[Step], progress: dict[str, StepProgress]) -> str:
    """A step's card: what, where, documents, how long, and whether it is done."""
    lang = turn.lang
    index = steps.index(step) + 1
    lines = [
        turn.t("steps.header", n=index, total=len(steps), title=step.title.get(lang)),
        "",
        step.what.get(lang),
        "",
        turn.t("steps.where", where=step.where.get(lang)),
    ]
    documents = step.documents.get(lang)
    if documents:
        lines.append(turn.t("steps.documents"))
        lines.extend(f"  • {d}" for d in documents)
    lines.append(turn.t("steps.duration", duration=step.duration.get(lang)))
    if step.only_for:
        lines.append(turn.t("steps.extra"))
    record = progress.get(step.id)
    if record and record.done_at:
        lines.append("")
        lines.append(turn.t("steps.done_on", date=_date(turn, record.done_at)))
    return "\n".join(lines)


def card_buttons(
    turn: Turn, step: Step, steps: list[Step], done: bool
) -> list[list[tuple[str, str]]]:
    """Done ✓ · I need help · Back · Next, and the list."""
    index = steps.index(step)
    first = (
        [(turn.t("steps.btn_undo"), f"st:undo:{step.id}")]
        if done
        else [(turn.t("steps.btn_done"), f"st:done:{step.id}")]
    )
    first.append((turn.t("steps.btn_help"), f"st:help:{step.id}"))
    nav = []
    if index > 0:
        nav.append((turn.t("steps.btn_back"), f"st:show:{steps[index - 1].id}"))
    if index + 1 < len(steps):
        nav.append((turn.t("steps.btn_next"), f"st:show:{steps[index + 1].id}"))
    rows = [first]
    if nav:
        rows.append(nav)
    rows.append([(turn.t("steps.btn_list"), "st:list")])
    return rows


async def _show_card(
    turn: Turn, step: Step, *, edit: bool, progress: dict[str, StepProgress] | None = None
) -> None:
    """Show (or update in place) one step's card and note that the person reached it."""
    await turn.svc.steps.start(turn.user.id, step.id, turn.now)
    steps = _applicable(turn)
    if progress is None:
        progress = await turn.svc.steps.progress(turn.user.id)
    done = bool(progress.get(step.id) and progress[step.id].done_at)
    markup = inline(card_buttons(turn, step, steps, done))
    text = card_text(turn, step, steps, progress)
    if edit:
        await turn.edit_or_say(text, markup)
    else:
        await turn.say(text, markup)


async def _needs_profile(turn: Turn) -> bool:
    """Steps depend on the field: without a finished profile, say so and continue it."""
    if turn.user.profile_done:
        return False
    from handlers import profile

    await turn.say(turn.t("menu.profile_incomplete"))
    await profile.resume(turn)
    return True


async def show_steps(turn: Turn) -> None:
    """Menu → Permit steps: the card of the next step to do."""
    if await _needs_profile(turn):
        return
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    step = next_step(steps, progress)
    if step is None:
        await turn.say(turn.t("steps.all_done"), inline([[(turn.t("steps.btn_list"), "st:list")]]))
        return
    await _show_card(turn, step, edit=False, progress=progress)


async def show_list(turn: Turn) -> None:
    """Every step as a button with its state."""
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    rows = []
    for i, step in enumerate(steps, 1):
        mark = "✅" if step.id in progress and progress[step.id].done_at else "⬜️"
        label = f"{mark} {localize_digits(str(i), turn.lang)}. {step.title.get(turn.lang)}"
        rows.append([(label[:60], f"st:show:{step.id}")])
    await turn.edit_or_say(turn.t("steps.list_title"), inline(rows))


async def on_button(turn: Turn, args: list[str]) -> None:
    """st:<action>:<step id> from a card (old cards keep working; unknown ids are stale)."""
    router = turn.router
    if not turn.user.profile_done:
        await turn.ack()
        await _needs_profile(turn)
        return
    if args == ["list"]:
        await turn.ack()
        await show_list(turn)
        return
    steps = _applicable(turn)
    step = next((s for s in steps if len(args) == 2 and s.id == args[1]), None)
    if step is None:
        await router.stale(turn)
        return
    action = args[0]
    if action == "show":
        await turn.ack()
        await _show_card(turn, step, edit=True)
    elif action == "done":
        changed = await turn.svc.steps.mark_done(turn.user.id, step.id, turn.now)
        await turn.ack(turn.t("steps.marked_done") if changed else turn.t("steps.already_done"))
        progress = await turn.svc.steps.progress(turn.user.id)
        following = next_step(steps, progress)
        if following is None:
            await turn.edit_or_say(card_text(turn, step, steps, progress))
            await turn.say(turn.t("steps.all_done"))
        else:
            await _show_card(turn, following, edit=True, progress=progress)
        if changed:
            await router.reg.emit("step_done", turn, step)
    elif action == "undo":
        await turn.svc.steps.undo(turn.user.id, step.id, turn.now)
        await turn.ack(turn.t("steps.undone"))
        await _show_card(turn, step, edit=True)
    elif action == "help":
        await _help(turn, step)
    else:
        await router.stale(turn)


async def _help(turn: Turn, step: Step) -> None:
    """"I need help": the step's help, the contact, and what the staff will do (filed once)."""
    await turn.svc.steps.mark_help(turn.user.id, step.id, turn.now)
    await turn.ack()
    from handlers.menu import contact_text

    pending = await CheckinRepo(turn.svc.db).step_help_pending(turn.user.id, step.id)
    filed = turn.t("steps.help_already" if pending else "steps.help_filed")
    await turn.say(
        turn.t("steps.help_intro", title=step.title.get(turn.lang))
        + "\n\n"
        + step.help.get(turn.lang)
        + "\n\n"
        + contact_text(turn)
        + "\n\n"
        + filed
        + " "
        + turn.svc.content.contact.followup.get(turn.lang)
    )
    if not pending:
        await turn.router.reg.emit("step_help", turn, step)  # handlers.milestones files it


async def show_progress(turn: Turn) -> None:
    """Menu → My progress: a bar, the dates steps were done, and the single next action."""
    if await _needs_profile(turn):
        return
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    done = [s for s in steps if s.id in progress and progress[s.id].done_at]
    bar = progress_bar(len(done), len(steps))
    lines = [
        turn.t("progress.title"),
        turn.t("progress.bar", bar=bar, done=len(done), total=len(steps)),
        "",
    ]
    for step in steps:
        record = progress.get(step.id)
        if record and record.done_at:
            lines.append(
                turn.t(
                    "progress.done_line",
                    title=step.title.get(turn.lang),
                    date=_date(turn, record.done_at),
                )
            )
        else:
            lines.append(turn.t("progress.todo_line", title=step.title.get(turn.lang)))
    following = next_step(steps, progress)
    lines.append("")
    if following is None:
        lines.append(turn.t("progress.finished"))
        await turn.say("\n".join(lines))
    else:
        lines.append(turn.t("progress.next", title=following.title.get(turn.lang)))
        button = [[(turn.t("progress.open_next"), f"st:show:{following.id}")]]
        await turn.say("\n".join(lines), inline(button))


def register(reg: Registry) -> None:
    """Add the step cards and the progress page."""
    reg.callback("st", on_button)
    reg.menu["menu.steps"] = show_steps
    reg.menu["menu.progress"] = show_progress
    reg.commands["steps"] = show_steps
    reg.commands["progress"] = show_progress
