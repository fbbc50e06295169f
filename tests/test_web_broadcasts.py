"""Broadcasts in the staff console, over HTTP: compose, count, preview, schedule, send, progress,
cancel; the same broadcasts, counts and rules as /broadcast; county scope, CSRF and escaping."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from telegram import Bot as PtbBot

from bot.core.clock import ManualClock, from_ts
from bot.core.config import PlatformSettings
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.repo.audiences import AudienceRepo
from bot.repo.broadcast_files import BroadcastFileRepo
from bot.repo.broadcasts import BroadcastRepo, Draft
from bot.repo.outbox import OutboxRepo, OutboxRow
from bot.repo.staff import StaffRepo
from scheduler.broadcasts import BroadcastMonitor
from scheduler.outbox import OutboxSender
from tests.conftest import Bot, pace
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.stores import Store
from web.app import build_console

ADMIN, STAFFER, KARAJ_ONLY = 500, 501, 502
PLATFORM = "telegram"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# (user id, language, county, field, stage) of the applicants every test starts with
PEOPLE = (
    (601, "fa", "karaj", "food", "loan"),
    (602, "en", "karaj", "handicrafts", "loan"),
    (603, "fa", "fardis", "food", "idea"),
    (604, "fa", "fardis", "food", "loan"),
    (605, "en", "nazarabad", "textiles_clothing", "permit"),
)
KARAJ = (601, 602)


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Desk]:
    """A bot with an admin, a staff member, one limited to Karaj, five applicants, and the
    console over it."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({(PLATFORM, ADMIN)}),
        web=WEB,
    )
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    now = clock.timestamp()
    for uid in (STAFFER, KARAJ_ONLY):
        await staff.add(PLATFORM, uid, "staff", ADMIN, now)
    await staff.set_scope(PLATFORM, KARAJ_ONLY, ["karaj"])
    await seed(bot, PEOPLE)
    async with open_desk(bot) as console:
        yield console
    await bot.stop()


async def seed(bot: Bot, people: Sequence[tuple[int, str, str, str, str]]) -> None:
    """Consenting applicants known to the fake Bot API (chat id = user id)."""
    now = bot.clock.timestamp()
    for uid, lang, *_ in people:
        bot.emulator.add_user(uid, language_code=lang)
    await bot.svc.db.executemany(
        "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, field, stage, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(PLATFORM, uid, uid, lang, now, c, f, s, now, now) for uid, lang, c, f, s in people],
    )


async def post(
    desk: Desk,
    path: str,
    fields: Sequence[tuple[str, str]],
    *,
    status: int = 200,
    file: tuple[str, bytes] | None = None,
    csrf: bool = True,
) -> tuple[str, str]:
    """POST a multipart form (repeated fields allowed, a file if given); (page, final path)."""
    form = aiohttp.FormData()
    if csrf:
        form.add_field("_csrf", desk.csrf)
    for name, value in fields:
        form.add_field(name, value)
    if file is not None:
        form.add_field(
            "file", io.BytesIO(file[1]), filename=file[0], content_type="application/octet-stream"
        )
    response = await desk.http.post(path, data=form, allow_redirects=True)
    body = await response.text()
    assert response.status == status, (path, response.status, body[:800])
    return body, response.url.path


def compose(
    fa: str = "سلام به همه",
    en: str = "",
    *,
    action: str = "send",
    when: str = "now",
    date: str = "",
    time: str = "",
    **filters: str | Sequence[str],
) -> list[tuple[str, str]]:
    """The compose form's fields."""
    fields = [("text_fa", fa), ("text_en", en), ("when", when), ("date", date), ("time", time)]
    for dim, values in filters.items():
        for value in [values] if isinstance(values, str) else values:
            fields.append((dim, value))
    return [*fields, ("action", action)]


async def count_json(desk: Desk, query: str, status: int = 200) -> dict[str, Any]:
    """The live count endpoint's answer."""
    response = await desk.http.get(f"/broadcasts/count?{query}")
    assert response.status == status, await response.text()
    return dict(await response.json())


