"""Security properties: the staff gate, secret-free logs, real erasure, private files, forgery."""

from __future__ import annotations

import io
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.core.logs import RedactTokens
from bot.db.engine import Database
from bot.entry.app import build_application
from bot.entry.services import Services
from bot.messengers.fakeapi.client import ChatClient
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.repo.checkins import CheckinRepo
from bot.repo.staff import StaffRepo
from handlers import build_registry
from handlers.commands import parse_command
from tests.conftest import Bot, no_errors
from tests.support.stores import Store, column_names, table_names
from tests.test_checkins import deliver, loan_holder
from tests.test_onboarding import FA_NAME, onboard

ADMIN = 1
REGISTRY = build_registry()
STAFF_COMMANDS = sorted(k for k in REGISTRY.staff_only if k.startswith("/"))
STAFF_NAMESPACES = sorted(k[:-1] for k in REGISTRY.staff_only if k.endswith(":"))
STAFF_FLOWS = sorted(k[1:] for k in REGISTRY.staff_only if k.startswith("@"))


async def tables(db: Database) -> list[str]:
    """Every table of the schema."""
    return await table_names(db)


async def dump(db: Database, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but ``skip``), for before/after comparisons."""
    return {
        name: [tuple(r) for r in await db.fetchall(f'SELECT * FROM "{name}" ORDER BY 1')]
        for name in await tables(db)
        if name not in skip
    }


async def denied(bot: Bot, actor: int) -> list[str]:
    """What the audit log recorded as refused for one person, oldest first."""
    entries = await StaffRepo(bot.svc.db).latest(10_000, action="denied")
    return [str(e.detail.get("what")) for e in reversed(entries) if e.actor == actor]


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot whose configured admin is user 1."""
    instance = Bot(
        db_path=tmp_path / "desk.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    yield instance
    await instance.stop()


# --- (a) the staff gate ------------------------------------------------------------------------
def test_the_registry_has_staff_entries() -> None:
    """The checks below are only meaningful if something is staff-only."""
    assert "/audit" in STAFF_COMMANDS and "/addstaff" in STAFF_COMMANDS
    assert "tk" in STAFF_NAMESPACES


async def test_staff_commands_look_unknown_to_applicants(bot: Bot) -> None:
    """Each staff command (with arguments, in capitals, addressed to the bot) reads as unknown."""
    me = await onboard(bot, 1601, lang="en")
    reference = [m.content for m in await me.send("/frobnicate")]
    t = bot.svc.i18n.t
    assert reference == [t("en", "errors.unknown_command") + "\n\n" + t("en", "menu.prompt")]
    attempts = []
    for command in STAFF_COMMANDS:
        for text in (command, f"{command} 1601 admin", command.upper(), command + "@homebiz_bot"):
            before = await dump(bot.svc.db, skip=("audit",))
            with no_errors():
                replies = [m.content for m in await me.send(text)]
            assert replies == reference, text
            assert await dump(bot.svc.db, skip=("audit",)) == before, text
            attempts.append(text.split()[0].split("@")[0].lower())  # the word only: nothing else
    assert await denied(bot, 1601) == attempts
    assert await StaffRepo(bot.svc.db).role("telegram", 1601) is None


def _command_entity(offset: int, length: int) -> list[dict[str, Any]]:
    """A bot_command entity as a (possibly forging) client would send it."""
    return [{"type": "bot_command", "offset": offset, "length": length}]


async def _send_forged(
    bot: Bot, me: ChatClient, text: str, entities: list[dict[str, Any]]
) -> list[str]:
    """Send a text with entities chosen by the sender; return the texts the person sees."""
    update = bot.emulator.user_text(me.user_id, text, enqueue=False)
    update["message"].pop("entities", None)
    if entities:
        update["message"]["entities"] = entities
    mark = len(bot.emulator.events)
    assert bot.app is not None
    await bot.app.process_update(Update.de_json(update, bot.app.bot))
    return [
        e.message.content
        for e in bot.emulator.events[mark:]
        if e.chat_id == me.chat_id and e.kind == "new"
    ]


ZW = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")  # zero-width and invisible characters
# Texts that are not commands, whatever entities the client claims: no staff action may run.
FORGED_TEXTS = [
    (" /addstaff {me} admin", _command_entity(0, 9)),  # the reported attack
    (" /addstaff {me} admin", _command_entity(1, 9)),
    ("  /addstaff@homebiz_test_bot {me} admin", _command_entity(0, 26)),
    ("\u00a0/addstaff {me} admin", _command_entity(0, 10)),
    ("\n/addstaff {me} admin", _command_entity(0, 10)),
    *[(f"{zw}/addstaff {{me}} admin", _command_entity(0, 10)) for zw in ZW],
    *[(f"{zw}/addstaff {{me}} admin", _command_entity(1, 9)) for zw in ZW],
    *[(f"/addstaff{zw} {{me}} admin", _command_entity(0, 9)) for zw in ZW],
    ("/add\u200bstaff {me} admin", _command_entity(0, 4)),
    ("x/addstaff {me} admin", _command_entity(1, 9)),
    ("/addstaff\u2024 {me} admin", _command_entity(0, 9)),  # a look-alike of "."
    ("／addstaff {me} admin", _command_entity(0, 9)),  # full-width solidus
]
# Real commands (the text starts with one) with wrong, missing or misplaced entities.
FORGED_COMMANDS = [
    ("/addstaff {me} admin", []),
    ("/addstaff {me} admin", _command_entity(3, 4)),
    ("/addstaff {me} admin", _command_entity(10, 4)),
    ("/ADDSTAFF@homebiz_test_bot {me} admin", _command_entity(0, 26)),
    ("/AddStaff@homebiz_test_bot {me} admin", []),
    ("/addstaff\t{me}\tadmin", _command_entity(0, 9)),
]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("/start", ("start", [])),
        ("/Start@homebiz_test_bot", ("start", [])),
        ("/addstaff  bale:12\tadmin\n", ("addstaff", ["bale:12", "admin"])),
        ("/ADDSTAFF@homebiz_test_bot 905 admin", ("addstaff", ["905", "admin"])),
        (" /addstaff 905 admin", None),
        ("\u200b/addstaff", None),
        ("/addstaff\u200b 905", None),
        ("/", None),
        ("/ start", None),
        ("//start", None),
        ("/start@", None),
        ("/start@bot@bot", None),
        ("/" + "a" * 33, None),
        ("/شروع", None),
        ("/start/now", None),
        ("", None),
        (None, None),
    ],
)
def test_one_definition_of_a_command(
    text: str | None, expected: tuple[str, list[str]] | None
) -> None:
    """A command starts at the first character; the word is lower-cased, @botname dropped."""
    assert parse_command(text) == expected


