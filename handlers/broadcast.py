"""/broadcast and /broadcasts: staff compose, target, preview, schedule and cancel broadcasts.

The rules (choices, county scope, limits, launch, cancel) are bot.staffdesk.broadcasts, shared
with the console's /broadcasts pages; this module is the conversation around them.

Conversation states: bc:content → bc:en → (bc:content_en) → bc:aud → bc:confirm → (bc:when)
→ bc:final. Buttons (all ≤ 64 bytes): bc:en:add|same, bc:a:<dim> (open a filter),
bc:a:<dim>:<value> (toggle), bc:ok, bc:all, bc:next, bc:now, bc:at, bc:pen (the English
preview), bc:aud, bc:yes, bc:back, bc:x (drop the draft) and bc:c:<id> (cancel a scheduled or
running broadcast, any time).
"""

from __future__ import annotations

from typing import Any

from bot.core.text import localize_digits, pair_rows, parse_id
from bot.core.validators import ValidationError
from bot.repo.audiences import AudienceRepo
from bot.repo.broadcasts import (
    CANCELLED,
    QUEUED,
    QUEUEING,
    SCHEDULED,
    BroadcastRepo,
    Draft,
    payload_for,
)
from bot.repo.outbox import Payload
from bot.repo.staff import StaffRepo
from bot.rules.scope import Scope
from bot.staffdesk import broadcasts as desk
from bot.staffdesk.broadcasts import MAX_CAPTION, MAX_TEXT
from handlers.keyboards import leave_question
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline
from scheduler.broadcasts import (
    BroadcastMonitor,
    cancel_markup,
    parse_when,
    show_cancelled,
    status_text,
    when_text,
)

TEXT_STEPS = ("content", "content_en", "when")


def _repo(turn: Turn) -> BroadcastRepo:
    """The broadcast repository."""
    return BroadcastRepo(turn.svc.db)


def _audiences(turn: Turn) -> AudienceRepo:
    """The audience counts."""
    return AudienceRepo(turn.svc.db)


def _monitor(turn: Turn) -> BroadcastMonitor | None:
    """The platform's broadcast monitor, where the bot runs one (not in ``homebiz chat``)."""
    proactive = turn.context.application.bot_data.get("proactive")
    return getattr(proactive, "broadcasts", None)


def _served(turn: Turn) -> list[str]:
    """The messengers this bot serves (the one it talks on when none is configured)."""
    return desk.served(turn.svc.settings, turn.platform)


async def _scope(turn: Turn) -> Scope:
    """The counties this staff member may reach."""
    return await StaffRepo(turn.svc.db).scope(turn.platform, turn.user.user_id)


async def _target(turn: Turn, data: dict[str, Any]) -> dict[str, list[str]]:
    """A draft's audience with its messengers said (every one served unless staff chose) and,
    for a county-scoped member, their counties."""
    scope = await _scope(turn)
    return desk.target(_aud(data, scope), _served(turn), scope)


def _dimensions(turn: Turn) -> list[str]:
    """The builder's filters (the messenger only where there is a choice)."""
    return desk.dimensions(_served(turn))


def _step(turn: Turn) -> str:
    """Where in the conversation the staff member is ("" outside it)."""
    state = turn.user.state
    return state.split(":", 1)[1] if state.startswith("bc:") and ":" in state else ""


def _data(turn: Turn) -> dict[str, Any]:
    """A copy of the draft kept in the state."""
    return dict(turn.user.state_data)


def _aud(data: dict[str, Any], scope: Scope) -> dict[str, list[str]]:
    """The audience filters of a draft (without counties out of the member's reach)."""
    return desk.reachable(dict(data.get("aud") or {}), scope)


async def _go(turn: Turn, step: str, data: dict[str, Any]) -> None:
    """Move to a step, keeping the draft."""
    await turn.set_state(f"bc:{step}", **data)


async def _stale(turn: Turn) -> None:
    """A button that does not fit where the staff member is."""
    await turn.router.stale(turn)


