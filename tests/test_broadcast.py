"""Staff broadcasts through the real Application: compose, target, preview, send, report, cancel."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.core.validators import ValidationError
from bot.messengers.fakeapi.client import ChatClient
from bot.repo.audiences import AudienceRepo
from bot.repo.broadcasts import BroadcastRepo, Draft
from bot.repo.outbox import PRIORITY_BROADCAST, OutboxRepo, OutboxRow
from bot.repo.staff import StaffRepo
from scheduler.broadcasts import BroadcastMonitor, parse_when
from scheduler.outbox import OutboxSender
from tests.conftest import Bot, pace, wait_until
from tests.support.stores import Store
from tests.test_onboarding import onboard

ADMIN = 1
PLATFORM = "telegram"
FA_TEXT = "سلام! مهلت ثبت‌نام تسهیلات تا پایان آذر است."
EN_TEXT = "Hello! Loan registration is open until the end of Azar."


@pytest.fixture
async def sbot(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A started bot whose telegram user 1 is an admin."""
    instance = Bot(
        db_path=tmp_path / "bot.sqlite3", clock=clock, admins=frozenset({(PLATFORM, ADMIN)})
    )
    await instance.start()
    yield instance
    await instance.stop()


async def staff_member(bot: Bot, lang: str = "en") -> ChatClient:
    """The admin, after agreeing to the privacy note (flows need consent)."""
    me = bot.client(ADMIN, lang=lang)
    await me.send("/start")
    await me.press("English" if lang == "en" else "فارسی")
    await me.press("priv:yes")
    return me


async def compose(
    me: ChatClient,
    text: str | None = FA_TEXT,
    *,
    en: str | None = None,
    filters: Iterable[str] = (),
) -> None:
    """/broadcast, the content (text unless None: then the caller already sent media), the
    English choice and the audience filters ("county:karaj"), ending on the send options."""
    if text is not None:
        await me.send("/broadcast")
        await me.send(text)
    if en is None:
        await me.press("bc:en:same")
    else:
        await me.press("bc:en:add")
        await me.send(en)
    for item in filters:
        dim, value = item.split(":")
        await me.press(f"bc:a:{dim}")
        await me.press(f"bc:a:{dim}:{value}")
        await me.press("bc:ok")
    await me.press("bc:next")


async def send_now(me: ChatClient) -> None:
    """From the send options: now, then yes."""
    await me.press("bc:now")
    await me.press("bc:yes")


def monitor(bot: Bot) -> BroadcastMonitor:
    """A broadcast monitor of the bot's platform, as Proactive runs one."""
    return BroadcastMonitor(bot.app.bot, bot.svc, PLATFORM)


async def queue_all(bot: Bot) -> int:
    """What the running bot's monitor does in the background after a launch: queue every
    queueing broadcast; the rows queued."""
    return await monitor(bot).work()


async def tick(m: BroadcastMonitor) -> None:
    """One monitor tick and the background work it started."""
    await m.tick()
    await m.idle()


def sender(bot: Bot, **options: Any) -> OutboxSender:
    """An outbox sender on the fake API, fast unless told otherwise."""
    settings: dict[str, Any] = {"pacer": pace(), **options}
    return OutboxSender(bot.app.bot, OutboxRepo(bot.svc.db), PLATFORM, bot.clock, **settings)


async def seed(bot: Bot, people: list[dict[str, Any]]) -> list[int]:
    """Insert users rows directly (chat id = user id), known to the fake API; their ids."""
    now = bot.clock.timestamp()
    rows = []
    for p in people:
        bot.emulator.add_user(p["user_id"], language_code=p.get("lang", "fa"))
        rows.append(
            (
                PLATFORM, p["user_id"], p["user_id"], p.get("lang", "fa"),
                p.get("consent_at", now), p.get("county"), p.get("field"), p.get("stage"),
                p.get("proactive", 1), p.get("unreachable_at"), now, now,
            )
        )  # fmt: skip
    await bot.svc.db.executemany(
        "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, field, stage, "
        "proactive, unreachable_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    found = await bot.svc.db.fetchall(
        "SELECT id FROM users WHERE platform = ? ORDER BY id", (PLATFORM,)
    )
    return [int(r[0]) for r in found][-len(people) :]


async def answers(bot: Bot, user_pk: int, statuses: list[str]) -> None:
    """A check-in history, oldest first."""
    now = bot.clock.timestamp()
    await bot.svc.db.executemany(
        "INSERT INTO checkin_answers (user_pk, status, answered_at) VALUES (?, ?, ?)",
        [(user_pk, status, now + i) for i, status in enumerate(statuses)],
    )