@pytest.mark.parametrize("text,entities", FORGED_TEXTS)
async def test_a_forged_command_entity_is_plain_text(
    bot: Bot, text: str, entities: list[dict[str, Any]]
) -> None:
    """A text that does not start with "/" is text, whatever entity the client attached."""
    me = await onboard(bot, 1610, lang="en")
    reference = [m.content for m in await me.send("plain words")]
    assert reference == [bot.svc.i18n.t("en", "inbox.typed_offer")]  # text: offered to staff
    before = await dump(bot.svc.db, skip=("audit", "users"))
    with no_errors():
        replies = await _send_forged(bot, me, text.format(me=1610), entities)
    assert replies == reference
    assert await dump(bot.svc.db, skip=("audit", "users")) == before
    person = await bot.svc.users.find("telegram", 1610)
    assert person is not None and person.state == "typed"  # kept as text until they tap
    assert person.state_data["text"] == "plain words\n" + text.format(me=1610).strip()
    assert await StaffRepo(bot.svc.db).role("telegram", 1610) is None
    assert await denied(bot, 1610) == []  # text, not a refused command


@pytest.mark.parametrize("text,entities", FORGED_COMMANDS)
async def test_a_command_is_read_from_the_text_not_the_entities(
    bot: Bot, text: str, entities: list[dict[str, Any]]
) -> None:
    """A text starting with a staff command is refused like one, whatever its entities say."""
    me = await onboard(bot, 1611, lang="en")
    reference = [m.content for m in await me.send("/frobnicate")]
    before = await dump(bot.svc.db, skip=("audit",))
    with no_errors():
        replies = await _send_forged(bot, me, text.format(me=1611), entities)
    assert replies == reference
    assert await dump(bot.svc.db, skip=("audit",)) == before
    assert await StaffRepo(bot.svc.db).role("telegram", 1611) is None
    assert await denied(bot, 1611) == ["/addstaff"]


async def test_an_admin_command_in_capitals_addressed_to_the_bot_works(desk: Bot) -> None:
    """The admin's `/ADDSTAFF@homebiz_test_bot 1612 admin` is /addstaff with its arguments."""
    admin = desk.client(ADMIN, lang="en")
    replies = await admin.send("/ADDSTAFF@homebiz_test_bot 1612 admin")
    assert [m.content for m in replies] == [
        desk.svc.i18n.t("en", "staff.added", who="telegram:1612", role="admin")
    ]
    assert await StaffRepo(desk.svc.db).role("telegram", 1612) == "admin"
    await admin.send("hello")
    reference = [m.content for m in await admin.send("hello")]
    replies = await admin.send(" /removestaff 1612")  # not a command: nothing is removed
    assert [m.content for m in replies] == reference
    assert await StaffRepo(desk.svc.db).role("telegram", 1612) == "admin"


