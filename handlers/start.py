"""/start: choose a language, read the privacy notice, agree; /start again resumes.

Before the person agrees, nothing of theirs is kept but what the next message needs: no row
at all until they pick a language, then one holding the language and the question they are at,
erased when they decline (see ``bot.repo.users`` for the rest of a visitor's life).
"""

from __future__ import annotations

from handlers import profile, roster_link
from handlers.commands import command_of
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline

LANG_BUTTONS = [[("فارسی", "lang:fa"), ("English", "lang:en")]]


def _token(turn: Turn) -> str:
    """The personal link's token a /start carries ("" for a plain /start)."""
    parsed = command_of(turn.update.effective_message)
    words = parsed[1] if parsed is not None else []
    return words[0][:64] if words else ""


async def cmd_start(turn: Turn) -> None:
    """Begin, resume proactive messages, or pick up where the person was. A personal link's
    token is kept through the language and privacy questions, then offered (see roster_link)."""
    token = _token(turn)
    if turn.user.unreachable_at is not None or not turn.user.proactive:
        was_stopped = not turn.user.proactive
        await turn.save(unreachable_at=None, proactive=1)
        if was_stopped and turn.user.consent_at is not None:
            await turn.say(turn.t("settings.resumed"))
    if turn.user.consent_at is None:
        await turn.set_state("start:lang", **({"token": token} if token else {}))
        await ask(turn)
    elif token and await roster_link.offer(turn, token):
        return
    elif not turn.user.profile_done:
        await turn.say(turn.t("start.welcome_back"))
        await profile.resume(turn)
    else:
        await turn.clear_state()
        await turn.say(turn.t("start.welcome_back"))
        await turn.router.ask_current(turn)


async def ask(turn: Turn) -> None:
    """Ask the step of the start flow the person is at."""
    if turn.user.state == "start:privacy":
        await turn.say(
            turn.t("start.privacy"),
            inline([[(turn.t("start.agree"), "priv:yes")], [(turn.t("start.decline"), "priv:no")]]),
        )
    else:
        await turn.say(turn.t("start.choose_language"), inline(LANG_BUTTONS))


async def on_text(turn: Turn, text: str) -> None:
    """Typed text during the start flow: the buttons are the way on."""
    await turn.say(turn.t("errors.use_buttons"))
    await ask(turn)


async def on_lang(turn: Turn, args: list[str]) -> None:
    """A language button (at start or from Settings)."""
    lang = args[0] if args else ""
    if lang not in turn.svc.i18n.languages:
        await turn.router.stale(turn)
        return
    await turn.ack()
    if turn.user.consent_at is None:
        kept = {k: v for k, v in turn.user.state_data.items() if k == "token"}
        await turn.svc.users.update_and_move(turn.user, turn.now, "start:privacy", kept, lang=lang)
        await ask(turn)
        return
    await turn.save(lang=lang)
    await turn.say(turn.t("settings.language_changed"))
    await turn.router.ask_current(turn)


async def on_privacy(turn: Turn, args: list[str]) -> None:
    """Agree or decline the privacy notice."""
    if turn.user.consent_at is not None:
        await turn.ack()
        await turn.router.ask_current(turn)
        return
    if turn.user.state != "start:privacy" or args not in (["yes"], ["no"]):
        await turn.router.stale(turn)
        return
    await turn.ack()
    if args == ["no"]:
        await turn.svc.users.forget_visitor(turn.user)
        await turn.say(turn.t("start.declined"))
        return
    token = str(turn.user.state_data.get("token", ""))
    await turn.save(consent_at=turn.now)
    await turn.say(turn.t("start.thanks"))
    if token and await roster_link.offer(turn, token):
        return
    await profile.begin(turn, mode="onboard")


def register(reg: Registry) -> None:
    """Add the start flow, its buttons and /start."""
    reg.flow("start", Flow(ask=ask, on_text=on_text))
    reg.callback("lang", on_lang)
    reg.callback("priv", on_privacy)
    reg.commands["start"] = cmd_start
