"""The real process against a Bot API as strict as Telegram's documentation: nothing is lost.

The server enforces Telegram's documented flood limits without mercy (30 messages in any second
for the bot, about one per second per chat with bursts of 3, 20 a minute per group, edits
counted, a one-second penalty after a 429). Applicants and staff walk the journeys that used to
lose messages to it — onboarding, the permit steps, a check-in, someone tapping faster than the
limit, the support inbox, the broadcast review and an export — all at once, as real people
would. Every expected message arrives, in order, with no 429, and the log holds no traceback.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import yaml

from bot.content.loader import default_content_path
from bot.core.config import Settings
from bot.entry.services import Services
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules
from bot.repo.checkins import CheckinRepo
from bot.staffdesk.export_sheets import SHEET_NAMES
from tests.support import TOKEN, BotProcess, bot_env, stores
from tests.support.botapi_server import BotApiServer
from tests.support.stores import Store

ADMIN, NEWCOMER, TAPPER, LOAN_HOLDER = 7000, 7001, 7002, 7003
NEWS_FA = "سلام! مهلت ثبت‌نام تا پایان آذر است."
NEWS_EN = "Hello! Registration is open until the end of Azar."
AUDIENCE = range(7100, 7120)
STAFF_CHAT = -1007777
TIMEOUT = 90.0  # paced at about one message a second per chat, journeys take a while


class Journey:
    """One person talking to the real process through the HTTP server."""

    def __init__(self, bot: BotProcess, emulator: BotApiEmulator, user_id: int) -> None:
        """Bind a person to the running process."""
        self.bot, self.emulator, self.user_id = bot, emulator, user_id

    def texts(self) -> list[str]:
        """What the bot shows this person now (edits as they are now), the broadcast aside."""
        return [
            m.content
            for m in self.emulator.bot_messages(self.user_id)
            if m.content not in (NEWS_FA, NEWS_EN) or self.user_id == ADMIN
        ]

    async def until(self, fragment: str, *, since: int = 0) -> None:
        """Wait until a message (after the first ``since``) contains ``fragment``."""
        await self.bot.wait_for(
            lambda: any(fragment in t for t in self.texts()[since:]),
            f"{fragment!r} for {self.user_id}",
            timeout=TIMEOUT,
        )

    async def say(self, text: str, expect: str) -> None:
        """Send text, then wait for a new message containing ``expect``."""
        mark = len(self.texts())
        self.emulator.user_text(self.user_id, text)
        await self.until(expect, since=mark)

    async def press(self, data: str, expect: str) -> None:
        """Press the newest button carrying ``data``, then wait for ``expect`` anywhere new."""
        await self.bot.wait_for(lambda: self._button(data) is not None, data, timeout=TIMEOUT)
        message = self._button(data)
        assert message is not None
        before = {m.message_id: m.edit_count for m in self.emulator.bot_messages(self.user_id)}
        self.emulator.user_press(self.user_id, message.message_id, data)

        def changed() -> bool:
            """A new or newly edited message holds ``expect``."""
            return any(
                expect in m.content and before.get(m.message_id) != m.edit_count
                for m in self.emulator.bot_messages(self.user_id)
            )

        await self.bot.wait_for(changed, f"{expect!r} after {data}", timeout=TIMEOUT)

    def _button(self, data: str) -> object | None:
        """The newest message with a button carrying ``data``."""
        for message in reversed(self.emulator.bot_messages(self.user_id)):
            if any(b.get("callback_data") == data for b in message.inline_buttons()):
                return message
        return None

    def button_data(self, prefix: str) -> str:
        """The callback data of the newest button starting with ``prefix``."""
        for message in reversed(self.emulator.bot_messages(self.user_id)):
            for button in message.inline_buttons():
                if str(button.get("callback_data", "")).startswith(prefix):
                    return str(button["callback_data"])
        raise AssertionError(f"no button {prefix!r} for {self.user_id}: {self.texts()[-3:]}")


def always_open_content(tmp_path: Path) -> Path:
    """The shipped content with the sending window open all day, every day (real clock)."""
    content = yaml.safe_load(default_content_path().read_text("utf-8"))
    content["schedule"].update(quiet_start="00:00", quiet_end="23:59", quiet_weekdays=[])
    path = tmp_path / "content.yaml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), "utf-8")
    return path


async def seed(db_path: Path, content: Path) -> None:
    """The broadcast audience, and a loan holder whose first check-in is due now."""
    settings = Settings(**stores.current.settings(db_path), content_path=content)
    svc = await Services.open(settings)
    try:
        now = svc.clock.timestamp()
        people = [(uid, "en" if uid % 4 == 0 else "fa") for uid in AUDIENCE]
        people.append((LOAN_HOLDER, "en"))
        await svc.db.executemany(
            "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, full_name, county, "
            "field, stage, profile_done, loan_on, created_at, updated_at) "
            "VALUES ('telegram', ?, ?, ?, ?, 'Seeded', 'karaj', 'handicrafts', 'loan', 1, "
            "'2026-09-01', ?, ?)",
            [(uid, uid, lang, now, now, now) for uid, lang in people],
        )
        holder = await svc.users.find("telegram", LOAN_HOLDER)
        assert holder is not None
        await CheckinRepo(svc.db).set_next(holder.id, now - 60)
    finally:
        await svc.close()


async def onboarding_and_steps(me: Journey) -> None:
    """A newcomer: language, privacy, the whole profile, two steps and the progress page."""
    await me.say("/start", "choose your language")
    await me.press("lang:en", "Privacy")
    await me.press("priv:yes", "full name")
    await me.say("Sara Moradi", "mobile number")
    await me.say("09123456789", "national code")
    await me.say("0013542419", "county")
    await me.say("Karaj", "business field")
    await me.say("Handicrafts and traditional arts", "Where do you stand")
    await me.say("Only an idea", "Your profile is complete")
    await me.say("📋 Permit steps", "Step 1 of")
    await me.press(me.button_data("st:done:"), "Step 2 of")
    await me.press(me.button_data("st:done:"), "Step 3 of")
    await me.say("📈 My progress", "Next step")


async def fast_taps(me: Journey) -> None:
    """Someone taps five menu entries without waiting: five answers, in the order tapped."""
    await me.say("/start", "choose your language")
    await me.press("lang:en", "Privacy")
    await me.press("priv:yes", "full name")
    for text, expect in (
        ("Tara Ahmadi", "mobile"), ("09351234567", "national code"), ("Skip", "county"),
        ("Karaj", "business field"), ("Handicrafts and traditional arts", "Where do you stand"),
        ("Only an idea", "Your profile is complete"),
    ):  # fmt: skip
        await me.say(text, expect)
    mark = len(me.texts())
    taps = [
        ("💰 Loans", "Home-business loans"),
        ("❓ Help", "Commands:"),
        ("📈 My progress", "Next step"),
        ("⚙️ Settings", "Reminders and follow-ups"),
        ("💰 Loans", "Home-business loans"),
    ]
    for text, _ in taps:
        me.emulator.user_text(me.user_id, text)
    await me.bot.wait_for(lambda: len(me.texts()) - mark >= len(taps), "five answers", timeout=60)
    answers = me.texts()[mark:]
    assert len(answers) == len(taps), answers  # one message per tap, none lost
    for (_, expect), answer in zip(taps, answers, strict=True):
        assert expect in answer, (expect, answer)


async def checkin(me: Journey) -> None:
    """The due check-in arrives from the minute sweep and is answered to the end."""
    await me.until("operating now")
    round_button = me.button_data("ci:")
    round_id = round_button.split(":")[1]
    await me.press(f"ci:{round_id}:op", "How many people")
    await me.press(f"ci:{round_id}:staff:2", "sell a month")
    await me.press(me.button_data(f"ci:{round_id}:sales:"), "Thank you for letting us know")


async def inbox(me: Journey, emulator: BotApiEmulator) -> None:
    """A question becomes a card in the staff group; the staff reply reaches the person."""
    await me.say("/start", "choose your language")
    await me.press("lang:en", "Privacy")
    await me.press("priv:yes", "full name")
    for text, expect in (
        ("Nima Karimi", "mobile"), ("09121112233", "national code"), ("Skip", "county"),
        ("Karaj", "business field"), ("Handicrafts and traditional arts", "Where do you stand"),
        ("Only an idea", "Your profile is complete"),
    ):  # fmt: skip
        await me.say(text, expect)
    await me.say("💬 Ask a question", "Write your question")
    await me.say("When is the loan paid?", "question no.")

    def card() -> object | None:
        """The ticket's card in the staff group."""
        return next(
            (m for m in emulator.bot_messages(STAFF_CHAT) if "When is the loan paid?" in m.content),
            None,
        )

    await me.bot.wait_for(lambda: card() is not None, "the ticket card", timeout=TIMEOUT)
    found = card()
    assert found is not None
    emulator.group_text(STAFF_CHAT, ADMIN, "Within a month.", reply_to=found.message_id)
    await me.until("Within a month.")


