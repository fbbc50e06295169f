"""Shared fixtures: a real Application on a temporary database, driven through the fake Bot API."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.core.clock import ManualClock
from bot.core.config import PlatformSettings, Settings, WebSettings
from bot.entry.app import build_application
from bot.entry.services import Services
from bot.messengers.fakeapi.client import ChatClient
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits, Pacer
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender
from tests.support import stores
from tests.support.stores import Store

TOKEN = "1000001:TEST-TOKEN-NOT-REAL"
START = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # 1405/09/08 11:30 Tehran, a Sunday


@dataclass
class Bot:
    """A running bot: its services, Application and fake Bot API, restartable on the same file
    (on PostgreSQL, the same schema: see tests/support/stores.py)."""

    db_path: Path
    clock: ManualClock
    platform: str = "telegram"
    admins: frozenset[tuple[str, int]] = frozenset()
    staff_chats: dict[str, int] = field(default_factory=dict)
    emulator: BotApiEmulator = field(default_factory=BotApiEmulator)
    limits: Limits = field(default_factory=Limits.unlimited)
    platforms: tuple[PlatformSettings, ...] = ()  # the messengers served (none: just this one)
    web: WebSettings | None = None  # the staff console's settings (tests/support/console.py)
    services: Services | None = None
    app: Application | None = None

    async def start(self) -> None:
        """Open services and initialise the Application."""
        settings = Settings(
            **stores.current.settings(self.db_path),
            admins=self.admins,
            staff_chats=self.staff_chats,
            platforms=self.platforms,
            web=self.web,
        )
        self.services = await Services.open(settings, clock=self.clock)
        self.app = build_application(
            self.services,
            self.platform,
            token=TOKEN,
            base_url="http://fake.invalid/bot",
            base_file_url="http://fake.invalid/file/bot",
            request=EmulatorRequest(self.emulator),
            with_updater=False,
            with_jobs=False,
            limits=self.limits,
        )
        await self.app.initialize()

    async def stop(self) -> None:
        """Shut the Application and close the database, as a process exit would."""
        if self.app is not None:
            await self.app.shutdown()
        if self.services is not None:
            await self.services.close()
        self.app, self.services = None, None

    async def restart(self) -> None:
        """Stop and start again on the same database file."""
        await self.stop()
        await self.start()

    @property
    def svc(self) -> Services:
        """The open services."""
        assert self.services is not None
        return self.services

    async def drain(self) -> int:
        """Deliver what the outbox holds now, unthrottled; return the sends attempted."""
        assert self.app is not None
        sender = OutboxSender(
            self.app.bot,
            OutboxRepo(self.svc.db),
            self.platform,
            self.clock,
            pacer=Pacer(Limits.unlimited()),
        )
        return await sender.drain_once()

    def client(self, user_id: int, *, lang: str | None = "fa", name: str = "Test") -> ChatClient:
        """A person chatting with this bot (re-bound to the current Application)."""
        assert self.app is not None
        return ChatClient(self.app, self.emulator, user_id, first_name=name, language_code=lang)


def pace(*, rate: int = 0, chat_interval: float = 0.0) -> Pacer:
    """A pacer for a test: at most ``rate`` messages in any second (0: no such limit) and one
    message per ``chat_interval`` seconds in a chat (0: no such limit)."""
    if not rate and not chat_interval:
        return Pacer(Limits.unlimited())
    per_chat = 1 / chat_interval if chat_interval else 1e9
    return Pacer(Limits(bot_count=rate or 10**9, chat_rate=per_chat, chat_burst=1, reserve=0))


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock(START)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say in one line when the PostgreSQL variants could not run."""
    if stores.tried_pg():
        why = stores.pg_unavailable()
        if why:
            terminalreporter.write_line(f"PostgreSQL variants skipped: {why}", yellow=True)


@pytest.fixture(params=["sqlite", "pg"])
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine of this variant of the test: every test that opens a database
    through ``store`` (``bot`` does) runs on SQLite and on PostgreSQL."""
    if request.param == "pg":
        only = request.node.get_closest_marker("sqlite_only")
        if only is not None:
            pytest.skip(f"SQLite only: {only.args[0]}")
        gap = request.node.get_closest_marker("pg_gap")
        if gap is not None:
            pytest.skip(f"not yet on PostgreSQL: {gap.args[0]}")
        why = stores.pg_unavailable()
        if why:
            if stores.REQUIRE_PG:
                pytest.fail(f"HOMEBIZ_REQUIRE_PG=1: {why}")
            pytest.skip(why)
    return str(request.param)


@pytest.fixture
def store(engine: str) -> Iterator[Store]:
    """Where this test's databases live (a schema per database on PostgreSQL, dropped after)."""
    found = stores.current = Store(engine)
    try:
        yield found
    finally:
        stores.current = Store("sqlite")
        found.drop()


@pytest.fixture
async def bot(tmp_path: Path, clock: ManualClock, store: Store) -> AsyncIterator[Bot]:
    """A started bot on a fresh database file."""
    instance = Bot(db_path=tmp_path / "bot.sqlite3", clock=clock)
    await instance.start()
    yield instance
    await instance.stop()


class ErrorTrap(logging.Handler):
    """Every ERROR record: the router's error handler logs each failed update."""

    def __init__(self) -> None:
        """Start empty."""
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)


@contextmanager
def trapped() -> Iterator[ErrorTrap]:
    """Collect ERROR records logged anywhere while the block runs."""
    trap = ErrorTrap()
    root = logging.getLogger()
    root.addHandler(trap)
    try:
        yield trap
    finally:
        root.removeHandler(trap)


@contextmanager
def no_errors() -> Iterator[None]:
    """Fail if anything logs an ERROR while the block runs."""
    with trapped() as trap:
        yield
    assert not trap.records, [r.getMessage() for r in trap.records]


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    *,
    timeout: float = 10.0,
    every: float = 0.01,
) -> None:
    """Poll ``condition`` (plain or async) until it holds; fail naming ``what`` on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(every)
