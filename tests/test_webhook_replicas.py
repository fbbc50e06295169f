"""Several replicas on one PostgreSQL database behind one webhook: each update handled once, one
person's in order whichever replica receives them, none lost when a replica dies.

Each replica is what `homebiz run` builds (bot/entry/runner.py): its own Services (a pool of its
own), PTB Application, update inbox and webhook listener on a port of its own, all answering
through the fake Bot API. A replica that must die runs on an event loop in a thread of its own,
which the test freezes: from the database's side that is a replica killed -9 (nothing renewed,
nothing released), and its thread is let go only once the test is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.core.clock import ManualClock
from bot.core.config import Settings
from bot.entry.app import build_application
from bot.entry.services import Services
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits
from bot.messengers.update_inbox import UpdateInbox, uses_inbox
from bot.messengers.webhook import SECRET_HEADER, WebhookListener
from tests.conftest import START, TOKEN, wait_until
from tests.support import free_port, stores
from tests.support.stores import Store

T = TypeVar("T")
SECRET = "s" * 32
ANNA, BEN = 7201, 7202
LANGUAGE_QUESTION = "choose your language"
UNKNOWN_MESSAGE = 10**6
# One person's first steps: each answer depends on the ones before (a name typed before the
# privacy notice is agreed to is not stored; the mobile is asked for only after the name).
STEPS: tuple[tuple[str, str], ...] = (
    ("text", "/start"),
    ("press", "lang:en"),
    ("press", "priv:yes"),
    ("text", "Sara Moradi"),
    ("text", "09123456789"),
)


@dataclass
class Replica:
    """One `homebiz run` replica's parts for one platform."""

    services: Services
    inbox: UpdateInbox
    listener: WebhookListener

    @property
    def url(self) -> str:
        """Where the platform posts this replica's updates."""
        return f"http://127.0.0.1:{self.listener.port}/telegram"

    async def close(self) -> None:
        """Shut down as `homebiz run` does: listener, inbox, Application, database."""
        app = self.inbox.app
        await self.listener.stop()
        await self.inbox.stop(grace=0)
        if app.running:
            await app.stop()
        await app.shutdown()
        await self.services.close()


async def open_replica(settings: Settings, emulator: BotApiEmulator) -> Replica:
    """A started replica with short leases (a dead one is taken over within a second)."""
    services = await Services.open(settings, clock=ManualClock(START))
    app = build_application(
        services,
        "telegram",
        token=TOKEN,
        base_url="http://fake.invalid/bot",
        base_file_url="http://fake.invalid/file/bot",
        request=EmulatorRequest(emulator),
        with_updater=False,
        with_jobs=False,
        limits=Limits.unlimited(),
    )
    await app.initialize()
    await app.start()
    inbox = UpdateInbox(app, services.db, "telegram", lease=1.0, renew_every=0.3, rescue_every=0.1)
    listener = WebhookListener(
        app, platform="telegram", secret=SECRET, listen="127.0.0.1", port=free_port(), inbox=inbox
    )
    await listener.start()
    inbox.start()
    return Replica(services, inbox, listener)


@pytest.fixture
async def replicas(tmp_path: Path, store: Store) -> AsyncIterator[tuple[Settings, BotApiEmulator]]:
    """The shared database (PostgreSQL only) and the fake Bot API of the replicas."""
    if not store.postgres:
        pytest.skip("replicas share a PostgreSQL database; SQLite is one process")
    emulator = BotApiEmulator()
    for user_id in (ANNA, BEN):
        emulator.add_user(user_id, first_name=f"U{user_id}", language_code="en")
    yield Settings(**stores.current.settings(tmp_path / "shared")), emulator


def raw_update(emulator: BotApiEmulator, user_id: int, kind: str, value: str) -> dict[str, Any]:
    """The update a person's text or button press makes (not queued anywhere). A press is under
    a message of the chat that the bot cannot edit (so it answers with a new message)."""
    if kind == "press":
        return emulator.user_press(user_id, UNKNOWN_MESSAGE, value, enqueue=False)
    return emulator.user_text(user_id, value, enqueue=False)


