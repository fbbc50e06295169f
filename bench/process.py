"""`homebiz run` itself, on the million-applicant database: a broadcast to everyone while people
chat, against a Bot API server that enforces Telegram's documented limits strictly.

The bot is the real process (shipped defaults), its memory read from /proc; the fake Bot API runs
in a process of its own (bench/apiserver.py) and times each person's update to the bot's first
visible reply. An admin launches the broadcast through the real conversation, exactly as staff
would; the figures are what applicants and staff would see.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.apiserver import INTERACTIVE_FROM, ApiServerProcess
from bench.broadcast import Chatter
from bench.common import TOKEN, Row, Scale, Section, ms, percentile
from tests.support import BotProcess, bot_env

ADMIN = INTERACTIVE_FROM + 900_000
PEOPLE = INTERACTIVE_FROM + 100_000  # new people: ids no earlier section used
CHATTERS = 3  # the "three applicants chatting meanwhile"
THINK = 2.0
IDLE_SECONDS = 10.0
LIMIT = 30  # Telegram's documented messages per second per bot


def rss_of(pid: int) -> float:
    """A process's resident memory in MB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class ProcessMemory:
    """Samples another process's RSS every half second while a phase runs."""

    def __init__(self, pid: int) -> None:
        """Watch ``pid``."""
        self.pid = pid
        self.phases: dict[str, list[float]] = {}
        self._phase = "start"
        self._task: asyncio.Task[None] | None = None

    def phase(self, name: str) -> None:
        """Samples from now on belong to ``name``."""
        self._phase = name

    async def _run(self) -> None:
        """Sample until cancelled."""
        while True:
            self.phases.setdefault(self._phase, []).append(rss_of(self.pid))
            await asyncio.sleep(0.5)

    def __enter__(self) -> ProcessMemory:
        """Start sampling."""
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()

    def peak(self, name: str) -> float:
        """The highest sample of a phase."""
        return max(self.phases.get(name) or [0.0])

    def describe(self, name: str) -> str:
        """min–max of a phase, in MB."""
        values = self.phases.get(name) or [0.0]
        return f"{min(values):.0f}–{max(values):.0f} MB ({len(values)} samples)"


