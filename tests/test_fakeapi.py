"""Tests of the fake Bot API, driven through real python-telegram-bot objects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.messengers.fakeapi.client import ChatClient, render
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest

USER = 5_123_456_789  # above 32 bits, as Bale ids can be
AnyApp = Application[Any, Any, Any, Any, Any, Any]


class FakeClock:
    """A manually advanced clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """Return the current fake time."""
        return self.now


def build_app(emu: BotApiEmulator) -> AnyApp:
    """Build an Application whose requests all go to ``emu``."""
    return (
        ApplicationBuilder()
        .token("123:TEST")
        .request(EmulatorRequest(emu))
        .get_updates_request(EmulatorRequest(emu))
        .updater(None)
        .build()
    )


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock shared with the emulator."""
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> BotApiEmulator:
    """An emulator with one known user."""
    emulator = BotApiEmulator(clock=clock)
    emulator.add_user(USER)
    return emulator


@pytest.fixture
async def app(emu: BotApiEmulator) -> AsyncIterator[AnyApp]:
    """An initialized Application talking to ``emu``."""
    application = build_app(emu)
    await application.initialize()
    yield application
    await application.shutdown()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of callback buttons from (label, data) pairs."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in pairs]])


async def test_get_me_and_send_message_recorded(app: AnyApp, emu: BotApiEmulator) -> None:
    """getMe answers the configured bot; sendMessage is stored, counted and logged."""
    assert app.bot.username == "homebiz_test_bot"
    sent = await app.bot.send_message(USER, "سلام", reply_markup=keyboard(("a", "x")))
    assert sent.text == "سلام" and sent.chat.id == USER and sent.from_user.is_bot
    stored = emu.messages[USER][-1]
    assert (stored.text, stored.from_bot, stored.kind) == ("سلام", True, "text")
    assert stored.reply_markup == {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]}
    assert emu.sent_count(USER) == 1 and emu.delivered[USER] == 1
    method, params = emu.calls[-1]
    assert method == "sendMessage" and params["chat_id"] == USER
    assert isinstance(params["reply_markup"], dict)


async def test_unknown_chat_and_empty_text(app: AnyApp) -> None:
    """Unknown chats and whitespace-only texts are rejected like Telegram does."""
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(42, "hi")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await app.bot.send_message(USER, "   ")


async def test_length_counted_in_utf16_units(app: AnyApp, emu: BotApiEmulator) -> None:
    """2048 emoji are 4096 UTF-16 units and pass; 2049 are too long."""
    await app.bot.send_message(USER, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message is too long"):
        await app.bot.send_message(USER, "😀" * 2049)
    with pytest.raises(BadRequest, match="caption is too long"):
        await app.bot.send_photo(USER, b"\xff\xd8jpeg", caption="x" * 1025)
    assert emu.sent_count(USER) == 1


async def test_html_markup_is_not_counted_but_bad_tags_fail(app: AnyApp) -> None:
    """HTML tags are stripped before checks; tags Telegram lacks are rejected."""
    sent = await app.bot.send_message(USER, "<b>bold</b> &amp; x", parse_mode="HTML")
    assert sent.text == "bold & x"
    with pytest.raises(BadRequest, match="unsupported start tag"):
        await app.bot.send_message(USER, "a<br>b", parse_mode="HTML")


async def test_callback_data_limit_is_64_bytes(app: AnyApp) -> None:
    """Callback data is limited in UTF-8 bytes, not characters."""
    await app.bot.send_message(USER, "ok", reply_markup=keyboard(("b", "ش" * 32)))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(USER, "no", reply_markup=keyboard(("b", "ش" * 32 + "a")))


async def test_edit_rules(app: AnyApp, emu: BotApiEmulator) -> None:
    """Identical edits, missing messages and dropped keyboards behave like Telegram."""
    sent = await app.bot.send_message(USER, "one", reply_markup=keyboard(("a", "x")))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_text(
            "one", USER, sent.message_id, reply_markup=keyboard(("a", "x"))
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await app.bot.edit_message_text("two", USER, 999)
    edited = await app.bot.edit_message_text("one", USER, sent.message_id)
    assert edited.reply_markup is None and emu.messages[USER][-1].reply_markup is None
    assert emu.messages[USER][-1].edited
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_reply_markup(USER, sent.message_id)
    assert await app.bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await app.bot.delete_message(USER, sent.message_id)


async def test_blocked_chat_is_forbidden(app: AnyApp, emu: BotApiEmulator) -> None:
    """A chat in ``blocked`` answers 403, which PTB raises as Forbidden."""
    emu.blocked.add(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(USER, "hi")
    assert emu.sent_count(USER) == 0 and emu.errors[-1][1] == 403


async def test_global_rate_limit_raises_retry_after(
    app: AnyApp, emu: BotApiEmulator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sends over ``global_rate`` answer 429 with retry_after; waiting that long helps."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else RetryAfter() warns -> error
    emu.global_rate = 0.2  # one message per five seconds
    await app.bot.send_message(USER, "first")
    with pytest.raises(RetryAfter) as info:
        await app.bot.send_message(USER, "second")
    assert info.value.retry_after.total_seconds() == 5
    assert emu.errors[-1] == ("sendMessage", 429, "Too Many Requests: retry after 5")
    clock.now += 5
    await app.bot.send_message(USER, "third")
    assert emu.sent_count(USER) == 2 and emu.attempts[USER] == 3


def test_per_chat_rate_is_separate_per_chat(emu: BotApiEmulator) -> None:
    """The per-chat bucket of one chat does not affect another chat."""
    emu.add_user(7)
    emu.per_chat_rate = 1.0
    assert emu.handle("sendMessage", {"chat_id": USER, "text": "a"})[0] == 200
    status, body = emu.handle("sendMessage", {"chat_id": str(USER), "text": "b"})
    assert status == 429 and body["parameters"] == {"retry_after": 1}
    assert emu.handle("sendMessage", {"chat_id": "7", "text": "c"})[0] == 200


async def test_bad_gateway_is_plain_network_error(app: AnyApp, emu: BotApiEmulator) -> None:
    """error_rate=1 makes every send answer 502, raised as NetworkError (not BadRequest)."""
    emu.error_rate = 1.0
    with pytest.raises(NetworkError) as info:
        await app.bot.send_message(USER, "hi")
    assert type(info.value) is NetworkError and "Bad Gateway" in str(info.value)
    assert emu.sent_count(USER) == 0


async def test_stale_and_repeated_callback_answers(
    app: AnyApp, emu: BotApiEmulator, clock: FakeClock
) -> None:
    """A query can be answered once, and only within 15 minutes."""
    sent = await app.bot.send_message(USER, "pick", reply_markup=keyboard(("a", "x")))
    first = emu.user_press(USER, sent.message_id, "x")["callback_query"]["id"]
    second = emu.user_press(USER, sent.message_id, "x")["callback_query"]["id"]
    assert await app.bot.answer_callback_query(first, text="ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query(first)
    clock.now += 15 * 60 + 1
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query(second)
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query("no-such-id")


async def test_get_updates_offsets_and_shapes(app: AnyApp, emu: BotApiEmulator) -> None:
    """Queued updates parse with Update.de_json and are confirmed by offset."""
    emu.user_text(USER, "/start ref42")
    emu.user_contact(USER, "+989121234567", USER)
    emu.user_sticker(USER)
    emu.user_photo(USER, caption="عکس")
    emu.user_voice(USER)
    emu.user_document(USER)
    emu.user_location(USER)
    emu.user_edit(USER, 1, "/help")
    emu.group_text(-100123, USER, "hello group")
    emu.channel_post(-1009876543210, "post")
    updates = await app.bot.get_updates(limit=100)
    assert len(updates) == 10
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[1].message.contact.user_id == USER
    assert updates[3].message.photo[-1].width == 800 and updates[3].message.caption == "عکس"
    assert updates[7].edited_message.text == "/help"
    assert updates[8].effective_chat.type == "group"
    assert updates[9].channel_post.sender_chat.id == -1009876543210
    assert await app.bot.get_updates(offset=updates[5].update_id) == updates[5:]
    assert len(emu.pending_updates()) == 5
    assert await app.bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert emu.pending_updates() == []


async def test_files_roundtrip(app: AnyApp, emu: BotApiEmulator) -> None:
    """Uploads are recorded with name and size; getFile serves user files."""
    await app.bot.send_document(USER, b"hello", filename="report.xlsx", caption="r")
    assert emu.calls[-1][1]["document"] == {"filename": "report.xlsx", "size": 5}
    assert emu.messages[USER][-1].file == {
        "filename": "report.xlsx",
        "size": 5,
        "uploaded": True,
        "file_id": emu.messages[USER][-1].payload["document"]["file_id"],
    }
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await app.bot.send_photo(USER, "not-a-file-id")
    update = Update.de_json(emu.user_document(USER, "a.txt", b"abc"), app.bot)
    file = await app.bot.get_file(update.message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"abc"


async def test_misc_methods(app: AnyApp, emu: BotApiEmulator) -> None:
    """Chat actions, chat info, copy/forward, webhooks and unknown endpoints."""
    assert await app.bot.send_chat_action(USER, "typing")
    assert (await app.bot.get_chat(USER)).first_name == "Test"
    source = await app.bot.send_message(USER, "copy me")
    copied = await app.bot.copy_message(USER, USER, source.message_id)
    forwarded = await app.bot.forward_message(USER, USER, source.message_id)
    assert copied.message_id == source.message_id + 1
    assert forwarded.forward_origin.sender_user.id == emu.bot_id
    assert await app.bot.set_my_commands([("start", "شروع")])
    assert [c.command for c in await app.bot.get_my_commands()] == ["start"]
    assert await app.bot.set_webhook("https://example.invalid/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await app.bot.get_updates()
    assert await app.bot.delete_webhook(drop_pending_updates=True)
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("noSuchMethod")


def test_handle_decodes_json_strings(emu: BotApiEmulator) -> None:
    """Nested objects may arrive JSON-encoded; texts that look like JSON stay texts."""
    markup = json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "1"}]]})
    status, body = emu.handle(
        "sendMessage", {"chat_id": str(USER), "text": "[1, 2]", "reply_markup": markup}
    )
    assert status == 200 and body["result"]["text"] == "[1, 2]"
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "a"
    assert emu.handle("nope", {}) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )


async def test_group_reply_and_long_polling_wait(app: AnyApp, emu: BotApiEmulator) -> None:
    """Replies quote the stored message; wait_for_updates wakes when a user writes."""
    update = Update.de_json(emu.group_text(-100123, USER, "سلام"), app.bot)
    assert update.message is not None
    reply = await update.message.reply_text("درود", do_quote=True)
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "سلام"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await app.bot.send_message(-100123, "x", reply_to_message_id=999)
    await app.bot.get_updates(offset=update.update_id + 1)
    assert not await emu.wait_for_updates(0.01)

    async def write_later() -> None:
        """A user writes once the poll is waiting."""
        while not emu._waiters:
            await asyncio.sleep(0)
        emu.user_text(USER, "hi")

    task = asyncio.create_task(write_later())
    assert await emu.wait_for_updates(5.0)
    await task


async def test_markdown_v2_is_shown_without_markup(app: AnyApp) -> None:
    """MarkdownV2 markup and escapes are removed from the stored text."""
    sent = await app.bot.send_message(
        USER, r"*بولد* و \. [لینک](https://x.ir)", parse_mode="MarkdownV2"
    )
    assert sent.text == "بولد و . لینک"


def build_echo_app(emu: BotApiEmulator) -> AnyApp:
    """A tiny bot: /start offers inline and reply keyboards, texts echo, buttons edit."""
    application = build_app(emu)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Offer a language choice and a menu keyboard."""
        assert update.message is not None
        await update.message.reply_text(
            "زبان؟", reply_markup=keyboard(("فارسی", "lang:fa"), ("English", "lang:en"))
        )
        await update.message.reply_text("منو", reply_markup=ReplyKeyboardMarkup([["راهنما"]]))

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Echo texts; "done" removes the reply keyboard."""
        assert update.message is not None and update.message.text is not None
        markup = ReplyKeyboardRemove() if update.message.text == "done" else None
        await update.message.reply_text("echo: " + update.message.text, reply_markup=markup)

    async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer the press and edit the question."""
        query = update.callback_query
        assert query is not None
        await query.answer("✓")
        await query.edit_message_text(f"chosen {query.data}")

    async def crash(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A buggy handler."""
        raise RuntimeError("boom")

    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(choose, pattern=r"^lang:"))
    application.add_handler(CommandHandler("crash", crash))
    return application


async def test_chat_client_drives_echo_bot(emu: BotApiEmulator) -> None:
    """ChatClient sends, presses inline and reply buttons and reports new outputs."""
    application = build_echo_app(emu)
    await application.initialize()
    try:
        client = ChatClient(application, emu, USER)
        out = await client.send("/start")
        assert [m.text for m in out] == ["زبان؟", "منو"]
        assert client.buttons == ["فارسی", "English"]
        assert client.reply_keyboard == ["راهنما"]
        assert render(out[0]) == "زبان؟\n[1] فارسی  [2] English"
        out = await client.press("English")
        assert len(out) == 1 and out[0].edited and out[0].text == "chosen lang:en"
        assert client.last_query is not None and client.last_query.answer["text"] == "✓"
        assert client.buttons == []  # the edit dropped the inline keyboard
        assert [m.text for m in await client.press("راهنما")] == ["echo: راهنما"]
        assert client.last == "echo: راهنما"
        with pytest.raises(AssertionError, match="reply keyboard"):
            await client.press("missing")
        await client.send("done")
        assert client.reply_keyboard == []
        assert await client.press_data("forged:1") == []  # no handler matches
        assert emu.unanswered_callbacks()[0].data == "forged:1"
        assert emu.pending_updates() == []
        with pytest.raises(RuntimeError, match="boom"):
            await client.send("/crash")
    finally:
        await application.shutdown()


async def test_bale_mode(clock: FakeClock) -> None:
    """Bale answers editMessageText with ``true`` and has no setMyCommands."""
    emu = BotApiEmulator(platform="bale", clock=clock)
    emu.add_user(USER)
    application = build_app(emu)
    await application.initialize()
    try:
        sent = await application.bot.send_message(USER, "a")
        assert await application.bot.edit_message_text("b", USER, sent.message_id) is True
        assert emu.messages[USER][-1].text == "b"
        with pytest.raises(InvalidToken, match="method not found"):
            await application.bot.set_my_commands([("start", "شروع")])
    finally:
        await application.shutdown()
