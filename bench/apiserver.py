"""The fake Bot API over HTTP in its own process (loopback), with per-chat delivery counts."""

# Run by the benchmarks as ``python -m bench.apiserver``: the emulator and every message it stores
# live in that child, so the bot process's memory and CPU figures are the bot's own. The child
# prints ``{"port": N}`` when it listens and a JSON report when its standard input closes.

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules
from bot.messengers.fakeapi.model import UploadedFile
from tests.support.botapi_server import BotApiServer, HttpRequest, HttpResponse

VISIBLE = frozenset({"sendmessage", "editmessagetext", "sendphoto", "senddocument"})
SENDS = frozenset({"sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage"})
INTERACTIVE_FROM = 5_000_000  # chat ids at or above this are people chatting, not recipients
MAX_LIFETIME = 3600.0


def _chat_of(params: Mapping[str, Any]) -> int | None:
    """The chat id a Bot API call names, if it names one as a number."""
    raw = params.get("chat_id")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.lstrip("-").isdigit():
        return int(raw)
    return None


class Tracker:
    """Counts answers per (group, method, status); times updates to their first visible reply."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        """Wrap the emulator's ``handle`` and ``_push`` on the instance."""
        self.emulator = emulator
        self.statuses: Counter[str] = Counter()
        self.pending: dict[int, float] = {}
        self.latencies: list[float] = []
        self.replies: Counter[int] = Counter()
        self.reply_log: list[tuple[int, float]] = []  # (chat, monotonic time) of each reply
        self.first_bulk: float | None = None
        self.last_bulk: float | None = None
        self.bulk_ok = 0
        self._handle = emulator.handle
        self._push = emulator._push
        emulator.handle = self.handle  # type: ignore[method-assign]
        emulator._push = self.push  # type: ignore[method-assign]

    def handle(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer a call and count it."""
        status, body = self._handle(method, params, files)
        key = method.lower()
        chat = _chat_of(params or {})
        group = "other" if chat is None else "interactive" if chat >= INTERACTIVE_FROM else "bulk"
        self.statuses[f"{group}:{key}:{status}"] += 1
        now = time.monotonic()
        if status == 200 and group == "bulk" and key in SENDS:
            self.bulk_ok += 1
            self.first_bulk = self.first_bulk or now
            self.last_bulk = now
        if status == 200 and group == "interactive" and key in VISIBLE and chat is not None:
            self.replies[chat] += 1
            self.reply_log.append((chat, now))
            queued = self.pending.pop(chat, None)
            if queued is not None:
                self.latencies.append(now - queued)
        return status, body

    def push(self, payload: dict[str, Any], enqueue: bool) -> dict[str, Any]:
        """Queue an update a person sent and remember when."""
        update = self._push(payload, enqueue)
        source = payload.get("message") or payload.get("callback_query") or {}
        sender = (source.get("chat") or source.get("from") or {}).get("id")
        if isinstance(sender, int) and sender >= INTERACTIVE_FROM:
            self.pending[sender] = time.monotonic()
        return update

    def report(self, first: int, count: int) -> dict[str, Any]:
        """Everything the bench needs at the end."""
        delivered = self.emulator.delivered
        histogram = Counter(delivered.get(chat, 0) for chat in range(first, first + count))
        bulk = [n for chat, n in delivered.items() if 0 < chat < INTERACTIVE_FROM]
        return {
            "bulk_chats": len(bulk),
            "bulk_duplicates": sum(n - 1 for n in bulk if n > 1),
            "statuses": dict(self.statuses),
            "latencies": self.latencies,
            "unanswered": len(self.pending),
            "histogram": {str(k): v for k, v in histogram.items()},
            "bulk_ok": self.bulk_ok,
            "bulk_seconds": (self.last_bulk or 0.0) - (self.first_bulk or 0.0),
        }


class BenchServer(BotApiServer):
    """BotApiServer plus ``/_control/bench``: replies seen per chat and the bulk send count."""

    tracker: Tracker

    def _control(self, action: str, request: HttpRequest) -> HttpResponse:
        """Answer the bench's own control action, else the standard ones."""
        if action == "bench_replies":  # (chat, monotonic time) of each reply since the last call
            taken, self.tracker.reply_log = self.tracker.reply_log, []
            return HttpResponse.of_json(200, {"ok": True, "result": taken})
        if action == "bench_latencies":  # the reply latencies since the last call, then forget
            taken, self.tracker.latencies = self.tracker.latencies, []
            return HttpResponse.of_json(200, {"ok": True, "result": taken})
        if action != "bench":
            return super()._control(action, request)
        args = json.loads(request.body.decode("utf-8")) if request.body else {}
        chat = int(args.get("chat_id", 0))
        result = {"replies": self.tracker.replies.get(chat, 0), "bulk_ok": self.tracker.bulk_ok}
        return HttpResponse.of_json(200, {"ok": True, "result": result})


async def _serve(args: argparse.Namespace) -> None:
    """Listen, print the port, serve until stdin closes or a signal comes, print the report."""
    emulator = BotApiEmulator(seed=1)
    for chat in range(args.first, args.first + args.count):
        emulator.add_user(chat, first_name=f"Applicant {chat}", language_code="fa")
    emulator.global_rate = args.global_rate or None
    emulator.per_chat_rate = args.per_chat_rate or None
    if args.strict:
        emulator.flood_rules = FloodRules.telegram()
    emulator.open_chats = args.open_chats
    tracker = Tracker(emulator)
    server = BenchServer(emulator, host="127.0.0.1", port=0)
    server.tracker = tracker
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def stdin_closed() -> None:
        """Return when the parent closes our standard input."""
        await reader.read()
        stop.set()

    watcher = asyncio.create_task(stdin_closed())
    async with server:
        print(json.dumps({"port": server.port}), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(args.max_seconds, MAX_LIFETIME))
    watcher.cancel()
    report = tracker.report(args.first, args.count)
    report["server"] = server.stats(emulator)
    print(json.dumps(report), flush=True)


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.apiserver")
    parser.add_argument("--first", type=int, default=1, help="first recipient chat id")
    parser.add_argument("--count", type=int, default=0, help="recipient chats to register")
    parser.add_argument("--global-rate", type=float, default=0.0)
    parser.add_argument("--per-chat-rate", type=float, default=0.0)
    parser.add_argument("--strict", action="store_true", help="Telegram's limits, strictly")
    parser.add_argument("--open-chats", action="store_true", help="any positive chat exists")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    return parser.parse_args(argv)


class ApiServerProcess:
    """Starts ``python -m bench.apiserver`` and talks to it; ``report`` is filled on exit."""

    def __init__(
        self,
        *,
        first: int,
        count: int,
        global_rate: float = 0.0,
        per_chat_rate: float = 0.0,
        strict: bool = False,
        open_chats: bool = False,
    ) -> None:
        """Remember the options; nothing starts before ``async with``."""
        self.argv = [
            "--first", str(first), "--count", str(count),
            "--global-rate", str(global_rate), "--per-chat-rate", str(per_chat_rate),
        ]  # fmt: skip
        self.argv += ["--strict"] if strict else []
        self.argv += ["--open-chats"] if open_chats else []
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.client: httpx.AsyncClient | None = None
        self.report: dict[str, Any] = {}

    @property
    def api_url(self) -> str:
        """Base URL of the Bot API methods."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """Base URL of file downloads."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def __aenter__(self) -> ApiServerProcess:
        """Start the child and wait (at most 60 s) for its port."""
        from bench.common import REPO_ROOT

        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.apiserver", *self.argv,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            cwd=str(REPO_ROOT), env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=60)
        self.port = int(json.loads(line)["port"])
        self.client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}", trust_env=False, timeout=30
        )
        return self

    async def control(self, action: str, **args: Any) -> Any:
        """Call ``/_control/<action>`` with a JSON body; its result."""
        assert self.client is not None
        answer = await self.client.post(f"/_control/{action}", json=args)
        body = answer.json()
        if not body.get("ok"):
            raise RuntimeError(f"control {action} failed: {body}")
        return body["result"]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close stdin, read the report (at most 60 s), reap the child."""
        if self.client is not None:
            await self.client.aclose()
        if self.proc is None:
            return
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        try:
            out = await asyncio.wait_for(self.proc.stdout.read(), timeout=60)
            lines = [ln for ln in out.decode("utf-8").splitlines() if ln.strip()]
            self.report = json.loads(lines[-1]) if lines else {}
        except (TimeoutError, ValueError):
            self.report = {}
        finally:
            if self.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), timeout=10)
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


if __name__ == "__main__":
    asyncio.run(_serve(_parse()))