async def test_staff_buttons_look_stale_to_applicants(bot: Bot) -> None:
    """Each staff button namespace, forged by an applicant, reads as a stale button."""
    me = await onboard(bot, 1602, lang="fa")
    reference = [m.content for m in await me.press_data("zz:1")]
    reference_answer = me.last_query.answer if me.last_query else None
    t = bot.svc.i18n.t
    assert reference == [t("fa", "errors.stale_button") + "\n\n" + t("fa", "menu.prompt")]
    attempts = []
    for namespace in STAFF_NAMESPACES:
        for data in (f"{namespace}:close:1", f"{namespace}:c:1", f"{namespace}:x", namespace + ":"):
            before = await dump(bot.svc.db, skip=("audit",))
            with no_errors():
                replies = [m.content for m in await me.press_data(data)]
            assert replies == reference, data
            assert me.last_query is not None and me.last_query.answer == reference_answer
            assert await dump(bot.svc.db, skip=("audit",)) == before, data
            attempts.append(namespace + ":")  # the namespace only
    assert not bot.emulator.unanswered_callbacks()
    assert await denied(bot, 1602) == attempts


@pytest.mark.parametrize("flow", STAFF_FLOWS)
async def test_a_staff_state_left_behind_is_not_honoured(bot: Bot, flow: str) -> None:
    """Someone stuck in a staff conversation (e.g. demoted mid-way) is answered as an applicant."""
    me = await onboard(bot, 1603, lang="en")
    person = await bot.svc.users.find("telegram", 1603)
    assert person is not None
    await bot.svc.users.set_state(person, f"{flow}:content", {}, bot.clock.timestamp())
    before = await dump(bot.svc.db, skip=("audit", "users"))
    with no_errors():
        replies = await me.send("Everyone gets a prize")
    # Plain text at the menu: offered to the staff as a question, nothing sent or filed.
    assert replies and replies[-1].content == bot.svc.i18n.t("en", "inbox.typed_offer")
    assert await dump(bot.svc.db, skip=("audit", "users")) == before
    person = await bot.svc.users.find("telegram", 1603)
    assert person is not None and person.state == "typed"
    assert await denied(bot, 1603) == ["(message)"]  # what they typed is not in the audit


@pytest.mark.parametrize("kind", ["photo", "contact", "sticker", "location"])
async def test_media_in_a_staff_state_left_behind_is_answered(bot: Bot, kind: str) -> None:
    """A photo (etc.) from someone stuck in a staff conversation gets the applicant's answer."""
    me = await onboard(bot, 1606, lang="en")
    person = await bot.svc.users.find("telegram", 1606)
    assert person is not None
    await bot.svc.users.set_state(person, f"{STAFF_FLOWS[0]}:content", {}, bot.clock.timestamp())
    send = {
        "photo": lambda: me.send_photo("for everyone"),
        "contact": lambda: me.share_contact(),
        "sticker": lambda: me.send_sticker(),
        "location": lambda: me.send_location(),
    }[kind]
    with no_errors():
        replies = await send()
    assert await denied(bot, 1606)
    t = bot.svc.i18n.t
    assert [m.content for m in replies] == [
        t("en", "errors.unexpected_media") + "\n\n" + t("en", "menu.prompt")
    ]


async def test_admins_pass_the_gate(desk: Bot) -> None:
    """The same commands and buttons from the configured admin are not refused."""
    admin = desk.client(ADMIN, lang="en")
    unknown = desk.svc.i18n.t("en", "errors.unknown_command")
    with no_errors():
        for command in STAFF_COMMANDS:
            replies = await admin.send(command)
            assert replies and replies[0].content != unknown, command
            await admin.send("/cancel")
        await admin.send("/staff")  # a message for the buttons to sit under
        for namespace in STAFF_NAMESPACES:
            for data in (f"{namespace}:close:1", f"{namespace}:c:1", f"{namespace}:x"):
                await admin.press_data(data)
    assert await denied(desk, ADMIN) == []
    assert not desk.emulator.unanswered_callbacks()


async def test_staff_added_by_the_admin_pass_and_removed_staff_do_not(desk: Bot) -> None:
    """/addstaff opens the gate for staff-level commands; /removestaff closes it again."""
    admin = desk.client(ADMIN, lang="en")
    me = await onboard(desk, 1604, lang="en")
    staff_level = [c for c in STAFF_COMMANDS if REGISTRY.staff_only[c] == "staff"]
    admin_level = [c for c in STAFF_COMMANDS if REGISTRY.staff_only[c] == "admin"]
    assert staff_level and admin_level
    await admin.send("/addstaff 1604")
    assert await StaffRepo(desk.svc.db).role("telegram", 1604) == "staff"
    with no_errors():
        for command in staff_level:
            await me.send(command)
            await me.send("/cancel")
        for command in admin_level:
            await me.send(command)
    assert await denied(desk, 1604) == admin_level
    await admin.send("/removestaff 1604")
    assert await StaffRepo(desk.svc.db).role("telegram", 1604) is None
    await me.send(staff_level[0])
    assert await denied(desk, 1604) == [*admin_level, staff_level[0]]