async def rows_of(bot: Bot, bid: int) -> list[OutboxRow]:
    """Every outbox row of a broadcast."""
    repo = OutboxRepo(bot.svc.db)
    found = []
    for status in ("pending", "sending", "sent", "failed", "cancelled"):
        found += [r for r in await repo.by_status(status) if r.broadcast_id == bid]
    return found


async def only_broadcast(bot: Bot) -> int:
    """The id of the one broadcast made so far."""
    recent = await BroadcastRepo(bot.svc.db).list_recent(PLATFORM)
    assert len(recent) == 1
    return recent[0].id


async def audit_actions(bot: Bot) -> list[tuple[str, dict[str, Any]]]:
    """(action, detail) of the audit log, oldest first."""
    return [(e.action, e.detail) for e in reversed(await StaffRepo(bot.svc.db).latest(100))]


# --- the whole conversation ---------------------------------------------------------------
async def test_full_conversation_targets_by_filters_and_delivers_each_language(sbot: Bot) -> None:
    """Text + English, county=karaj & stage=loan; /stop, unreachable and unconsented are out."""
    bot = sbot
    fa_loan = await onboard(bot, 601, lang="fa", stage="وام گرفته‌ام")
    en_loan = await onboard(bot, 602, lang="en", stage="Loan received")
    stopped = await onboard(bot, 603, lang="fa", stage="وام گرفته‌ام")
    await stopped.send("/stop")
    gone = await onboard(bot, 604, lang="en", stage="Loan received")
    person = await bot.svc.users.find(PLATFORM, 604)
    assert person is not None
    await bot.svc.users.update(person, bot.clock.timestamp(), unreachable_at=1)
    idea = await onboard(bot, 605, lang="fa")
    await seed(bot, [{"user_id": 606, "consent_at": None, "county": "karaj", "stage": "loan"}])

    me = await staff_member(bot)
    await me.send("/broadcast")
    assert "photo or a document" in me.last
    await me.send(FA_TEXT)
    assert me.buttons == ["🇬🇧 Add English", "Same for everyone"]
    await me.press("🇬🇧 Add English")
    await me.send(EN_TEXT)
    assert "Recipients now: 4" in me.last  # consented, reachable, proactive: 601, 602, 605, +me
    await me.press("bc:a:county")
    await me.press("Karaj")
    assert "✓ Karaj" in me.buttons
    await me.press("✔️ Done")
    await me.press("bc:a:stage")
    await me.press("Loan received")
    await me.press("✔️ Done")
    assert "📍 County: Karaj" in me.buttons and "🪜 Stage: Loan received" in me.buttons
    assert "Recipients now: 2" in me.last
    replies = await me.press("bc:next")
    shown = [m.content for m in replies]
    # One preview, exactly as Persian-speaking applicants get it, then the count and choices.
    assert len(shown) == 2 and shown[0] == FA_TEXT
    assert "Recipients: 2\n• Persian version: 1\n• English version: 1" in shown[1]
    assert "Send it now, or at a set time?" in shown[1]
    assert me.buttons == [
        "📣 Send now", "🕒 At a time…", "👁 English version", "« Audience", "✖️ Cancel"
    ]
    replies = await me.press("👁 English version")
    assert [m.content for m in replies] == [EN_TEXT]  # the English preview, on its own
    assert me.last_query is not None and "English version" in me.last_query.answer["text"]
    await me.press("📣 Send now")
    assert "Send it to 2 people now?" in me.last
    await me.press("✅ Yes, send")
    assert "Broadcast #1 is going out" in me.last and "Remaining: 2" in me.last
    assert await rows_of(bot, 1) == []  # the turn only stored it: the monitor queues it
    assert await queue_all(bot) == 2

    rows = await rows_of(bot, 1)
    assert sorted(r.chat_id for r in rows) == [601, 602]
    assert all(r.priority == PRIORITY_BROADCAST and r.kind == "broadcast" for r in rows)
    assert {r.dedupe_key for r in rows} == {f"bc:1:{r.user_pk}" for r in rows}
    assert await sender(bot).drain_once() == 2
    assert fa_loan.last == FA_TEXT and en_loan.last == EN_TEXT
    for other in (stopped, gone, idea):
        assert FA_TEXT not in other.last and EN_TEXT not in other.last
    assert bot.emulator.sent_count(606) == 0
    assert ("broadcast_sent", {"id": 1, "count": 2, "send_at": bot.clock.timestamp()}) in (
        await audit_actions(bot)
    )
    assert (await bot.svc.users.find(PLATFORM, ADMIN)).state == ""