async def broadcast_and_export(me: Journey, emulator: BotApiEmulator) -> None:
    """The admin composes a two-language broadcast, reviews it, sends it, then exports."""
    await me.say("/broadcast", "New broadcast")
    await me.say(NEWS_FA, "Add an English version")
    await me.press("bc:en:add", "Send the English text")
    await me.say(NEWS_EN, "Recipients now")
    mark = len(me.texts())
    await me.press("bc:next", "Send it now, or at a set time?")
    review = me.texts()[mark:]
    assert review[0] == NEWS_FA  # the preview, on its own
    assert re.search(r"Recipients: \d+\n• Persian version: \d+\n• English version: \d+", review[1])
    await me.press("bc:now", "people now?")
    await me.press("bc:yes", "is going out")
    await me.until("has finished")
    await me.say("/export", "files ready")
    album = [m for m in emulator.bot_messages(me.user_id) if m.kind == "document"]
    assert len(album) == 1 + len(SHEET_NAMES) and "files ready" in album[-1].content


async def test_every_journey_under_telegrams_strict_limits(tmp_path: Path, store: Store) -> None:
    """All journeys at once through the real process: nothing lost, no 429, no traceback."""
    emulator = BotApiEmulator()
    emulator.flood_rules = FloodRules.telegram()
    for uid in (ADMIN, NEWCOMER, TAPPER, LOAN_HOLDER, 7004, *AUDIENCE):
        emulator.add_user(uid, first_name=f"P{uid}", language_code="en")
    emulator.add_group(STAFF_CHAT, title="Staff")
    content = always_open_content(tmp_path)
    db_path = tmp_path / "bot.sqlite3"
    await seed(db_path, content)
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            HOMEBIZ_CONTENT=str(content),
            HOMEBIZ_ADMINS=f"telegram:{ADMIN}",
            HOMEBIZ_STAFF_CHAT=f"telegram:{STAFF_CHAT}",
        )
        async with BotProcess(env, tmp_path) as bot:
            admin = Journey(bot, emulator, ADMIN)
            await admin.say("/start", "choose your language")  # the admin agrees like anyone
            await admin.press("lang:en", "Privacy")
            await admin.press("priv:yes", "full name")
            await asyncio.gather(
                onboarding_and_steps(Journey(bot, emulator, NEWCOMER)),
                fast_taps(Journey(bot, emulator, TAPPER)),
                checkin(Journey(bot, emulator, LOAN_HOLDER)),
                inbox(Journey(bot, emulator, 7004), emulator),
                broadcast_and_export(admin, emulator),
            )
            for uid in AUDIENCE:
                assert emulator.bot_messages(uid), f"broadcast never reached {uid}"
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert sum(emulator.rate_limited.values()) == 0, emulator.errors[-5:]
    assert "Traceback" not in bot.stderr and " ERROR " not in bot.stderr, bot.stderr[-3000:]
    assert emulator.unanswered_callbacks() == []
