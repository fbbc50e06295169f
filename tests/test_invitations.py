"""Invitations through Bale Safir against the fake Safir server: staff start them after a count,
each person gets one, unknown numbers are marked and counted, 429s and 5xx are retried, the
quiet hours hold, one reminder comes after 7 days, a first check-in after that, and "do not
contact me" is honoured without the person ever becoming a user."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.core.clock import ManualClock
from bot.core.config import SafirSettings
from bot.messengers.pacer import Limits
from bot.messengers.safir import SafirClient
from bot.repo.invitations import InvitationRepo, SafirOutboxRepo
from bot.repo.outbox import OutboxRepo
from bot.repo.roster import RosterRepo
from bot.roster.model import RosterRecord
from bot.rules.followup import policy_from
from scheduler.invitations import queue_invitations, sweep
from scheduler.safir_sender import ACCOUNT_PAUSE, SafirSender, request_id
from tests.conftest import START, Bot, no_errors, wait_until
from tests.support.safir_server import SafirServer
from tests.support.stores import Store

ADMIN = 1
API_KEY = "test-safir-key-0123456"
BOT_ID = 1000001
TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def national_code(n: int) -> str:
    """A valid national code (check digit) from a number."""
    body = f"{n:09d}"
    rem = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rem if rem < 2 else 11 - rem)


def person(n: int, county: str = "karaj", loan_on: str | None = None) -> RosterRecord:
    """Someone on the list: +98912000000n."""
    return RosterRecord(national_code(n), f"نفر {n}", f"+98912{n:07d}", county, None, None, loan_on)


def phone(n: int) -> str:
    """The person's number as Safir sees it."""
    return f"98912{n:07d}"


async def seed(bot: Bot, *records: RosterRecord) -> dict[int, int]:
    """Put people on the list; their roster ids by the n of ``person(n)``."""
    repo = RosterRepo(bot.svc.db)
    await repo.add_many(records, now=bot.clock.timestamp())
    ids = {}
    for record in records:
        entry = await repo.by_national_code(record.national_code)
        assert entry is not None
        ids[int(record.mobile[-7:])] = entry.id
    return ids


async def column(bot: Bot, roster_id: int, name: str) -> object:
    """One roster column of one row."""
    row = await bot.svc.db.fetchone(f"SELECT {name} FROM roster WHERE id = ?", (roster_id,))
    assert row is not None
    return row[0]