# --- a thousand applicants ----------------------------------------------------------------
async def test_thousand_applicants_with_flood_waits_and_blocked_chats(sbot: Bot) -> None:
    """Report figures equal what the fake API saw; nobody twice; blocked ones unreachable."""
    bot = sbot
    ids = list(range(10_000, 11_000))
    await seed(
        bot, [{"user_id": i, "lang": "en" if i % 3 == 0 else "fa", "county": "karaj"} for i in ids]
    )
    blocked = set(random.Random(5).sample(ids, 50))
    bot.emulator.blocked.update(blocked)
    me = await staff_member(bot)
    await compose(me, FA_TEXT, en=EN_TEXT, filters=["county:karaj"])
    assert "Recipients: 1000\n• Persian version: 667\n• English version: 333" in me.last
    await send_now(me)
    bid = await only_broadcast(bot)
    assert await queue_all(bot) == 1000
    # The fake's rate clock runs on its own traffic, not the wall: each attempt moves it 2 ms
    # (so 200/s drains 0.6 token per attempt) and each 429 one second (the sender's pause).
    # Flood waits then come at the same points on any machine, however fast.
    emulator = bot.emulator
    emulator.clock = lambda: (
        emulator.attempts.total() * 0.002 + sum(1 for e in emulator.errors if e[1] == 429)
    )
    emulator.global_rate, emulator.rate_burst = 200.0, 300.0
    out = sender(bot, concurrency=32, pacer=pace(rate=2000))
    for _ in range(10):
        await out.drain_once()
        if not await OutboxRepo(bot.svc.db).pending_count(PLATFORM):
            break
    await tick(monitor(bot))
    b = await BroadcastRepo(bot.svc.db).get(bid)
    assert b is not None and b.status == "done"
    f = await BroadcastRepo(bot.svc.db).figures(bid)
    delivered = sum(bot.emulator.delivered[c] for c in ids)
    assert f.sent == delivered == len(ids) - len(blocked)
    assert f.unreachable == len(blocked) and f.failed == 0 and f.remaining == 0
    assert all(bot.emulator.delivered[c] == 1 for c in ids if c not in blocked)
    assert all(bot.emulator.delivered[c] == 0 for c in blocked)
    assert any(status == 429 for _, status, _ in bot.emulator.errors)
    assert b.total == f.rows == len(ids)
    marked = await bot.svc.db.fetchall(
        "SELECT user_id FROM users WHERE unreachable_at IS NOT NULL ORDER BY user_id"
    )
    assert {int(r[0]) for r in marked} == blocked
    assert f"Sent: {f.sent}" in me.last and f"Unreachable: {len(blocked)}" in me.last
    assert "finished" in me.last


# --- scheduling and cancelling --------------------------------------------------------------
async def test_scheduled_in_two_hours_waits_then_goes_out(sbot: Bot) -> None:
    """ "in 2 hours": nothing is due before, everything after; the monitor starts it."""
    bot = sbot
    await seed(bot, [{"user_id": i, "county": "fardis"} for i in (701, 702, 703)])
    me = await staff_member(bot)
    await compose(me, filters=["county:fardis"])
    await me.press("🕒 At a time…")
    assert "1405/09/10 14:30" in me.last
    await me.send("in 2 hours")
    assert "Send it to 3 people at 1405/09/08 (2026-11-29) 13:30?" in me.last
    await me.press("✅ Yes, send")
    assert "scheduled for 1405/09/08 (2026-11-29) 13:30" in me.last
    bid = await only_broadcast(bot)
    audit = await audit_actions(bot)
    assert audit[-1] == (
        "broadcast_scheduled",
        {"id": bid, "count": 3, "send_at": bot.clock.timestamp() + 7200},
    )
    watch = monitor(bot)
    out = sender(bot)
    bot.clock.advance(hours=1, minutes=59)
    await tick(watch)
    assert await out.drain_once() == 0
    assert (await BroadcastRepo(bot.svc.db).get(bid)).status == "scheduled"
    assert await rows_of(bot, bid) == []  # queued when its time comes, not before
    bot.clock.advance(minutes=1)
    await tick(watch)
    rows = await rows_of(bot, bid)
    assert {r.not_before for r in rows} == {bot.clock.timestamp()} and len(rows) == 3
    assert await out.drain_once() == 3
    assert all(bot.emulator.last_bot_message(c).content == FA_TEXT for c in (701, 702, 703))
    await tick(watch)
    assert (await BroadcastRepo(bot.svc.db).get(bid)).status == "done"


