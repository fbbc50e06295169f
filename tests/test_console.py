"""`homebiz chat` as staff use it to preview edits: every recent button, and the messages the
bot sends on its own (check-in, reminder, nudge), driven through bot.entry.console.chat."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.content.loader import load_content
from bot.core.config import Settings
from bot.core.i18n import load_i18n
from bot.entry.console import chat
from bot.repo.checkins import CheckinRepo
from bot.repo.users import UserRepo
from scheduler.planner import checkin_payload, nudge_payload
from tests.support import stores
from tests.support.stores import Store
from tests.test_onboarding import FA_NAME

ROOT = Path(__file__).resolve().parent.parent
I18N = load_i18n()
CONTENT = load_content(ROOT / "locales" / "content.yaml")
SVC = SimpleNamespace(i18n=I18N, content=CONTENT)  # what the payload builders read


def t(key: str) -> str:
    """A Persian text of the bot."""
    return I18N.t("fa", key)


Line = str | Callable[[str], str]


class Script(io.TextIOBase):
    """Standard input for the console: each line is text, or is worked out from the block the
    console printed last (e.g. the number of a button)."""

    def __init__(self, out: io.StringIO, lines: list[Line]) -> None:
        """Read ``lines`` in order, looking at ``out``."""
        self.out, self.lines, self.seen = out, list(lines), 0
        self.blocks: list[str] = []

    def readline(self, size: int | None = -1) -> str:
        """The next line; the output since the previous line is the last block."""
        text = self.out.getvalue()
        self.blocks.append(text[self.seen :])
        self.seen = len(text)
        if not self.lines:
            return ""
        line = self.lines.pop(0)
        return (line(self.blocks[-1]) if callable(line) else line) + "\n"


def button(label: str) -> Callable[[str], str]:
    """The number the last block gave the button ``label`` (fails if it gave none)."""

    def number(block: str) -> str:
        """Find "[n] label" in the block."""
        found = re.findall(r"\[(\d+)\] " + re.escape(label) + r"(?=  |\n|$)", block)
        assert found, f"no button {label!r} in:\n{block}"
        return found[-1]

    return number


def run(tmp_path: Path, lines: list[Line]) -> list[str]:
    """Run the console on lines; return what it printed after each line (the blocks)."""
    out = io.StringIO()
    script = Script(out, lines)
    settings = Settings(**stores.current.settings(tmp_path / "console.sqlite3"))
    asyncio.run(chat(settings, user_id=7, lang="fa", out=out, inp=script))
    return script.blocks[1:]  # the first is the console's hint


ONBOARDING: list[Line] = [
    "/start", button("فارسی"), button("موافقم ✅"), FA_NAME, "09123456789", "0013542419",
    button("کرج"), button("صنایع دستی و هنرهای سنتی"), button("فقط ایده دارم"),
]  # fmt: skip


def test_a_button_of_an_earlier_message_is_still_pressed(tmp_path: Path) -> None:
    """Eligibility's «🔄» stays reachable after the person reads something else: the earlier
    message's buttons are numbered on a line of their own, and the number presses them."""
    again = t("eligibility.again")
    blocks = run(
        tmp_path,
        [*ONBOARDING, t("menu.eligibility"), *["1"] * len(CONTENT.eligibility.questions),
         t("menu.help"), button(again)],
    )  # fmt: skip
    result, help_block, pressed = blocks[-3:]
    assert button(again)(result)  # numbered under the result itself
    programme = CONTENT.programme.name.fa
    assert I18N.t("fa", "help.text", programme=programme).splitlines()[0] in help_block
    earlier = next(line for line in help_block.splitlines() if again in line)
    assert earlier.startswith("   ↑ «")
    assert "۱ از ۸" in pressed  # the questions start again