def monitor(desk: Desk) -> BroadcastMonitor:
    """What the running bot's monitor does: queue broadcasts, chunk by chunk."""
    assert desk.bot.app is not None
    return BroadcastMonitor(desk.bot.app.bot, desk.bot.svc, PLATFORM)


async def rows_of(desk: Desk, bid: int) -> list[OutboxRow]:
    """Every outbox row of a broadcast."""
    repo = OutboxRepo(desk.bot.svc.db)
    found = []
    for status in ("pending", "sending", "sent", "failed", "cancelled"):
        found += [r for r in await repo.by_status(status) if r.broadcast_id == bid]
    return found


def fa_digits(text: str) -> str:
    """The text with Persian digits."""
    return text.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def broadcast_id(path: str) -> int:
    """The id in a /broadcasts/<id> path."""
    found = re.fullmatch(r"/broadcasts/(\d+)", path)
    assert found, path
    return int(found.group(1))


async def audits(desk: Desk, action: str) -> list[dict[str, Any]]:
    """The details of one kind of audit entry, newest first."""
    return [e.detail for e in await StaffRepo(desk.bot.svc.db).latest(50, action)]


async def switch_to_english(desk: Desk) -> None:
    """Switch the console to English."""
    await desk.post("/lang", {"lang": "en", "next": "/me"})


# --- compose, preview, send ----------------------------------------------------------------
async def test_a_county_broadcast_goes_to_exactly_that_county(desk: Desk) -> None:
    """Compose in both languages for Karaj, preview (each version with its count), send: the
    outbox holds a row for each Karaj applicant in their language, the audit says "web", and the
    fake Bot API receives exactly those messages."""
    await sign_in(desk, ADMIN)
    page = await desk.get("/broadcasts/new")
    assert 'name="county" value="karaj"' in page and 'name="county" value="fardis"' in page
    assert "شمار گیرندگان: ۵" in page
    fields = compose("سلام کرج", "Hello Karaj", action="preview", county="karaj")
    preview, _ = await post(desk, "/broadcasts/new", fields)
    assert "سلام کرج" in preview and "Hello Karaj" in preview
    assert "۱ نفر این نسخه را می‌گیرند" in preview  # one Persian, one English speaker
    assert "شمار گیرندگان: ۲" in preview and "شهرستان: کرج" in preview
    assert "همین حالا برای ۲ نفر بفرست" in preview
    page, path = await post(
        desk, "/broadcasts/new", compose("سلام کرج", "Hello Karaj", county="karaj")
    )
    bid = broadcast_id(path)
    assert "در حال ارسال برای ۲ نفر" in page
    b = await BroadcastRepo(desk.bot.svc.db).get(bid)
    assert b is not None and b.audience == {"county": ["karaj"], "platform": [PLATFORM]}
    assert b.created_by == ADMIN and b.content["texts"] == {"fa": "سلام کرج", "en": "Hello Karaj"}
    assert await monitor(desk).work() == 2
    rows = await rows_of(desk, bid)
    assert sorted((r.chat_id, r.payload["text"]) for r in rows) == [
        (601, "سلام کرج"),
        (602, "Hello Karaj"),
    ]
    [detail] = await audits(desk, "broadcast_sent")
    assert detail["via"] == "web" and detail["id"] == bid and detail["count"] == 2
    assert await desk.bot.drain() == 2
    for uid, *_ in PEOPLE:
        got = [m.content for m in desk.bot.emulator.bot_messages(uid)]
        expected = {601: ["سلام کرج"], 602: ["Hello Karaj"]}.get(uid, [])
        assert got == expected, uid
    progress = json.loads(await desk.get(f"/broadcasts/{bid}/progress"))
    assert progress["text"]["sent"] == "۲" and progress["done"] == 2
    listing = await desk.get("/broadcasts")
    assert f'href="/broadcasts/{bid}"' in listing and "شهرستان: کرج" in listing
    chat = await desk.bot.client(ADMIN).send("/broadcasts")  # the same broadcasts in the chat
    assert fa_digits(f"#{bid}") in chat[-1].content