# --- content ----------------------------------------------------------------------------
async def cmd_broadcast(turn: Turn) -> None:
    """/broadcast: start a new draft."""
    await leave_question(turn)
    await turn.set_state("bc:content")
    await ask(turn)


def _length_error(turn: Turn, text: str, limit: int) -> str | None:
    """Why a text cannot be sent, or None."""
    problem = desk.text_problem(text, limit)
    return turn.t(problem[0], **problem[1]) if problem else None


async def on_text(turn: Turn, text: str) -> None:
    """Typed text: the message, its English version or the time; elsewhere the buttons decide."""
    step, data = _step(turn), _data(turn)
    media = bool(data.get("photo") or data.get("document"))
    if step in ("content", "content_en"):
        limit = MAX_CAPTION if step == "content_en" and media else MAX_TEXT
        error = _length_error(turn, text, limit)
        if error:
            await turn.say(error)
        elif step == "content":
            await _go(turn, "en", {"texts": {"fa": text}, "photo": None, "document": None})
        else:
            data["texts"] = {**data["texts"], "en": text}
            await _go(turn, "aud", data)
    elif step == "when":
        try:
            data["send_at"] = parse_when(text, turn.svc.clock.now())
        except ValidationError as exc:
            key = exc.code if exc.code.startswith("broadcast.") else f"validation.{exc.code}"
            await turn.say(turn.t(key if turn.svc.i18n.has(key) else "validation.datetime.format"))
        else:
            await _go(turn, "final", data)
    else:
        await turn.say(turn.t("errors.use_buttons"))
    await ask(turn)


async def on_media(turn: Turn) -> None:
    """A photo or document (with its caption) as the message; anything else is refused."""
    message = turn.update.effective_message
    step = _step(turn)
    if step != "content" or message is None:
        key = "broadcast.text_only" if step in TEXT_STEPS else "errors.use_buttons"
        await turn.say(turn.t(key))
    elif not (message.photo or message.document):
        await turn.say(turn.t("broadcast.media_only"))
    else:
        caption = message.caption or ""
        if caption.strip():
            error = _length_error(turn, caption, MAX_CAPTION)
        else:
            error = turn.t("broadcast.caption_needed")
        if error:
            await turn.say(error)
        else:
            photo = message.photo[-1].file_id if message.photo else None
            document = message.document.file_id if message.document and not photo else None
            data = {"texts": {"fa": caption}, "photo": photo, "document": document}
            await _go(turn, "en", data)
    await ask(turn)


async def ask(turn: Turn) -> None:
    """Ask the current step's question again."""
    step = _step(turn)
    if step == "en":
        rows = [[(turn.t("broadcast.btn_add_en"), "bc:en:add")]]
        rows.append([(turn.t("broadcast.btn_same"), "bc:en:same")])
        await turn.say(turn.t("broadcast.ask_en"), inline(rows))
    elif step == "aud":
        await _builder(turn, edit=False)
    elif step == "confirm":
        await _options(turn)
    elif step == "final":
        await _final(turn)
    elif step in ("content_en", "when"):
        await turn.say(turn.t(f"broadcast.ask_{step}"))
    else:
        if step != "content":
            await turn.set_state("bc:content")
        await turn.say(turn.t("broadcast.ask_content"))


# --- audience ---------------------------------------------------------------------------
def _values(turn: Turn, dim: str, scope: Scope) -> list[tuple[str, str]]:
    """The (id, label) choices of one audience dimension (the counties within reach)."""
    svc = turn.svc
    return desk.choices(svc.content, svc.i18n, turn.lang, dim, _served(turn), scope)


def _summary(turn: Turn, dim: str, chosen: list[str], scope: Scope) -> str:
    """A dimension's current choice in a few words."""
    if not chosen:
        return turn.t("broadcast.any")
    if len(chosen) > 2:
        return turn.t("broadcast.n_chosen", n=len(chosen))
    labels = dict(_values(turn, dim, scope))
    return ", ".join(labels.get(v, v) for v in chosen)


