"""The Safir client: every documented answer shape classified, numbers and messages as Safir
wants them, request_id idempotency and faults through the fake server, and its settings."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.core.config import ConfigError, load_settings
from bot.core.logs import RedactTokens
from bot.messengers.safir import (
    ACCOUNT,
    BAD_NUMBER,
    LIMITED,
    NOT_ON_BALE,
    RATE_LIMIT_WAIT,
    REJECTED,
    RETRY,
    SENT,
    SafirClient,
    classify,
    message_data,
    safir_phone,
)
from tests.support.safir_server import SafirServer
from tests.test_cli import _homebiz

KEY = "key-for-the-fake-safir"
BALE = "654321:ZYXWVUTSRQPONMLKJIHGFEDCBA"


def err(code: int) -> dict[str, object]:
    """An answer with one documented ErrorInfo."""
    info = {"phone_number": "989121234567", "code": code, "description": "x 989121234567"}
    return {"message_id": None, "error_data": [info]}


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome", "wait"),
    [
        (200, {"message_id": "523e6875-7c41-491b", "error_data": None}, {}, SENT, None),
        (200, {"message_id": "BvQjaR.fIKt7kH.EXTddgYduJ2"}, {}, SENT, None),  # the OTP answer
        (200, err(17), {}, NOT_ON_BALE, None),
        (400, err(17), {}, NOT_ON_BALE, None),  # the code decides, whatever the status
        (200, err(8), {}, BAD_NUMBER, None),
        (200, err(4), {}, REJECTED, None),
        (200, err(99), {}, REJECTED, None),  # a code the documentation lacks
        (429, err(3), {"Retry-After": "7"}, LIMITED, 7.0),
        (200, err(3), {}, LIMITED, RATE_LIMIT_WAIT),
        (429, None, {}, LIMITED, RATE_LIMIT_WAIT),
        (429, {"retry_after": 12}, {}, LIMITED, 12.0),
        (500, err(2), {}, RETRY, None),
        (503, None, {}, RETRY, None),
        (502, {"message": "bad gateway"}, {}, RETRY, None),
        (200, err(20), {}, ACCOUNT, None),
        (200, err(21), {}, ACCOUNT, None),
        (401, {"message": "unauthorized"}, {}, ACCOUNT, None),
        (403, None, {}, ACCOUNT, None),
        (200, {"error_data": None}, {}, RETRY, None),  # no message_id: ask again (same id)
        (404, None, {}, REJECTED, None),
    ],
)
def test_every_documented_answer_is_classified(
    status: int, body: object, headers: dict[str, str], outcome: str, wait: float | None
) -> None:
    """What each answer means for the sender; no reason repeats Safir's description (which
    may hold the number)."""
    result = classify(status, body, headers)
    assert (result.outcome, result.retry_after) == (outcome, wait)
    assert "989121234567" not in result.reason and str(status) in result.reason


def test_numbers_and_messages_take_safirs_form() -> None:
    """+98 9… becomes 98 9… (ten digits after 98); link buttons only, rows kept."""
    assert safir_phone("+989121234567") == "989121234567"
    assert safir_phone("989121234567") == "989121234567"
    for bad in ("09121234567", "+98912123456", "+98-912-123-4567", "+15551234567", "98812345678"):
        with pytest.raises(ValueError):
            safir_phone(bad)
    data = message_data("سلام", [[("باز کردن", "https://ble.ir/x?start=t")], []])
    assert data == {
        "message": {
            "text": "سلام",
            "reply_markup": {
                "inline_keyboard": [[{"text": "باز کردن", "url": "https://ble.ir/x?start=t"}]]
            },
        }
    }
    assert message_data("plain") == {"message": {"text": "plain"}}


async def test_a_repeated_request_id_sends_nothing_new() -> None:
    """The same request_id twice: the first answer again, one delivery; a new one delivers."""
    async with SafirServer(api_key=KEY, bot_id=7) as server:
        client = SafirClient(KEY, 7, url=server.url)
        try:
            first = await client.send("989121234567", message_data("a"), "req-1")
            again = await client.send("989121234567", message_data("a"), "req-1")
            other = await client.send("989121234567", message_data("a"), "req-2")
        finally:
            await client.close()
    assert first.delivered and again.delivered and other.delivered
    assert first.message_id == again.message_id != other.message_id
    assert len(server.delivered) == 2 and server.repeats == 1
    assert server.requests == {"req-1": 2, "req-2": 1}


async def test_faults_and_refusals_through_http() -> None:
    """429 with Retry-After, 503, a wrong key, a wrong bot, an off-Bale number, an invalid
    number and a callback button (not documented) — each classified from the real HTTP."""
    async with SafirServer(api_key=KEY, bot_id=7, not_on_bale={"989350000000"}) as server:
        client = SafirClient(KEY, 7, url=server.url + "/api/v3/send_message")  # full URL too
        wrong_key = SafirClient("not-the-key", 7, url=server.url)
        wrong_bot = SafirClient(KEY, 8, url=server.url)
        try:
            server.fail_next(429, retry_after=3)
            assert (await client.send("989121234567", message_data("a"), "r1")).retry_after == 3
            server.fail_next(503)
            assert (await client.send("989121234567", message_data("a"), "r1")).outcome == RETRY
            result = await wrong_key.send("989121234567", message_data("a"), "r2")
            assert result.outcome == ACCOUNT
            assert (await wrong_bot.send("989121234567", message_data("a"), "r3")).outcome == (
                REJECTED
            )
            off = await client.send("989350000000", message_data("a"), "r4")
            assert off.outcome == NOT_ON_BALE and "989350000000" not in off.reason
            assert (await client.send("9891212", message_data("a"), "r5")).outcome == BAD_NUMBER
            callback = {"message": {"text": "a", "reply_markup": {"inline_keyboard": [
                [{"text": "b", "callback_data": "x"}]
            ]}}}  # fmt: skip
            assert (await client.send("989121234567", callback, "r6")).outcome == REJECTED
            assert (await client.send("989121234567", message_data("a"), "r1")).delivered
        finally:
            for c in (client, wrong_key, wrong_bot):
                await c.close()
    assert len(server.delivered) == 1


async def test_no_answer_in_time_is_a_retry() -> None:
    """A Safir that delivers but does not answer within the timeout: retry (same id: safe)."""
    async with SafirServer(api_key=KEY) as server:
        server.hold_answers()
        client = SafirClient(KEY, 7, url=server.url, timeout=0.5)
        try:
            result = await client.send("989121234567", message_data("a"), "slow")
        finally:
            await client.close()
        server.release()
        client = SafirClient(KEY, 7, url=server.url)
        try:
            again = await client.send("989121234567", message_data("a"), "slow")
        finally:
            await client.close()
    assert result.outcome == RETRY and "no answer" in result.reason
    assert again.delivered and len(server.delivered) == 1


async def test_a_dead_address_is_a_retry() -> None:
    """Nothing listening: a network error, retried, with no address or key in the reason."""
    client = SafirClient(KEY, 7, url="http://127.0.0.1:9", timeout=2)
    try:
        result = await client.send("989121234567", message_data("a"), "x")
    finally:
        await client.close()
    assert result.outcome == RETRY and KEY not in result.reason and "127.0.0.1" not in result.reason


# --- settings ----------------------------------------------------------------------------------
def test_safir_settings_are_read_and_the_key_is_redacted() -> None:
    """The bot id comes from the Bale token unless given; the rate per second or minute; the
    key is a secret: never in repr, hidden in log lines."""
    settings = load_settings({"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY})
    safir = settings.safir
    assert safir is not None and safir.bot_id == 654321 and safir.url == "https://safir.bale.ai"
    assert (safir.rate, safir.per) == (5, 1.0) and KEY not in repr(settings)
    assert KEY in settings.secrets and BALE in settings.secrets
    custom = load_settings(
        {
            "BALE_BOT_TOKEN": BALE,
            "BALE_SAFIR_API_KEY": KEY,
            "BALE_SAFIR_BOT_ID": "42",
            "SAFIR_URL": "http://127.0.0.1:8080/",
            "HOMEBIZ_SAFIR_RATE": "120/min",
        }
    ).safir
    assert custom is not None and (custom.bot_id, custom.url) == (42, "http://127.0.0.1:8080")
    assert (custom.rate, custom.per) == (120, 60.0)
    assert custom.limits.bot_count == 120 and custom.limits.bot_period == 60.0
    assert load_settings({"BALE_BOT_TOKEN": BALE}).safir is None
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "key %s", (KEY,), None)
    RedactTokens(settings.secrets).filter(record)
    assert KEY not in record.getMessage()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BALE_SAFIR_API_KEY": KEY}, "BALE_SAFIR_API_KEY: needs BALE_BOT_TOKEN"),
        ({"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": "short"}, "BALE_SAFIR_API_KEY"),
        ({"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": "has a space"}, "BALE_SAFIR_API_KEY"),
        (
            {"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY, "BALE_SAFIR_BOT_ID": "@bot"},
            "BALE_SAFIR_BOT_ID",
        ),
        ({"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY, "SAFIR_URL": "safir"}, "SAFIR_URL"),
        (
            {"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY, "HOMEBIZ_SAFIR_RATE": "fast"},
            "HOMEBIZ_SAFIR_RATE",
        ),
        (
            {"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY, "HOMEBIZ_SAFIR_RATE": "0"},
            "HOMEBIZ_SAFIR_RATE",
        ),
    ],
)
def test_bad_safir_settings_are_named_in_one_line(env: dict[str, str], named: str) -> None:
    """Each malformed Safir setting stops start-up with one line naming it, never the key."""
    with pytest.raises(ConfigError, match=named) as caught:
        load_settings(env)
    assert "\n" not in str(caught.value) and KEY not in str(caught.value)


def test_the_cli_says_safir_is_not_configured_and_does_not_fail(tmp_path: Path) -> None:
    """`homebiz roster invite` without BALE_SAFIR_API_KEY: the plain message, exit 0."""
    result = _homebiz(["roster", "invite", "--lang", "en"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not configured" in result.stdout and "/roster links" in result.stdout
    bad = _homebiz(["roster", "invite"], tmp_path, BALE_SAFIR_API_KEY=KEY)
    assert bad.returncode == 2 and "BALE_SAFIR_API_KEY" in bad.stderr and KEY not in bad.stderr


def test_the_cli_counts_then_queues_only_when_confirmed(tmp_path: Path) -> None:
    """Without --yes and no terminal: the counts, then nothing; with --yes: queued once."""
    db = tmp_path / "cli.sqlite3"
    env = {"BALE_BOT_TOKEN": BALE, "BALE_SAFIR_API_KEY": KEY, "HOMEBIZ_DB": str(db)}
    _seed_roster(db)
    first = _homebiz(["roster", "invite", "karaj", "--lang", "en"], tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert "2 people have never been invited" in first.stdout and "county Karaj" in first.stdout
    assert "Nothing was sent." in first.stdout and "--yes" in first.stderr
    second = _homebiz(["roster", "invite", "Karaj", "--yes", "--lang", "en"], tmp_path, **env)
    assert "2 invitations queued" in second.stdout, second.stdout + second.stderr
    third = _homebiz(["roster", "invite", "--yes", "--lang", "en"], tmp_path, **env)
    assert "1 invitations queued" in third.stdout  # the other county's person
    fourth = _homebiz(["roster", "invite", "--yes", "--lang", "en"], tmp_path, **env)
    assert "Nobody left to invite" in fourth.stdout and "queued: 3" in fourth.stdout
    unknown = _homebiz(["roster", "invite", "Atlantis", "--lang", "en"], tmp_path, **env)
    assert unknown.returncode == 1 and "Atlantis" in unknown.stdout


def _seed_roster(db: Path) -> None:
    """Three people on the list (two in Karaj), written through the repository."""
    from bot.db.engine import Database
    from bot.repo.roster import RosterRepo
    from tests.test_invitations import person

    async def go() -> None:
        database = await Database.open(db)
        try:
            await RosterRepo(database).add_many(
                [person(1), person(2), person(3, county="fardis")], now=1
            )
        finally:
            await database.close()

    asyncio.run(go())