async def test_only_english_written_goes_to_everyone(desk: Desk) -> None:
    """A message written only in English reaches Persian speakers too (the only version)."""
    await sign_in(desk, ADMIN)
    _, path = await post(desk, "/broadcasts/new", compose("", "Only English", county="fardis"))
    bid = broadcast_id(path)
    assert await monitor(desk).work() == 2
    assert {r.payload["text"] for r in await rows_of(desk, bid)} == {"Only English"}


async def test_count_matches_the_bots_builder(desk: Desk) -> None:
    """The live count (JSON) and the compose page's count equal the chat builder's count and the
    scan of every applicant, for the same filters."""
    await sign_in(desk, ADMIN)
    me = desk.bot.client(ADMIN, lang="en")
    await me.send("/start")  # staff flows need the privacy note agreed (they count, too)
    await me.press("English")
    await me.press("priv:yes")
    await me.send("/broadcast")
    await me.send("hello")
    await me.press("bc:en:same")
    cases = [
        ({}, ()),
        ({"county": ["karaj"]}, ("county:karaj",)),
        ({"county": ["karaj", "fardis"], "stage": ["loan"]}, ("county:fardis", "stage:loan")),
        ({"county": ["karaj", "fardis"], "stage": ["loan"], "field": ["food"]}, ("field:food",)),
        (
            {"county": ["karaj", "fardis"], "stage": ["loan"], "field": ["food"], "lang": ["en"]},
            ("lang:en",),
        ),
    ]
    for filters, presses in cases:
        for item in presses:  # the chat builder gains the same filters, one at a time
            dim, value = item.split(":")
            await me.press(f"bc:a:{dim}")
            await me.press(f"bc:a:{dim}:{value}")
            await me.press("bc:ok")
        chat = int(re.search(r"Recipients now: (\d+)", me.last).group(1))  # type: ignore[union-attr]
        query = "&".join(f"{dim}={v}" for dim, values in filters.items() for v in values)
        answer = await count_json(desk, query)
        audience = {**filters, "platform": [PLATFORM]}
        scan = await AudienceRepo(desk.bot.svc.db).scan_count(PLATFORM, audience)
        assert answer["total"] == chat == scan, (filters, answer, chat, scan)
        fields = compose(action="count", **filters)
        page, _ = await post(desk, "/broadcasts/new", fields)
        assert (
            f"شمار گیرندگان: {answer['total']}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
            in page
        )


async def test_checkin_filter_counts_like_the_bot(desk: Desk) -> None:
    """The latest check-in answer filters the same way: "none" is never asked."""
    await sign_in(desk, ADMIN)
    pk = await desk.bot.svc.db.fetchone("SELECT id FROM users WHERE user_id = 601")
    assert pk is not None
    await desk.bot.svc.db.execute(
        "INSERT INTO checkin_answers (user_pk, status, answered_at) VALUES (?, 'problems', ?)",
        (pk[0], desk.bot.clock.timestamp()),
    )
    assert (await count_json(desk, "checkin=problems"))["total"] == 1
    assert (await count_json(desk, "checkin=none"))["total"] == 4
    assert (await count_json(desk, "checkin=bogus", status=400))["error"]


