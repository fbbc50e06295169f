"""The real `homebiz run` process in webhook mode: Telegram's secret header, Bale's secret path."""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

import httpx

from bot.fakeapi.emulator import BotApiEmulator
from tests.support import BALE_TOKEN, TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import SECRET_HEADER, BotApiServer

USER, WITNESS, INTRUDER = 5101, 5102, 5666
LANGUAGE_QUESTION = "choose your language"


def answered(emulator: BotApiEmulator, chat_id: int) -> bool:
    """Whether the bot asked ``chat_id`` the language question."""
    return any(LANGUAGE_QUESTION in m.content for m in emulator.bot_messages(chat_id))


def add_people(emulator: BotApiEmulator) -> None:
    """Register the user, the witness and the intruder's victim chat."""
    for user_id in (USER, WITNESS, INTRUDER):
        emulator.add_user(user_id, first_name=f"U{user_id}", language_code="en")


async def test_telegram_webhook_with_secret_header(tmp_path: Path) -> None:
    """setWebhook carries url …/telegram and the secret; only requests with the secret count."""
    emulator = BotApiEmulator()
    add_people(emulator)
    port, secret = free_port(), secrets.token_urlsafe(24)
    assert len(secret) == 32
    webhook = f"http://127.0.0.1:{port}/telegram"
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3",
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=server.api_url,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
            TELEGRAM_WEBHOOK_SECRET=secret,
            TELEGRAM_WEBHOOK_PORT=str(port),
            TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        )
        async with BotProcess(env, tmp_path) as bot:
            # (a) the bot registered its webhook with the secret
            await bot.wait_for(lambda: bool(emulator.calls_to("setWebhook")), "setWebhook")
            call = emulator.calls_to("setWebhook")[-1]
            assert call["url"] == webhook
            assert call["secret_token"] == secret
            assert server.webhook_secret() == secret
            # (b) an update pushed by the server (with the header) is answered
            emulator.user_text(USER, "/start")
            await bot.wait_for(lambda: answered(emulator, USER), "the answer to /start")
            assert 200 in server.webhook_statuses
            # (c) the webhook refuses posts without the right secret
            intrusion = emulator.user_text(INTRUDER, "/start", enqueue=False)
            async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                for headers in ({}, {SECRET_HEADER: "x" * 32}, {SECRET_HEADER: secret[:-1]}):
                    refused = await client.post(webhook, json=intrusion, headers=headers)
                    assert refused.status_code == 403, headers
            # Updates are handled in order: once the witness is answered, the intruder
            # would have been too.
            emulator.user_text(WITNESS, "/start")
            await bot.wait_for(lambda: answered(emulator, WITNESS), "the witness's answer")
            assert emulator.bot_messages(INTRUDER) == []
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert emulator.calls_to("getUpdates") == []
    assert server.requests["getUpdates"] == 0
    for text in (TOKEN, TOKEN.partition(":")[2], secret):
        assert text not in bot.stderr + bot.stdout


async def test_bale_webhook_secret_is_the_path(tmp_path: Path) -> None:
    """Bale: the URL ends with /<secret>, no secret_token; wrong paths 404, no header needed."""
    emulator = BotApiEmulator(platform="bale")
    add_people(emulator)
    port, secret = free_port(), secrets.token_urlsafe(24)
    base = f"http://127.0.0.1:{port}"
    async with BotApiServer(emulator, token=BALE_TOKEN) as server:
        env = bot_env(
            tmp_path / "bot.sqlite3",
            BALE_BOT_TOKEN=BALE_TOKEN,
            BALE_API_URL=server.api_url,
            BALE_WEBHOOK_URL=base,
            BALE_WEBHOOK_SECRET=secret,
            BALE_WEBHOOK_PORT=str(port),
            BALE_WEBHOOK_LISTEN="127.0.0.1",
        )
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for(lambda: bool(emulator.calls_to("setWebhook")), "setWebhook")
            call = emulator.calls_to("setWebhook")[-1]
            assert call["url"] == f"{base}/{secret}"
            assert "secret_token" not in call
            # the server posts without any secret header on Bale
            emulator.user_text(USER, "/start")
            await bot.wait_for(lambda: answered(emulator, USER), "the answer to /start")
            assert 200 in server.webhook_statuses
            async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                intrusion = emulator.user_text(INTRUDER, "/start", enqueue=False)
                for path in ("/telegram", "/", f"/{secret[:-1]}", f"/{secret}x"):
                    refused = await client.post(base + path, json=intrusion)
                    assert refused.status_code == 404, path
                direct = emulator.user_text(WITNESS, "/start", enqueue=False)
                accepted = await client.post(f"{base}/{secret}", json=direct)
                assert accepted.status_code == 200
            await bot.wait_for(lambda: answered(emulator, WITNESS), "the witness's answer")
            assert emulator.bot_messages(INTRUDER) == []
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert emulator.calls_to("getUpdates") == []
    for text in (BALE_TOKEN, BALE_TOKEN.partition(":")[2], secret):
        assert text not in bot.stderr + bot.stdout
