"""The real `homebiz run` process in webhook mode: Telegram's secret header, Bale's secret path.

Also what a hostile sender meets: the secret is checked before any body byte is read, the body
is capped, malformed JSON is a 400 and any charset of application/json is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import time
from pathlib import Path

import httpx

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.webhook import MAX_UPDATE_BYTES
from tests.support import BALE_TOKEN, TOKEN, BotProcess, bot_env, free_port
from tests.support.botapi_server import SECRET_HEADER, BotApiServer
from tests.support.stores import Store

USER, WITNESS, INTRUDER = 5101, 5102, 5666
LANGUAGE_QUESTION = "choose your language"


def answered(emulator: BotApiEmulator, chat_id: int) -> bool:
    """Whether the bot asked ``chat_id`` the language question."""
    return any(LANGUAGE_QUESTION in m.content for m in emulator.bot_messages(chat_id))


def add_people(emulator: BotApiEmulator) -> None:
    """Register the user, the witness and the intruder's victim chat."""
    for user_id in (USER, WITNESS, INTRUDER):
        emulator.add_user(user_id, first_name=f"U{user_id}", language_code="en")


async def test_telegram_webhook_with_secret_header(tmp_path: Path, store: Store) -> None:
    """setWebhook carries url …/telegram and the secret; only requests with the secret count
    (on PostgreSQL through the update inbox the replicas share, on SQLite PTB's queue)."""
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
    # PostgreSQL: both updates went through the inbox and were handled; SQLite: none did
    db = await store.open(tmp_path / "bot.sqlite3")
    try:
        done = [r[0] is not None for r in await db.fetchall("SELECT done_at FROM updates_inbox")]
    finally:
        await db.close()
    assert done == ([True, True] if store.postgres else [])


async def test_bale_webhook_secret_is_the_path(tmp_path: Path, store: Store) -> None:
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


def telegram_webhook_env(tmp_path: Path, server: BotApiServer, port: int, secret: str) -> dict:
    """The environment of a Telegram bot served through its webhook on 127.0.0.1:port."""
    return bot_env(
        tmp_path / "bot.sqlite3",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.api_url,
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}",
        TELEGRAM_WEBHOOK_SECRET=secret,
        TELEGRAM_WEBHOOK_PORT=str(port),
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
    )


async def test_telegram_webhook_answers_bad_posts_precisely(tmp_path: Path) -> None:
    """Malformed JSON 400, other types 415, over the cap 413, GET 405; a charset is fine."""
    emulator = BotApiEmulator()
    add_people(emulator)
    port, secret = free_port(), secrets.token_urlsafe(24)
    webhook = f"http://127.0.0.1:{port}/telegram"
    good = {SECRET_HEADER: secret, "Content-Type": "application/json"}
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = telegram_webhook_env(tmp_path, server, port, secret)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for(lambda: bool(emulator.calls_to("setWebhook")), "setWebhook")
            intrusion = json.dumps(emulator.user_text(INTRUDER, "/start", enqueue=False))
            cases: list[tuple[str, dict[str, str], object, int]] = [
                ("POST", good, b"{", 400),
                ("POST", good, b'{"update_id": 1,', 400),
                ("POST", good, b"[1, 2, 3]", 400),
                ("POST", good, b"\xff\xfe\x00", 400),
                ("POST", {**good, "Content-Type": "text/plain"}, intrusion.encode(), 415),
                ("POST", {SECRET_HEADER: secret}, intrusion.encode(), 415),
                ("POST", {**good, "Content-Encoding": "gzip"}, intrusion.encode(), 415),
                ("GET", good, b"", 405),
            ]
            async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                for method, headers, body, expected in cases:
                    answer = await client.request(method, webhook, headers=headers, content=body)
                    assert answer.status_code == expected, (method, headers, expected)
                witness = emulator.user_text(WITNESS, "/start", enqueue=False)
                accepted = await client.post(
                    webhook,
                    headers={**good, "Content-Type": "application/json; charset=utf-8"},
                    content=json.dumps(witness).encode(),
                )
                assert accepted.status_code == 200
            # Over the cap: announced (refused before reading) or found while reading (chunked).
            # The client sends no more than the listener reads, so the 413 is always readable.
            announced = await raw_post(port, good, MAX_UPDATE_BYTES + 1, b"")
            assert announced == "HTTP/1.1 413 Request Entity Too Large"
            chunk = b" " * (MAX_UPDATE_BYTES + 1)
            framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            chunked = await raw_post(port, {**good, "Transfer-Encoding": "chunked"}, None, framed)
            assert chunked == "HTTP/1.1 413 Request Entity Too Large"
            await bot.wait_for(lambda: answered(emulator, WITNESS), "the witness's answer")
            assert emulator.bot_messages(INTRUDER) == []
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert "Traceback" not in bot.stderr and " ERROR " not in bot.stderr, bot.stderr


