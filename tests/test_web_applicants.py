"""The console's Applicants pages over HTTP: search by every form of mobile, national code and
name, the filters, keyset paging, a person's page, escaping and county scope."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.db.engine import Database
from bot.repo.people import PAGE_SIZE, Filters, PeopleRepo
from bot.repo.staff import StaffRepo
from bot.rules.applicant_search import name_key, read_search
from bot.rules.scope import EVERYWHERE, Scope
from tests.conftest import Bot
from tests.support.console import WEB, Desk, open_desk, sign_in
from tests.support.stores import Store

ADMIN = 500
STAFFER = 501
SCOPED = 502  # sees Fardis only
MOBILE = "+989121234567"
CODE = "0012345679"  # passes the check digit (0*10+0*9+1*8+...)
ROW_LINK = re.compile(r'href="/applicants/(\d+)"')


def _valid_code(body: str) -> str:
    """Nine digits and their check digit."""
    rem = sum(int(body[i]) * (10 - i) for i in range(9)) % 11
    return body + str(rem if rem < 2 else 11 - rem)


async def add(db: Database, now: int, **values: Any) -> int:
    """An applicant row (consented unless told otherwise); its id."""
    row: dict[str, Any] = {
        "platform": "telegram", "user_id": 10_000 + now % 1000, "chat_id": 1, "lang": "fa",
        "consent_at": now, "full_name": "مریم کریمی", "mobile": None, "national_code": None,
        "county": "karaj", "field": "food", "stage": "applying", "created_at": now,
        "updated_at": now,
    }  # fmt: skip
    row.update(values)
    row.setdefault("chat_id", row["user_id"])
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    update = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("platform", "user_id"))
    await db.execute(
        f"INSERT INTO users ({columns}) VALUES ({marks})"
        f" ON CONFLICT (platform, user_id) DO UPDATE SET {update}",
        tuple(row.values()),
    )
    found = await db.fetchone(
        "SELECT id FROM users WHERE platform = ? AND user_id = ?", (row["platform"], row["user_id"])
    )
    assert found is not None
    return int(found[0])


@pytest.fixture
async def bot(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot with an admin, a staff member, a staff member scoped to Fardis, and applicants."""
    bot = Bot(
        db_path=tmp_path / "bot.sqlite3",
        clock=clock,
        admins=frozenset({("telegram", ADMIN)}),
        web=WEB,
    )
    await bot.start()
    staff = StaffRepo(bot.svc.db)
    now = clock.timestamp()
    await staff.add("telegram", STAFFER, "staff", ADMIN, now)
    await staff.add("telegram", SCOPED, "staff", ADMIN, now)
    await staff.set_scope("telegram", SCOPED, ["fardis"])
    yield bot
    await bot.stop()


@pytest.fixture
async def desk(bot: Bot) -> AsyncIterator[Desk]:
    """The console, signed in as the unscoped staff member."""
    async with open_desk(bot) as console:
        await sign_in(console, STAFFER)
        yield console


def names_on(page: str) -> list[str]:
    """The applicants' names a list page shows, in order."""
    return re.findall(r'<a href="/applicants/\d+">([^<]+)</a>', page)


# --- reading the search box -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "+989121234567", "+98 912 123 4567",
        "989121234567", "0912-123-4567", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "00989121234567", " 0912 1234567 ",
    ],
)  # fmt: skip
def test_every_form_of_a_mobile_reads_as_the_stored_one(typed: str) -> None:
    """Digits of any script, spaces, dashes, +98, 98 and 0098 all read as +989…"""
    found = read_search(typed)
    assert found.exact and found.mobile == MOBILE


def test_ten_digits_may_be_a_national_code_or_a_mobile() -> None:
    """A national code alone; ten digits starting with 9 are tried as both."""
    assert read_search("۰۰۱-۲۳۴۵۶۷-۹") == read_search("0012345679")
    assert read_search("0012345679").kind == "code"
    both = read_search("9121234567")
    assert both.kind == "number" and both.mobile == MOBILE and both.code == "9121234567"
    assert read_search("0912").kind == "partial"
    assert read_search("م").kind == "short"
    assert read_search("").kind == ""


