"""Am I eligible?: the questionnaire from the content, ending with reasons and a next step."""

from __future__ import annotations

from bot.rules.eligibility import evaluate
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline


async def begin(turn: Turn) -> None:
    """Start the questionnaire from its first question."""
    questions = turn.svc.content.eligibility.questions
    await turn.set_state("elig", q=questions[0].id, answers={})
    await turn.say(turn.svc.content.eligibility.intro.get(turn.lang))
    await ask(turn)


async def ask(turn: Turn) -> None:
    """Ask the current question with its answers as buttons."""
    content = turn.svc.content
    questions = content.eligibility.questions
    qid = turn.user.state_data.get("q")
    question = content.question(qid) if isinstance(qid, str) else None
    if question is None:
        await begin(turn)
        return
    index = questions.index(question) + 1
    rows = [[(a.label.get(turn.lang), f"el:{question.id}:{a.id}")] for a in question.answers]
    header = turn.t("eligibility.counter", n=index, total=len(questions))
    await turn.say(f"{header}\n{question.text.get(turn.lang)}", inline(rows))


async def on_text(turn: Turn, text: str) -> None:
    """Typed text: the answers are buttons."""
    await turn.say(turn.t("errors.use_buttons"))
    await ask(turn)


async def on_answer(turn: Turn, args: list[str]) -> None:
    """An answer button; one from an earlier or another questionnaire is stale."""
    router = turn.router
    if turn.user.state != "elig" or len(args) != 2 or args[0] != turn.user.state_data.get("q"):
        if args == ["restart"]:
            await turn.ack()
            await begin(turn)
            return
        await router.stale(turn)
        return
    question = turn.svc.content.question(args[0])
    if question is None or args[1] not in {a.id for a in question.answers}:
        await router.stale(turn)
        return
    await turn.ack()
    answers = dict(turn.user.state_data.get("answers", {}))
    answers[question.id] = args[1]
    questions = turn.svc.content.eligibility.questions
    index = questions.index(question)
    chosen = next(a for a in question.answers if a.id == args[1])
    await turn.edit_or_say(f"{question.text.get(turn.lang)}\n✔️ {chosen.label.get(turn.lang)}")
    if index + 1 < len(questions):
        await turn.set_state("elig", q=questions[index + 1].id, answers=answers)
        await ask(turn)
        return
    await turn.clear_state()
    await _result(turn, answers)


async def _result(turn: Turn, answers: dict[str, str]) -> None:
    """The verdict, the reasons, and the next step (or, if not eligible, what to do instead)."""
    elig = turn.svc.content.eligibility
    try:
        result = evaluate(elig.questions, answers)
    except ValueError:  # staff changed the questions while the person was answering
        await begin(turn)
        return
    lang = turn.lang
    if not result.eligible:
        lines = [elig.result.not_eligible.get(lang), ""]
        lines += [f"✖️ {r.get(lang)}" for r in result.failures]
    elif result.warnings:
        lines = [elig.result.with_warnings.get(lang), ""]
    else:
        lines = [elig.result.eligible.get(lang)]
    lines += [f"⚠️ {w.get(lang)}" for w in result.warnings]
    if result.eligible:
        lines += ["", turn.t("eligibility.next", text=elig.result.next_eligible.get(lang))]
    else:  # no next step for someone who cannot take it: what they can do instead
        lines += ["", turn.t("eligibility.instead", text=elig.result.next_not_eligible.get(lang))]
    await turn.say("\n".join(lines), inline([[(turn.t("eligibility.again"), "el:restart")]]))
    await turn.router.ask_current(turn)


def register(reg: Registry) -> None:
    """Add the questionnaire."""
    reg.flow("elig", Flow(ask=ask, on_text=on_text))
    reg.callback("el", on_answer)
    reg.menu["menu.eligibility"] = begin