async def test_cancel_a_scheduled_broadcast(sbot: Bot) -> None:
    """The Cancel button on the status message: nothing goes out, an audit entry, once only."""
    bot = sbot
    await seed(bot, [{"user_id": i, "county": "fardis"} for i in (711, 712)])
    me = await staff_member(bot, lang="fa")
    await compose(me, filters=["county:fardis"])
    await me.press("bc:at")
    await me.send("۳ ساعت دیگر")
    await me.press("bc:yes")
    bid = await only_broadcast(bot)
    status = me.last_message
    assert "زمان‌بندی شد" in status.content and "مانده: ۲" in status.content
    await me.press(f"bc:c:{bid}")
    assert "لغو شد" in me.last and "۲ پیام" in me.last
    assert "لغو شد" in bot.emulator.last_bot_message(ADMIN).content
    edited = next(m for m in me.messages if m.message_id == status.message_id)
    assert "لغو شد" in edited.content and not edited.inline_buttons()
    bot.clock.advance(hours=4)
    await tick(monitor(bot))
    assert await sender(bot).drain_once() == 0
    assert await rows_of(bot, bid) == []  # never queued
    assert ("broadcast_cancelled", {"id": bid, "cancelled": 2}) in await audit_actions(bot)
    await me.press_data(f"bc:c:{bid}")
    assert "پیش‌تر تمام یا لغو شده" in me.last
    assert (await BroadcastRepo(bot.svc.db).get(bid)).status == "cancelled"


async def test_broadcasts_lists_figures_and_cancels_a_running_one(sbot: Bot) -> None:
    """/broadcasts shows each with its figures; a running one has a Cancel button."""
    bot = sbot
    await seed(bot, [{"user_id": i, "county": "taleqan"} for i in (721, 722, 723)])
    me = await staff_member(bot)
    await me.send("/broadcasts")
    assert "No broadcasts yet" in me.last
    await compose(me, filters=["county:taleqan"])
    await send_now(me)
    await queue_all(bot)
    await sender(bot).drain_once()
    await tick(monitor(bot))
    await compose(me, "Second one", filters=["county:taleqan"])
    await send_now(me)
    await queue_all(bot)
    await me.send("/broadcasts")
    listing = me.last
    assert "#2 · 1405/09/08 (2026-11-29) 11:30 · sending · 3 people · sent 0" in listing
    assert "#1 · 1405/09/08 (2026-11-29) 11:30 · finished · 3 people · sent 3, failed 0" in listing
    assert me.buttons == ["✖️ Cancel broadcast #2"]
    await me.press("✖️ Cancel broadcast #2")
    assert "Broadcast #2 cancelled: 3 messages will not go out." in me.last
    assert await sender(bot).drain_once() == 0


# --- audiences ------------------------------------------------------------------------------
AUDIENCE_PEOPLE: list[dict[str, Any]] = [
    {"user_id": 801, "county": "karaj", "field": "food", "stage": "loan", "lang": "fa"},
    {"user_id": 802, "county": "karaj", "field": "handicrafts", "stage": "loan", "lang": "en"},
    {"user_id": 803, "county": "karaj", "field": "food", "stage": "idea", "lang": "fa"},
    {"user_id": 804, "county": "fardis", "field": "food", "stage": "operating", "lang": "fa"},
    {"user_id": 805, "county": "fardis", "field": "services", "stage": "permit", "lang": "en"},
    {"user_id": 806, "county": "taleqan", "field": "food", "stage": "loan", "lang": "fa"},
    {"user_id": 807, "county": "karaj", "field": "food", "stage": "loan", "proactive": 0},
    {"user_id": 808, "county": "karaj", "field": "food", "stage": "loan", "unreachable_at": 5},
    {"user_id": 809, "county": "karaj", "field": "food", "stage": "loan", "consent_at": None},
    {"user_id": 810, "lang": "fa"},
]
# Check-in histories, oldest first: only the latest answer counts.
HISTORIES = {
    801: ["problems", "operating"],
    802: ["operating", "closed"],
    803: ["no_answer"],
    804: ["operating", "paused", "operating"],
    805: ["closed", "problems"],
    807: ["operating"],
    808: ["operating"],
}
AUDIENCES: list[tuple[dict[str, list[str]], int]] = [
    ({}, 7),
    ({"county": ["karaj"]}, 3),
    ({"county": ["karaj", "fardis"]}, 5),
    ({"county": ["karaj"], "stage": ["loan"]}, 2),
    ({"field": ["food"], "lang": ["fa"]}, 4),
    ({"lang": ["en"]}, 2),
    ({"checkin": ["operating"]}, 2),
    ({"checkin": ["closed"]}, 1),
    ({"checkin": ["problems"]}, 1),
    ({"checkin": ["paused"]}, 0),
    ({"checkin": ["no_answer"]}, 1),
    ({"checkin": ["none"]}, 2),
    ({"checkin": ["none", "operating"]}, 4),
    ({"checkin": ["operating"], "county": ["fardis"]}, 1),
    ({"county": ["taleqan"], "checkin": ["none"], "field": ["food"]}, 1),
    ({"stage": ["operating", "permit"], "lang": ["en"]}, 1),
    ({"county": ["nazarabad"]}, 0),
]