async def _builder(turn: Turn, *, edit: bool) -> None:
    """The audience builder: one button per dimension with its current choice, and the count."""
    scope = await _scope(turn)
    aud = _aud(turn.user.state_data, scope)
    count = await _audiences(turn).count(turn.platform, await _target(turn, turn.user.state_data))
    rows = [
        [
            (
                turn.t(
                    "broadcast.dim_button",
                    dim=turn.t(f"broadcast.dim.{dim}"),
                    choice=_summary(turn, dim, aud.get(dim, []), scope),
                ),
                f"bc:a:{dim}",
            )
        ]
        for dim in _dimensions(turn)
    ]
    rows.append([(turn.t("broadcast.btn_everyone"), "bc:all")])
    rows.append([(turn.t("broadcast.btn_next"), "bc:next")])
    rows.append([(turn.t("broadcast.btn_abort"), "bc:x")])
    text = turn.t("broadcast.builder", count=count)
    if edit:
        await turn.edit_or_say(text, inline(rows))
    else:
        await turn.say(text, inline(rows))


async def _dimension(turn: Turn, dim: str) -> None:
    """The multi-select list of one dimension, ✓ on the chosen values."""
    scope = await _scope(turn)
    chosen = set(_aud(turn.user.state_data, scope).get(dim, []))
    # Laid out as if every value were ticked, so a tick never moves the buttons.
    layout = pair_rows(_values(turn, dim, scope), label=lambda choice: "✓ " + choice[1])
    rows = [
        [(("✓ " if value in chosen else "") + label, f"bc:a:{dim}:{value}") for value, label in row]
        for row in layout
    ]
    rows.append([(turn.t("broadcast.btn_done"), "bc:ok")])
    await turn.edit_or_say(
        turn.t("broadcast.pick", dim=turn.t(f"broadcast.dim.{dim}")), inline(rows)
    )


async def _on_audience(turn: Turn, args: list[str]) -> None:
    """bc:a:<dim> opens a list; bc:a:<dim>:<value> toggles a value; forged values are stale."""
    dim = args[1] if len(args) in (2, 3) else ""
    if dim not in _dimensions(turn):
        await _stale(turn)
        return
    if len(args) == 3:
        scope = await _scope(turn)
        if args[2] not in dict(_values(turn, dim, scope)):
            await _stale(turn)
            return
        data = _data(turn)
        aud = _aud(data, scope)
        chosen = aud.get(dim, [])
        aud[dim] = [v for v in chosen if v != args[2]] if args[2] in chosen else [*chosen, args[2]]
        data["aud"] = aud
        await _go(turn, "aud", data)
    await turn.ack()
    await _dimension(turn, dim)


# --- review, schedule, launch -----------------------------------------------------------
async def _preview(turn: Turn, payload: Payload) -> int:
    """The broadcast message on its own, exactly as applicants will get it."""
    if payload["photo"]:
        return await turn.send_photo(payload["photo"], caption=payload["text"])
    if payload["document"]:
        return await turn.send_document(payload["document"], caption=payload["text"])
    return await turn.send_alone(payload["text"])


async def _review(turn: Turn) -> None:
    """One preview (the Persian version), then one message with the count and the choices."""
    data = _data(turn)
    by_lang = await _audiences(turn).languages(turn.platform, await _target(turn, data))
    if not by_lang:
        await turn.say(turn.t("broadcast.no_one"))
        await _builder(turn, edit=False)
        return
    data.pop("send_at", None)
    await _go(turn, "confirm", data)
    await _preview(turn, payload_for(data, "fa"))
    await _options(turn, by_lang)