def test_the_python_name_key_folds_as_the_database_does() -> None:
    """Arabic ي/ك, ZWNJ and upper-case ASCII fold the same way in both."""
    assert name_key("علی‌رضا") == "علیرضا"
    assert read_search("علي  رضايي").words == ("علی", "رضایی")
    assert read_search("JOHN Smith").words == ("john", "smith")


async def test_the_key_in_python_is_the_key_in_sqlite(bot: Bot, clock: ManualClock) -> None:
    """users.name_key (migration web_applicants) and name_key() agree on awkward names."""
    for name in ("علی‌رضا كريمي", "Sara O'NEIL", "فاطمهٔ زهرا", "مـــریم", "خانهٔ ۀ"):
        pk = await add(bot.svc.db, clock.timestamp(), full_name=name, user_id=hash(name) % 10**6)
        row = await bot.svc.db.fetchone("SELECT name_key FROM users WHERE id = ?", (pk,))
        assert row is not None and row[0] == name_key(name)


# --- the list ---------------------------------------------------------------------------------


async def test_the_page_needs_a_session(bot: Bot) -> None:
    """Strangers get the sign-in page, for the list and for a person."""
    pk = await add(bot.svc.db, 1, user_id=1)
    async with open_desk(bot) as stranger:
        assert "/web" in await stranger.get("/applicants", status=401)
        assert "/web" in await stranger.get(f"/applicants/{pk}", status=401)


async def test_find_by_every_form_of_a_mobile(desk: Desk, clock: ManualClock) -> None:
    """The person with the stored mobile, however it is typed; no one else."""
    now = clock.timestamp()
    await add(desk.bot.svc.db, now, user_id=1, full_name="زهرا رضایی", mobile=MOBILE)
    await add(desk.bot.svc.db, now, user_id=2, full_name="سارا نوری", mobile="+989121234568")
    for typed in ("۰۹۱۲۱۲۳۴۵۶۷", "+98 912 123 4567", "989121234567", "0912-123-4567"):
        page = await desk.post("/applicants", {"q": typed})
        assert names_on(page) == ["زهرا رضایی"], typed
        assert "‎۰۹۱۲ ۱۲۳ ۴۵۶۷" in page  # shown as people write it, led by an LRM


async def test_find_by_national_code_in_any_digits(desk: Desk, clock: ManualClock) -> None:
    """The national code in Persian digits with dashes finds its owner."""
    now = clock.timestamp()
    await add(desk.bot.svc.db, now, user_id=1, full_name="لیلا احمدی", national_code=CODE)
    await add(
        desk.bot.svc.db,
        now,
        user_id=2,
        full_name="مینا احمدی",
        national_code=_valid_code("001234568"),
    )
    page = await desk.post("/applicants", {"q": "۰۰۱-۲۳۴۵۶۷-۹"})
    assert names_on(page) == ["لیلا احمدی"]
    assert "۱ متقاضی" in page


async def test_find_by_name_words_in_any_order_and_spelling(desk: Desk, clock: ManualClock) -> None:
    """Each typed word starts a word of the name: first, second or last; ي/ك and ZWNJ fold."""
    db, now = desk.bot.svc.db, clock.timestamp()
    await add(db, now, user_id=1, full_name="فاطمه سادات رضایی")
    await add(db, now, user_id=2, full_name="علی‌رضا کریمی")
    await add(db, now, user_id=3, full_name="زهرا رضوی")
    await add(db, now, user_id=4, full_name="Sara Smith")
    cases = {
        "رضایی": ["فاطمه سادات رضایی"],
        "رضا فاطمه": ["فاطمه سادات رضایی"],
        "سادات": ["فاطمه سادات رضایی"],
        "رض": ["زهرا رضوی", "فاطمه سادات رضایی"],
        "علیرضا": ["علی‌رضا کریمی"],
        "علي‌رضا كريمي": ["علی‌رضا کریمی"],
        "smith": ["Sara Smith"],
        "SARA": ["Sara Smith"],
        "رضاییان": [],
    }
    for typed, expected in cases.items():
        assert names_on(await desk.post("/applicants", {"q": typed})) == expected, typed