def test_every_new_message_has_its_buttons_numbered(tmp_path: Path) -> None:
    """A turn that brings two messages with buttons numbers both, then the reply keyboard."""
    blocks = run(tmp_path, [*ONBOARDING, ":checkin", button(t("checkin.btn_op"))])
    answered = blocks[-1]
    assert answered.count("🤖") == 2  # the question edited to show the answer, the next one
    assert re.search(r"\[1\] ۱  \[2\] ۲  \[3\] ۳  \[4\] ۴  \[5\] ۵\+  \[6\] رد شدن", answered)


def test_previews_are_what_the_sweep_sends_and_their_buttons_work(
    tmp_path: Path, store: Store
) -> None:
    """:checkin, :reminder and :nudge print the scheduler's own payloads, delivered by the
    outbox sender; the check-in's buttons record a real answer, the nudge's open the step
    (on both engines: the previews go through the outbox and the answers are stored)."""
    question = checkin_payload(SVC, "fa", "checkin.question")  # type: ignore[arg-type]
    reminder = checkin_payload(SVC, "fa", "checkin.reminder")  # type: ignore[arg-type]
    step = CONTENT.steps_for("handicrafts")[1]
    stuck = SimpleNamespace(step_id=step.id, lang="fa")
    nudge = nudge_payload(SVC, stuck)  # type: ignore[arg-type]
    assert nudge is not None
    blocks = run(
        tmp_path,
        [*ONBOARDING, ":checkin", button(t("checkin.btn_op")), button("۲"), ":reminder",
         ":nudge", ":nudge 2", button(t("nudge.open")), ":nudge 99"],
    )  # fmt: skip
    checkin, staff, sales, reminded, listed, nudged, opened, unknown = blocks[-8:]
    labels = [row[0][0] for row in question["buttons"]]
    assert checkin.startswith("🤖 " + question["text"] + "\n")
    assert "  ".join(f"[{i}] {label}" for i, label in enumerate(labels, 1)) in checkin
    assert t("checkin.ask_staff") in staff and t("checkin.ask_sales") in sales
    assert "🤖 " + reminder["text"] in reminded  # the answered round is closed: a new one first
    assert reminded.index(question["text"]) < reminded.index(reminder["text"])
    assert f"2. {step.id} — {step.title.fa}" in listed
    assert nudged.startswith("🤖 " + nudge["text"] + "\n")
    assert t("nudge.open") in nudged and t("steps.btn_help") in nudged
    assert step.title.fa in opened and "۲ از" in opened
    assert "no step '99'" in unknown

    async def stored() -> list[tuple[str, dict]]:
        """The console user's check-in answers."""
        db = await store.open(tmp_path / "console.sqlite3")
        try:
            user = await UserRepo(db).find("local", 7)
            assert user is not None
            return [(s, d) for s, d, _ in await CheckinRepo(db).history(user.id)]
        finally:
            await db.close()

    assert asyncio.run(stored()) == [("operating", {"staff": 2})]


def test_previews_need_a_console_user(tmp_path: Path) -> None:
    """Before /start there is nobody to send to: the console says so; :help lists commands."""
    blocks = run(tmp_path, [":checkin", ":help", ":nudge"])
    assert "send /start first" in blocks[0]
    assert ":checkin" in blocks[1] and ":reminder" in blocks[1] and ":nudge" in blocks[1]
    assert "send /start first" in blocks[2]


@pytest.mark.parametrize("command", [":reminder", ":nudge register_system"])
def test_each_preview_works_on_its_own(tmp_path: Path, store: Store, command: str) -> None:
    """A reminder without a check-in first, a nudge by step id: each arrives, buttons numbered."""
    blocks = run(tmp_path, [*ONBOARDING, command])
    if command == ":reminder":
        expected = t("checkin.reminder")
    else:
        first = CONTENT.steps_for("handicrafts")[0]
        expected = I18N.t("fa", "nudge.text", title=first.title.fa)
    assert expected in blocks[-1]
    assert re.search(r"\[1\] \S", blocks[-1])