@pytest.mark.parametrize(
    "how,expected",
    [
        ("/addstaff ²", "staff.addstaff_usage"),
        ("/addstaff 99999999999999999999999", "staff.addstaff_usage"),
        ("/removestaff telegram:²", "staff.removestaff_usage"),
        ("tk:close:²", "no such ticket"),
        ("tk:close:99999999999999999999999", "no such ticket"),
        ("bc:c:²", "stale"),
        ("bc:c:99999999999999999999999", "stale"),
    ],
)
async def test_staff_inputs_with_strange_numbers_are_refused_politely(
    desk: Bot, how: str, expected: str
) -> None:
    """An admin's mistyped number is answered (usage, stale, closed), never a crash."""
    t = desk.svc.i18n.t
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/staff")  # a message for the button to sit under
    with no_errors():
        replies = await (admin.send(how) if how.startswith("/") else admin.press_data(how))
    seen = [m.content for m in replies]
    toast = admin.last_query.answer if admin.last_query else None
    if expected == "no such ticket":  # the staff-group answer, in the staff group's language
        assert (seen, toast) == ([], {"text": t("fa", "inbox.already_closed")})
    elif expected == "stale":
        stale = t("en", "errors.stale_button")
        assert seen == [stale + "\n\n" + t("en", "start.choose_language")]  # then where they are
        assert toast == {"text": stale, "show_alert": False}
    else:
        assert seen == [t("en", expected)]
        assert toast is None


# --- (b) no token in any log line --------------------------------------------------------------
# A made-up token of the real shape, assembled at run time so no token-shaped string is committed.
REAL_LOOKING = "7318465920" + ":" + "AAF3kq9ZxV_7mP2rT8wLq4sN1bY6cD0eHjU"


@dataclass
class TokenBot(Bot):
    """The test bot, started with a realistic token instead of the fixture's."""

    token: str = REAL_LOOKING

    async def start(self) -> None:
        """Open services and initialise the Application with ``token``."""
        settings = Settings(db_path=self.db_path, admins=self.admins, staff_chats=self.staff_chats)
        self.services = await Services.open(settings, clock=self.clock)
        self.app = build_application(
            self.services,
            self.platform,
            token=self.token,
            base_url="http://fake.invalid/bot",
            base_file_url="http://fake.invalid/file/bot",
            request=EmulatorRequest(self.emulator),
            with_updater=False,
            with_jobs=False,
            limits=self.limits,
        )
        await self.app.initialize()


def rendered(record: logging.LogRecord) -> str:
    """A record as a log line would show it, traceback included."""
    return logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)


@contextmanager
def production_logging(secrets: list[str]) -> Iterator[io.StringIO]:
    """``setup_logging`` at DEBUG writing to a buffer, every logger at DEBUG, pytest's kept."""
    from bot.core.logs import setup_logging

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet = ("httpx", "httpcore", "apscheduler", "telegram.ext.ExtBot")
    saved_quiet = {name: logging.getLogger(name).level for name in quiet}
    stream = io.StringIO()
    real_stderr, sys.stderr = sys.stderr, stream
    try:
        setup_logging("DEBUG", secrets)
    finally:
        sys.stderr = real_stderr
    root.handlers[:] = root.handlers + saved_handlers  # redaction runs before pytest's capture
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)  # worse than production: all of it
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_quiet.items():
            logging.getLogger(name).setLevel(level)