async def post(client: httpx.AsyncClient, replica: Replica, update: dict[str, Any]) -> int:
    """Post an update to a replica's webhook as the platform does; the status answered."""
    response = await client.post(replica.url, json=update, headers={SECRET_HEADER: SECRET})
    return response.status_code


async def all_handled(replica: Replica) -> bool:
    """Whether every stored update was handled."""
    row = await replica.services.db.fetchone(
        "SELECT COUNT(*) FROM updates_inbox WHERE done_at IS NULL"
    )
    return row is not None and int(row[0]) == 0


def texts(emulator: BotApiEmulator, chat_id: int) -> list[str]:
    """What the bot said in a chat, in order."""
    return [m.content for m in emulator.bot_messages(chat_id)]


def asked(emulator: BotApiEmulator, chat_id: int, words: str) -> int:
    """How many of the bot's messages in the chat contain ``words``."""
    return sum(words in text for text in texts(emulator, chat_id))


async def test_only_postgres_with_webhooks_uses_the_inbox(tmp_path: Path, store: Store) -> None:
    """SQLite (one process) keeps PTB's in-memory queue; PostgreSQL's webhooks use the inbox."""
    db = await store.open(tmp_path / "mode")
    try:
        assert uses_inbox(db, webhook=True) is store.postgres
        assert uses_inbox(db, webhook=False) is False
    finally:
        await db.close()


async def test_a_redelivered_update_is_handled_once(
    replicas: tuple[Settings, BotApiEmulator],
) -> None:
    """The same update_id posted to both replicas (and again to the first) is stored once and
    answered once; every post is acknowledged; once handled, only its id is kept."""
    settings, emulator = replicas
    one, two = await open_replica(settings, emulator), await open_replica(settings, emulator)
    try:
        update = raw_update(emulator, ANNA, "text", "/start")
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            statuses = [await post(client, r, update) for r in (one, two, one, two)]
        assert statuses == [200, 200, 200, 200]
        await wait_until(lambda: asked(emulator, ANNA, LANGUAGE_QUESTION) > 0, "the answer")
        await wait_until(lambda: all_handled(two), "every stored update handled")
        assert asked(emulator, ANNA, LANGUAGE_QUESTION) == 1
        rows = await one.services.db.fetchall("SELECT update_id, attempts, body FROM updates_inbox")
        assert [tuple(r) for r in rows] == [(update["update_id"], 1, "")]  # what was said: gone
    finally:
        await one.close()
        await two.close()


async def test_a_persons_updates_alternating_between_replicas_keep_their_order(
    replicas: tuple[Settings, BotApiEmulator],
) -> None:
    """Two people's consecutive updates each land on the other replica than the one before,
    posted without waiting for answers: every answer comes, each person's in order, and what
    each said is stored."""
    settings, emulator = replicas
    one, two = await open_replica(settings, emulator), await open_replica(settings, emulator)
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            for index, (kind, value) in enumerate(STEPS):
                for person, first in ((ANNA, one), (BEN, two)):
                    replica = first if index % 2 == 0 else (two if first is one else one)
                    update = raw_update(emulator, person, kind, value)
                    assert await post(client, replica, update) == 200
        for person in (ANNA, BEN):
            await wait_until(
                lambda p=person: len(texts(emulator, p)) >= len(STEPS), "the last answer"
            )
        await wait_until(lambda: all_handled(one), "every stored update handled")
        for person in (ANNA, BEN):
            said = texts(emulator, person)
            assert len(said) == len(STEPS), said  # one answer per update
            assert LANGUAGE_QUESTION in said[0] and "Privacy" in said[1], said
            assert "national code" in said[-1], said
            user = await one.services.users.find("telegram", person)
            assert user is not None, said
            assert (user.full_name, user.mobile) == ("Sara Moradi", "+989123456789"), said
    finally:
        await one.close()
        await two.close()