async def _options(turn: Turn, by_lang: dict[str, int] | None = None) -> None:
    """The recipients per version and the choices: now, at a time, the English preview."""
    data = turn.user.state_data
    target = await _target(turn, data)
    if by_lang is None:
        by_lang = await _audiences(turn).languages(turn.platform, target)
    count = sum(by_lang.values())
    if "en" in data.get("texts", {}):
        english = by_lang.get("en", 0)
        text = turn.t("broadcast.review_two", count=count, fa=count - english, en=english)
    else:
        text = turn.t("broadcast.review_one", count=count)
    if len(_served(turn)) > 1:
        by_messenger = await _audiences(turn).messengers(turn.platform, target)
        text += "\n" + _per_messenger(turn, by_messenger)
    rows = [[(turn.t("broadcast.btn_now"), "bc:now"), (turn.t("broadcast.btn_at"), "bc:at")]]
    if "en" in data.get("texts", {}):
        rows.append([(turn.t("broadcast.btn_preview_en"), "bc:pen")])
    rows.append(
        [(turn.t("broadcast.btn_audience"), "bc:aud"), (turn.t("broadcast.btn_abort"), "bc:x")]
    )
    await turn.say(text, inline(rows))


def _per_messenger(turn: Turn, counts: dict[str, int]) -> str:
    """ "On Telegram: N · on Bale: M" for every messenger served."""
    return turn.t(
        "broadcast.by_messenger",
        parts=" · ".join(
            turn.t("broadcast.on_messenger", messenger=turn.t(f"broadcast.platform.{p}"),
                   count=localize_digits(str(counts.get(p, 0)), turn.lang))
            for p in _served(turn)
        ),
    )  # fmt: skip


async def _final(turn: Turn) -> None:
    """The last question before anything is queued."""
    send_at = turn.user.state_data.get("send_at")
    count = await _audiences(turn).count(turn.platform, await _target(turn, turn.user.state_data))
    if send_at is None:
        text = turn.t("broadcast.final_now", count=count)
    else:
        text = turn.t(
            "broadcast.final_at", count=count, when=when_text(turn.svc.i18n, turn.lang, send_at)
        )
    rows = [[(turn.t("broadcast.btn_yes"), "bc:yes"), (turn.t("broadcast.btn_back"), "bc:back")]]
    await turn.say(text, inline(rows))


async def _launch(turn: Turn) -> None:
    """Store the broadcast and post its status message; the monitor queues it in the background
    (now, or when its time comes), so this answers at once whatever the audience's size."""
    data = _data(turn)
    send_at = max(int(data.get("send_at") or turn.now), turn.now)
    content = {k: data.get(k) for k in ("texts", "photo", "document")}
    draft = Draft(turn.platform, turn.user.user_id, content, await _target(turn, data), send_at)
    b = await desk.launch(turn.svc.db, draft, turn.now)
    await turn.ack()
    if b is None:
        await _go(turn, "aud", data)
        await turn.say(turn.t("broadcast.no_one"))
        await _builder(turn, edit=False)
        return
    bid = b.id
    await turn.clear_state()
    repo = _repo(turn)
    state = SCHEDULED if b.status == SCHEDULED else "running"
    text = status_text(turn.svc.i18n, turn.lang, b, b.outlook, state)
    message_id = await turn.send(text, cancel_markup(turn.svc.i18n, turn.lang, bid))
    await repo.set_status_message(bid, turn.user.chat_id, message_id)
    monitor = _monitor(turn)
    if monitor is not None and state != SCHEDULED:
        monitor.shown[bid] = text
        monitor.wake()