# --- validation ------------------------------------------------------------------------
async def test_errors_are_clear_in_persian_and_in_english(desk: Desk) -> None:
    """No text, too long a text, a time in the past, a malformed time: the form comes back
    with the reason in the member's language, and nothing is stored."""
    await sign_in(desk, STAFFER)
    page, _ = await post(desk, "/broadcasts/new", compose("", "  "), status=400)
    assert "پیام را به فارسی، به انگلیسی یا به هر دو بنویسید." in page
    page, _ = await post(desk, "/broadcasts/new", compose("ب" * 4097), status=400)
    assert "متن فارسی: این پیام ۴٬۰۹۷ حرف دارد؛ حداکثر ۴٬۰۹۶ حرف مجاز است" in page
    past = compose(action="preview", when="at", date="۱۴۰۰/۰۱/۰۱", time="۱۰:۰۰")
    page, _ = await post(desk, "/broadcasts/new", past, status=400)
    assert "این زمان گذشته است" in page
    page, _ = await post(
        desk, "/broadcasts/new", compose(when="at", date="فردا", time="x"), status=400
    )
    assert "تاریخ را مثل" in page
    page, _ = await post(desk, "/broadcasts/new", compose(when="at"), status=400)
    assert "تاریخ و ساعت را بنویسید" in page
    await switch_to_english(desk)
    page, _ = await post(desk, "/broadcasts/new", compose(""), status=400)
    assert "Write the message in Persian, in English, or in both." in page
    page, _ = await post(desk, "/broadcasts/new", past, status=400)
    assert "That time has passed. Please type a time in the future." in page
    page, _ = await post(
        desk, "/broadcasts/new", compose(when="at", date="1500/01/01", time="10:00"), status=400
    )
    assert "too far ahead" in page
    page, _ = await post(desk, "/broadcasts/new", compose(county="taleqan"), status=400)
    assert "No one matches this audience" in page
    assert await BroadcastRepo(desk.bot.svc.db).page(None, None) == []