async def test_no_token_in_any_log_line(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Onboarding and a failing Bot API (502), all at DEBUG: no log line holds the token."""
    caplog.set_level(logging.DEBUG)
    bot = TokenBot(db_path=tmp_path / "token.sqlite3", clock=clock)
    with production_logging([REAL_LOOKING]) as stream:
        await bot.start()
        try:
            me = await onboard(bot, 1605, lang="en")
            bot.emulator.error_rate = 1.0
            me.raise_errors = False
            await me.send("/help")
            bot.emulator.error_rate = 0.0
            await me.send("/help")
        finally:
            await bot.stop()
    text = stream.getvalue()
    assert "update failed" in text and "Bad Gateway" in text, "the 502 was not logged"
    assert "Traceback" in text
    secret = REAL_LOOKING.split(":", 1)[1]
    assert secret not in text
    assert secret not in caplog.text
    assert not [r for r in caplog.records if secret in rendered(r)]
    if "Set Bot API URL" in text:  # PTB logs its URL, token included, at DEBUG
        assert "Set Bot API URL: http://fake.invalid/bot***" in text


def _record(message: str, *args: object, error: BaseException | None = None) -> logging.LogRecord:
    """A log record as a logger would make it."""
    exc_info = (type(error), error, error.__traceback__) if error else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)


def test_redaction_of_messages_and_tracebacks() -> None:
    """A token in the message, its arguments or an exception's traceback becomes ***."""
    token, webhook_secret = REAL_LOOKING, "hook-Secret-42"
    try:
        raise ConnectionError(f"POST https://api.telegram.org/bot{token}/sendMessage failed")
    except ConnectionError as exc:
        error = exc
    for record in (
        _record(f"calling https://api.telegram.org/bot{token}/getMe"),
        _record("calling %s with %r", f"bot{token}/getMe", {"secret": webhook_secret}),
        _record("update failed: %r", error, error=error),
        _record("shaped like a token: 123456:%s", "A" * 30),
    ):
        RedactTokens([token, webhook_secret]).filter(record)
        line = rendered(record)
        assert token.split(":", 1)[1] not in line and webhook_secret not in line, line
        assert "A" * 30 not in line and "***" in line
    traced = _record("update failed: %r", error, error=error)
    RedactTokens([token]).filter(traced)
    assert "Traceback" in rendered(traced)
    assert "ConnectionError: POST https://api.telegram.org/bot***/sendMessage" in rendered(traced)


def test_exception_messages_that_may_echo_a_person_are_withheld() -> None:
    """A ValueError quoting what someone typed shows its type and frames, not its message."""
    typed = "Zahra Ahmadi 09121234567"
    try:
        try:
            int(typed)
        except ValueError as exc:
            raise KeyError(typed) from exc
    except KeyError as exc:
        error = exc
    record = _record("update failed: %r", error, error=error)
    RedactTokens().filter(record)
    line = rendered(record)
    assert "Zahra" not in line and "0912" not in line, line
    assert line.startswith("t ERROR update failed: KeyError\nTraceback (most recent call last):")
    assert "ValueError (message withheld: it may echo personal data)" in line
    assert "The above exception was the direct cause of:" in line
    assert line.endswith("KeyError (message withheld: it may echo personal data)")


def test_library_debug_records_never_pass_and_their_tracebacks_fold() -> None:
    """PTB's "Processing update" at DEBUG is dropped; a library's error is one line at INFO."""
    update = {"message": {"text": "my national code is 0013542419"}}
    debug = logging.LogRecord(
        "telegram.ext.Application", logging.DEBUG, __file__, 1, "Processing update %s", (update,),
        None,
    )
    assert RedactTokens(tracebacks=True).filter(debug) is False
    try:
        raise ConnectionError("connection refused")
    except ConnectionError as exc:
        error = exc
    failure = logging.LogRecord(
        "telegram.ext.Updater",
        logging.ERROR,
        __file__,
        1,
        "Exception happened while polling for updates.",
        (),
        (type(error), error, error.__traceback__),
    )
    assert RedactTokens(tracebacks=False).filter(failure) is True
    assert rendered(failure) == (
        "telegram.ext.Updater ERROR Exception happened while polling for updates. "
        "(ConnectionError: connection refused)"
    )
    ours = logging.LogRecord(
        "bot.entry.runner", logging.DEBUG, __file__, 1, "ours %s", ("x",), None
    )
    assert RedactTokens(tracebacks=False).filter(ours) is True


def test_library_records_never_show_an_update() -> None:
    """PTB's CRITICAL "Received data was %r" (raw updates) shows the data's type only."""
    message = {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}}
    raw = [{"update_id": 1, "message": {**message, "text": "Zahra Ahmadi 09121234567"}}]
    parsed = Update.de_json(raw[0], None)
    for argument, shown in ((raw, "<list withheld>"), (parsed, "<Update withheld>")):
        record = logging.LogRecord(
            "telegram.Bot", logging.CRITICAL, __file__, 1, "Received data was %r", (argument,), None
        )
        assert RedactTokens().filter(record) is True
        assert rendered(record) == f"telegram.Bot CRITICAL Received data was {shown}"


def test_redaction_without_the_configured_secret() -> None:
    """Even when the exact token was not passed, anything shaped like one is hidden."""
    record = _record(f"https://tapi.bale.ai/bot{REAL_LOOKING}/getUpdates")
    RedactTokens().filter(record)
    assert REAL_LOOKING.split(":", 1)[1] not in rendered(record)