async def on_button(turn: Turn, args: list[str]) -> None:
    """Every bc: button; one that does not fit the current step is stale."""
    action, step = (args[0] if args else ""), _step(turn)
    if action == "c":
        await _cancel(turn, args)
    elif action == "x" and step and len(args) == 1:
        await turn.ack()
        await turn.clear_state()
        await turn.edit_or_say(turn.t("broadcast.abandoned"))
    elif step == "en" and args in (["en", "add"], ["en", "same"]):
        await turn.ack()
        await _go(turn, "content_en" if args[1] == "add" else "aud", _data(turn))
        await ask(turn)
    elif step == "aud" and action == "a":
        await _on_audience(turn, args)
    elif step == "aud" and args in (["ok"], ["all"]):
        await turn.ack()
        if args == ["all"]:
            await _go(turn, "aud", {**_data(turn), "aud": {}})
        await _builder(turn, edit=True)
    elif step == "aud" and args == ["next"]:
        await turn.ack()
        await _review(turn)
    elif step == "confirm" and args == ["pen"] and "en" in _data(turn).get("texts", {}):
        await turn.ack(turn.t("broadcast.english_below"))
        await _preview(turn, payload_for(_data(turn), "en"))
    elif step == "confirm" and args in (["now"], ["at"], ["aud"]):
        await turn.ack()
        data = {**_data(turn), "send_at": None}
        await _go(turn, {"now": "final", "at": "when", "aud": "aud"}[action], data)
        await ask(turn)
    elif step == "final" and args in (["yes"], ["back"]):
        if action == "yes":
            await _launch(turn)
        else:
            await turn.ack()
            await _go(turn, "confirm", _data(turn))
            await ask(turn)
    else:
        await _stale(turn)


# --- running broadcasts -----------------------------------------------------------------
async def _cancel(turn: Turn, args: list[str]) -> None:
    """bc:c:<id> — stop a scheduled or running broadcast: its pending rows are cancelled."""
    bid = parse_id(args[1]) if len(args) == 2 else None
    if bid is None:
        await _stale(turn)
        return
    repo = _repo(turn)
    b = await repo.get(bid)
    if b is None or b.platform != turn.platform:
        await _stale(turn)
        return
    if not desk.visible_to(await _scope(turn), b.audience):  # another county's: as if gone
        await _stale(turn)
        return
    monitor = _monitor(turn)
    actor = (turn.platform, turn.user.user_id)
    cancelled = await desk.cancel(turn.svc.db, b, actor, turn.now, wait=False)
    await turn.ack()
    if cancelled is None:
        await turn.say(turn.t("broadcast.already_over", id=b.id))
        return
    if monitor is not None:
        monitor.wake()  # its pending rows are cancelled in the background
    await show_cancelled(turn.context.bot, turn.svc, b, cancelled.figures)
    await turn.say(turn.t("broadcast.cancelled", id=b.id, count=cancelled.count))


async def cmd_broadcasts(turn: Turn) -> None:
    """/broadcasts: the latest broadcasts with their figures; running ones can be cancelled."""
    repo = _repo(turn)
    scope = await _scope(turn)
    recent = [
        b for b in await repo.list_recent(turn.platform) if desk.visible_to(scope, b.audience)
    ]
    if not recent:
        await turn.say(turn.t("broadcast.list_empty"))
        return
    lines, buttons = [turn.t("broadcast.list_title")], []
    for b in recent:
        f = b.figures
        lines.append(
            turn.t(
                "broadcast.list_item",
                id=b.id,
                when=when_text(turn.svc.i18n, turn.lang, b.send_at),
                state=turn.t(f"broadcast.state.{QUEUED if b.status == QUEUEING else b.status}"),
                total=b.total,
                sent=f.sent,
                failed=f.failed,
                unreachable=f.unreachable,
            )
        )
        if b.status not in ("done", CANCELLED):
            buttons.append((turn.t("broadcast.btn_cancel_bc", id=b.id), f"bc:c:{b.id}"))
    await turn.say("\n".join(lines), inline([[b] for b in buttons]) if buttons else None)


def register(reg: Registry) -> None:
    """Add /broadcast, /broadcasts, the bc: conversation and its buttons, all staff-only."""
    reg.staff_command("broadcast", cmd_broadcast)
    reg.staff_command("broadcasts", cmd_broadcasts)
    reg.staff_flow("bc", Flow(ask=ask, on_text=on_text, on_media=on_media))
    reg.staff_callback("bc", on_button)