async def test_half_a_number_or_one_letter_says_what_to_type(desk: Desk) -> None:
    """A few digits or a single letter: a hint, not a scan."""
    assert "کامل" in await desk.post("/applicants", {"q": "0912"})
    assert "دست‌کم دو حرف" in await desk.post("/applicants", {"q": "م"})


async def test_only_consenting_applicants_never_staff(desk: Desk, clock: ManualClock) -> None:
    """Visitors and staff rows are not applicants, neither in the list nor by id."""
    db, now = desk.bot.svc.db, clock.timestamp()
    await add(db, now, user_id=1, full_name="متقاضی یکم")
    visitor = await add(db, now, user_id=2, full_name="بازدیدکننده", consent_at=None)
    member = await add(db, now, user_id=STAFFER, full_name="کارمند دفتر")
    page = await desk.get("/applicants")
    assert names_on(page) == ["متقاضی یکم"]
    assert "۱ متقاضی" in page  # the cells' count, staff taken out
    await desk.get(f"/applicants/{visitor}", status=404)
    await desk.get(f"/applicants/{member}", status=404)


async def test_filters_narrow_and_count_exactly(desk: Desk, clock: ManualClock) -> None:
    """Each audience filter, OR within one, AND across; the count comes from the cells."""
    db, now = desk.bot.svc.db, clock.timestamp()
    await add(db, now, user_id=1, full_name="الف یکم", county="karaj", field="food", stage="loan")
    await add(db, now, user_id=2, full_name="ب دوم", county="fardis", field="food", stage="idea",
              lang="en")  # fmt: skip
    await add(db, now, user_id=3, full_name="پ سوم", county="fardis", field="services",
              platform="bale", proactive=0)  # fmt: skip
    await db.execute("UPDATE users SET checkin_status = 'problems' WHERE user_id = 1")
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"county": "fardis"}, ["پ سوم", "ب دوم"]),
        ({"county": ["fardis", "karaj"], "field": "food"}, ["ب دوم", "الف یکم"]),
        ({"stage": "loan"}, ["الف یکم"]),
        ({"lang": "en"}, ["ب دوم"]),
        ({"platform": "bale"}, ["پ سوم"]),
        ({"checkin": "problems"}, ["الف یکم"]),
        ({"checkin": "none"}, ["پ سوم", "ب دوم"]),
        ({"county": "taleqan"}, []),
        ({"county": "nowhere"}, ["پ سوم", "ب دوم", "الف یکم"]),  # unknown values are ignored
    ]
    for filters, expected in cases:
        page = await desk.get("/applicants?" + _query(**filters))
        assert names_on(page) == expected, filters
        if expected:
            assert f"{_fa(len(expected))} متقاضی" in page, filters


async def test_step_and_cohort_filters(desk: Desk, clock: ManualClock) -> None:
    """`step`: the step started and not done; `cohort`: the loan's half-year (14041 …)."""
    db, now = desk.bot.svc.db, clock.timestamp()
    first = await add(db, now, user_id=1, full_name="در گام", loan_on="2025-04-01")  # 1404/01/12
    second = await add(db, now, user_id=2, full_name="گام تمام", loan_on="2025-10-01")  # 1404/07/09
    await db.execute(
        "INSERT INTO step_progress (user_pk, step_id, started_at, done_at) VALUES"
        " (?, 'agency_review', ?, NULL), (?, 'agency_review', ?, ?)",
        (first, now, second, now, now),
    )
    assert names_on(await desk.get("/applicants?step=agency_review")) == ["در گام"]
    searched = await desk.post("/applicants", {"step": "agency_review", "q": "در"})
    assert names_on(searched) == ["در گام"]
    assert names_on(await desk.get("/applicants?cohort=14041")) == ["در گام"]
    assert names_on(await desk.get("/applicants?cohort=14042")) == ["گام تمام"]
    assert names_on(await desk.get("/applicants?cohort=14042&step=agency_review")) == []


