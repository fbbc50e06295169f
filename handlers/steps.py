"""The steps in two tracks, permit then loan: one card per step (Done / Help / Back / Next), the
list of all steps, and My progress."""

from __future__ import annotations

import datetime as dt

from bot.content.model import TRACKS, Step
from bot.core.jalali import format_date, tehran_today
from bot.core.text import localize_digits, progress_bar
from bot.repo.checkins import CheckinRepo
from bot.repo.steps import StepProgress
from bot.rules.stages import reached_by_step
from handlers import profile, stage
from handlers.contact import contact_text
from handlers.registry import Registry
from handlers.turn import Turn, inline

Progress = dict[str, StepProgress]


def _applicable(turn: Turn) -> list[Step]:
    """The steps for the person's field, in order (the permit track, then the loan track)."""
    return turn.svc.content.steps_for(turn.user.field)


def _done(progress: Progress, step: Step) -> bool:
    """Whether a step is done."""
    return step.id in progress and progress[step.id].done


def _day(turn: Turn, record: StepProgress) -> str | None:
    """The day a step was done, in the person's calendar and digits (None: not known)."""
    if not record.done_on:
        return None
    return format_date(dt.date.fromisoformat(record.done_on), turn.lang)


def next_step(steps: list[Step], progress: Progress) -> Step | None:
    """The first step not yet done."""
    return next((s for s in steps if not _done(progress, s)), None)


def _track(steps: list[Step], step: Step) -> list[Step]:
    """The steps of the track a step belongs to."""
    return [s for s in steps if s.track == step.track]


def card_text(turn: Turn, step: Step, steps: list[Step], progress: Progress) -> str:
    """A step's card: its track and place in it, what, where, documents, how long, and when
    it was done."""
    lang = turn.lang
    track = _track(steps, step)
    lines = [
        turn.t(
            "steps.header",
            track=turn.t(f"tracks.{step.track}"),
            n=track.index(step) + 1,
            total=len(track),
            title=step.title.get(lang),
        ),
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
    if record and record.done:
        day = _day(turn, record)
        lines.append("")
        lines.append(turn.t("steps.done_on", date=day) if day else turn.t("steps.done_undated"))
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
    turn: Turn, step: Step, *, edit: bool, progress: Progress | None = None
) -> None:
    """Show (or update in place) one step's card and note that the person reached it."""
    await turn.svc.steps.start(turn.user.id, step.id, turn.now)
    steps = _applicable(turn)
    if progress is None:
        progress = await turn.svc.steps.progress(turn.user.id)
    markup = inline(card_buttons(turn, step, steps, _done(progress, step)))
    text = card_text(turn, step, steps, progress)
    if edit:
        await turn.edit_or_say(text, markup)
    else:
        await turn.say(text, markup)


async def _needs_profile(turn: Turn) -> bool:
    """Steps depend on the field: without a finished profile, say so and continue it."""
    if turn.user.profile_done:
        return False
    await turn.say(turn.t("menu.profile_incomplete"))
    await profile.resume(turn)
    return True


async def show_next(turn: Turn) -> None:
    """The card of the next step to do (a new message), or that every step is done."""
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    step = next_step(steps, progress)
    if step is None:
        await turn.say(turn.t("steps.all_done"), inline([[(turn.t("steps.btn_list"), "st:list")]]))
        return
    await _show_card(turn, step, edit=False, progress=progress)


async def show_steps(turn: Turn) -> None:
    """Menu → Steps: the card of the next step to do."""
    if await _needs_profile(turn):
        return
    await show_next(turn)


def _list_label(turn: Turn, step: Step, track: list[Step], progress: Progress) -> str:
    """One step in the list: done or not, its track and number in it, its title."""
    label = turn.t(
        "steps.list_item",
        mark="✅" if _done(progress, step) else "⬜️",
        track=turn.t(f"tracks.{step.track}_short"),
        n=localize_digits(str(track.index(step) + 1), turn.lang),
        title=step.title.get(turn.lang),
    )
    return label[:60]


