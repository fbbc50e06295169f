"""The main menu and the pages that only inform: help, loans, contact and FAQ."""

from __future__ import annotations

from handlers import profile, questions
from handlers.keyboards import main_keyboard
from handlers.questions import send_button
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline


async def show(turn: Turn) -> None:
    """Show the main menu (or continue the profile if it is unfinished)."""
    if not turn.user.profile_done and turn.user.consent_at is not None:
        await turn.say(turn.t("menu.profile_incomplete"), main_keyboard(turn))
        return
    if not turn.user.profile_done:
        await profile.resume(turn)
        return
    await turn.say(turn.t("menu.prompt"), main_keyboard(turn))


async def on_text(turn: Turn, text: str) -> None:
    """Free text at the menu: a question for the FAQ or the staff (handlers.questions)."""
    await questions.on_menu_text(turn, text)


async def cmd_menu(turn: Turn) -> None:
    """/menu and /cancel: leave whatever flow, keep every saved answer."""
    was_in_flow = bool(turn.user.state)
    await turn.clear_state()
    if was_in_flow:
        await turn.say(turn.t("menu.cancelled"))
    await show(turn)


async def show_help(turn: Turn) -> None:
    """What the bot does and its commands."""
    programme = turn.svc.content.programme.name.get(turn.lang)
    await turn.say(turn.t("help.text", programme=programme), main_keyboard(turn))


def _bullets(items: list[str]) -> str:
    """Lines prefixed with a bullet."""
    return "\n".join(f"• {item}" for item in items)


async def show_loans(turn: Turn) -> None:
    """The loan page from the content, short enough for one phone screen: the intro (with the
    one caveat), the facts, the steps on one line, and who is not covered."""
    loans = turn.svc.content.loans
    lang = turn.lang
    text = "\n\n".join(
        [
            turn.t("loans.title"),
            loans.intro.get(lang),
            _bullets(loans.facts.get(lang)),
            turn.t("loans.steps", steps=turn.t("loans.then").join(loans.steps.get(lang))),
            turn.t("loans.exclusions") + "\n" + _bullets(loans.exclusions.get(lang)),
        ]
    )
    await turn.say(text, inline([[(turn.t("buttons.faq"), "faq:list")]]))


async def show_faq(turn: Turn) -> None:
    """Menu → Common questions: every question as a button."""
    rows = [[(item.q.get(turn.lang), f"faq:{item.id}")] for item in turn.svc.content.faq]
    await turn.say(turn.t("faq.title"), inline(rows))


async def on_faq(turn: Turn, args: list[str]) -> None:
    """The FAQ list, or one answer (with the one tap to the staff while a typed text waits)."""
    faq = turn.svc.content.faq
    await turn.ack()
    if args and args[0] == "list":
        await show_faq(turn)
        return
    item = next((f for f in faq if args and f.id == args[0]), None)
    if item is None:
        await turn.router.stale(turn)
        return
    rows = [[(turn.t("buttons.faq_back"), "faq:list")]]
    if turn.user.state == "typed":
        rows.append([send_button(turn, "faq")])
    await turn.say(f"❓ {item.q.get(turn.lang)}\n\n{item.a.get(turn.lang)}", inline(rows))


def register(reg: Registry) -> None:
    """Add the menu flow, the informative pages and /menu, /cancel, /help."""
    reg.flow("menu", Flow(ask=show, on_text=on_text))
    reg.callback("faq", on_faq)
    reg.menu["menu.help"] = show_help
    reg.menu["menu.loans"] = show_loans
    reg.menu["menu.faq"] = show_faq
    reg.commands["faq"] = show_faq
    reg.commands["menu"] = cmd_menu
    reg.commands["cancel"] = cmd_menu
    reg.commands["help"] = show_help