async def test_keyset_pages_forward_and_back(desk: Desk, clock: ManualClock) -> None:
    """Newest first, PAGE_SIZE a page; older and newer by id, with the filters kept."""
    db, now = desk.bot.svc.db, clock.timestamp()
    total = PAGE_SIZE * 2 + 5
    async with db.transaction() as tx:
        for n in range(1, total + 1):
            await tx.execute(
                "INSERT INTO users (platform, user_id, chat_id, consent_at, full_name, county,"
                " created_at, updated_at) VALUES ('telegram', ?, ?, ?, ?, 'karaj', ?, ?)",
                (n, n, now, f"نام {n:03d}", now, now),
            )
    first = await desk.get("/applicants?county=karaj")
    assert names_on(first)[0] == f"نام {total:03d}" and len(names_on(first)) == PAGE_SIZE
    assert 'name="newer"' not in first and 'id="newer"' not in first
    older = re.search(r'name="after" value="(\d+)"', first)
    assert older
    second = await desk.get(f"/applicants?county=karaj&after={older.group(1)}")
    assert names_on(second)[0] == f"نام {total - PAGE_SIZE:03d}"
    assert 'name="county" value="karaj"' in second  # the pager keeps the filters
    next_id = re.findall(r'name="after" value="(\d+)"', second)[0]
    third = await desk.get(f"/applicants?county=karaj&after={next_id}")
    assert len(names_on(third)) == 5 and 'id="older"' not in third
    newer = re.search(r'name="before" value="(\d+)"', third)
    assert newer
    back = await desk.get(f"/applicants?county=karaj&before={newer.group(1)}")
    assert names_on(back) == names_on(second)
    assert f"{_fa(total)} متقاضی" in first


async def test_a_long_name_search_says_more_than_a_page(bot: Bot, clock: ManualClock) -> None:
    """A name search longer than a page is not counted (that would read every match): "more"."""
    db, now = bot.svc.db, clock.timestamp()
    async with db.transaction() as tx:
        for n in range(1, PAGE_SIZE + 11):
            await tx.execute(
                "INSERT INTO users (platform, user_id, chat_id, consent_at, full_name,"
                " created_at, updated_at) VALUES ('telegram', ?, ?, ?, 'نرگس توکلی', ?, ?)",
                (n, n, now, now, now),
            )
    page = await PeopleRepo(db).page(Filters(read_search("توکلی")), EVERYWHERE)
    assert len(page.rows) == PAGE_SIZE and page.count is None and page.more
    rest = await PeopleRepo(db).page(Filters(read_search("توکلی")), EVERYWHERE, after=page.older)
    assert len(rest.rows) == 10 and rest.count is None and not rest.more


# --- a person's page ----------------------------------------------------------------------------


