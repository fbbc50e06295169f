"""Helpers for tests that run the real `homebiz run` process against a local fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tests.support import stores

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BALE_TOKEN = "654321:ZYXWVUTSRQPONMLKJIHGFEDCBA"
LOOPBACK = "127.0.0.1"
_OWN_PREFIXES = ("TELEGRAM_", "BALE_", "HOMEBIZ_")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def bot_env(db_path: Path, **settings: str) -> dict[str, str]:
    """The child's environment: ours minus bot settings and proxies, plus ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_OWN_PREFIXES) and "proxy" not in k.lower()
    }
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        PYTHONUNBUFFERED="1",
        NO_PROXY=f"{LOOPBACK},localhost",
        HOMEBIZ_DB=str(stores.current.target(db_path)),  # SQLite, or the test's PG schema
        HOMEBIZ_LOG_LEVEL="INFO",
    )
    env.update(settings)
    return env


class BotProcess:
    """One `python -m bot.entry.cli run` child (or another subcommand, e.g. ``checkins send-now``);
    its stdout and stderr go to files in ``workdir``."""

    def __init__(
        self,
        env: Mapping[str, str],
        workdir: Path,
        name: str = "bot",
        command: Sequence[str] = ("run",),
    ) -> None:
        """Prepare (not start) a process that runs ``homebiz <command>`` in ``workdir``."""
        self.env = dict(env)
        self.command = tuple(command)
        self.workdir = workdir
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Launch the process."""
        with self.stdout_path.open("ab") as out, self.stderr_path.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", *self.command],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def returncode(self) -> int | None:
        """The exit status, or None while running."""
        return None if self.proc is None else self.proc.poll()

    @property
    def stderr(self) -> str:
        """Everything the process logged so far."""
        return (
            self.stderr_path.read_text("utf-8", errors="replace")
            if self.stderr_path.exists()
            else ""
        )

    @property
    def stdout(self) -> str:
        """Everything the process printed so far."""
        return (
            self.stdout_path.read_text("utf-8", errors="replace")
            if self.stdout_path.exists()
            else ""
        )

    def describe(self) -> str:
        """The exit status and the tail of the log, for assertion messages."""
        return f"exit status {self.returncode}; stderr tail:\n{self.stderr[-4000:]}"

    async def wait_for(
        self, predicate: Callable[[], bool], what: str, *, timeout: float = 30.0
    ) -> None:
        """Poll ``predicate`` every 0.1 s (keeping the event loop free) until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for _ in range(int(timeout / 0.1) + 2):
            if predicate():
                return
            if self.returncode is not None:
                raise AssertionError(f"bot exited while waiting for {what}: {self.describe()}")
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.1)
        if predicate():
            return
        raise AssertionError(f"timed out after {timeout} s waiting for {what}: {self.describe()}")

    async def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 20.0) -> int | None:
        """Send ``sig`` and wait (asynchronously) for the exit; the status, or None if it hung."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for _ in range(int(timeout / 0.05) + 2):
            if self.proc.poll() is not None or loop.time() > deadline:
                break
            await asyncio.sleep(0.05)
        return self.proc.poll()

    def kill(self) -> None:
        """SIGKILL and reap the process (no-op when it already exited)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    async def __aenter__(self) -> BotProcess:
        """Start the process."""
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Make sure the process is gone, whatever the test did."""
        self.kill()