async def test_schedule_in_tehran_time_and_go_out_when_due(desk: Desk, clock: ManualClock) -> None:
    """A Solar Hijri date and Tehran time (Persian digits welcome): scheduled, nothing queued
    before its time; the monitor queues it once the time comes."""
    await sign_in(desk, ADMIN)
    # The clock's "tomorrow" in Tehran, 09:30, as the form's example shows it.
    page = await desk.get("/broadcasts/new")
    date = re.search(r'id="date" name="date" value="" placeholder="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields = compose(when="at", date=date, time="۰۹:۳۰", county="karaj")
    preview, _ = await post(desk, "/broadcasts/new", [*fields[:-1], ("action", "preview")])
    assert f"در {date} ۰۹:۳۰ فرستاده می‌شود." in preview
    page, path = await post(desk, "/broadcasts/new", fields)
    bid = broadcast_id(path)
    b = await BroadcastRepo(desk.bot.svc.db).get(bid)
    assert b is not None and b.status == "scheduled" and b.send_at > clock.timestamp()
    assert f"برای ۲ نفر در {date} ۰۹:۳۰ زمان‌بندی شد" in page
    assert (await audits(desk, "broadcast_scheduled"))[0]["via"] == "web"
    m = monitor(desk)
    await m.tick()
    await m.idle()
    assert await rows_of(desk, bid) == []
    clock.set(from_ts(b.send_at))  # type: ignore[arg-type]
    await m.tick()
    await m.idle()
    assert sorted(r.chat_id for r in await rows_of(desk, bid)) == list(KARAJ)


# --- cancel --------------------------------------------------------------------------------
async def test_a_scheduled_broadcast_cancelled_before_its_time(desk: Desk) -> None:
    """Cancelled before any row was queued: its recipients show as cancelled, none goes out."""
    await sign_in(desk, ADMIN)
    page = await desk.get("/broadcasts/new")
    date = re.search(r'placeholder="([^"]+)"', page.split('id="date"')[1]).group(1)  # type: ignore[union-attr]
    _, path = await post(desk, "/broadcasts/new", compose(when="at", date=date, time="۰۹:۳۰"))
    bid = broadcast_id(path)
    await post(desk, f"/broadcasts/{bid}/cancel", [("confirm", "yes")])
    progress = json.loads(await desk.get(f"/broadcasts/{bid}/progress"))
    assert progress["status"] == "cancelled" and progress["final"]
    assert progress["text"]["cancelled"] == "۵" and progress["text"]["rows"] == "۵"
    assert "۰ فرستاده · ۰ ناموفق · از ۵" in await desk.get("/broadcasts")
    assert await monitor(desk).work() == 0 and await rows_of(desk, bid) == []


async def test_cancel_asks_first_then_stops_the_pending_rows(desk: Desk) -> None:
    """Cancel on a running broadcast asks first (a page, without script); yes cancels its
    pending rows, audits "via": "web", and the page says so; a finished one cannot be."""
    await sign_in(desk, ADMIN)
    _, path = await post(desk, "/broadcasts/new", compose())
    bid = broadcast_id(path)
    assert await monitor(desk).work() == 5
    page = await desk.get(path)
    assert f'action="/broadcasts/{bid}/cancel"' in page and "data-progress=" in page
    asked, _ = await post(desk, f"/broadcasts/{bid}/cancel", [])
    assert "لغو شود؟" in asked and 'value="yes"' in asked
    assert (await BroadcastRepo(desk.bot.svc.db).get(bid)).status == "queued"  # type: ignore[union-attr]
    page, _ = await post(desk, f"/broadcasts/{bid}/cancel", [("confirm", "yes")])
    assert "لغو شد" in page
    rows = await rows_of(desk, bid)
    assert {r.status for r in rows} == {"cancelled"} and len(rows) == 5
    [detail] = await audits(desk, "broadcast_cancelled")
    assert detail == {"id": bid, "cancelled": 5, "via": "web"}
    assert await desk.bot.drain() == 0
    again, _ = await post(desk, f"/broadcasts/{bid}/cancel", [("confirm", "yes")])
    assert "پیش‌تر تمام یا لغو شده بود" in again
    assert 'id="cancel"' not in again


# --- county scope ----------------------------------------------------------------------------
async def test_a_scoped_member_reaches_only_their_counties(desk: Desk) -> None:
    """Limited to Karaj: the form offers Karaj alone and counts within it; no county ticked means
    Karaj; another county in a forged form or query is refused and stores nothing; others'
    broadcasts to everyone are neither listed nor reachable by id."""
    await sign_in(desk, ADMIN)
    _, path = await post(desk, "/broadcasts/new", compose("برای همه"))
    everyone = broadcast_id(path)
    desk.http.session.cookie_jar.clear()
    await sign_in(desk, KARAJ_ONLY)
    page = await desk.get("/broadcasts/new")
    assert 'name="county" value="karaj"' in page and 'value="fardis"' not in page
    assert "شمار گیرندگان: ۲" in page and "فقط به شهرستان‌های خودتان" in page
    assert (await count_json(desk, ""))["total"] == 2
    refused = await count_json(desk, "county=fardis", status=403)
    assert refused["error"] == "فقط به شهرستان‌های خودتان می‌توانید پیام همگانی بفرستید."
    for action in ("count", "preview", "send"):
        forged = compose(action=action, county=["karaj", "fardis"])
        page, _ = await post(desk, "/broadcasts/new", forged, status=403)
        assert "فقط به شهرستان‌های خودتان" in page
    assert len(await BroadcastRepo(desk.bot.svc.db).page(None, None)) == 1
    _, path = await post(desk, "/broadcasts/new", compose("فقط کرج"))
    mine = broadcast_id(path)
    b = await BroadcastRepo(desk.bot.svc.db).get(mine)
    assert b is not None and b.audience["county"] == ["karaj"]
    assert await monitor(desk).work() == 5 + 2
    assert sorted(r.chat_id for r in await rows_of(desk, mine)) == list(KARAJ)
    listing = await desk.get("/broadcasts")
    assert f'href="/broadcasts/{mine}"' in listing
    assert f'href="/broadcasts/{everyone}"' not in listing
    for path in (f"/broadcasts/{everyone}", f"/broadcasts/{everyone}/progress"):
        await desk.get(path, status=404)
    await post(desk, f"/broadcasts/{everyone}/cancel", [("confirm", "yes")], status=404)
    assert (await BroadcastRepo(desk.bot.svc.db).get(everyone)).status == "queued"  # type: ignore[union-attr]


async def test_the_chat_builder_keeps_a_scoped_member_in_their_counties(desk: Desk) -> None:
    """/broadcast in the chat: the county list holds only theirs, and no county means theirs."""
    me = desk.bot.client(KARAJ_ONLY, lang="en")
    await me.send("/start")
    await me.press("English")
    await me.press("priv:yes")
    await me.send("/broadcast")
    await me.send("hello")
    await me.press("bc:en:same")
    assert "Recipients now: 2" in me.last
    await me.press("bc:a:county")
    assert [b for b in me.buttons if "Fardis" in b] == [] and "Karaj" in me.buttons
    await me.press_data("bc:a:county:fardis")  # a forged value is stale: the builder again
    assert "Recipients now: 2" in me.last and "📍 County: any" in me.buttons
    content = {"texts": {"fa": "همه"}, "photo": None, "document": None}
    draft = Draft(PLATFORM, ADMIN, content, {}, desk.bot.clock.timestamp())
    launched = await BroadcastRepo(desk.bot.svc.db).launch(draft, desk.bot.clock.timestamp())
    assert launched is not None
    await me.send("/cancel")
    assert "No broadcasts yet" in (await me.send("/broadcasts"))[-1].content
    await me.press_data(f"bc:c:{launched[0]}")  # another county's broadcast: as if gone
    assert (await BroadcastRepo(desk.bot.svc.db).get(launched[0])).status == "queueing"  # type: ignore[union-attr]


# --- safety --------------------------------------------------------------------------------
async def test_pages_need_a_session_and_forms_their_token(desk: Desk) -> None:
    """Without a session every broadcast page asks to sign in; a form without this session's
    token (or from another site) creates and cancels nothing."""
    for path in ("/broadcasts", "/broadcasts/new", "/broadcasts/count", "/broadcasts/1"):
        await desk.get(path, status=401)
    await sign_in(desk, ADMIN)
    await post(desk, "/broadcasts/new", compose(), status=403, csrf=False)
    form = compose()
    good = desk.csrf
    desk.csrf = "forged"
    await post(desk, "/broadcasts/new", form, status=403)
    desk.csrf = good
    response = await desk.http.post(
        "/broadcasts/new",
        data={"_csrf": good, "text_fa": "x", "action": "send"},
        headers={"Origin": "http://evil.test"},
    )
    assert response.status == 403
    assert await BroadcastRepo(desk.bot.svc.db).page(None, None) == []
    _, path = await post(desk, "/broadcasts/new", compose(when="at", date="1500/01/01"), status=400)
    _, path = await post(desk, "/broadcasts/new", compose())
    bid = broadcast_id(path)
    await post(desk, f"/broadcasts/{bid}/cancel", [("confirm", "yes")], status=403, csrf=False)
    assert (await BroadcastRepo(desk.bot.svc.db).get(bid)).status == "queueing"  # type: ignore[union-attr]


async def test_what_staff_and_applicants_wrote_shows_as_text(desk: Desk) -> None:
    """A message, a file name and a staff member's name that look like markup are escaped on
    the preview, the broadcast's page and the list."""
    evil = "<script>alert(1)</script>"
    await desk.bot.svc.db.execute(
        "INSERT INTO users (platform, user_id, chat_id, lang, full_name, created_at, updated_at) "
        "VALUES (?, ?, ?, 'fa', ?, 0, 0)",
        (PLATFORM, STAFFER, STAFFER, evil),
    )
    await sign_in(desk, STAFFER)
    fields = compose(evil, f"<b>{evil}</b>", action="preview")
    preview, _ = await post(desk, "/broadcasts/new", fields, file=(f"{evil}.png", PNG))
    assert evil not in preview and "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    _, path = await post(
        desk, "/broadcasts/new", compose(evil, f"<b>{evil}</b>"), file=(f"{evil}.png", PNG)
    )
    for page in (await desk.get(path), await desk.get("/broadcasts")):
        assert evil not in page and "&lt;script&gt;" in page