async def test_a_persons_page_shows_their_record(desk: Desk, clock: ManualClock) -> None:
    """Profile, steps with dates, check-ins, questions, follow-ups, messages, the list's row."""
    db, now = desk.bot.svc.db, clock.timestamp()
    pk = await add(
        db, now, user_id=1, full_name="نرگس توکلی", mobile=MOBILE, national_code=CODE,
        stage="loan", loan_on="2025-04-01", permit_on="2025-01-10", field="food",
    )  # fmt: skip
    other = await add(db, now, user_id=2, full_name="دیگری", mobile="+989121111111")
    await db.execute(
        "INSERT INTO step_progress (user_pk, step_id, started_at, done_at, done_on) VALUES"
        " (?, 'register_system', ?, ?, '2024-12-01'), (?, 'agency_review', ?, NULL, NULL)",
        (pk, now, now, pk, now),
    )
    await db.execute(
        "INSERT INTO checkin_rounds (id, user_pk, due_at, sent_at, status)"
        " VALUES (9, ?, ?, ?, 'answered')",
        (pk, now, now),
    )
    await db.execute(
        "INSERT INTO checkin_answers (round_id, user_pk, status, detail, answered_at)"
        " VALUES (9, ?, 'problems', '{\"note\": \"فروش کم است\"}', ?)",
        (pk, now),
    )
    ticket = await db.execute(
        "INSERT INTO tickets (platform, user_pk, status, created_at)"
        " VALUES ('telegram', ?, 'open', ?) RETURNING id",
        (pk, now),
    )
    await db.execute(
        "INSERT INTO followups (user_pk, kind, created_at) VALUES (?, 'step_help', ?)", (pk, now)
    )
    for owner, kind, body in ((pk, "nudge", "پیام من"), (other, "reply", "پیام محرمانهٔ دیگری")):
        await db.execute(
            "INSERT INTO outbox (platform, chat_id, user_pk, kind, payload, status, not_before,"
            " created_at, sent_at) VALUES ('telegram', 1, ?, ?, ?, 'sent', ?, ?, ?)",
            (owner, kind, f'{{"text": "{body}"}}', now, now, now),
        )
    await db.execute(
        "INSERT INTO roster (national_code, full_name, mobile, county, loan_on, loan_amount, bank,"
        " user_pk, linked_at, linked_via, link_token, created_at, updated_at) VALUES"
        " (?, 'نرگس توکلی', ?, 'karaj', '2025-04-01', 3000000000, 'ملی', ?, ?, 'contact', 'tok',"
        " ?, ?)",
        (CODE, MOBILE, pk, now, now, now),
    )
    page = await desk.get(f"/applicants/{pk}")
    for seen in (
        "نرگس توکلی", "‎۰۹۱۲ ۱۲۳ ۴۵۶۷", "۰۰۱-۲۳۴۵۶۷-۹", "کرج", "وام گرفته", "گام‌های مجوز و وام",
        "فعال، با مشکل",
        "۱۴۰۳/۰۹/۱۱", "در جریان", "فروش کم است", f'href="/tickets/{ticket}"',
        "/followups?kind=step_help", "یادآوری گام", "فرستاده شد", "ردیف", "با فرستادن شمارهٔ خودش",
        "۳٬۰۰۰٬۰۰۰٬۰۰۰",
    ):  # fmt: skip
        assert seen in page, seen
    assert "پیام محرمانهٔ دیگری" not in page and "پیام من" not in page  # no bodies at all
    assert "پاسخ کارکنان" not in page  # the other person's message is not theirs


async def test_a_persons_page_in_english(desk: Desk, clock: ManualClock) -> None:
    """The same page in English with Latin digits."""
    pk = await add(desk.bot.svc.db, clock.timestamp(), user_id=1, mobile=MOBILE)
    await desk.post("/lang", {"lang": "en", "next": f"/applicants/{pk}"})
    page = await desk.get(f"/applicants/{pk}")
    assert "Profile" in page and "0912 123 4567" in page and "Permit and loan steps" in page


async def test_names_are_escaped_everywhere(desk: Desk, clock: ManualClock) -> None:
    """A name written as a script shows as text in the list and on the person's page."""
    evil = "<script>alert(1)</script>"
    pk = await add(desk.bot.svc.db, clock.timestamp(), user_id=1, full_name=evil)
    for page in (await desk.get("/applicants"), await desk.get(f"/applicants/{pk}")):
        assert evil not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    searched = await desk.post("/applicants", {"q": '"><script>x</script>'})
    assert "<script>x" not in searched


async def test_missing_and_malformed_ids_are_404(desk: Desk) -> None:
    """An unknown id, a word, a huge number: the same not-found page."""
    for path in ("/applicants/999999", "/applicants/abc", "/applicants/99999999999999999999"):
        await desk.get(path, status=404)


# --- county scope ---------------------------------------------------------------------------