def _progress(path: Path) -> dict[str, Any] | None:
    """The newest broadcast as the bot records it (read-only, like any observer)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM broadcasts ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None
    finally:
        conn.close()


async def _admin_launches(admin: Chatter) -> str:
    """/broadcast → text → same for everyone → next → now → yes; "" or what went wrong."""
    steps = [
        ("text", "/broadcast"),
        ("text", "اطلاعیه: مهلت ثبت‌نام تسهیلات تا پایان آذر تمدید شد."),
        ("press", "bc:en:same"),
        ("press", "bc:next"),
        ("press", "bc:now"),
        ("press", "bc:yes"),
    ]
    for kind, value in steps:
        await asyncio.sleep(THINK)  # a person reads before tapping on
        if not await admin.act(kind, value):
            messages = await admin.api.control("messages", chat_id=admin.user_id)
            last = messages[-1]["text"][:80] if messages else "nothing"
            return f"no answer to {value!r}; the admin's last message: {last!r}"
    return ""


async def _chat(
    api: ApiServerProcess, first_id: int, until: float, missed: list[str]
) -> int:
    """One person onboarding (then the next) until ``until``; updates sent (what got no
    answer goes into ``missed``)."""
    sent = 0
    for person in range(1000):
        chatter = Chatter(api, first_id + person * 100)
        for kind, value in chatter.script():
            if time.monotonic() >= until:
                missed.extend(chatter.missed)
                return sent
            await chatter.act(kind, value)
            sent += 1
            await asyncio.sleep(THINK)
        missed.extend(chatter.missed)
    return sent


async def everyone_while_chatting(
    db_path: Path, scale: Scale, workdir: Path, section: Section
) -> None:
    """The real process: idle, then a broadcast to every applicant while three people chat."""
    window = max(scale.interactive_window, 20.0)
    print(f"\n== homebiz run: a broadcast to everyone while {CHATTERS} people chat ==", flush=True)
    async with ApiServerProcess(first=1, count=0, strict=True, open_chats=True) as api:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            HOMEBIZ_ADMINS=f"telegram:{ADMIN}",
        )
        async with BotProcess(env, workdir, "bench-bot") as bot:
            assert bot.proc is not None
            with ProcessMemory(bot.proc.pid) as memory:
                await bot.wait_for(lambda: "serving" in bot.stderr, "the bot serving", timeout=120)
                memory.phase("idle")
                await asyncio.sleep(IDLE_SECONDS)
                memory.phase("broadcast")
                admin = Chatter(api, ADMIN)
                failure = await _admin_launches(admin)
                launched = not failure
                began = time.monotonic()  # "send now" confirmed: queueing runs from here
                until = time.monotonic() + window
                missing: list[str] = []
                chats = asyncio.gather(
                    *(_chat(api, PEOPLE + i, until, missing) for i in range(CHATTERS))
                )
                queued_at = None
                while time.monotonic() < until:
                    await asyncio.sleep(1.0)
                    progress = await asyncio.to_thread(_progress, db_path)
                    if queued_at is None and progress and progress["status"] != "queueing":
                        queued_at = time.monotonic() - began
                results = await chats
                final = await asyncio.to_thread(_progress, db_path) or {}
                status = await bot.stop(signal.SIGTERM, timeout=60)
            slow = [ln.split(": ", 2)[-1] for ln in bot.stderr.splitlines() if "on the event" in ln]
    report = api.report
    statuses: dict[str, int] = report.get("statuses", {})
    latencies: list[float] = report.get("latencies", [])
    sent = sum(results)
    missed = len(missing)
    bulk_ok = report.get("bulk_ok", 0)
    bulk_rate = (bulk_ok - 1) / report["bulk_seconds"] if report.get("bulk_seconds") else 0.0
    too_many = sum(v for k, v in statuses.items() if k.endswith(":429"))
    calls = sum(v for k, v in statuses.items() if ":send" in k or ":edit" in k)
    p99 = percentile(latencies, 99) if latencies else float("nan")
    slow_logged = f"{len(slow)} {slow[:3]}" if slow else "0"
    section.line(
        f"the real `homebiz run` (shipped defaults: HOMEBIZ_SEND_RATE 30, the pacer's reserve "
        f"of 1) on the {scale.applicants:,}-applicant database, against the strict server "
        f"(30 in any second, about 1/s per chat with bursts of 3, a 1 s penalty); an admin "
        f"launched a broadcast to everyone through the conversation "
        f"({'launched' if launched else 'LAUNCH FAILED: ' + failure}), {CHATTERS} people onboarded "
        f"(think time {THINK:g} s) for {window:.0f} s; exit status {status}"
    )
    section.line(
        f"queueing: {final.get('total', 0):,} recipients queued "
        + (f"in {queued_at:.1f} s" if queued_at is not None else "NOT finished in the window")
        + f"; sent {final.get('sent', '?')} in the window at {bulk_rate:.1f}/s "
        f"({bulk_rate / LIMIT:.0%} of the limit); duplicates {report.get('bulk_duplicates')}"
    )
    section.line(
        f"replies: {sent} updates, {missed} without a reply within 15 s "
        f"{sorted(set(missing)) if missing else ''}; update → first reply "
        f"p50 {ms(percentile(latencies, 50)) if latencies else '—'}, p99 {ms(p99)}, "
        f"max {ms(max(latencies)) if latencies else '—'}; 429 answers {too_many} of {calls} "
        f"sends and edits; slow statements logged {slow_logged}"
    )
    section.line(
        f"memory of the bot process: idle {memory.describe('idle')}; during the broadcast "
        f"{memory.describe('broadcast')}"
    )
    idle, during = memory.peak("idle"), memory.peak("broadcast")
    section.rows += [
        Row(
            f"interactive p99 while a broadcast to {scale.applicants:,} is queued and sent",
            f"{p99:.3f} s, {missed} replies missing",
            "≤ 1.5 s, none missing",
            p99 <= 1.5 and missed == 0 and launched,
        ),
        Row(
            f"queueing a broadcast to {scale.applicants:,} (the real process)",
            f"{queued_at:.1f} s" if queued_at is not None else "not finished",
            "≤ 15 s",
            queued_at is not None and queued_at <= 15,
        ),
        Row(
            f"memory of `homebiz run` with {scale.applicants:,} applicants: idle; during the "
            "broadcast to all",
            f"{idle:.0f} MB; {during:.0f} MB",
            "≤ 150 MB",
            0 < idle <= 150 and 0 < during <= 150,
        ),
    ]
