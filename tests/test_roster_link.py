"""People on the programme's list meet the bot: linked by their own contact or a confirmed
personal link, never by a typed code; check-ins follow the list's dates; /delete unlinks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.core.clock import ManualClock
from bot.repo.checkins import CheckinRepo
from bot.repo.roster import RosterRepo
from bot.roster.linking import link_verified_users
from bot.roster.model import RosterEntry, RosterRecord
from bot.rules.followup import policy_from
from bot.rules.schedule import first_checkin_due
from scheduler.planner import Planner
from tests.conftest import Bot

# On the list: paid on 1403/05/12 (the example), permit unknown.
ZAHRA = RosterRecord(
    "0012345679", "زهرا احمدی", "+989121234567", "fardis", "food", loan_on="2024-08-02"
)
# On the list: permit 1405/06/10, loan 1405/08/19 (recent, so the first check-in is ahead).
REZA = RosterRecord(
    "1234567891", "رضا کریمی", "+989351112233", "karaj", "handicrafts", "2026-09-01", "2026-11-10"
)
FOUND_LOAN = "📋 طبق فهرست طرح، وام شما در ۱۴۰۳/۰۵/۱۲ پرداخت شده است."
WRONG = "❌ این درست نیست"


async def listed(bot: Bot, *records: RosterRecord) -> dict[str, RosterEntry]:
    """Put people on the list; their rows by national code."""
    repo = RosterRepo(bot.svc.db)
    await repo.add_many(records, now=bot.svc.clock.timestamp())
    rows = {}
    for record in records:
        entry = await repo.by_national_code(record.national_code)
        assert entry is not None
        rows[record.national_code] = entry
    return rows


async def row(bot: Bot, code: str) -> RosterEntry:
    """A roster row as stored now."""
    entry = await RosterRepo(bot.svc.db).by_national_code(code)
    assert entry is not None
    return entry


async def stored(bot: Bot, user_id: int):
    """The stored user."""
    user = await bot.svc.users.find("telegram", user_id)
    assert user is not None
    return user


async def tasks(bot: Bot) -> list[tuple[int, str, str]]:
    """Open staff follow-ups as (user, kind, detail JSON)."""
    rows = await bot.svc.db.fetchall(
        "SELECT user_pk, kind, detail FROM followups WHERE status = 'open' ORDER BY id"
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def consented(bot: Bot, user_id: int, lang: str = "fa"):
    """Someone through /start, language and privacy, at the name question."""
    me = bot.client(user_id, lang=lang)
    await me.send("/start")
    await me.press("فارسی" if lang == "fa" else "English")
    await me.press("priv:yes")
    return me


# --- a verified contact ------------------------------------------------------------------------
async def test_own_contact_links_and_says_what_the_list_says(bot: Bot) -> None:
    """Sharing their own contact card links Zahra to her row: one message says the loan date
    from the list, with a way to say it is wrong; county and field are not asked again; the
    stage's date is not asked either; the check-ins follow the list's loan date."""
    await listed(bot, ZAHRA, REZA)
    me = await consented(bot, 601)
    await me.send("زهرا احمدی")
    replies = await me.share_contact("989121234567")
    found = next(m for m in replies if FOUND_LOAN in m.content)
    assert [b["text"] for b in found.inline_buttons()] == [WRONG]
    assert "کارشناسان طرح بررسی کنند" in found.content
    assert "کد ملی" in me.last and "پرسش ۳ از ۶" in me.last
    await me.send("0012345679")
    assert "اکنون در کدام مرحله هستید؟" in me.last  # county and field came from the list
    assert "(مقدار فعلی: وام گرفته‌ام)" in me.last
    await me.press("وام گرفته‌ام")
    assert "در چه تاریخی" not in "\n".join(m.content for m in me.history[-3:])
    assert "📍 شهرستان: فردیس" in "\n".join(m.content for m in me.history[-3:])

    user = await stored(bot, 601)
    assert user.mobile_verified and user.dates_from == "roster"
    assert (user.loan_on, user.permit_on, user.county, user.field, user.stage) == (
        "2024-08-02", None, "fardis", "food", "loan"
    )
    entry = await row(bot, "0012345679")
    assert (entry.user_pk, entry.linked_via) == (user.id, "contact")
    progress = await bot.svc.steps.progress(user.id)
    assert progress["loan_received"].done_on == "2024-08-02"
    assert progress["register_system"].done and progress["register_system"].done_on is None
    assert (await row(bot, "1234567891")).user_pk is None


async def test_the_wrong_button_tells_staff_and_edits_nothing(bot: Bot) -> None:
    """«این درست نیست» files one staff task however often it is pressed; the list stays."""
    await listed(bot, ZAHRA)
    me = await consented(bot, 602)
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567")
    await me.press(WRONG)
    assert "کارشناسان طرح بررسی می‌کنند" in me.last
    await me.press_data("rl:wrong")
    user = await stored(bot, 602)
    entry = await row(bot, "0012345679")
    assert [(k, u) for u, k, _ in await tasks(bot)] == [("roster_dispute", user.id)]
    assert entry.record == ZAHRA and user.loan_on == "2024-08-02"


async def test_someone_elses_contact_or_a_shared_mobile_links_nobody(bot: Bot) -> None:
    """A contact card that is not the sender's is refused as before; a mobile on two rows
    (a household's one phone) links neither, and staff get a task instead."""
    twin = RosterRecord("0022334459", "مریم احمدی", "+989121234567", "fardis")
    await listed(bot, ZAHRA, twin)
    me = await consented(bot, 603)
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567", own=False)
    assert "متعلق به شخص دیگری" in me.last
    replies = await me.share_contact("989121234567")
    assert not any("فهرست طرح" in m.content for m in replies)
    assert (await row(bot, "0012345679")).user_pk is None
    assert (await row(bot, "0022334459")).user_pk is None
    assert sorted(k for _, k, _ in await tasks(bot)) == ["roster_claim", "roster_claim"]


# --- typed codes never link and never show -----------------------------------------------------
async def _typed_transcript(bot: Bot, user_id: int) -> list[tuple[str, list[str]]]:
    """Someone types Zahra's name, mobile and national code: every reply, with its buttons."""
    me = await consented(bot, user_id)
    await me.send("زهرا احمدی")
    await me.send("۰۹۱۲ ۱۲۳ ۴۵۶۷")
    await me.send("0012345679")
    await me.press("فردیس")
    await me.press("تولید خانگی مواد غذایی")
    await me.press("وام گرفته‌ام")
    await me.send("۱۴۰۳/۰۵/۲۰")
    return [(m.content, [b["text"] for b in m.inline_buttons()]) for m in me.history]


async def test_typed_code_and_mobile_never_link_and_answer_the_same(
    bot: Bot, tmp_path: Path, clock: ManualClock
) -> None:
    """The same person typing the same answers gets the same replies whether or not the code
    and mobile are on the list; nothing links, the typed loan date stays theirs, and only
    staff learn that someone says they are on the list."""
    await listed(bot, ZAHRA)
    on_list = await _typed_transcript(bot, 604)
    other = Bot(db_path=tmp_path / "no-list.sqlite3", clock=clock)
    await other.start()
    try:
        off_list = await _typed_transcript(other, 604)
        assert await tasks(other) == []
    finally:
        await other.stop()
    assert on_list == off_list
    assert not any("طبق فهرست طرح" in text or "احمدی\u00bb" in text for text, _ in on_list)
    user = await stored(bot, 604)
    assert (await row(bot, "0012345679")).user_pk is None
    assert not user.mobile_verified and user.dates_from == "self"
    assert user.loan_on == "2024-08-10"  # 1403/05/20 as typed, not the list's 1403/05/12
    claims = await tasks(bot)
    assert [(u, k) for u, k, _ in claims] == [(user.id, "roster_claim")]  # one per row
    assert '"typed": "mobile"' in claims[0][2]


# --- personal links ----------------------------------------------------------------------------
async def test_personal_link_yes_links_and_asks_only_what_the_list_lacks(bot: Bot) -> None:
    """A newcomer opens Reza's link: the language and the privacy notice first (no name before
    they agree), then "are you رضا کریمی?"; yes links, says what the list says, and asks only
    the national code and the stage."""
    rows = await listed(bot, REZA)
    me = bot.client(605, lang="fa")
    replies = await me.send(f"/start {rows[REZA.national_code].link_token}")
    assert "زبان" in replies[-1].content and "رضا" not in replies[-1].content
    await me.press("فارسی")
    assert "رضا" not in me.last and "فهرست طرح" in me.last  # the privacy notice says it
    await me.press("priv:yes")
    assert "این پیوند دعوت برای «رضا کریمی» است. شما رضا کریمی هستید؟" in me.last
    assert me.buttons == ["✅ بله، خودم هستم", "❌ خیر، من نیستم"]
    await me.press("✅ بله، خودم هستم")
    said = "\n".join(m.content for m in me.history[-2:])
    assert (
        "طبق فهرست طرح، مجوز شما در ۱۴۰۵/۰۶/۱۰ صادر شده و وام شما در ۱۴۰۵/۰۸/۱۹ "
        "پرداخت شده است." in said
    )
    assert "کد ملی" in me.last
    await me.press("رد شدن")
    assert "اکنون در کدام مرحله هستید؟" in me.last
    await me.press("کسب‌وکارم فعال است")
    assert "کسب‌وکارتان از چه تاریخی فعال است" in me.last  # not on the list: theirs to say
    user = await stored(bot, 605)
    assert (user.full_name, user.mobile, user.county, user.field) == (
        "رضا کریمی", "+989351112233", "karaj", "handicrafts"
    )
    assert not user.mobile_verified  # the list's mobile, not a shared contact
    entry = await row(bot, REZA.national_code)
    assert (entry.user_pk, entry.linked_via) == (user.id, "link")


async def test_personal_link_no_links_nothing_and_tells_staff(bot: Bot) -> None:
    """No: nothing linked or filled in, a staff task, the link itself left working."""
    rows = await listed(bot, REZA)
    token = rows[REZA.national_code].link_token
    me = bot.client(606, lang="en")
    await me.send(f"/start {token}")
    await me.press("English")
    await me.press("priv:yes")
    assert "Are you رضا کریمی?" in me.last
    await me.press("❌ No, that is not me")
    said = "\n".join(m.content for m in me.history[-2:])
    assert "This invitation was not connected to you" in said
    assert "Please type your full name:" in me.last  # the profile from its first question
    user = await stored(bot, 606)
    assert (user.full_name, user.loan_on, user.dates_from) == (None, None, "self")
    entry = await row(bot, REZA.national_code)
    assert entry.user_pk is None and entry.link_token == token
    assert [(u, k) for u, k, _ in await tasks(bot)] == [(user.id, "roster_denied")]


async def test_used_revoked_and_unknown_links_answer_alike_and_show_nothing(bot: Bot) -> None:
    """Once Reza is linked his link is his alone: anyone else, a revoked link and a made-up
    one get the same polite line, never a name; Reza himself is simply welcomed back."""
    rows = await listed(bot, REZA, ZAHRA)
    reza_token = rows[REZA.national_code].link_token
    reza = bot.client(607, lang="fa")
    await reza.send(f"/start {reza_token}")
    await reza.press("فارسی")
    await reza.press("priv:yes")
    await reza.press("✅ بله، خودم هستم")

    old = rows[ZAHRA.national_code].link_token
    await RosterRepo(bot.svc.db).revoke_token(rows[ZAHRA.national_code].id, now=1)
    invalid = bot.svc.i18n.t("fa", "roster_link.link_invalid")
    seen = []
    for user_id, token in ((608, reza_token), (609, old), (610, "NotARealToken_123")):
        me = await consented(bot, user_id)
        await me.send("مریم رضایی")
        replies = await me.send(f"/start {token}")
        seen.append(replies[0].content.split("\n\n")[0])
        assert not any("رضا" in m.content or "زهرا" in m.content for m in me.history)
    assert seen == [invalid] * 3

    visitor = bot.client(611, lang="fa")  # a newcomer with a used link: told after agreeing
    await visitor.send(f"/start {reza_token}")
    await visitor.press("فارسی")
    await visitor.press("priv:yes")
    assert invalid in "\n".join(m.content for m in visitor.history[-2:])
    assert "نام و نام خانوادگی" in visitor.last

    again = await reza.send(f"/start {reza_token}")
    assert invalid not in again[0].content and "دوباره خوش آمدید!" in again[0].content
    assert (await row(bot, REZA.national_code)).user_pk == (await stored(bot, 607)).id


# --- check-ins from the list's dates -----------------------------------------------------------
async def test_checkins_follow_the_official_loan_date_and_answers_keep_their_source(
    bot: Bot,
) -> None:
    """Reza first typed his own loan date; sharing his contact later (from Settings) links him:
    the list's date replaces his for the check-ins (his stays on record and is named), the
    first check-in is 30 days after the list's date exactly as for a typed date, and his
    answer is recorded as timed from the list."""
    await listed(bot, REZA)
    me = await consented(bot, 612)
    await me.send("رضا کریمی")
    await me.send("09351112233")
    await me.press("رد شدن")
    await me.press("کرج")
    await me.press("صنایع دستی و هنرهای سنتی")
    await me.press("وام گرفته‌ام")
    await me.send("۱۴۰۵/۰۸/۰۱")
    assert (await stored(bot, 612)).dates_from == "self"

    self_reported = bot.client(613, lang="fa")  # same loan date, typed: the reference
    for step in ("/start", "فارسی", "priv:yes"):
        await (self_reported.send(step) if step == "/start" else self_reported.press(step))
    for text in ("سارا", "09121110000", "رد شدن"):
        await (self_reported.press(text) if text == "رد شدن" else self_reported.send(text))
    await self_reported.press("کرج")
    await self_reported.press("صنایع دستی و هنرهای سنتی")
    await self_reported.press("وام گرفته‌ام")
    await self_reported.send("۱۴۰۵/۰۸/۱۹")

    await me.press_data("pf:mobile")
    replies = await me.share_contact("989351112233")
    found = "\n".join(m.content for m in replies)
    assert "وام شما در ۱۴۰۵/۰۸/۱۹ پرداخت شده است" in found
    assert "شما پیش‌تر تاریخ وام را ۱۴۰۵/۰۸/۰۱ گفته بودید" in found
    user = await stored(bot, 612)
    assert (user.loan_on, user.permit_on, user.dates_from) == (
        "2026-11-10", "2026-09-01", "roster"
    )
    own = await bot.svc.db.fetchone("SELECT own_dates FROM users WHERE id = ?", (user.id,))
    # the JSON object (its text is compact on SQLite, spaced by PostgreSQL's jsonb)
    assert own is not None and json.loads(own[0]) == {"loan_on": "2026-10-23"}

    repo = CheckinRepo(bot.svc.db)
    policy = policy_from(bot.svc.content.schedule)
    due = first_checkin_due(anchor=dt.date(2026, 11, 10), policy=policy)
    reference = await repo.next_at((await stored(bot, 613)).id)
    assert await repo.next_at(user.id) == int(due.timestamp()) == reference

    bot.clock.set(due + dt.timedelta(minutes=1))
    await Planner(bot.svc, "telegram").sweep()
    assert await bot.drain() == 2
    await me.press("✅ فعال است، مثل همیشه")
    await self_reported.press("✅ فعال است، مثل همیشه")
    assert await repo.sources(user.id) == [("operating", "roster")]
    assert await repo.sources((await stored(bot, 613)).id) == [("operating", "self")]


async def test_the_lists_dates_are_not_corrected_or_undone_by_the_person(bot: Bot) -> None:
    """Settings → dates shows the list's dates with the dispute button instead of asking them
    (a date the list lacks is still the person's to give); a milestone step the list says is
    done cannot be marked undone."""
    await listed(bot, ZAHRA)
    me = await consented(bot, 614)
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567")
    await me.press("رد شدن")
    await me.press("وام گرفته‌ام")
    replies = await me.press_data("set:dates")
    note = replies[0]
    assert "این تاریخ‌ها از فهرست طرح است" in note.content
    assert "وام: ۱۴۰۳/۰۵/۱۲" in note.content
    assert [b["text"] for b in note.inline_buttons()] == [WRONG]
    assert "مجوزتان در چه تاریخی صادر شد" in me.last  # the list has no permit date: theirs
    await me.press("رد شدن")
    await me.press_data("st:undo:loan_received")
    assert "این تاریخ‌ها از فهرست طرح است" in me.last
    user = await stored(bot, 614)
    assert user.loan_on == "2024-08-02"
    assert (await bot.svc.steps.progress(user.id))["loan_received"].done


# --- import, /delete ---------------------------------------------------------------------------
async def test_import_links_users_whose_own_contact_matches(bot: Bot) -> None:
    """Users before the list arrives: one who shared her own contact is linked by the import
    and told (in the sending window); one who typed his mobile is not."""
    me = await consented(bot, 615)
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567")
    await me.press("رد شدن")
    await me.press("فردیس")
    await me.press("تولید خانگی مواد غذایی")
    await me.press("فقط ایده دارم")
    typed = await consented(bot, 616)
    await typed.send("رضا کریمی")
    await typed.send("09351112233")

    await listed(bot, ZAHRA, REZA)
    now = bot.svc.clock.timestamp()
    linked = await link_verified_users(
        bot.svc.db, now, content=bot.svc.content, i18n=bot.svc.i18n
    )
    assert [link.entry.record.national_code for link in linked] == ["0012345679"]
    assert await link_verified_users(bot.svc.db, now) == []  # idempotent
    entry = await row(bot, "0012345679")
    assert (entry.user_pk, entry.linked_via) == ((await stored(bot, 615)).id, "import")
    assert (await row(bot, "1234567891")).user_pk is None
    assert (await stored(bot, 615)).stage == "loan"
    assert await bot.drain() == 1
    assert FOUND_LOAN in me.last and me.buttons == [WRONG]


async def test_delete_keeps_the_row_unlinked_and_never_to_be_invited(bot: Bot) -> None:
    """/delete takes everything the person gave; the programme's row stays, do-not-contact."""
    await listed(bot, ZAHRA)
    me = await consented(bot, 617)
    await me.send("زهرا احمدی")
    await me.share_contact("989121234567")
    await me.send("/delete")
    assert "ردیف شما در فهرست می‌ماند" in me.last
    await me.press("بله، همه را پاک کن")
    assert await bot.svc.users.find("telegram", 617) is None
    entry = await row(bot, "0012345679")
    assert entry.record == ZAHRA
    assert (entry.user_pk, entry.linked_via, entry.do_not_contact) == (None, None, True)
    assert [page async for page in RosterRepo(bot.svc.db).to_invite()] == []
    for lang in ("fa", "en"):
        notice = bot.svc.i18n.t(lang, "start.privacy")
        assert {"fa": "علامت «تماس نگیرید» می‌خورد", "en": "marked “do not contact”"}[
            lang
        ] in notice