def test_setup_logging_output_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stderr handler that setup_logging installs writes *** for the token."""
    from bot.core.logs import setup_logging

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet = ("httpx", "httpcore", "apscheduler", "telegram.ext.ExtBot")
    saved_quiet = {name: logging.getLogger(name).level for name in quiet}
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    try:
        setup_logging("DEBUG", [REAL_LOOKING])
        logging.getLogger("homebiz.test").info("token is %s", REAL_LOOKING)
        try:
            raise ValueError(REAL_LOOKING)
        except ValueError:
            logging.getLogger("homebiz.test").exception("failed")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_quiet.items():
            logging.getLogger(name).setLevel(level)
    text = stream.getvalue()
    assert "token is ***" in text
    assert "ValueError (message withheld: it may echo personal data)" in text
    assert REAL_LOOKING.split(":", 1)[1] not in text


# --- (c) /delete erases everything personal ----------------------------------------------------
async def test_delete_leaves_nothing_personal_in_any_table(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Profile, steps, eligibility, a check-in with a note, a ticket: then /delete and a scan."""
    uid = 731_846_259
    bot = Bot(db_path=tmp_path / "erase.sqlite3", clock=clock, staff_chats={"telegram": -100_900})
    await bot.start()
    try:
        bot.emulator.add_user(ADMIN)
        await _staff_group_exists(bot)
        me = await loan_holder(bot, uid, lang="fa")
        await _live_a_little(bot, me)
        person = await bot.svc.users.find("telegram", uid)
        assert person is not None
        mine = await _rows_mentioning(bot.svc.db, uid, person.id)
        assert {"users", "step_progress", "checkin_rounds", "checkin_answers", "tickets"} <= set(
            mine
        ), mine
        await me.send("/delete")
        await me.press("del:yes")
        assert await bot.svc.users.find("telegram", uid) is None
        left = await _rows_mentioning(bot.svc.db, uid, person.id)
        assert not left, left
    finally:
        await bot.stop()


PERSONAL_BYTES = [
    text.encode()
    for text in ("0013542419", "۰۰۱۳۵۴۲۴۱۹", "9123456789", "۹۱۲۳۴۵۶۷۸۹", FA_NAME, "supplier closed")
]


def _files_holding(path: Path, needles: list[bytes]) -> dict[str, list[bytes]]:
    """Which of the database's files (main, -wal, -shm) hold which needles, byte for byte."""
    found: dict[str, list[bytes]] = {}
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists():
            data = file.read_bytes()
            hits = [n for n in needles if n in data]
            if hits:
                found[file.name] = hits
    return found


async def test_delete_leaves_nothing_personal_in_the_database_files(
    tmp_path: Path, clock: ManualClock
) -> None:
    """After /delete the raw bytes of the database and its -wal hold no code, mobile or name."""
    path = tmp_path / "raw.sqlite3"
    bot = Bot(db_path=path, clock=clock, staff_chats={"telegram": -100_900})
    await bot.start()
    try:
        bot.emulator.add_user(ADMIN)
        await _staff_group_exists(bot)
        await loan_holder(bot, 731_846_261, lang="fa")
        await bot.restart()  # closing checkpoints the profile into the database file itself
        me = bot.client(731_846_261, lang="fa")
        await _live_a_little(bot, me)
        assert set(_files_holding(path, PERSONAL_BYTES)) == {"raw.sqlite3", "raw.sqlite3-wal"}
        secure = await bot.svc.db.fetchone("PRAGMA secure_delete")
        assert secure is not None and secure[0] == 1  # some SQLite builds default to off
        await me.send("/delete")
        await me.press("del:yes")
        assert await bot.svc.users.find("telegram", 731_846_261) is None
        assert _files_holding(path, PERSONAL_BYTES) == {}
    finally:
        await bot.stop()
    assert _files_holding(path, PERSONAL_BYTES) == {}


async def test_delete_also_forgets_refused_attempts(bot: Bot) -> None:
    """An applicant who once typed a staff command is not findable in the audit after /delete."""
    uid = 731_846_260
    me = await onboard(bot, uid, lang="en")
    await me.send("/audit my number is 09123456789")
    assert await denied(bot, uid)
    await me.send("/delete")
    await me.press("del:yes")
    person_pk = -1  # the users row is gone; only the ids and texts matter here
    left = await _rows_mentioning(bot.svc.db, uid, person_pk)
    assert not left, left


