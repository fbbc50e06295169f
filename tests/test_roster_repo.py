"""The roster's rows: added once per national code, looked up, linked to one user at most."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from bot.db.engine import Database
from bot.repo.roster import RosterRepo
from bot.roster.invitation import STOP_PREFIX
from bot.roster.model import COLUMNS, RosterRecord, new_link_token
from tests.support import stores

# Every test opens a database: each runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("store")

ZAHRA = RosterRecord("0012345679", "زهرا احمدی", "+989121234567", "karaj", None, "2024-03-01")
REZA = RosterRecord("1234567891", "رضا کریمی", "+989351112233", loan_on="2024-08-02")


def test_the_record_fields_are_the_template_columns() -> None:
    """One list of columns: the record, the table and the template agree on it."""
    assert tuple(f.name for f in fields(RosterRecord)) == COLUMNS


async def _repo(tmp_path: Path) -> tuple[Database, RosterRepo]:
    db = await stores.current.open(tmp_path / "r.sqlite3")
    await db.migrate()
    return db, RosterRepo(db)


async def test_add_look_up_and_link(tmp_path: Path) -> None:
    """A national code is added once; lookups by code, token and mobile find the same row."""
    db, repo = await _repo(tmp_path)
    try:
        assert await repo.add_many([ZAHRA, REZA, ZAHRA], now=100) == 2
        assert await repo.add_many([ZAHRA], now=200) == 0
        zahra = await repo.by_national_code("0012345679")
        assert zahra is not None and zahra.record == ZAHRA
        assert (await repo.by_token(zahra.link_token)) == zahra
        assert [e.id for e in await repo.by_mobile("+989121234567")] == [zahra.id]
        reza = await repo.by_national_code("1234567891")
        assert reza is not None and reza.link_token != zahra.link_token
        assert len(zahra.link_token) >= 16  # 96 random bits

        user = await db.fetchone(
            "INSERT INTO users (platform, user_id, chat_id, created_at, updated_at) "
            "VALUES ('bale', 7, 7, 1, 1) RETURNING id"
        )
        assert user is not None
        assert await repo.link(zahra.id, user[0], "contact", now=300)
        assert not await repo.link(reza.id, user[0], "link", now=300)  # one row per user
        linked = await repo.by_user(user[0])
        assert linked is not None and linked.id == zahra.id and linked.linked_via == "contact"

        await repo.unlink(zahra.id, now=400, do_not_contact=True)
        after = await repo.get(zahra.id)
        assert after is not None and after.user_pk is None and after.do_not_contact
        old = after.link_token
        assert await repo.revoke_token(zahra.id, now=500) != old
        assert await repo.by_token(old) is None
    finally:
        await db.close()


def test_a_link_token_never_reads_as_a_do_not_contact_link(monkeypatch) -> None:
    """A token drawn with the "do not contact me" prefix is drawn again."""
    draws = iter(["nc-abcdefghijklm", "Qx7_abcdefghijkl"])
    monkeypatch.setattr("bot.roster.model.secrets.token_urlsafe", lambda n: next(draws))
    assert STOP_PREFIX == "nc-"
    assert new_link_token() == "Qx7_abcdefghijkl"