# --- attachments ---------------------------------------------------------------------------
async def test_a_photo_is_uploaded_once_then_sent_by_its_id(desk: Desk) -> None:
    """A PNG attached in the console is kept; the preview shows it (to its uploader only); the
    first recipient's message uploads it, and everyone after gets it by the id Telegram gave."""
    await sign_in(desk, ADMIN)
    preview, _ = await post(
        desk, "/broadcasts/new", compose("عکس تازه", action="preview"), file=("flyer.png", PNG)
    )
    found = re.search(r'src="/broadcasts/files/(\d+)"', preview)
    assert found and 'name="stored" value="' in preview
    pk = int(found.group(1))
    assert await audits(desk, "broadcast_file") == [
        {"id": pk, "kind": "photo", "size": len(PNG), "via": "web"}
    ]
    image = await desk.http.get(f"/broadcasts/files/{pk}")
    assert image.status == 200 and await image.read() == PNG
    assert image.headers["Content-Type"] == "image/png"
    fields = [("stored", str(pk)), *compose("عکس تازه")]
    _, path = await post(desk, "/broadcasts/new", fields)
    bid = broadcast_id(path)
    assert await monitor(desk).work() == 5
    rows = await rows_of(desk, bid)
    assert {r.payload["photo"] for r in rows} == {f"stored:{pk}"}
    assert await desk.bot.drain() == 5
    calls = desk.bot.emulator.calls_to("sendPhoto")
    uploads = [c for c in calls if not isinstance(c.get("photo"), str)]
    assert len(calls) == 5 and len(uploads) == 1
    given = await BroadcastFileRepo(desk.bot.svc.db).file_id(pk, PLATFORM)
    assert given is not None and {c["photo"] for c in calls if c not in uploads} == {given}
    for uid, *_ in PEOPLE:
        [message] = desk.bot.emulator.bot_messages(uid)
        assert message.kind == "photo" and message.caption == "عکس تازه"
    # once sent with a broadcast the file is the broadcast's: another member may see it there
    desk.http.session.cookie_jar.clear()
    await sign_in(desk, STAFFER)
    assert (await desk.http.get(f"/broadcasts/files/{pk}")).status == 200
    page = await desk.get(path)
    assert f'src="/broadcasts/files/{pk}"' in page