async def test_staff_who_delete_themselves_leave_the_staff(desk: Bot) -> None:
    """Someone added with /addstaff erases their data: the role goes too, audited by ids only."""
    t = desk.svc.i18n.t
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/addstaff 1620")
    me = await onboard(desk, 1620, lang="en")
    assert (await me.send("/stats"))[0].content != t("en", "errors.unknown_command")
    replies = await me.send("/delete")
    assert [m.content for m in replies] == [
        t("en", "delete.confirm") + "\n\n" + t("en", "delete.staff_note")
    ]
    await me.press("del:yes")
    assert await desk.svc.users.find("telegram", 1620) is None
    assert await StaffRepo(desk.svc.db).role("telegram", 1620) is None
    entry = (await StaffRepo(desk.svc.db).latest(1))[0]
    assert (entry.actor, entry.action, entry.detail) == (
        1620,
        "staff_removed",
        {"platform": "telegram", "user_id": 1620, "role": "staff", "by": "delete"},
    )
    unknown = t("en", "errors.unknown_command") + "\n\n" + t("en", "start.choose_language")
    assert [m.content for m in await me.send("/stats")] == [unknown]  # a stranger now
    await desk.restart()
    assert await StaffRepo(desk.svc.db).role("telegram", 1620) is None


async def test_admins_named_in_the_settings_are_told_why_they_cannot_delete(desk: Bot) -> None:
    """HOMEBIZ_ADMINS would make them admin again at the next start: refused, nothing erased."""
    t = desk.svc.i18n.t
    me = await onboard(desk, ADMIN, lang="en")
    replies = await me.send("/delete")
    assert [m.content for m in replies] == [t("en", "delete.admin_refused")]
    assert "HOMEBIZ_ADMINS" in replies[0].content
    replies = await me.press_data("del:yes")  # no question was asked: a stale button
    assert [m.content for m in replies] == [
        t("en", "errors.stale_button") + "\n\n" + t("en", "menu.prompt")
    ]
    person = await desk.svc.users.find("telegram", ADMIN)
    assert person is not None and person.full_name == "Sara Moradi"
    assert await StaffRepo(desk.svc.db).role("telegram", ADMIN) == "admin"


async def test_an_admin_named_after_the_question_was_asked_is_refused_too(desk: Bot) -> None:
    """Staff with the question open, then named in HOMEBIZ_ADMINS and restarted: not erased."""
    t = desk.svc.i18n.t
    admin = desk.client(ADMIN, lang="en")
    await admin.send("/addstaff 1621")
    me = await onboard(desk, 1621, lang="en")
    await me.send("/delete")
    desk.admins = frozenset({("telegram", ADMIN), ("telegram", 1621)})
    await desk.restart()
    me = desk.client(1621, lang="en")
    replies = await me.press("del:yes")
    assert [m.content for m in replies] == [t("en", "delete.admin_refused")]
    person = await desk.svc.users.find("telegram", 1621)
    assert person is not None and person.state == ""
    assert await StaffRepo(desk.svc.db).role("telegram", 1621) == "admin"


async def _staff_group_exists(bot: Bot) -> None:
    """Make the staff group known to the fake API."""
    bot.emulator.group_text(-100_900, ADMIN, "hi", enqueue=False)


async def _live_a_little(bot: Bot, me: ChatClient) -> None:
    """Steps, help, eligibility, a check-in answered "other problem" with a note, a question."""
    t = bot.svc.i18n.t
    await me.send(t("fa", "menu.steps"))
    await me.press(1)
    await me.press_data(f"st:help:{bot.svc.content.steps[0].id}")
    await me.send(t("fa", "menu.eligibility"))
    for _ in bot.svc.content.eligibility.questions:
        await me.press(1)
    assert await deliver(bot) >= 1
    await me.press_data(_data_ending(me, ":pr"))
    await me.press_data(_data_ending(me, ":other"))
    await me.send(f"{FA_NAME} 09123456789 0013542419 — supplier closed")
    await me.send(t("fa", "menu.ask"))
    await me.send(f"من {FA_NAME} هستم، شماره‌ام ۰۹۱۲۳۴۵۶۷۸۹ است")
    await me.send_photo("کارت ملی 0013542419")


def _data_ending(me: ChatClient, suffix: str) -> str:
    """The callback data of the latest button whose data ends with ``suffix``."""
    return next(b["callback_data"] for b in _buttons(me) if b["callback_data"].endswith(suffix))


def _buttons(me: ChatClient) -> list[dict[str, Any]]:
    """The inline buttons of the latest message that has some."""
    for msg in reversed(me.messages):
        if msg.inline_buttons():
            return msg.inline_buttons()
    return []


async def _rows_mentioning(db: Database, uid: int, pk: int) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of any table holding the person's ids (as numbers or text), name, mobile or code."""
    needles = ("9123456789", "۹۱۲۳۴۵۶۷۸۹", "0013542419", "۰۰۱۳۵۴۲۴۱۹", FA_NAME, str(uid))
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name in await tables(db):
        columns = await column_names(db, name)
        key_columns = {c for c in columns if c.endswith(("user_pk",))}
        for row in await db.fetchall(f'SELECT * FROM "{name}"'):
            hit = False
            for column, value in zip(row.keys(), tuple(row), strict=True):
                if (
                    isinstance(value, int)
                    and (value == uid or (column in key_columns and value == pk))
                ) or (isinstance(value, str) and any(n in value for n in needles)):
                    hit = True
            if name == "users" and row["id"] == pk:
                hit = True
            if hit:
                found.setdefault(name, []).append(tuple(row))
    return found


