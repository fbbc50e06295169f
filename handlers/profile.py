"""The profile: one question at a time, each answer validated and saved as it comes."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.labels import format_mobile
from bot.core.text import localize_digits
from bot.core.validators import (
    ValidationError,
    parse_full_name,
    parse_mobile,
    parse_national_code,
)
from bot.roster.linking import note_claim
from bot.rules.stages import STAGES, rank
from handlers import stage as stages
from handlers.registry import Flow, Registry
from handlers.turn import Turn, chunk, inline, reply_keyboard

QUESTIONS = ("full_name", "mobile", "national_code", "county", "field", "stage")
PARSERS: dict[str, Callable[[str], str]] = {
    "full_name": parse_full_name,
    "mobile": parse_mobile,
    "national_code": parse_national_code,
}


def _choices(turn: Turn, item: str) -> list[tuple[str, str]]:
    """The (id, label) pairs of a choice question, in the person's language."""
    content = turn.svc.content
    if item == "county":
        return [(c.id, c.name.get(turn.lang)) for c in content.counties]
    if item == "field":
        return [(f.id, f.name.get(turn.lang)) for f in content.fields]
    return [(s, turn.t(f"stages.{s}")) for s in STAGES]


def choice_label(turn: Turn, item: str, value: str | None) -> str:
    """The label of a stored choice, or a dash."""
    return next((label for key, label in _choices(turn, item) if key == value), "—")


def _mode(turn: Turn) -> str:
    """Whether the person is onboarding or editing one answer."""
    return str(turn.user.state_data.get("mode", "onboard"))


async def begin(
    turn: Turn, *, mode: str, item: str | None = None, given: tuple[str, ...] = ()
) -> None:
    """Start the profile at its first unanswered question (or at one item to edit); ``given``
    are answers the programme's list filled in, which onboarding does not ask again."""
    if item is None:
        item = next((q for q in QUESTIONS if not _answered(turn, q)), "stage")
    await turn.set_state(f"profile:{item}", mode=mode, **({"given": list(given)} if given else {}))
    await ask(turn)


def _onboard_data(turn: Turn) -> dict[str, object]:
    """The state data onboarding carries from question to question."""
    given = turn.user.state_data.get("given")
    return {"mode": "onboard", **({"given": given} if given else {})}


async def resume(turn: Turn) -> None:
    """Pick the onboarding profile up where it was left."""
    if turn.user.state.startswith("profile:"):
        await ask(turn)
    else:
        await begin(turn, mode="onboard")


def _answered(turn: Turn, item: str) -> bool:
    """Whether the person already answered a question (skipping the optional code counts)."""
    if item == "national_code":
        return turn.user.national_code is not None
    return getattr(turn.user, item) is not None


async def ask(turn: Turn) -> None:
    """Ask the current profile question with its keyboard."""
    item = turn.user.state.split(":", 1)[1] if ":" in turn.user.state else "full_name"
    if item not in QUESTIONS:
        item = "full_name"
    nav = turn.t("buttons.cancel") if _mode(turn) == "edit" else turn.t("buttons.back")
    index = QUESTIONS.index(item)
    rows: list[list[str]] = []
    contact = None
    if item == "mobile":
        contact = turn.t("buttons.share_contact")
    elif item == "national_code":
        rows.append([turn.t("buttons.skip")])
    elif item in ("county", "field", "stage"):
        rows.extend(chunk([label for _, label in _choices(turn, item)], 2))
    if index > 0 or _mode(turn) == "edit":
        rows.append([nav])
    question = turn.t(f"profile.ask.{item}")
    if _mode(turn) == "onboard":
        question = turn.t("profile.counter", n=index + 1, total=len(QUESTIONS)) + "\n" + question
    current = _current_value(turn, item)
    if current:
        question += "\n" + turn.t("profile.current", value=current)
    if rows or contact:
        await turn.say(question, reply_keyboard(rows, contact=contact))
    else:
        from telegram import ReplyKeyboardRemove

        await turn.say(question, ReplyKeyboardRemove())