async def outbox(bot: Bot) -> list[tuple[str, str, int, str | None]]:
    """(kind, status, roster id, error) of every Safir row, oldest first."""
    rows = await bot.svc.db.fetchall(
        "SELECT kind, status, chat_id, error FROM outbox WHERE platform = 'safir' ORDER BY id"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot whose admin is user 1 and whose settings have Safir (URL set per test)."""
    instance = Bot(
        db_path=tmp_path / "invite.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    safir = SafirSettings(api_key=API_KEY, bot_id=BOT_ID, url="http://127.0.0.1:9")
    instance.svc.settings = replace(instance.svc.settings, safir=safir)
    yield instance
    await instance.stop()


@pytest.fixture
async def safir() -> AsyncIterator[SafirServer]:
    """The fake Safir; 98 912 000 0999 has no Bale account."""
    async with SafirServer(api_key=API_KEY, bot_id=BOT_ID, not_on_bale={phone(999)}) as server:
        yield server


class Delivery:
    """A Safir sender for a test, drained until nothing is left to try."""

    def __init__(self, bot: Bot, server: SafirServer, *, max_attempts: int = 5) -> None:
        """Point a sender at the fake server."""
        self.bot = bot
        self.client = SafirClient(API_KEY, BOT_ID, url=server.url, timeout=5)
        self.sender = SafirSender(
            self.client,
            SafirOutboxRepo(bot.svc.db),
            bot.clock,
            texts=bot.svc.i18n,
            username=bot.app.bot.username if bot.app else "",
            policy=policy_from(bot.svc.content.schedule),
            limits=Limits.unlimited(),
            max_attempts=max_attempts,
            base_backoff=1.0,
        )

    async def run(self, *, rounds: int = 20, step: float = 30) -> int:
        """Drain, moving the clock ``step`` s between rounds for back-offs; sends attempted."""
        attempted = 0
        for _ in range(rounds):
            attempted += await self.sender.drain_once()
            left = await self.bot.svc.db.fetchone(
                "SELECT COUNT(*) FROM outbox WHERE platform = 'safir' "
                "AND status IN ('pending', 'sending') AND not_before <= ?",
                (self.bot.clock.timestamp() + int(step),),
            )
            if not left or not left[0]:
                break
            self.bot.clock.advance(seconds=step)
        return attempted

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()


# --- staff start it --------------------------------------------------------------------------
async def test_without_safir_staff_are_told_to_use_personal_links(desk: Bot) -> None:
    """No BALE_SAFIR_API_KEY: a plain answer pointing to /roster links; nothing queued."""
    desk.svc.settings = replace(desk.svc.settings, safir=None)
    await seed(desk, person(1))
    admin = desk.client(ADMIN, lang="en")
    with no_errors():
        replies = await admin.send("/roster invite")
    assert [m.content for m in replies] == [desk.svc.i18n.t("en", "invite.not_configured")]
    assert "/roster links" in replies[0].content and "BALE_SAFIR_API_KEY" in replies[0].content
    assert await outbox(desk) == []


async def test_staff_see_the_count_confirm_and_invitations_are_queued_once(desk: Bot) -> None:
    """Only reachable people never invited count; the button queues at most the count shown,
    pressing it again queues nothing; cancelling queues nothing; it is audited."""
    ids = await seed(
        desk, person(1), person(2), person(3), person(4), person(5), person(6, county="fardis")
    )
    db = desk.svc.db
    await db.execute("UPDATE roster SET do_not_contact = 1 WHERE id = ?", (ids[2],))
    await db.execute("UPDATE roster SET on_bale = 0 WHERE id = ?", (ids[3],))
    await db.execute(
        "UPDATE roster SET invited_at = 1, invited_via = 'link' WHERE id = ?", (ids[4],)
    )
    user = await db.fetchone(
        "INSERT INTO users (platform, user_id, chat_id, created_at, updated_at) "
        "VALUES ('bale', 77, 77, 1, 1) RETURNING id"
    )
    assert user is not None
    assert await RosterRepo(db).link(ids[5], user[0], "contact", now=1)
    admin = desk.client(ADMIN, lang="en")

    replies = await admin.send("/roster invite Karaj")
    text = replies[-1].content
    assert "county Karaj" in text and "1 people have never been invited" in text
    assert "On the list: 5 · joined the bot: 1 · invited: 1 · queued: 0" in text
    assert "not on Bale: 1 · declined: 1" in text
    assert [b["callback_data"] for b in replies[-1].inline_buttons()] == [
        "rinv:go:karaj:1",
        "rinv:no",
    ]
    await admin.press("rinv:no")
    assert await outbox(desk) == []

    await admin.send("/roster invite")  # the whole list: karaj's 1 and fardis's 1
    replies = await admin.press("rinv:go:*:2")
    assert replies[-1].content == desk.svc.i18n.t("en", "invite.queued", n=2)
    assert sorted(r[2] for r in await outbox(desk)) == sorted([ids[1], ids[6]])
    replies = await admin.press_data("rinv:go:*:2")  # a second press (or a replay)
    assert replies[-1].content == desk.svc.i18n.t("en", "invite.queued", n=0)
    assert len(await outbox(desk)) == 2
    replies = await admin.send("/roster invite")
    assert "Nobody left to invite" in replies[-1].content and "queued: 2" in replies[-1].content
    audit = await db.fetchall("SELECT action, detail FROM audit WHERE action = 'roster_invite'")
    assert [json.loads(d)["queued"] for _, d in audit] == [2, 0]


async def test_the_confirmed_count_caps_what_is_queued_and_counties_are_checked(
    desk: Bot,
) -> None:
    """People added after the count wait for the next confirmation; an unknown county is
    named with the known ones."""
    await seed(desk, person(1), person(2))
    admin = desk.client(ADMIN, lang="en")
    replies = await admin.send("/roster invite")
    assert next(b["callback_data"] for b in replies[-1].inline_buttons()) == "rinv:go:*:2"
    await seed(desk, person(3))
    await admin.press("rinv:go:*:2")
    assert len(await outbox(desk)) == 2
    replies = await admin.send("/roster invite Atlantis")
    assert "No county «Atlantis»" in replies[-1].content and "Karaj" in replies[-1].content
    replies = await admin.press_data("rinv:go:atlantis:5")  # forged
    assert len(await outbox(desk)) == 2


# --- delivery ----------------------------------------------------------------------------------
async def test_invitations_are_delivered_once_each_with_the_personal_links(
    desk: Bot, safir: SafirServer
) -> None:
    """Each person gets one message: no name or list data in it, their own start link and the
    stop link as link buttons; the roster row records it; a second drain sends nothing."""
    ids = await seed(desk, person(1), person(2), person(3))
    assert await queue_invitations(desk.svc, None, 10) == 3
    delivery = Delivery(desk, safir)
    try:
        with no_errors():
            await delivery.run()
            await delivery.run()
    finally:
        await delivery.close()
    assert sorted(d.phone for d in safir.delivered) == [phone(1), phone(2), phone(3)]
    username = desk.app.bot.username if desk.app else ""
    repo = RosterRepo(desk.svc.db)
    for n, roster_id in ids.items():
        entry = await repo.get(roster_id)
        assert entry is not None
        assert entry.invited_via == "safir" and entry.invited_at == desk.clock.timestamp()
        assert entry.on_bale is True
        (message,) = [d for d in safir.delivered if d.phone == phone(n)]
        assert message.text == desk.svc.i18n.t("fa", "invite.text")
        assert entry.record.full_name not in message.text
        assert message.buttons == [
            [{"text": "🤖 باز کردن ربات", "url": f"https://ble.ir/{username}?start={entry.link_token}"}],
            [{"text": "🚫 دیگر پیام نفرستید", "url": f"https://ble.ir/{username}?start=nc-{entry.link_token}"}],
        ]  # fmt: skip
    rows = [await OutboxRepo(desk.svc.db).get(i) for i in (1, 2, 3)]
    assert {d.request_id for d in safir.delivered} == {request_id(r) for r in rows if r}
    assert [s for _, s, _, _ in await outbox(desk)] == ["sent"] * 3


async def test_a_number_not_on_bale_is_marked_counted_and_never_retried(
    desk: Bot, safir: SafirServer
) -> None:
    """Safir's NotBaleUser: the row fails once, roster.on_bale = 0, the count shows it, and no
    later invite, sweep or drain calls Safir for it again. The number is in no log line."""
    ids = await seed(desk, person(999), person(1))
    await queue_invitations(desk.svc, None, 10)
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
        calls = sum(safir.statuses.values())
        assert await queue_invitations(desk.svc, None, 10) == 0
        desk.clock.advance(days=8)
        await sweep(desk.svc)
        await delivery.run()
    finally:
        await delivery.close()
    assert calls == 2  # one each; then person 1's reminder is the only call
    assert sum(safir.statuses.values()) == 3 and safir.repeats == 0
    assert await column(desk, ids[999], "on_bale") == 0
    assert await column(desk, ids[999], "invited_at") is None
    assert [d.phone for d in safir.delivered] == [phone(1), phone(1)]
    failed = [r for r in await outbox(desk) if r[2] == ids[999]]
    assert failed == [("safir_invite", "failed", ids[999], "safir: NotBaleUser (17), HTTP 200")]
    assert delivery.sender.not_on_bale == 1
    admin = desk.client(ADMIN, lang="en")
    replies = await admin.send("/roster invite")
    assert "not on Bale: 1" in replies[-1].content


async def test_429_and_5xx_are_retried_and_5xx_only_so_often(desk: Bot, safir: SafirServer) -> None:
    """A 429 (Retry-After 1) pauses and retries; two 503s are retried with back-off; everyone
    gets exactly one message. A Safir that keeps failing fails the row after max_attempts."""
    await seed(desk, person(1), person(2))
    await queue_invitations(desk.svc, None, 10)
    safir.fail_next(429, retry_after=1)
    safir.fail_next(503, times=2)
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
    finally:
        await delivery.close()
    assert sorted(d.phone for d in safir.delivered) == [phone(1), phone(2)]
    assert safir.statuses[429] == 1 and safir.statuses[503] == 2
    summary = delivery.sender.summary()
    assert summary["rate_limited"] == 1 and summary["retried"] == 2 and summary["sent"] == 2

    await seed(desk, person(3))
    await queue_invitations(desk.svc, None, 10)
    safir.fail_next(500, times=10)
    stubborn = Delivery(desk, safir, max_attempts=3)
    try:
        await stubborn.run()
    finally:
        await stubborn.close()
    assert safir.statuses[500] == 3 and safir.deliveries_to(phone(3)) == 0
    (row,) = [r for r in await outbox(desk) if r[1] == "failed"]
    assert row[3] == "NetworkError: safir: HTTP 500"


async def test_a_refused_key_pauses_sending_without_marking_anyone(desk: Bot) -> None:
    """A wrong api-access-key (401): nobody is marked off Bale or failed; the row waits."""
    ids = await seed(desk, person(1))
    await queue_invitations(desk.svc, None, 10)
    async with SafirServer(api_key="another-key-entirely") as server:
        delivery = Delivery(desk, server)
        draining = asyncio.ensure_future(delivery.sender.drain_once())
        try:
            await wait_until(lambda: delivery.sender.stats.rate_limited == 1, "the 401")

            async def written_back() -> bool:
                return [r[1] for r in await outbox(desk)] == ["pending"]

            await wait_until(written_back, "the row written back as waiting")
            assert delivery.sender.pacer.bulk_paused(time.monotonic()) > ACCOUNT_PAUSE - 60
        finally:
            draining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await draining
            await delivery.close()
    assert server.statuses[401] == 1 and server.delivered == []
    assert await column(desk, ids[1], "on_bale") is None
    assert [(r[1], r[3]) for r in await outbox(desk)] == [("pending", "retry_after: 600s")]


async def test_nothing_goes_out_in_the_quiet_hours(desk: Bot, safir: SafirServer) -> None:
    """Queued at 21:00 Tehran: due at 09:00 next morning; a row already due waits too while the
    quiet hours last, and goes at 09:00."""
    await seed(desk, person(1), person(2))
    await queue_invitations(desk.svc, None, 1)  # 11:30: due now
    evening = dt.datetime(2026, 11, 29, 21, 0, tzinfo=TEHRAN)
    desk.clock.set(evening)
    await queue_invitations(desk.svc, None, 1)
    due = [r[0] for r in await desk.svc.db.fetchall("SELECT not_before FROM outbox ORDER BY id")]
    nine = int(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TEHRAN).timestamp())
    assert due == [int(START.timestamp()), nine]
    delivery = Delivery(desk, safir)
    try:
        assert await delivery.sender.drain_once() == 0
        desk.clock.set(dt.datetime(2026, 11, 30, 8, 59, tzinfo=TEHRAN))
        assert await delivery.sender.drain_once() == 0
        desk.clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TEHRAN))
        assert await delivery.sender.drain_once() == 2
    finally:
        await delivery.close()
    assert len(safir.delivered) == 2
    quiet = await sweep(desk.svc, dt.datetime(2026, 12, 7, 21, 0, tzinfo=TEHRAN))
    assert quiet.queued == 0  # reminders are due, but not in the quiet hours
    morning = await sweep(desk.svc, dt.datetime(2026, 12, 8, 9, 0, tzinfo=TEHRAN))
    assert morning.reminders == 2


# --- the reminder and the first check-in ---------------------------------------------------
async def test_one_reminder_after_seven_days_then_one_check_in_then_nothing(
    desk: Bot, safir: SafirServer
) -> None:
    """6 days 23 h after the invitation: no reminder; at 7 days: one; never a second. A week
    after it, the first check-in (loan old enough) with the answer link; then nothing more.
    Someone who joined, or whose loan is recent, gets neither."""
    ids = await seed(
        desk,
        person(1, loan_on="2026-06-01"),
        person(2, loan_on="2026-06-01"),
        person(3, loan_on="2026-11-20"),
    )
    await queue_invitations(desk.svc, None, 10)
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
        invited = desk.clock.now()
        user = await desk.svc.db.fetchone(
            "INSERT INTO users (platform, user_id, chat_id, created_at, updated_at) "
            "VALUES ('bale', 5, 5, 1, 1) RETURNING id"
        )
        assert user is not None
        await RosterRepo(desk.svc.db).link(ids[2], user[0], "link", now=1)  # 2 joined

        desk.clock.set(invited + dt.timedelta(days=7, seconds=-1))
        assert (await sweep(desk.svc)).reminders == 0
        desk.clock.set(invited + dt.timedelta(days=7))
        report = await sweep(desk.svc)
        assert (report.reminders, report.checkins) == (2, 0)
        await delivery.run()
        reminded = desk.clock.now()
        for days in (1, 3, 6):
            desk.clock.set(reminded + dt.timedelta(days=days))
            assert (await sweep(desk.svc)).queued == 0
        desk.clock.set(reminded + dt.timedelta(days=7))
        assert (await sweep(desk.svc)).checkins == 1  # 1's loan is old; 3's is 3 weeks old
        await delivery.run()
        for days in (8, 30, 200):
            desk.clock.set(reminded + dt.timedelta(days=days))
            report = await sweep(desk.svc)
            assert report.reminders == 0
            assert report.checkins == (1 if days == 30 else 0)  # 3's loan is old enough now
            await delivery.run()
        desk.clock.set(reminded + dt.timedelta(days=400))
        assert (await sweep(desk.svc)).queued == 0
    finally:
        await delivery.close()
    kinds = [(d.phone, d.text) for d in safir.delivered]
    t = desk.svc.i18n.t
    assert kinds.count((phone(1), t("fa", "invite.reminder"))) == 1
    assert kinds.count((phone(1), t("fa", "invite.checkin"))) == 1
    assert kinds.count((phone(3), t("fa", "invite.checkin"))) == 1
    assert [d.phone for d in safir.delivered].count(phone(2)) == 1  # the invitation only
    checkin = next(d for d in safir.delivered if d.text == t("fa", "invite.checkin"))
    assert checkin.buttons[0][0]["text"] == t("fa", "invite.answer")
    assert await column(desk, ids[1], "reminded_at") == int(reminded.timestamp())


# --- "do not contact me" -------------------------------------------------------------------
async def test_do_not_contact_is_honoured_without_storing_the_visitor(
    desk: Bot, safir: SafirServer
) -> None:
    """The invitation's stop link, opened by someone who never started the bot: a polite answer,
    roster.do_not_contact = 1, their queued reminder cancelled, no users row, never invited
    again. A revoked token gets a plain answer; /start alone still starts."""
    ids = await seed(desk, person(1), person(2))
    await queue_invitations(desk.svc, None, 10)
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
        desk.clock.advance(days=7)
        assert (await sweep(desk.svc)).reminders == 2
        stop = next(d for d in safir.delivered if d.phone == phone(1)).buttons[1][0]["url"]
        payload = parse_qs(urlsplit(stop).query)["start"][0]
        visitor = desk.client(4001, lang="fa")
        with no_errors():
            replies = await visitor.send(f"/start {payload}")
        assert [m.content for m in replies] == [desk.svc.i18n.t("fa", "invite.declined")]
        await delivery.run()
    finally:
        await delivery.close()
    assert await column(desk, ids[1], "do_not_contact") == 1
    count = await desk.svc.db.fetchone("SELECT COUNT(*) FROM users")
    assert count is not None and count[0] == 0
    assert [d.phone for d in safir.delivered].count(phone(1)) == 1
    assert [d.phone for d in safir.delivered].count(phone(2)) == 2
    assert ("safir_reminder", "cancelled", ids[1], "declined") in await outbox(desk)
    counts = await InvitationRepo(desk.svc.db).counts()
    assert (counts.declined, counts.eligible) == (1, 0)
    await seed(desk, person(3))
    await desk.svc.db.execute("UPDATE roster SET invited_at = NULL WHERE id = ?", (ids[1],))
    assert await queue_invitations(desk.svc, None, 10) == 1  # person 3, never person 1

    stranger = desk.client(4002, lang="en")
    replies = await stranger.send("/start nc-NoSuchTokenHere")
    assert [m.content for m in replies] == [desk.svc.i18n.t("en", "invite.decline_unknown")]
    replies = await stranger.send("/start")
    assert replies[-1].content == desk.svc.i18n.t("en", "start.choose_language")


async def test_someone_who_joined_or_declined_before_the_send_is_not_messaged(
    desk: Bot, safir: SafirServer
) -> None:
    """Queued, then linked (or declined) before the sender got to them: cancelled, not sent."""
    ids = await seed(desk, person(1), person(2))
    await queue_invitations(desk.svc, None, 10)
    user = await desk.svc.db.fetchone(
        "INSERT INTO users (platform, user_id, chat_id, created_at, updated_at) "
        "VALUES ('bale', 9, 9, 1, 1) RETURNING id"
    )
    assert user is not None
    await RosterRepo(desk.svc.db).link(ids[1], user[0], "contact", now=1)
    await desk.svc.db.execute("UPDATE roster SET do_not_contact = 1 WHERE id = ?", (ids[2],))
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
    finally:
        await delivery.close()
    assert safir.delivered == []
    assert [(r[1], r[3]) for r in await outbox(desk)] == [("cancelled", "no longer reachable")] * 2


async def test_invitations_are_queued_a_chunk_per_transaction_up_to_the_count(
    desk: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 2 (of 1,000 in production): all five queued in id order, never more than the
    confirmed count, a county's people only."""
    monkeypatch.setattr("scheduler.invitations.CHUNK", 2)
    ids = await seed(desk, *(person(n) for n in range(1, 6)), person(6, county="fardis"))
    assert await queue_invitations(desk.svc, "karaj", 3) == 3
    assert [r[2] for r in await outbox(desk)] == [ids[1], ids[2], ids[3]]
    assert await queue_invitations(desk.svc, "karaj", 10) == 2
    assert await queue_invitations(desk.svc, None, 10) == 1
    assert sorted(r[2] for r in await outbox(desk)) == sorted(ids.values())


async def test_a_button_pressed_by_someone_who_never_started_is_answered(desk: Bot) -> None:
    """A button under a message the bot sent to a chat whose person never started it (as Safir
    does), staff-only or not: each is answered and leads to the start question, and no users row
    is kept for the visitor."""
    visitor = desk.client(4100, lang="en")
    assert desk.app is not None
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "ci:1:op"}]]}
    await desk.app.bot.do_api_request(
        "sendMessage", api_kwargs={"chat_id": 4100, "text": "hi", "reply_markup": markup}
    )
    with no_errors():
        staff_only = await visitor.press_data("rinv:go:*:1")
        checkin = await visitor.press_data("ci:1:op")
    assert desk.emulator.unanswered_callbacks() == []
    t = desk.svc.i18n.t
    answer = t("en", "errors.stale_button") + "\n\n" + t("en", "start.choose_language")
    assert [m.content for m in staff_only] == [m.content for m in checkin] == [answer]
    count = await desk.svc.db.fetchone("SELECT COUNT(*) FROM users")
    assert count is not None and count[0] == 0
    assert await outbox(desk) == []


async def test_the_sweep_tops_the_queue_up_instead_of_flooding_it(
    desk: Bot, safir: SafirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for 2 waiting reminders, 3 due people: 2 queued, none while they wait, the third
    once they are sent."""
    monkeypatch.setattr("scheduler.invitations.BATCH", 2)
    await seed(desk, person(1), person(2), person(3))
    await queue_invitations(desk.svc, None, 10)
    delivery = Delivery(desk, safir)
    try:
        await delivery.run()
        desk.clock.advance(days=7)
        assert (await sweep(desk.svc)).reminders == 2
        assert (await sweep(desk.svc)).reminders == 0
        await delivery.run()
        assert (await sweep(desk.svc)).reminders == 1
        await delivery.run()
    finally:
        await delivery.close()
    assert sorted(d.phone for d in safir.delivered) == sorted([phone(1), phone(2), phone(3)] * 2)