async def raw_post(port: int, headers: dict[str, str], length: int | None, body: bytes) -> str:
    """POST /telegram with exactly these headers (and Content-Length) and body; the status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /telegram HTTP/1.1", "Host: 127.0.0.1"]
    head += [] if length is None else [f"Content-Length: {length}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        return line.decode("latin-1").strip()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


def rss_kib(pid: int) -> int:
    """The resident memory of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


async def huge_post(port: int, headers: dict[str, str], announced: int, send: int) -> str:
    """POST announcing ``announced`` bytes and sending up to ``send``; the answer's first line.

    "reset" or "closed" when the listener closed the connection instead (also a refusal: a
    server that stops reading may reset a connection whose body it left unread).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /telegram HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {announced}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())

    async def pump() -> None:
        """Send the body in 64 KiB pieces until ``send`` bytes or the peer stops reading."""
        piece = b" " * 65536
        with contextlib.suppress(ConnectionError, OSError):
            for _ in range(send // len(piece)):
                writer.write(piece)
                await writer.drain()

    pumping = asyncio.ensure_future(pump())
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
        return line.decode("latin-1").strip() or "closed"
    except (ConnectionError, OSError):
        return "reset"
    finally:
        pumping.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
            await pumping
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def test_huge_posts_are_refused_before_their_body_is_read(tmp_path: Path) -> None:
    """95 MiB announced with a wrong secret (or the right one): refused at once, memory flat."""
    emulator = BotApiEmulator()
    add_people(emulator)
    port, secret = free_port(), secrets.token_urlsafe(24)
    announced, send = 95 * 1024 * 1024, 24 * 1024 * 1024
    json_type = {"Content-Type": "application/json"}
    async with BotApiServer(emulator, token=TOKEN) as server:
        env = telegram_webhook_env(tmp_path, server, port, secret)
        async with BotProcess(env, tmp_path) as bot:
            await bot.wait_for(lambda: bool(emulator.calls_to("setWebhook")), "setWebhook")
            assert bot.proc is not None
            before = rss_kib(bot.proc.pid)
            wrong = [{**json_type, SECRET_HEADER: "x" * 32}, json_type]
            posts = [huge_post(port, wrong[i % 2], announced, send) for i in range(8)]
            started = time.monotonic()
            answers = await asyncio.gather(*posts)
            elapsed = time.monotonic() - started
            right = await huge_post(port, {**json_type, SECRET_HEADER: secret}, announced, send)
            after = rss_kib(bot.proc.pid)
            emulator.user_text(WITNESS, "/start")
            await bot.wait_for(lambda: answered(emulator, WITNESS), "the witness's answer")
            status = await bot.stop(signal.SIGTERM)
            assert status == 0, bot.describe()
    assert all(a in ("HTTP/1.1 403 Forbidden", "reset", "closed") for a in answers), answers
    assert right in ("HTTP/1.1 413 Request Entity Too Large", "reset", "closed"), right
    assert elapsed < 5, f"the refusals took {elapsed:.1f} s"
    assert after - before < 16 * 1024, f"RSS grew from {before} KiB to {after} KiB"