# --- (d) private files ------------------------------------------------------------------------
@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so only explicit modes protect the files."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_and_its_wal_files_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    """The database, its -wal and -shm files and a backup are created 0600."""
    path = tmp_path / "private.sqlite3"
    db = await Database.open(path)
    try:
        await db.execute(
            "INSERT INTO audit (at, platform, actor, action) VALUES (1, 'telegram', 1, 'x')"
        )
        files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        assert Path(f"{path}-wal") in files
        assert {p.name: oct(_mode(p)) for p in files} == {p.name: "0o600" for p in files}
        await db.backup(tmp_path / "copy.sqlite3")
        assert oct(_mode(tmp_path / "copy.sqlite3")) == "0o600"
    finally:
        await db.close()


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    """A database file left 0644 by someone else is made 0600 when opened."""
    path = tmp_path / "loose.sqlite3"
    path.touch()
    path.chmod(0o644)
    db = await Database.open(path)
    await db.close()
    assert oct(_mode(path)) == "0o600"


# --- (e) forged buttons cannot touch another person's data -------------------------------------
async def test_a_forged_checkin_button_cannot_answer_someone_elses_round(bot: Bot) -> None:
    """B presses A's check-in buttons: expired for B; A's round stays open and unanswered."""
    alice = await loan_holder(bot, 1701, lang="en")
    assert await deliver(bot) == 1
    data = _data_ending(alice, ":op")
    round_id = int(data.split(":")[1])
    bob = await onboard(bot, 1702, lang="en")
    before = await dump(bot.svc.db, skip=("users",))
    with no_errors():
        for forged in (
            data,
            f"ci:{round_id}:pr",
            f"ci:{round_id}:staff:2",
            f"ci:{round_id}:closed:other",
            f"ci:{round_id}:resume:3",
        ):
            replies = await bob.press_data(forged)
            assert "expired" in replies[0].content, forged
    assert await dump(bot.svc.db, skip=("users",)) == before
    rnd = await CheckinRepo(bot.svc.db).get_round(round_id)
    assert rnd is not None and rnd.status == "open"
    assert await CheckinRepo(bot.svc.db).round_answer(round_id) is None
    await alice.press_data(data)
    assert "How many people" in alice.last


async def test_forged_buttons_before_the_profile_is_done(bot: Bot) -> None:
    """Step, eligibility, profile, deletion and milestone buttons do nothing out of place."""
    me = bot.client(1703, lang="en")
    await me.send("/start")
    step = bot.svc.content.steps[0].id
    question = bot.svc.content.eligibility.questions[0]
    forged = [
        f"st:done:{step}",
        f"st:help:{step}",
        f"el:{question.id}:{question.answers[0].id}",
        "pf:full_name",
        "del:yes",
        "ms:keep:loan_received",
        "cinote:skip",
    ]
    with no_errors():
        for data in [*forged, "set:delete", "del:yes"]:
            replies = await me.press_data(data)
            assert replies, data
            # Before a language is chosen nothing is stored: no row, so no state to bend.
            assert await bot.svc.users.find("telegram", 1703) is None, data
            assert bot.svc.i18n.t("en", "start.choose_language") in replies[-1].content, data
    stored = await dump(bot.svc.db, skip=("audit",))
    assert stored["users"] == stored["step_progress"] == stored["followups"] == []
    assert not bot.emulator.unanswered_callbacks()
    await me.press("English")
    await me.press("priv:yes")
    with no_errors():
        for data in forged:
            await me.press_data(data)
    person = await bot.svc.users.find("telegram", 1703)
    assert person is not None and person.state.startswith("profile:")
    assert await bot.svc.steps.progress(person.id) == {}
    rows = await bot.svc.db.fetchall("SELECT * FROM followups")
    assert rows == []


async def test_delete_button_without_the_question_erases_nothing(bot: Bot) -> None:
    """A forged "del:yes" outside the confirmation is a stale button; the profile stays."""
    me = await onboard(bot, 1704, lang="en")
    replies = await me.press_data("del:yes")
    t = bot.svc.i18n.t
    assert [m.content for m in replies] == [
        t("en", "errors.stale_button") + "\n\n" + t("en", "menu.prompt")
    ]
    person = await bot.svc.users.find("telegram", 1704)
    assert person is not None and person.full_name == "Sara Moradi"