def _current_value(turn: Turn, item: str) -> str | None:
    """What is stored for a question, for display."""
    value = getattr(turn.user, item)
    if not value:
        return None
    if item == "mobile":
        return format_mobile(value, turn.lang)
    if item == "national_code":
        return localize_digits(value, turn.lang)
    return choice_label(turn, item, value) if item in ("county", "field", "stage") else value


async def on_text(turn: Turn, text: str) -> None:
    """Take an answer, a back/skip/cancel, or explain what is wrong and ask again."""
    item = turn.user.state.split(":", 1)[1]
    if item not in QUESTIONS:
        await begin(turn, mode=_mode(turn))
        return
    variants = turn.svc.i18n.variants
    if text in variants("buttons.back") or text in variants("buttons.cancel"):
        await _go_back(turn, item)
        return
    if item == "national_code" and text in variants("buttons.skip"):
        await _store(turn, item, "")
        return
    if item in ("county", "field", "stage"):
        value = _match_choice(turn, item, text)
        if value is None:
            await turn.say(turn.t("errors.use_buttons"))
            await ask(turn)
            return
        await _store(turn, item, value)
        return
    try:
        value = PARSERS[item](text)
    except ValidationError as exc:
        await turn.say(turn.t(f"validation.{exc.code}"))
        await ask(turn)
        return
    await _store(turn, item, value)


def _match_choice(turn: Turn, item: str, text: str) -> str | None:
    """The choice id whose label (in any language) is the text."""
    from bot.core.text import normalize_input

    wanted = normalize_input(text)
    content = turn.svc.content
    if item == "county":
        pairs = [(c.id, c.name) for c in content.counties]
        return next((k for k, name in pairs if wanted in (name.fa, name.en)), None)
    if item == "field":
        pairs = [(f.id, f.name) for f in content.fields]
        return next((k for k, name in pairs if wanted in (name.fa, name.en)), None)
    return next((s for s in STAGES if wanted in turn.svc.i18n.variants(f"stages.{s}")), None)


async def on_contact(turn: Turn, phone: str) -> None:
    """A shared contact answers the mobile question (only the person's own)."""
    item = turn.user.state.split(":", 1)[1]
    message = turn.update.effective_message
    contact = message.contact if message else None
    if item != "mobile":
        await turn.say(turn.t("errors.unexpected_media"))
        await ask(turn)
        return
    if contact is None or contact.user_id != turn.user.user_id:
        await turn.say(turn.t("profile.not_your_contact"))
        await ask(turn)
        return
    try:
        value = parse_mobile(phone)
    except ValidationError as exc:
        await turn.say(turn.t(f"validation.{exc.code}"))
        await ask(turn)
        return
    await _store(turn, item, value, verified=True)


async def _store(turn: Turn, item: str, value: str, *, verified: bool = False) -> None:
    """Save one answer and move on (the answer and the next question in one write). A mobile
    from the person's own contact card is verified (and may link them to the programme's
    list); a typed one is not, and a typed mobile or national code only ever tells staff."""
    index = QUESTIONS.index(item)
    before = turn.user.stage
    values: dict[str, object] = {item: value}
    if item == "mobile":
        values["mobile_verified"] = int(verified)
    if _mode(turn) == "onboard" and index + 1 < len(QUESTIONS):
        await turn.svc.users.update_and_move(
            turn.user, turn.now, f"profile:{QUESTIONS[index + 1]}", _onboard_data(turn), **values
        )
    else:
        await turn.save(**values)
    if verified:
        await turn.router.reg.emit("mobile_verified", turn)
    elif item in ("mobile", "national_code") and value:
        await note_claim(turn.svc.db, turn.user, turn.now, **{item: value})
    field = turn.svc.content.field(value) if item == "field" else None
    if field is not None and field.note is not None:
        await turn.say("⚠️ " + field.note.get(turn.lang))
    if _mode(turn) == "edit":
        await turn.clear_state()
        lines = [turn.t("profile.saved")]
        if item == "stage":
            lines += await _stage_changed(turn, before)
        elif item == "field":
            await stages.mark_behind(turn)  # a new field's extra steps the stage is past
        await turn.say("\n".join(lines))
        if item == "stage":
            await turn.router.reg.emit("stage_set", turn, rank(turn.user.stage) > rank(before))
        await turn.router.ask_current(turn)
        return
    if index + 1 < len(QUESTIONS):
        await _ask_next(turn)
    else:
        await _complete(turn)


