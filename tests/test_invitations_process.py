"""The real `homebiz run` sends invitations through Safir; killed with -9 between Safir's
delivery and its commit, the next process repeats the requests but not the messages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.repo.roster import RosterRepo
from tests.support import BALE_TOKEN, BotProcess, bot_env, stores
from tests.support.botapi_server import BotApiServer
from tests.support.safir_server import SafirServer
from tests.support.stores import Store
from tests.test_e2e_strict import always_open_content
from tests.test_invitations import person, phone

KEY = "process-test-safir-key"
PEOPLE = range(1, 7)
OFF_BALE = 999
IN_FLIGHT = 4  # the Safir sender's concurrency: the sends the kill catches unrecorded


def settled(db_path: Path) -> bool:
    """Every Safir row is sent or failed (read from outside the running process)."""
    (row,) = stores.current.query(
        db_path,
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('sent', 'failed')) FROM outbox "
        "WHERE platform = 'safir'",
    )
    return bool(row[0]) and row[0] == row[1]


async def test_kill_9_between_delivery_and_commit_sends_no_duplicate(
    tmp_path: Path, store: Store
) -> None:
    """Invitations queued by `homebiz roster invite --yes`; the first process's sends are
    delivered and their answers held back, then it is killed; the second takes the rows over
    when their leases expire and repeats those requests: Safir answers from the first time,
    nobody gets a second message, the off-Bale number is marked, no secret or number logged."""
    db_path = tmp_path / "bot.sqlite3"
    db = await store.open(db_path)
    try:
        records = [person(n) for n in PEOPLE] + [person(OFF_BALE)]
        assert await RosterRepo(db).add_many(records, now=1) == len(records)
    finally:
        await db.close()
    emulator = BotApiEmulator(platform="bale")
    async with (
        BotApiServer(emulator, token=BALE_TOKEN) as api,
        SafirServer(api_key=KEY, bot_id=654321, not_on_bale={phone(OFF_BALE)}) as safir,
    ):
        env = bot_env(
            db_path,
            BALE_BOT_TOKEN=BALE_TOKEN,
            BALE_API_URL=api.api_url,
            BALE_SAFIR_API_KEY=KEY,
            SAFIR_URL=safir.url,
            HOMEBIZ_SAFIR_RATE="50",
            HOMEBIZ_OUTBOX_LEASE="3",
            HOMEBIZ_CONTENT=str(always_open_content(tmp_path)),
        )
        invite = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "roster", "invite", "--yes", "--lang", "en"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "7 invitations queued" in invite.stdout, invite.stdout + invite.stderr
        safir.hold_answers()
        first = BotProcess(env, tmp_path, "first")
        first.start()
        try:
            await first.wait_for(lambda: safir.held == IN_FLIGHT, "sends held at Safir")
        finally:
            first.kill()
        assert len(safir.delivered) == IN_FLIGHT and not settled(db_path)
        safir.release()
        async with BotProcess(env, tmp_path, "second") as second:
            await second.wait_for(lambda: settled(db_path), "every invitation", timeout=60)
            assert await second.stop() == 0, second.describe()
    assert sorted(d.phone for d in safir.delivered) == sorted(phone(n) for n in PEOPLE)
    assert safir.repeats >= IN_FLIGHT  # the taken-over rows were asked again…
    assert max(safir.requests.values()) >= 2  # …with their first request_id
    rows = dict(store.query(db_path, "SELECT mobile, COALESCE(on_bale, -1) FROM roster"))
    (invited,) = store.query(db_path, "SELECT COUNT(*) FROM roster WHERE invited_via = 'safir'")
    assert rows[f"+{phone(OFF_BALE)}"] == 0 and invited[0] == len(PEOPLE)
    for process in (first, second):
        output = process.stderr + process.stdout
        assert KEY not in output and BALE_TOKEN.partition(":")[2] not in output
        assert not any(phone(n)[2:] in output for n in (*PEOPLE, OFF_BALE)), output[-2000:]
    assert "safir: sent" in second.stderr