async def test_a_draft_file_is_its_uploaders_alone(desk: Desk) -> None:
    """Another member can neither open nor send someone's draft upload by its id."""
    await sign_in(desk, ADMIN)
    await post(desk, "/broadcasts/new", compose(action="count"), file=("a.pdf", b"%PDF-1.4 x"))
    [(pk,)] = await desk.bot.svc.db.fetchall("SELECT id FROM broadcast_files")
    desk.http.session.cookie_jar.clear()
    await sign_in(desk, STAFFER)
    assert (await desk.http.get(f"/broadcasts/files/{pk}")).status == 404
    page, _ = await post(desk, "/broadcasts/new", [("stored", str(pk)), *compose()], status=400)
    assert "فایل پیوست دیگر در دسترس نیست" in page
    assert await BroadcastRepo(desk.bot.svc.db).page(None, None) == []


@pytest.mark.parametrize(
    ("name", "data", "persian", "english"),
    [
        ("notes.exe", b"MZ...", "این نوع فایل را نمی‌توان فرستاد", "This kind of file cannot"),
        ("photo.png", b"%PDF-1.4", "با نوعی که نامش نشان می‌دهد جور نیست", "not what its name"),
        (
            "big.jpg",
            b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024),
            "حداکثر ۱۰ مگابایت",
            "at most 10 MB",
        ),
        ("empty.pdf", b"", "فایل خالی است", "The file is empty"),
    ],
)
async def test_files_are_checked_by_type_content_and_size(
    desk: Desk, name: str, data: bytes, persian: str, english: str
) -> None:
    """Only JPEG/PNG photos and PDF/Office files, whose first bytes match their name, within the
    size of their kind; the reason in both languages, nothing kept."""
    await sign_in(desk, STAFFER)
    page, _ = await post(
        desk, "/broadcasts/new", compose(action="preview"), file=(name, data), status=400
    )
    assert persian in page
    await switch_to_english(desk)
    page, _ = await post(
        desk, "/broadcasts/new", compose(action="preview"), file=(name, data), status=400
    )
    assert english in page
    assert await desk.bot.svc.db.fetchall("SELECT id FROM broadcast_files") == []


# --- every messenger, and the console without the bot --------------------------------------
SERVED = (
    PlatformSettings("telegram", "111:TELEGRAM-TOKEN-NOT-REAL", "http://t.invalid/bot", "x"),
    PlatformSettings("bale", "222:BALE-TOKEN-NOT-REAL", "http://b.invalid/bot", "x"),
)