@pytest.mark.parametrize(("audience", "expected"), AUDIENCES)
async def test_audience_filters_count_exactly(
    bot: Bot, audience: dict[str, list[str]], expected: int
) -> None:
    """Each combination of filters counts exactly the reachable, consenting people it should."""
    pks = await seed(bot, AUDIENCE_PEOPLE)
    by_user = {p["user_id"]: pk for p, pk in zip(AUDIENCE_PEOPLE, pks, strict=True)}
    for user_id, history in HISTORIES.items():
        await answers(bot, by_user[user_id], history)
    repo, audiences = BroadcastRepo(bot.svc.db), AudienceRepo(bot.svc.db)
    assert await audiences.count(PLATFORM, audience) == expected
    assert await audiences.scan_count(PLATFORM, audience) == expected
    now = bot.clock.timestamp()
    content = {"texts": {"fa": FA_TEXT, "en": EN_TEXT}, "photo": None, "document": None}
    queued = await repo.queue(Draft(PLATFORM, ADMIN, content, dict(audience), now), now)
    assert (queued[1] if queued else 0) == expected
    rows = await rows_of(bot, queued[0]) if queued else []
    assert len({r.chat_id for r in rows}) == expected
    assert not {807, 808, 809} & {r.chat_id for r in rows}
    text = {p["user_id"]: EN_TEXT if p.get("lang") == "en" else FA_TEXT for p in AUDIENCE_PEOPLE}
    assert all(r.payload["text"] == text[r.chat_id] for r in rows)
    assert await audiences.count("bale", audience) == 0


async def test_unknown_filters_are_refused_by_the_repository(bot: Bot) -> None:
    """Only whitelisted dimensions and check-in statuses reach SQL."""
    repo = AudienceRepo(bot.svc.db)
    with pytest.raises(ValueError):
        await repo.count(PLATFORM, {"county = 'x' OR 1=1 --": ["a"]})
    with pytest.raises(ValueError):
        await repo.count(PLATFORM, {"checkin": ["operating' OR 1=1"]})
    assert await repo.count(PLATFORM, {"county": ["x' OR 1=1 --"]}) == 0


# --- who may do it --------------------------------------------------------------------------
async def test_applicants_are_denied_every_staff_command_and_button(sbot: Bot) -> None:
    """/broadcast, /broadcasts and bc: buttons from an applicant: unknown/stale, audit, no rows."""
    bot = sbot
    me = await onboard(bot, 901, lang="en")
    tries = ["/broadcast", "/broadcasts"]
    for command in tries:
        replies = await me.send(command)
        unknown = "I do not know that command.\n\nChoose from the menu below."
        assert [m.content for m in replies] == [unknown]
    data = ["bc:a:county", "bc:a:county:karaj", "bc:next", "bc:now", "bc:yes", "bc:c:1", "bc:x"]
    for item in data:
        await me.press_data(item)
        assert me.last_query is not None and me.last_query.answered
        assert any("no longer works" in m.content for m in me.history[-3:])
    await me.send("A text meant to be a broadcast")
    assert not (await bot.svc.users.find(PLATFORM, 901)).state.startswith("bc")
    denied = [d["what"] for a, d in await audit_actions(bot) if a == "denied"]
    assert denied == [t.split()[0] for t in tries] + [d.split(":")[0] + ":" for d in data]
    assert await BroadcastRepo(bot.svc.db).list_recent(PLATFORM) == []
    assert await OutboxRepo(bot.svc.db).counts() == {}