async def test_an_acknowledged_update_is_stored_before_the_answer(
    replicas: tuple[Settings, BotApiEmulator],
) -> None:
    """A 200 means the update is in the database; a replica that cannot store it answers 503,
    so the platform sends it again, and the update sent again is answered."""
    settings, emulator = replicas
    one, two = await open_replica(settings, emulator), await open_replica(settings, emulator)
    try:
        first = raw_update(emulator, ANNA, "text", "/start")
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            assert await post(client, one, first) == 200
            row = await two.services.db.fetchone(
                "SELECT update_id FROM updates_inbox WHERE update_id = ?", (first["update_id"],)
            )
            assert row is not None
            await one.services.db.execute(  # the table becomes unwritable for everyone
                "ALTER TABLE updates_inbox RENAME TO updates_inbox_away"
            )
            second = raw_update(emulator, BEN, "text", "/start")
            try:
                assert await post(client, one, second) == 503
            finally:
                await one.services.db.execute(
                    "ALTER TABLE updates_inbox_away RENAME TO updates_inbox"
                )
            assert await post(client, two, second) == 200  # the platform's retry
        await wait_until(lambda: asked(emulator, BEN, LANGUAGE_QUESTION) == 1, "the retry's answer")
        await wait_until(lambda: asked(emulator, ANNA, LANGUAGE_QUESTION) == 1, "the answer")
    finally:
        await one.close()
        await two.close()


class LoopThread:
    """An event loop in a thread of its own, which the test can freeze like a killed process."""

    def __init__(self) -> None:
        """Start the loop's thread."""
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.thaw = threading.Event()

    async def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the thread's loop and wait for it from ours."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def freeze(self) -> None:
        """Stop everything on the loop, at once and for good (until ``close``)."""
        self.loop.call_soon_threadsafe(self.thaw.wait)

    def close(self) -> None:
        """Let the loop go again and stop it."""
        self.thaw.set()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def test_a_dead_replicas_person_is_taken_over_after_its_lease(
    replicas: tuple[Settings, BotApiEmulator],
) -> None:
    """A replica dies in the middle of a person's turn (holding the turn, its 200 given): the
    other takes the person over once the lease expires, handles the stored update again and then
    the next one, in order, each answered once."""
    settings, emulator = replicas
    doomed = LoopThread()
    started = threading.Event()

    async def stuck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The doomed replica's turn never ends (it dies in it)."""
        started.set()
        await asyncio.Event().wait()

    dead = await doomed.run(open_replica(settings, emulator))
    dead.inbox.app.add_handler(TypeHandler(Update, stuck), group=-1000)
    alive = await open_replica(settings, emulator)
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            assert await post(client, dead, raw_update(emulator, ANNA, "text", "/start")) == 200
            await wait_until(started.is_set, "the doomed replica's turn")
            doomed.freeze()  # its turn held, its lease no longer renewed
            assert await post(client, alive, raw_update(emulator, ANNA, "press", "lang:en")) == 200
        await wait_until(lambda: asked(emulator, ANNA, "Privacy") > 0, "the taken-over answers")
        await wait_until(lambda: all_handled(alive), "every stored update handled")
        said = texts(emulator, ANNA)
        assert len(said) == 2 and LANGUAGE_QUESTION in said[0] and "Privacy" in said[1], said
        rows = await alive.services.db.fetchall(
            "SELECT attempts FROM updates_inbox ORDER BY update_id"
        )
        assert [r[0] for r in rows] == [2, 1]  # the dead replica's start, then the takeover
    finally:
        await alive.close()
        doomed.thaw.set()
        with contextlib.suppress(Exception):
            await doomed.run(dead.close())
        doomed.close()
    assert len(texts(emulator, ANNA)) == 2  # the dead replica, let go, said nothing more
