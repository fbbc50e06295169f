"""Personal links for staff to send by SMS: one segment each, the sheet, revoking, the CLI."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.core.clock import ManualClock
from bot.core.i18n import load_i18n
from bot.repo.roster import RosterRepo
from bot.roster.model import RosterRecord, new_link_token
from bot.roster.personal_links import SMS_SEGMENT, personal_link, sms_text
from tests.conftest import Bot
from tests.support.stores import Store
from tests.test_cli import _homebiz
from tests.test_roster_link import REZA, ZAHRA, consented, listed, row

ADMIN = 1
SARA = RosterRecord("0044556675", "سارا موسوی", "+989131112222", "karaj", "services")
NEDA = RosterRecord("0055667783", "ندا رحیمی", "+989141112222", "karaj", "food")


def ucs2_units(text: str) -> int:
    """Characters an SMS in UCS-2 spends on a text (counted from the encoding itself)."""
    return len(text.encode("utf-16-le")) // 2


@pytest.fixture
async def desk(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A bot whose configured admin is user 1."""
    instance = Bot(
        db_path=tmp_path / "desk.sqlite3", clock=clock, admins=frozenset({("telegram", ADMIN)})
    )
    await instance.start()
    yield instance
    await instance.stop()


def _documents(bot: Bot, chat: int) -> list[tuple[str, bytes, str]]:
    """Files the bot sent to a chat: (name, bytes, caption)."""
    out = []
    for message in bot.emulator.bot_messages(chat):
        if message.kind == "document":
            record = bot.emulator.files[message.file["file_id"]]
            out.append((record.filename, record.content, message.content))
    return out