# --- media ----------------------------------------------------------------------------------
async def test_photo_with_caption_broadcast(sbot: Bot) -> None:
    """The payload carries the photo's file_id; the fake API records sendPhoto with it."""
    bot = sbot
    await seed(bot, [{"user_id": 741, "county": "karaj"}, {"user_id": 742, "county": "karaj"}])
    me = await staff_member(bot)
    await me.send("/broadcast")
    await me.send_photo(caption="Our stand at the fair")
    sent_photo = bot.emulator.calls_to("sendPhoto")
    await compose(me, None, en="Our stand at the fair (EN)", filters=["county:karaj"])
    await me.press("👁 English version")
    previews = bot.emulator.calls_to("sendPhoto")[len(sent_photo) :]
    assert [p["caption"] for p in previews] == [
        "Our stand at the fair",
        "Our stand at the fair (EN)",
    ]
    await send_now(me)
    await queue_all(bot)
    rows = await rows_of(bot, await only_broadcast(bot))
    file_id = previews[0]["photo"]
    assert {r.payload["photo"] for r in rows} == {file_id} and file_id.startswith("photo")
    assert json.loads(rows[0].payload_json)["document"] is None
    await sender(bot).drain_once()
    calls = [c for c in bot.emulator.calls_to("sendPhoto") if c["chat_id"] in (741, 742)]
    assert len(calls) == 2 and all(c["photo"] == file_id for c in calls)
    assert bot.emulator.last_bot_message(741).kind == "photo"
    assert bot.emulator.last_bot_message(741).content == "Our stand at the fair"


async def test_document_with_caption_broadcast(sbot: Bot) -> None:
    """A document with a caption goes out with sendDocument."""
    bot = sbot
    await seed(bot, [{"user_id": 751, "county": "karaj"}])
    me = await staff_member(bot)
    await me.send("/broadcast")
    update = bot.emulator.user_document(
        ADMIN, "guide.pdf", b"%PDF-1.4", "The new guide", enqueue=False
    )
    await me._run(update)
    await compose(me, None, filters=["county:karaj"])
    await send_now(me)
    await queue_all(bot)
    await sender(bot).drain_once()
    message = bot.emulator.last_bot_message(751)
    assert message.kind == "document" and message.content == "The new guide"


# --- progress -------------------------------------------------------------------------------
async def test_status_message_shows_progress_then_a_final_report(sbot: Bot) -> None:
    """Ticks edit the status message only when figures change; the end brings a report."""
    bot = sbot
    chats = list(range(761, 781))
    await seed(bot, [{"user_id": c, "county": "savojbolagh"} for c in chats])
    me = await staff_member(bot)
    await compose(me, filters=["county:savojbolagh"])
    await send_now(me)
    status = me.last_message
    assert "Broadcast #1 is going out" in status.content and "0/20" in status.content
    watch = monitor(bot)
    watch.shown[1] = status.content  # as Proactive's monitor learns it from the handler
    edits = len(bot.emulator.calls_to("editMessageText"))
    await tick(watch)  # its background work queues the rows
    assert len(bot.emulator.calls_to("editMessageText")) == edits  # nothing changed: no edit

    bot.emulator.error_rate = 0.5  # some sends fail now and wait for a later retry
    await sender(bot, base_backoff=30.0).drain_once()
    figures = await BroadcastRepo(bot.svc.db).figures(1)
    assert 0 < figures.sent < 20 and figures.remaining == 20 - figures.sent
    await tick(watch)
    edited = next(m for m in me.messages if m.message_id == status.message_id)
    assert f"Sent: {figures.sent}\n" in edited.content
    assert f"Remaining: {figures.remaining}" in edited.content
    assert f"{figures.sent}/20" in edited.content and "▰" in edited.content
    assert edited.inline_buttons()[0]["callback_data"] == "bc:c:1"
    count = len(bot.emulator.calls_to("editMessageText"))
    await tick(watch)
    assert len(bot.emulator.calls_to("editMessageText")) == count

    bot.emulator.error_rate = 0.0
    bot.clock.advance(minutes=10)
    await sender(bot).drain_once()
    await tick(watch)
    edited = next(m for m in me.messages if m.message_id == status.message_id)
    assert "has finished" in edited.content and "▰" * 10 in edited.content
    assert "Sent: 20" in edited.content and not edited.inline_buttons()
    assert me.last.startswith("🏁 Broadcast #1 has finished.") and "Remaining: 0" in me.last
    b = await BroadcastRepo(bot.svc.db).get(1)
    assert b is not None and b.status == "done" and b.finished_at == bot.clock.timestamp()
    replies = len(me.messages)
    await tick(watch)
    assert len(me.messages) == replies  # reported once