async def test_a_scoped_member_finds_only_their_counties(bot: Bot, clock: ManualClock) -> None:
    """Fardis only: the list, the search, the count; Karaj's person is a 404 like a missing id."""
    db, now = bot.svc.db, clock.timestamp()
    mine = await add(db, now, user_id=1, full_name="فردیسی", county="fardis", mobile=MOBILE)
    theirs = await add(db, now, user_id=2, full_name="کرجی", county="karaj", mobile="+989120000000")
    async with open_desk(bot) as desk:
        await sign_in(desk, SCOPED)
        page = await desk.get("/applicants")
        assert names_on(page) == ["فردیسی"] and "۱ متقاضی" in page
        assert 'value="karaj"' not in page  # the county filter offers their counties only
        assert names_on(await desk.post("/applicants", {"q": "09120000000"})) == []
        assert names_on(await desk.post("/applicants", {"q": "کرجی"})) == []
        # another county in the address is not theirs to pick: ignored, like an unknown one
        assert names_on(await desk.get("/applicants?county=karaj")) == ["فردیسی"]
        await desk.get(f"/applicants/{mine}")
        denied = await desk.get(f"/applicants/{theirs}", status=404)
        missing = await desk.get("/applicants/987654", status=404)
        back = re.compile(r'name="next" value="[^"]*"')  # the language switch's way back
        assert back.sub("", denied) == back.sub("", missing)
        assert "کرجی" not in denied


async def test_the_repository_honours_scope_for_a_person(bot: Bot, clock: ManualClock) -> None:
    """PeopleRepo.person: in scope → the person; out of scope → None."""
    pk = await add(bot.svc.db, clock.timestamp(), user_id=1, county="karaj")
    repo = PeopleRepo(bot.svc.db)
    assert (await repo.person(pk, Scope.of(["karaj"]))) is not None
    assert (await repo.person(pk, Scope.of(["fardis"]))) is None


def _fa(n: int) -> str:
    """A whole number as the page shows it in Persian."""
    from bot.core.text import format_number

    return format_number(n, "fa")


def _query(**values: Any) -> str:
    """A query string (lists repeat their key)."""
    from urllib.parse import urlencode

    return urlencode(values, doseq=True)


async def test_the_cells_stay_exact_through_every_change(tmp_path: Path, store: Store) -> None:
    """Inserts, consent given and withdrawn, moves between counties, check-in answers, /stop
    and deletes: applicant_cells always sums to what a scan of users counts."""
    db = await store.open(tmp_path / "cells.sqlite3")
    repo = PeopleRepo(db)
    audiences: list[dict[str, list[str]]] = [
        {}, {"county": ["karaj"]}, {"county": ["fardis", "karaj"], "stage": ["loan"]},
        {"checkin": ["none"]}, {"checkin": ["problems", "closed"]}, {"platform": ["bale"]},
        {"lang": ["en"], "field": ["food"]},
    ]  # fmt: skip

    async def check() -> None:
        for audience in audiences:
            counted = await repo.cell_count(Filters(audience=audience), EVERYWHERE)
            scanned = await db.fetchone(
                "SELECT COUNT(*) FROM users u WHERE u.consent_at IS NOT NULL"
                + "".join(f" AND {c}" for c in _scan(audience)),
                [v for values in audience.values() for v in values if v != "none"],
            )
            assert scanned is not None and counted == scanned[0], audience

    for n in range(1, 41):
        await add(db, n, user_id=n, county=("karaj", "fardis", None)[n % 3],
                  stage=("loan", "idea")[n % 2], platform=("telegram", "bale")[n % 4 == 0],
                  lang=("fa", "en")[n % 5 == 0], consent_at=None if n % 7 == 0 else n)  # fmt: skip
    await check()
    await db.execute("UPDATE users SET consent_at = 5 WHERE user_id IN (7, 14)")
    await db.execute("UPDATE users SET consent_at = NULL WHERE user_id = 3")
    await db.execute("UPDATE users SET county = 'fardis' WHERE user_id BETWEEN 10 AND 15")
    await db.execute("UPDATE users SET proactive = 0, unreachable_at = 9 WHERE user_id < 6")
    await db.execute(
        "INSERT INTO checkin_answers (user_pk, status, answered_at)"
        " SELECT id, CASE WHEN id % 2 = 1 THEN 'problems' ELSE 'closed' END, 1 FROM users"
        " WHERE user_id % 3 = 0"
    )
    await check()
    await db.execute("DELETE FROM checkin_answers WHERE user_pk % 2 = 0")
    await db.execute("DELETE FROM users WHERE user_id % 5 = 1")
    await check()
    await db.close()