async def _ask_next(turn: Turn) -> None:
    """Ask the question the person is at, passing over answers the programme's list gave."""
    given = set(turn.user.state_data.get("given") or ())
    index = QUESTIONS.index(turn.user.state.split(":", 1)[1])
    start = index
    while QUESTIONS[index] in given:
        if index + 1 == len(QUESTIONS):
            await _complete(turn)
            return
        index += 1
    if index != start:
        await turn.set_state(f"profile:{QUESTIONS[index]}", **turn.user.state_data)
    await ask(turn)


async def _go_back(turn: Turn, item: str) -> None:
    """Back: the previous question while onboarding; leave editing unchanged."""
    if _mode(turn) == "edit":
        await turn.clear_state()
        await turn.say(turn.t("profile.unchanged"))
        await turn.router.ask_current(turn)
        return
    index = max(QUESTIONS.index(item) - 1, 0)
    await turn.set_state(f"profile:{QUESTIONS[index]}", **_onboard_data(turn))
    await ask(turn)


async def _complete(turn: Turn) -> None:
    """The last answer: record the steps the stage implies, show the profile, then the stage's
    date question or the menu (each brings its keyboard, so the stage buttons go)."""
    await turn.save(profile_done=1)
    marked = await stages.mark_behind(turn)
    await turn.clear_state()
    lines = [turn.t("profile.done"), "", summary(turn)]
    if marked:
        lines += ["", turn.t("profile.steps_marked", n=marked)]
    await turn.say("\n".join(lines))
    await turn.router.reg.emit("stage_set", turn, rank(turn.user.stage) > 0)
    await turn.router.ask_current(turn)


async def _stage_changed(turn: Turn, before: str | None) -> list[str]:
    """A stage corrected in Settings: forward marks the steps behind it done; backward keeps
    every step as it is and says how to un-mark one. What to tell the person."""
    if rank(turn.user.stage) > rank(before):
        marked = await stages.mark_behind(turn)
        return [turn.t("profile.steps_marked", n=marked)] if marked else []
    if rank(turn.user.stage) < rank(before):
        return [turn.t("profile.stage_back")]
    return []


def summary(turn: Turn) -> str:
    """The stored profile as a few lines."""
    user = turn.user
    lines = [
        turn.t("profile.label.full_name", value=user.full_name or "—"),
        turn.t("profile.label.mobile", value=format_mobile(user.mobile, turn.lang)),
        turn.t(
            "profile.label.national_code",
            value=localize_digits(user.national_code or "—", turn.lang),
        ),
        turn.t("profile.label.county", value=choice_label(turn, "county", user.county)),
        turn.t("profile.label.field", value=choice_label(turn, "field", user.field)),
        turn.t("profile.label.stage", value=choice_label(turn, "stage", user.stage)),
    ]
    field = turn.svc.content.field(user.field) if user.field else None
    if field is not None and field.note is not None:
        lines.append("⚠️ " + field.note.get(turn.lang))
    return "\n".join(lines)


async def on_edit_button(turn: Turn, args: list[str]) -> None:
    """Settings → Edit profile → one item."""
    if not args or args[0] not in QUESTIONS:
        await turn.router.stale(turn)
        return
    await turn.ack()
    if not turn.user.profile_done:
        await resume(turn)
        return
    await begin(turn, mode="edit", item=args[0])


async def show_edit_menu(turn: Turn) -> None:
    """The profile with a button per item to change."""
    rows = [[(turn.t(f"profile.item.{q}"), f"pf:{q}")] for q in QUESTIONS]
    await turn.say(summary(turn) + "\n\n" + turn.t("profile.pick_item"), inline(rows))


def register(reg: Registry) -> None:
    """Add the profile flow and its buttons."""
    reg.flow("profile", Flow(ask=ask, on_text=on_text, on_contact=on_contact))
    reg.callback("pf", on_edit_button)
