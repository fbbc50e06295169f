"""The main menu and the pages that only inform: help, loans, contact and FAQ."""

from __future__ import annotations

import weakref

from telegram import ReplyKeyboardMarkup

from bot.i18n import I18n
from bot.text import localize_digits, pair_rows
from handlers.registry import Flow, Registry
from handlers.turn import Turn, inline, reply_keyboard

# The main menu in order; laid out two to a row where both labels are short (bot.text.pair_rows).
MENU_ENTRIES = (
    "menu.steps",
    "menu.progress",
    "menu.eligibility",
    "menu.loans",
    "menu.faq",
    "menu.ask",
    "menu.settings",
    "menu.help",
)


_KEYBOARDS: weakref.WeakKeyDictionary[I18n, dict[str, ReplyKeyboardMarkup]] = (
    weakref.WeakKeyDictionary()
)


def main_keyboard(turn: Turn) -> ReplyKeyboardMarkup:
    """The reply keyboard that stays on screen (built once per language: it is immutable)."""
    built = _KEYBOARDS.setdefault(turn.svc.i18n, {})
    if turn.lang not in built:
        built[turn.lang] = reply_keyboard(menu_rows(turn.svc.i18n, turn.lang))
    return built[turn.lang]


def menu_rows(i18n: I18n, lang: str) -> list[list[str]]:
    """The main menu's labels in one language, as rows that fit a phone."""
    return pair_rows([i18n.t(lang, key) for key in MENU_ENTRIES])


async def show(turn: Turn) -> None:
    """Show the main menu (or continue the profile if it is unfinished)."""
    from handlers import profile

    if not turn.user.profile_done and turn.user.consent_at is not None:
        await turn.say(turn.t("menu.profile_incomplete"), main_keyboard(turn))
        return
    if not turn.user.profile_done:
        await profile.resume(turn)
        return
    await turn.say(turn.t("menu.prompt"), main_keyboard(turn))


async def on_text(turn: Turn, text: str) -> None:
    """Free text at the menu: a question for the FAQ or the staff (handlers.questions)."""
    from handlers import questions

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


def contact_text(turn: Turn) -> str:
    """Who answers and how to reach them, from the content (shown wherever help is offered)."""
    content, lang = turn.svc.content, turn.lang
    contact = content.contact
    lines = [
        turn.t("contact.title"),
        turn.t("contact.secretariat", name=content.programme.secretariat.get(lang)),
        contact.office.get(lang),
        turn.t("contact.phone", phone=localize_digits(contact.phone, lang)),
    ]
    if contact.hours is not None:
        lines.append(turn.t("contact.hours", hours=contact.hours.get(lang)))
    if contact.note is not None:
        lines.append(contact.note.get(lang))
    return "\n".join(lines)


def contact_page(turn: Turn) -> str:
    """The contact page: the contact, then the web portals applicants use, each with its note."""
    portals = turn.svc.content.portals
    lines = [contact_text(turn), ""] if portals else [contact_text(turn)]
    for portal in portals:
        lines.append(turn.t("contact.portal", name=portal.name.get(turn.lang), url=portal.url))
        if portal.note is not None:
            lines.append(portal.note.get(turn.lang))
    return "\n".join(lines)


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
        from handlers.questions import send_button

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