def _rows(data: bytes) -> list[list[object]]:
    """The first sheet of a workbook as rows of values."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# --- the SMS text ------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", ["telegram", "bale"])
def test_every_sms_fits_one_segment_with_its_link(platform: str) -> None:
    """For every bot username a messenger allows (5 to 32 characters) and real tokens, the text
    fits one 70-character UCS-2 segment, carries the whole link, and is the longest wording
    that fits."""
    i18n = load_i18n()
    keys = ("roster_link.sms.long", "roster_link.sms.short")
    wordings = [i18n.t("fa", k, link="{link}") for k in keys]
    seen = set()
    for length in range(5, 33):
        username = ("h" * length)[: length - 3] + "bot"
        link = personal_link(platform, username, new_link_token())
        text = sms_text(i18n, link)
        assert text is not None, username
        assert ucs2_units(text) <= SMS_SEGMENT, (text, ucs2_units(text))
        assert text.endswith(link)
        fitting = [w.format(link=link) for w in wordings if ucs2_units(w.format(link=link)) <= 70]
        assert text == (fitting[0] if fitting else link)
        seen.add(text.removesuffix(link))
    assert len(seen) == 3  # long, short and the bare link each serve some usernames


def test_sms_examples_and_a_username_too_long_for_any_sms() -> None:
    """Short usernames get the full invitation; a longer one the short wording; none fits a
    username longer than the messengers allow."""
    i18n = load_i18n()
    token = "AbCdEfGhIjKlMnOp"
    text = sms_text(i18n, personal_link("telegram", "homebiz_bot", token))
    assert text == "دعوت طرح مشاغل خانگی: https://t.me/homebiz_bot?start=AbCdEfGhIjKlMnOp"
    assert ucs2_units(text) == 69
    text = sms_text(i18n, personal_link("bale", "homebiz_test_bot", token))
    assert text == "مشاغل خانگی: https://ble.ir/homebiz_test_bot?start=AbCdEfGhIjKlMnOp"
    assert ucs2_units(text) == 67
    assert sms_text(i18n, personal_link("bale", "x" * 40, token)) is None


# --- /roster links and /roster revoke ----------------------------------------------------------
async def test_staff_export_the_links_of_those_still_to_invite(desk: Bot) -> None:
    """/roster links کرج: a workbook of the county's people not linked and not do-not-contact,
    each with a personal link and an SMS text that fits one segment; recorded in the audit."""
    rows = await listed(desk, ZAHRA, REZA, SARA, NEDA)
    me = await consented(desk, 701)  # Sara links herself with her own contact
    await me.send("سارا موسوی")
    await me.share_contact("989131112222")
    await RosterRepo(desk.svc.db).unlink(rows[NEDA.national_code].id, 1, do_not_contact=True)

    staff = desk.client(ADMIN, lang="fa")
    await staff.send("/roster links کرج")
    [(name, data, caption)] = _documents(desk, ADMIN)
    assert name == "roster-links-karaj.xlsx"
    assert "پیوند شخصی دعوت ۱ نفر" in caption
    table = _rows(data)
    assert table[0] == [
        "کد ملی", "نام", "همراه", "شهرستان", "رشته", "پیوند تلگرام", "متن پیامک", "تعداد حرف‌ها"
    ]
    link = f"https://t.me/homebiz_test_bot?start={rows[REZA.national_code].link_token}"
    sms = f"مشاغل خانگی: {link}"
    assert table[1:] == [
        ["1234567891", "رضا کریمی", "09351112233", "کرج", "صنایع دستی و هنرهای سنتی", link, sms,
         ucs2_units(sms)],
    ]  # fmt: skip
    assert ucs2_units(sms) <= 70

    await staff.send("/roster links")
    names = sorted(str(r[1]) for r in _rows(_documents(desk, ADMIN)[-1][1])[1:])
    assert names == ["رضا کریمی", "زهرا احمدی"]
    await staff.send("/roster links ناکجا")
    assert "شهرستان «ناکجا» را نشناختم" in staff.last
    logged = await desk.svc.db.fetchall(
        "SELECT detail FROM audit WHERE action = 'roster_links' ORDER BY id"
    )
    assert [r[0] for r in logged] == [
        '{"county": "karaj", "count": 1}',
        '{"county": null, "count": 2}',
    ]


async def test_revoke_gives_a_new_link_and_the_old_one_stops(desk: Bot) -> None:
    """/roster revoke <code>: a new link for that row; the old one gets the generic answer,
    the new one asks "are you …?"."""
    rows = await listed(desk, REZA)
    old = rows[REZA.national_code].link_token
    staff = desk.client(ADMIN, lang="fa")
    await staff.send("/roster revoke ۱۲۳۴۵۶۷۸۹۱")
    found = re.search(r"https://t\.me/homebiz_test_bot\?start=([\w-]+)", staff.last)
    assert found is not None and "پیوند قبلی دیگر کار نمی‌کند" in staff.last
    assert found.group(1) == (await row(desk, REZA.national_code)).link_token != old
    await staff.send("/roster revoke 0022334459")
    assert "این کد ملی در فهرست طرح نیست" in staff.last
    await staff.send("/roster revoke 12")
    assert "/roster revoke 0012345679" in staff.last

    me = await consented(desk, 702)
    await me.send("مریم")
    answer = await me.send(f"/start {old}")
    assert desk.svc.i18n.t("fa", "roster_link.link_invalid") in answer[0].content
    await me.send(f"/start {found.group(1)}")
    assert "شما رضا کریمی هستید؟" in me.last


async def test_roster_lists_the_link_words(desk: Bot) -> None:
    """/roster alone says what each word does, links and revoke among them."""
    staff = desk.client(ADMIN, lang="en")
    await staff.send("/roster")
    assert "/roster links [county]" in staff.last and "/roster revoke <national code>" in staff.last


# --- the CLI -----------------------------------------------------------------------------------
async def test_cli_writes_an_owner_only_sheet_with_both_links(
    tmp_path: Path, store: Store
) -> None:
    """`homebiz roster links PATH --bale … --telegram …`: both links per person, the SMS with
    the Bale link, an owner-only file; without a username it says what to give."""
    db = await store.open(tmp_path / "cli.sqlite3")
    try:
        await RosterRepo(db).add_many([ZAHRA, REZA], now=1)
        zahra = await RosterRepo(db).by_national_code("0012345679")
        assert zahra is not None
    finally:
        await db.close()
    env = {"HOMEBIZ_DB": str(store.target(tmp_path / "cli.sqlite3"))}
    result = _homebiz(
        ["roster", "links", "links", "--bale", "homebiz_bot", "--telegram", "homebiz_bot",
         "--county", "فردیس"],
        tmp_path, **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wrote links.xlsx: 1 to invite"
    target = tmp_path / "links.xlsx"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    table = _rows(target.read_bytes())
    token = zahra.link_token
    assert table[0][5:7] == ["پیوند تلگرام", "پیوند بله"]
    assert table[1][:7] == [
        "0012345679", "زهرا احمدی", "09121234567", "فردیس", "تولید خانگی مواد غذایی",
        f"https://t.me/homebiz_bot?start={token}", f"https://ble.ir/homebiz_bot?start={token}",
    ]  # fmt: skip
    assert table[1][7] == f"مشاغل خانگی: https://ble.ir/homebiz_bot?start={token}"  # 71 > 70
    refused = _homebiz(["roster", "links", "x"], tmp_path, **env)
    assert refused.returncode == 2 and "--bale USERNAME" in refused.stderr


async def test_to_invite_pages_through_everyone_still_to_invite(
    tmp_path: Path, store: Store
) -> None:
    """Pages by id of any size give each free, contactable row once (one county's, or all)."""
    db = await store.open(tmp_path / "pages.sqlite3")
    try:
        repo = RosterRepo(db)
        await repo.add_many([ZAHRA, REZA, SARA, NEDA], now=1)
        sara = await repo.by_national_code(SARA.national_code)
        assert sara is not None
        await repo.unlink(sara.id, 2, do_not_contact=True)
        for size in (1, 2, 3, 1000):
            pages = [
                [e.record.national_code for e in p] async for p in repo.to_invite(page_size=size)
            ]
            assert all(0 < len(p) <= size for p in pages)
            codes = [code for page in pages for code in page]
            assert codes == [ZAHRA.national_code, REZA.national_code, NEDA.national_code]
        karaj = [e.record.full_name async for p in repo.to_invite("karaj", page_size=1) for e in p]
        assert karaj == ["رضا کریمی", "ندا رحیمی"]
    finally:
        await db.close()