# --- odd inputs -----------------------------------------------------------------------------
async def test_bad_content_is_refused_politely(sbot: Bot) -> None:
    """Too long, uncaptioned, over-long captions, stickers and voice: explained, asked again."""
    bot = sbot
    me = await staff_member(bot)
    await me.send("/broadcast")
    for action in (me.send_sticker, me.send_voice, me.send_location):
        replies = await action()
        assert len(replies) == 1  # why, and the question again, in one message
        assert replies[0].content.startswith(
            "A broadcast can only be a text, a photo or a document.\n\n📣 New broadcast."
        )
    replies = await me.send_photo()
    assert "with a caption" in replies[0].content
    replies = await me.send_photo(caption="x" * 1025)
    assert "1025 characters" in replies[0].content and "at most 1024" in replies[0].content
    replies = await me.send("y" * 5000)
    assert "5000 characters" in replies[0].content and "at most 4096" in replies[0].content
    replies = await me.send("z" * 2000)  # over the router's general 1000, within a message's 4096
    assert [(m.content, [b["text"] for b in m.inline_buttons()]) for m in replies] == [
        (
            "Add an English version? English-speaking applicants would get it; everyone else"
            " gets the message you just sent.",
            ["🇬🇧 Add English", "Same for everyone"],
        )
    ]
    await me.press_data("bc:x")
    await me.send("/broadcast")
    user = await bot.svc.users.find(PLATFORM, ADMIN)
    assert user.state == "bc:content"
    await me.send("ok " * 10)
    await me.press("bc:en:add")
    await me.send_photo(caption="not here")
    assert "typed text only" in me.last and "Send the English text" in me.last
    await me.send("  z  ")
    assert me.last.startswith("👥 Who should receive it?")


async def test_a_long_text_is_taken_whole(sbot: Bot) -> None:
    """A 1,000-character text (the router's limit for typed text) is the broadcast, unchanged."""
    bot = sbot
    me = await staff_member(bot)
    await me.send("/broadcast")
    long_text = "خبر " * 250
    await me.send(long_text)
    user = await bot.svc.users.find(PLATFORM, ADMIN)
    assert user is not None and user.state == "bc:en"
    assert user.state_data["texts"] == {"fa": long_text.strip()}


async def test_stale_and_forged_buttons_and_wrong_steps(sbot: Bot) -> None:
    """Buttons of another step, forged values and junk get the stale answer; nothing changes."""
    bot = sbot
    me = await staff_member(bot)
    await me.send("/broadcast")
    for data in ("bc:next", "bc:yes", "bc:en:add", "bc:c:abc", "bc:c:99", "bc:zz", "bc"):
        await me.press_data(data)
        assert any("no longer works" in m.content for m in me.history[-3:]), data
        assert (await bot.svc.users.find(PLATFORM, ADMIN)).state == "bc:content"
    await me.send(FA_TEXT)
    await me.press("bc:en:same")
    builder = me.last_message
    for data in ("bc:a:county:tehran", "bc:a:nope", "bc:a:stage:ceo", "bc:a:county:karaj:x"):
        await me.press_data(data, builder.message_id)
        assert any("no longer works" in m.content for m in me.history[-3:]), data
    assert (await bot.svc.users.find(PLATFORM, ADMIN)).state_data.get("aud", {}) == {}
    await me.press("bc:next")
    await me.press("bc:now")
    await me.press_data("bc:a:county", builder.message_id)  # the old builder, now stale
    assert any("no longer works" in m.content for m in me.history[-3:])
    await me.press("bc:yes")
    await me.press_data("bc:yes")  # a second press after the launch
    assert any("no longer works" in m.content for m in me.history[-3:])
    assert len(await BroadcastRepo(bot.svc.db).list_recent(PLATFORM)) == 1


async def test_every_button_fits_in_64_bytes(sbot: Bot) -> None:
    """Every list of every dimension is built; the fake API rejects callback data over 64 bytes."""
    bot = sbot
    me = await staff_member(bot, lang="fa")
    await compose(me, filters=[])
    await me.press("bc:aud")
    for dim in ("county", "field", "stage", "checkin", "lang"):
        await me.press(f"bc:a:{dim}")
        data = [b["callback_data"] for b in me.last_message.inline_buttons()]
        assert len(data) > 2 and all(len(d.encode()) <= 64 for d in data)
        await me.press("bc:ok")
    assert not bot.emulator.errors


async def test_empty_audience_goes_back_to_the_builder(sbot: Bot) -> None:
    """An audience of nobody: said so, and the builder again."""
    bot = sbot
    me = await staff_member(bot)
    await compose(me, filters=["county:chaharbagh"])
    assert me.last.startswith("No one matches this audience. Please change the filters.\n\n👥")
    assert "Recipients now: 0" in me.last
    assert (await bot.svc.users.find(PLATFORM, ADMIN)).state == "bc:aud"
    await me.press("bc:all")
    assert "Recipients now: 1" in me.last  # the admin alone, who agreed