async def test_a_photo_reaches_telegram_and_bale_each_uploading_once(
    tmp_path: Path, clock: ManualClock, store: Store
) -> None:
    """Served on two messengers: the form offers the messenger filter, the preview counts per
    messenger, and each messenger's sender uploads the photo once and sends it by its own id."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({(PLATFORM, ADMIN)}),
        web=WEB,
        platforms=SERVED,
    )
    await bot.start()
    try:
        await seed(bot, PEOPLE[:2])
        now = clock.timestamp()
        await bot.svc.db.executemany(
            "INSERT INTO users (platform, user_id, chat_id, lang, consent_at, county, "
            "created_at, updated_at) VALUES ('bale', ?, ?, 'fa', ?, 'karaj', ?, ?)",
            [(uid, uid, now, now, now) for uid in (801, 802, 803)],
        )
        async with open_desk(bot) as desk:
            await sign_in(desk, ADMIN)
            page = await desk.get("/broadcasts/new")
            assert 'name="platform" value="bale"' in page
            fields = compose("عکس برای همه", action="preview", county="karaj")
            preview, _ = await post(desk, "/broadcasts/new", fields, file=("a.png", PNG))
            assert "به تفکیک پیام‌رسان: تلگرام ۲ · بله ۳" in preview
            pk = re.search(r'name="stored" value="(\d+)"', preview).group(1)  # type: ignore[union-attr]
            sent = [("stored", pk), *compose("عکس برای همه", county="karaj")]
            _, path = await post(desk, "/broadcasts/new", sent)
            assert await monitor(desk).work() == 5
        assert await bot.drain() == 2
        bale = BotApiEmulator(platform="bale")
        for uid in (801, 802, 803):
            bale.add_user(uid)
        bale_bot = PtbBot(
            "222:BALE", base_url="http://b.invalid/bot", request=EmulatorRequest(bale)
        )
        await bale_bot.initialize()
        sender = OutboxSender(bale_bot, OutboxRepo(bot.svc.db), "bale", clock, pacer=pace())
        assert await sender.drain_once() == 3
        await bale_bot.shutdown()
        for emulator, people in ((bot.emulator, (601, 602)), (bale, (801, 802, 803))):
            calls = emulator.calls_to("sendPhoto")
            assert len(calls) == len(people)
            assert len([c for c in calls if not isinstance(c["photo"], str)]) == 1
            for uid in people:
                assert emulator.last_bot_message(uid).kind == "photo"  # type: ignore[union-attr]
        files = BroadcastFileRepo(bot.svc.db)
        ids = {p: await files.file_id(int(pk), p) for p in ("telegram", "bale")}
        assert all(ids.values()) and broadcast_id(path)
    finally:
        await bot.stop()


async def test_the_console_alone_keeps_broadcasts_for_the_bot(desk: Desk) -> None:
    """`homebiz web` without the bot: the pages say that broadcasts go out while the bot runs;
    a broadcast is stored to be queued by it, and a cancel tidies its rows at once."""
    async with TestClient(TestServer(build_console(desk.bot.svc, {}))) as http:
        alone = Desk(desk.bot, http)
        await sign_in(alone, ADMIN)
        _, path = await post(alone, "/broadcasts/new", compose(county="fardis"))
        bid = broadcast_id(path)
        page = await alone.get(path)
        assert "homebiz run" in page and "ربات در این فرایند اجرا نمی‌شود" in page
        assert (await BroadcastRepo(desk.bot.svc.db).get(bid)).status == "queueing"  # type: ignore[union-attr]
        assert await monitor(desk).work() == 2  # what `homebiz run` does when it starts
        await post(alone, f"/broadcasts/{bid}/cancel", [("confirm", "yes")])
        assert {r.status for r in await rows_of(desk, bid)} == {"cancelled"}
        progress = json.loads(await alone.get(f"/broadcasts/{bid}/progress"))
        assert progress["text"]["cancelled"] == "۲" and progress["text"]["remaining"] == "۰"