def _scan(audience: dict[str, list[str]]) -> list[str]:
    """The WHERE terms a plain scan uses for an audience (check-in "none" is no answer)."""
    terms = []
    for dim, values in audience.items():
        column = "u.checkin_status" if dim == "checkin" else f"u.{dim}"
        known = [v for v in values if v != "none"]
        parts = [f"{column} IN ({', '.join('?' * len(known))})"] if known else []
        if "none" in values:
            parts.append(f"{column} IS NULL")
        terms.append("(" + " OR ".join(parts) + ")")
    return terms


async def test_a_search_never_travels_in_the_address(desk: Desk, clock: ManualClock) -> None:
    """The search form posts (with the session's token); a mobile put in an address is not
    searched, so no page the console links to carries one; filters stay linkable."""
    await add(desk.bot.svc.db, clock.timestamp(), user_id=1, full_name="زهرا رضایی", mobile=MOBILE)
    await add(desk.bot.svc.db, clock.timestamp(), user_id=2, full_name="سارا نوری")
    page = await desk.get("/applicants?q=09121234567")
    assert sorted(names_on(page)) == ["زهرا رضایی", "سارا نوری"]  # the whole list: no search
    assert 'method="post" action="/applicants"' in page and "09121234567" not in page
    found = await desk.post("/applicants", {"q": "09121234567"})
    assert names_on(found) == ["زهرا رضایی"]
    saved = desk.csrf
    desk.csrf = "forged"
    await desk.post("/applicants", {"q": "09121234567"}, status=403)
    desk.csrf = saved


async def test_the_next_page_of_a_search_is_posted_too(desk: Desk, clock: ManualClock) -> None:
    """Fifty-one «رضایی»: the pager keeps the search in a posted form, and the older page
    holds the one left."""
    for i in range(PAGE_SIZE + 1):
        await add(desk.bot.svc.db, clock.timestamp(), user_id=100 + i, full_name=f"مریم رضایی {i}")
    first = await desk.post("/applicants", {"q": "رضایی"})
    assert len(names_on(first)) == PAGE_SIZE
    pager = first[first.index('<nav class="pager"') :]
    assert '<form method="post" action="/applicants"' in pager and 'value="رضایی"' in pager
    older = re.search(r'name="after" value="(\d+)"', pager)
    assert older is not None
    rest = await desk.post("/applicants", {"q": "رضایی", "after": older.group(1)})
    assert names_on(rest) == ["مریم رضایی 0"]


async def test_the_rarest_typed_word_leads_a_name_search(desk: Desk, clock: ManualClock) -> None:
    """«زهرا توکلی»: the surname starts fewer names, so it is read first and «زهرا» is only
    checked on the rows it found; the same people either way."""
    db, now = desk.bot.svc.db, clock.timestamp()
    for i in range(6):
        await add(db, now, user_id=200 + i, full_name=f"زهرا محمدی {i}")
    await add(db, now, user_id=300, full_name="زهرا توکلی")
    await add(db, now, user_id=301, full_name="مینا توکلی")
    repo = PeopleRepo(db)  # «توکلی» is two index entries per name: second and last word
    assert await repo.rarest_first(("زهرا", "توکلی")) == (("توکلی", "زهرا"), 4)
    assert await repo.rarest_first(("توکلی", "زهرا")) == (("توکلی", "زهرا"), 4)
    for typed in ("زهرا توکلی", "توکلی زهرا"):
        assert names_on(await desk.post("/applicants", {"q": typed})) == ["زهرا توکلی"]