async def test_cancel_command_and_cancel_button_leave_the_flow(sbot: Bot) -> None:
    """/cancel at any step clears the draft; so does the Cancel button; nothing is queued."""
    bot = sbot
    me = await staff_member(bot)
    for steps in (0, 1, 2, 3):
        await me.send("/broadcast")
        if steps >= 1:
            await me.send(FA_TEXT)
        if steps >= 2:
            await me.press("bc:en:add")
        if steps >= 3:
            await me.send(EN_TEXT)
        await me.send("/cancel")
        assert (await bot.svc.users.find(PLATFORM, ADMIN)).state != "bc" and not (
            await bot.svc.users.find(PLATFORM, ADMIN)
        ).state.startswith("bc:")
    await compose(me)
    await me.press("✖️ Cancel")
    assert "dropped" in me.last
    assert (await bot.svc.users.find(PLATFORM, ADMIN)).state == ""
    assert await BroadcastRepo(bot.svc.db).list_recent(PLATFORM) == []


async def test_time_answers_and_their_errors(sbot: Bot) -> None:
    """Bad, past and far times are explained; a Solar Hijri moment is accepted."""
    bot = sbot
    me = await staff_member(bot)
    await compose(me)
    await me.press("bc:at")
    for answer, words in (
        ("tomorrow", "like 1405/09/08 14:30"),
        ("1405/09/01 10:00", "has passed"),
        ("2026/12/01 10:00", "not a Gregorian"),
        ("1406/01/01 10:00", "60 days"),
        ("1405/09/31 10:00", "not valid"),
    ):
        replies = await me.send(answer)
        assert words in replies[0].content, (answer, replies[0].content)
        assert "When should it go out?" in replies[-1].content
    await me.send("۱۴۰۵/۰۹/۱۰ ۱۴:۳۰")
    assert "at 1405/09/10 (2026-12-01) 14:30?" in me.last
    await me.press("« Back")
    assert "now, or at a set time?" in me.last


def test_parse_when_forms() -> None:
    """Relative hours and minutes in both languages and a Solar Hijri date-time."""
    now = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    base = int(now.timestamp())
    assert parse_when("in 3 hours", now) == base + 3 * 3600
    assert parse_when("3h", now) == base + 3 * 3600
    assert parse_when("۳ ساعت دیگر", now) == base + 3 * 3600
    assert parse_when("90 min", now) == base + 90 * 60
    assert parse_when("۹۰ دقیقه بعد", now) == base + 90 * 60
    assert parse_when("1405/09/08 14:30", now) == base + 3 * 3600
    for bad, code in (
        ("0h", "datetime.past"),
        ("2000 hours", "broadcast.too_far"),
        ("soon", "datetime.format"),
    ):
        with pytest.raises(ValidationError) as caught:
            parse_when(bad, now)
        assert caught.value.code == code


async def test_proactive_runs_the_monitor_and_is_woken_by_a_broadcast(sbot: Bot) -> None:
    """Proactive.start publishes itself and schedules the monitor; a launch wakes the sender."""
    from bot.entry.app import build_application
    from bot.messengers.fakeapi.request import EmulatorRequest
    from scheduler import Proactive
    from tests.conftest import TOKEN

    bot = sbot
    await seed(bot, [{"user_id": c, "county": "eshtehard"} for c in (791, 792)])
    app = build_application(
        bot.svc,
        PLATFORM,
        token=TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=EmulatorRequest(bot.emulator),
        with_updater=False,
        limits=bot.limits,
    )
    await app.initialize()
    original, bot.app = bot.app, app  # the staff member talks to the one with a JobQueue
    proactive = Proactive(app, bot.svc, PLATFORM)
    proactive.start()
    try:
        assert app.bot_data["proactive"] is proactive
        assert isinstance(proactive.broadcasts, BroadcastMonitor)
        assert app.job_queue is not None
        assert any(job.callback == proactive.broadcasts.job for job in app.job_queue.jobs())
        me = await staff_member(bot)
        await compose(me, filters=["county:eshtehard"])
        await send_now(me)
        assert proactive.broadcasts.shown == {1: me.last}
        outbox = OutboxRepo(bot.svc.db)

        async def outbox_empty() -> bool:
            """Every row is queued and the running sender has sent each one (on an engine whose
            statements really wait, the queueing may not have begun at the first look, and a
            taken row may still be on its way)."""
            b = await BroadcastRepo(bot.svc.db).get(1)
            done = b is not None and b.fully_queued and b.figures.rows > 0
            done = done and b is not None and b.figures.remaining == 0
            return done and not await outbox.pending_count(PLATFORM)

        await wait_until(outbox_empty, "the running sender to empty the outbox")
        await proactive.broadcasts.tick()
    finally:
        await proactive.stop()
        await app.shutdown()
        bot.app = original
    assert bot.emulator.last_bot_message(791).content == FA_TEXT
    assert (await BroadcastRepo(bot.svc.db).get(1)).status == "done"