async def show_list(turn: Turn) -> None:
    """Every step as a button with its state, the permit steps then the loan steps."""
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    lines = [turn.t("steps.list_title")]
    rows = []
    for name in TRACKS:
        track = [s for s in steps if s.track == name]
        done = sum(1 for s in track if _done(progress, s))
        lines.append(
            turn.t("steps.list_track", track=turn.t(f"tracks.{name}"), done=done, total=len(track))
        )
        rows += [[(_list_label(turn, s, track, progress), f"st:show:{s.id}")] for s in track]
    await turn.edit_or_say("\n".join(lines), inline(rows))


async def _done_pressed(turn: Turn, step: Step, steps: list[Step]) -> None:
    """Done: recorded today; a milestone step asks its date first, others show the next card."""
    today = tehran_today(turn.svc.clock.now()).isoformat()
    changed = await turn.svc.steps.mark_done(turn.user.id, step.id, turn.now, today)
    await turn.ack(turn.t("steps.marked_done") if changed else turn.t("steps.already_done"))
    if changed and step.milestone:  # its date (which moves the stage), then the next card
        await turn.router.reg.emit("step_done", turn, step)
        return
    if changed:
        await stage.advance(turn, reached_by_step(step))
    progress = await turn.svc.steps.progress(turn.user.id)
    following = next_step(steps, progress)
    if following is None:
        await turn.edit_or_say(card_text(turn, step, steps, progress))
        await turn.say(turn.t("steps.all_done"))
    else:
        await _show_card(turn, following, edit=True, progress=progress)
    if changed:
        await turn.router.reg.emit("step_done", turn, step)


async def _undo_pressed(turn: Turn, step: Step) -> None:
    """Not done yet: the step (and a milestone step's date) is cleared; check-ins re-planned."""
    from bot.repo.checkins import CheckinRepo
    from bot.roster.linking import official_columns
    from bot.rules.followup import MILESTONE_COLUMNS, plan, policy_from
    from handlers.roster_link import official_note

    column = MILESTONE_COLUMNS.get(step.milestone or "")
    official = await official_columns(turn.svc.db, turn.user.id) if column else frozenset()
    if column in official:  # the programme's list says it is done, on its date
        await turn.ack()
        await official_note(turn, official)
        return
    dated = column is not None and getattr(turn.user, column) is not None
    await turn.svc.steps.undo(turn.user.id, step.id, turn.now, column)
    if column is not None and dated:
        setattr(turn.user, column, None)
        policy = policy_from(turn.svc.content.schedule)
        await plan(CheckinRepo(turn.svc.db), turn.user, policy, turn.svc.clock.now())
        await turn.ack(turn.t("steps.undone_date"))
    else:
        await turn.ack(turn.t("steps.undone"))
    await _show_card(turn, step, edit=True)
    await turn.router.reg.emit("step_undone", turn, step)


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
        await _done_pressed(turn, step, steps)
    elif action == "undo":
        await _undo_pressed(turn, step)
    elif action == "help":
        await _help(turn, step)
    else:
        await router.stale(turn)


async def _help(turn: Turn, step: Step) -> None:
    """"I need help": the step's help, the contact, and what the staff will do (filed once)."""
    await turn.svc.steps.mark_help(turn.user.id, step.id, turn.now)
    await turn.ack()
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


def _progress_lines(turn: Turn, track: list[Step], progress: Progress) -> list[str]:
    """One track on the progress page: its name, a bar, and each step with its day."""
    done = sum(1 for s in track if _done(progress, s))
    name = track[0].track if track else TRACKS[0]
    lines = [
        turn.t(f"tracks.{name}"),
        turn.t("progress.bar", bar=progress_bar(done, len(track)), done=done, total=len(track)),
    ]
    for step in track:
        title = step.title.get(turn.lang)
        record = progress.get(step.id)
        if record and record.done:
            day = _day(turn, record)
            if day:
                lines.append(turn.t("progress.done_line", title=title, date=day))
            else:
                lines.append(turn.t("progress.done_undated", title=title))
        else:
            lines.append(turn.t("progress.todo_line", title=title))
    return lines


async def show_progress(turn: Turn) -> None:
    """Menu → My progress: each track with a bar and the days steps were done, and the single
    next action."""
    if await _needs_profile(turn):
        return
    steps = _applicable(turn)
    progress = await turn.svc.steps.progress(turn.user.id)
    lines = [turn.t("progress.title")]
    for name in TRACKS:
        track = [s for s in steps if s.track == name]
        if track:
            lines += ["", *_progress_lines(turn, track, progress)]
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
