"""Updates per second through the real Application, beside a bare PTB echo bot in the same run."""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.common import (
    FAKE_FILE_URL,
    FAKE_URL,
    LOGS,
    PLATFORM,
    TOKEN,
    USER_INSERT,
    DbTimer,
    GcWatch,
    Profiler,
    Row,
    Scale,
    Section,
    applicant,
    build_app,
    ms,
    open_services,
    percentile,
    population,
    seed_users,
)
from bot.entry.runner import settle_memory
from bot.entry.services import Services
from bot.messengers.fakeapi.client import ChatClient
from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.request import EmulatorRequest
from bot.messengers.pacer import Limits, Pacer
from bot.repo.outbox import OutboxRepo
from scheduler.outbox import OutboxSender
from scheduler.planner import Planner

COHORT_UPDATES = 17  # 9 onboarding + 5 step buttons + 3 check-in answers
ROUNDS = 5  # app and baseline alternate in this many chunks, so machine noise hits both
ACTIVE = 64  # people mid-conversation at once (their turns interleave)
FIRST_ID = 2_000_000  # user ids of the people driven (background applicants use 1..N)
TEXTS = {
    "fa": {
        "name": "زهرا احمدی",
        "county": "کرج",
        "field": "صنایع دستی و هنرهای سنتی",
        "stage": "فقط ایده دارم",
        "steps": "📋 مراحل مجوز",
    },
    "en": {
        "name": "Sara Moradi",
        "county": "Karaj",
        "field": "Handicrafts and traditional arts",
        "stage": "Only an idea",
        "steps": "📋 Permit steps",
    },
}


@dataclass
class Sink:
    """Per-update handling times, and what each update was (for the baseline to mirror)."""

    times: list[float] = field(default_factory=list)
    kinds: list[tuple[int, str, str]] = field(default_factory=list)  # (user, kind, text/data)
    labels: list[str] = field(default_factory=list)  # which step of which conversation


class TimedClient(ChatClient):
    """A ChatClient whose every update is timed: Update.de_json + Application.process_update."""

    sink: Sink

    async def _run(self, update: dict[str, Any]) -> list[Any]:
        """Process one update and record how long the Application took."""
        if "callback_query" in update:
            kind = ("cb", update["callback_query"]["data"])
        else:
            kind = ("msg", update["message"].get("text", ""))
        began = time.perf_counter()
        await self.app.process_update(Update.de_json(update, self.app.bot))
        self.sink.times.append(time.perf_counter() - began)
        self.sink.kinds.append((self.user_id, *kind))
        return []

    async def press_prefix(self, prefix: str, index: int = 0) -> None:
        """Press the ``index``-th inline button of the latest keyboard whose data has ``prefix``."""
        msg = self._inline_message()
        assert msg is not None, f"user {self.user_id}: no inline keyboard"
        found = [
            b["callback_data"]
            for b in msg.inline_buttons()
            if isinstance(b, dict) and str(b.get("callback_data", "")).startswith(prefix)
        ]
        assert found, f"user {self.user_id}: no button {prefix!r} in {msg.inline_buttons()}"
        await self.press_data(found[min(index, len(found) - 1)], msg.message_id)


async def onboarding(me: TimedClient, lang: str) -> AsyncIterator[None]:
    """/start → language → privacy → name → mobile → code → county → field → stage (9)."""
    words = TEXTS[lang]
    await me.send("/start")
    yield
    await me.press(f"lang:{lang}")
    yield
    await me.press("priv:yes")
    yield
    await me.send(words["name"])
    yield
    await me.send("0912 345 6789")
    yield
    await me.send("0013542419")
    yield
    await me.press(words["county"])
    yield
    await me.press(words["field"])
    yield
    await me.press(words["stage"])
    yield


async def step_buttons(me: TimedClient, lang: str) -> AsyncIterator[None]:
    """Menu → Permit steps, then Done, the list, a step card and Help (5)."""
    await me.send(TEXTS[lang]["steps"])
    yield
    await me.press_prefix("st:done:")
    yield
    await me.press_prefix("st:list")
    yield
    await me.press_prefix("st:show:", 2)
    yield
    await me.press_prefix("st:help:")
    yield


async def checkin_answers(me: TimedClient, lang: str) -> AsyncIterator[None]:
    """Operating → staff count → sales band, on the check-in the outbox delivered (3)."""
    await me.press_prefix("ci:", 0)
    yield
    await me.press_prefix("ci:", 1)
    yield
    await me.press_prefix("ci:", 2)
    yield


STEPS = {
    "onboarding": (
        "/start", "language", "privacy", "name", "mobile", "national code", "county", "field",
        "stage (profile done)",
    ),
    "step buttons": ("menu → steps", "done", "list", "show", "help"),
    "check-in": ("operating", "staff count", "sales band"),
}  # fmt: skip
Session = tuple[str, AsyncIterator[None], list[int]]  # (conversation, its steps, steps run)


class Workload:
    """Many people's conversations, interleaved, advanced a given number of updates at a time."""

    def __init__(self, sessions: list[Session], sink: Sink) -> None:
        """Queue the sessions; ACTIVE of them take turns at once."""
        self.sink = sink
        self.waiting = deque(sessions)
        self.active: deque[Session] = deque()

    async def run(self, count: int) -> int:
        """Advance ``count`` updates (fewer if the sessions run out); how many ran."""
        done = 0
        for _ in range(count * 2 + ACTIVE):  # each pass runs one update or retires a session
            if done >= count:
                break
            while len(self.active) < ACTIVE and self.waiting:
                self.active.append(self.waiting.popleft())
            if not self.active:
                break
            session = self.active.popleft()
            name, steps, step = session
            try:
                await steps.__anext__()
            except StopAsyncIteration:
                continue
            self.sink.labels.append(f"{name}: {STEPS[name][step[0]]}")
            step[0] += 1
            done += 1
            self.active.append(session)
        return done


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo a text."""
    assert update.message is not None
    await update.message.reply_text(update.message.text or "?")


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button."""
    assert update.callback_query is not None
    await update.callback_query.answer()


class Baseline:
    """A bare PTB Application: one echo MessageHandler and one answering CallbackQueryHandler."""

    def __init__(self) -> None:
        """Build it over its own emulator, through the same EmulatorRequest."""
        self.emulator = BotApiEmulator()
        self.app: Application = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(FAKE_URL)
            .base_file_url(FAKE_FILE_URL)
            .request(EmulatorRequest(self.emulator))
            .get_updates_request(EmulatorRequest(self.emulator))
            .updater(None)
            .job_queue(None)
            .build()
        )
        self.app.add_handler(MessageHandler(filters.TEXT, _echo))
        self.app.add_handler(CallbackQueryHandler(_answer))
        self.times: list[float] = []

    async def mirror(self, kinds: list[tuple[int, str, str]]) -> None:
        """Feed updates of the same kinds and texts as the app got, timing each the same way."""
        emu = self.emulator
        for user_id, kind, value in kinds:
            if user_id not in emu.users:
                emu.add_user(user_id, first_name="Test", language_code="fa")
            if kind == "msg":
                update = emu.user_text(user_id, value, enqueue=False)
            else:
                last = emu.last_bot_message(user_id)
                update = emu.user_press(
                    user_id, last.message_id if last else None, value, enqueue=False
                )
            began = time.perf_counter()
            await self.app.process_update(Update.de_json(update, self.app.bot))
            self.times.append(time.perf_counter() - began)


async def _seed(svc: Services, scale: Scale, cohorts: int) -> tuple[list[int], list[int]]:
    """Background applicants, plus the step-button and check-in people; their user ids."""
    pop = population(scale.background_users, 0, 0, 0, 0)
    await seed_users(svc.db, pop)
    steppers = [FIRST_ID + 3 * i + 1 for i in range(cohorts)]
    checkers = [FIRST_ID + 3 * i + 2 for i in range(cohorts)]
    rows = [
        applicant(uid, county="karaj", next_at=None, stage="idea", field="handicrafts")
        for uid in steppers
    ]
    rows += [
        applicant(uid, county="karaj", next_at=svc.clock.timestamp() - 60, field="handicrafts")
        for uid in checkers
    ]
    async with svc.db.transaction(slow=True) as conn:
        await conn.executemany(USER_INSERT, rows)
    return steppers, checkers


async def run(scale: Scale, workdir: Path) -> Section:
    """Measure the real Application against the baseline; return the report section."""
    section = Section("Updates through the real Application", "updates")
    print("\n== updates/s through the real Application ==", flush=True)
    profile_updates = min(1_000, scale.updates // 4)
    cohorts = (scale.updates + profile_updates) // COHORT_UPDATES + ACTIVE
    thresholds = gc.get_threshold()
    svc = await open_services(workdir / "updates.sqlite3")
    emulator = BotApiEmulator()
    app = build_app(svc, EmulatorRequest(emulator))
    await app.initialize()
    baseline = Baseline()
    await baseline.app.initialize()
    try:
        steppers, checkers = await _seed(svc, scale, cohorts)
        sink = Sink()
        sessions: list[Session] = []
        clients: list[TimedClient] = []
        for i in range(cohorts):
            lang = "en" if i % 3 == 0 else "fa"
            ids = (FIRST_ID + 3 * i, steppers[i], checkers[i])
            made = [TimedClient(app, emulator, uid, language_code=lang) for uid in ids]
            for client in made:
                client.sink = sink
            clients += made
            sessions += [
                ("onboarding", onboarding(made[0], lang), [0]),
                ("step buttons", step_buttons(made[1], lang), [0]),
                ("check-in", checkin_answers(made[2], lang), [0]),
            ]
        report = await Planner(svc, PLATFORM).sweep()
        sender = OutboxSender(
            app.bot, OutboxRepo(svc.db), PLATFORM, svc.clock,
            pacer=Pacer(Limits.unlimited()), concurrency=64, batch=500,
        )  # fmt: skip
        delivered = await sender.drain_once()
        section.line(
            f"setup: {scale.background_users:,} background applicants; {cohorts:,} onboarding, "
            f"{cohorts:,} step-button and {cohorts:,} check-in people; sweep opened "
            f"{report.checkins:,} rounds, outbox delivered {delivered:,} check-in questions"
        )
        workload = Workload(sessions, sink)
        errors_before = LOGS.errors()
        settle_memory()  # as `homebiz run` does once started
        chunk = scale.updates // ROUNDS
        app_wall = base_wall = 0.0
        app_calls, base_calls = len(emulator.calls), len(baseline.emulator.calls)
        app_gc, base_gc = GcWatch(), GcWatch()
        for _ in range(ROUNDS):
            mark = len(sink.times)
            app_gc.install()
            began = time.perf_counter()
            ran = await workload.run(chunk)
            app_wall += time.perf_counter() - began
            app_gc.remove()
            base_gc.install()
            began = time.perf_counter()
            await baseline.mirror(sink.kinds[mark : mark + ran])
            base_wall += time.perf_counter() - began
            base_gc.remove()
        errors = LOGS.errors() - errors_before
        times, base = sink.times, baseline.times
        app_calls = (len(emulator.calls) - app_calls) / len(times)
        base_calls = (len(baseline.emulator.calls) - base_calls) / len(base)
        rate = len(times) / sum(times)
        base_rate = len(base) / sum(base)
        p50, p99 = percentile(times, 50), percentile(times, 99)
        share = rate / base_rate
        mix = _mix(sink.kinds)
        section.line(
            f"app: {len(times):,} updates ({mix}); handling {rate:,.0f}/s, "
            f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(times))}; "
            f"wall incl. the simulated users {len(times) / app_wall:,.0f}/s; errors logged {errors}"
        )
        section.line(
            f"baseline (bare PTB echo + answer, same update kinds and texts): {len(base):,} "
            f"updates, {base_rate:,.0f}/s, p50 {ms(percentile(base, 50))}, "
            f"p99 {ms(percentile(base, 99))}; wall {len(base) / base_wall:,.0f}/s"
        )
        section.line("slowest steps (mean, p99, count): " + _slowest(sink, len(times)))
        section.line(
            f"garbage collector during the timed updates: app {app_gc.describe()}; "
            f"baseline {base_gc.describe()}"
        )
        section.line(
            f"Bot API calls per update: app {app_calls:.2f}, baseline {base_calls:.2f} "
            f"(each is a PTB request build + the emulator + a PTB object parse of the answer)"
        )
        # A separate, unreported pass: where the awaited time goes (database vs the rest).
        timer = DbTimer(svc.db)
        mark, t_mark = len(sink.kinds), len(sink.times)
        ran = await workload.run(profile_updates // 2)
        timer.remove()
        db_share = timer.seconds / max(1e-9, sum(sink.times[t_mark:]))
        section.line(
            f"database: {timer.calls / max(1, ran):.1f} awaited calls per update "
            f"({timer.hops / max(1, ran):.2f} of them handed to the worker thread), "
            f"{timer.seconds / max(1, ran) * 1000:.2f} ms per update "
            f"({db_share:.0%} of handling time)"
        )
        met_rate = rate >= 1000 and share >= 0.40
        section.rows.append(
            _row(
                "updates/s, realistic mix, one process", f"{rate:,.0f}/s", "≥ 1,000/s", rate >= 1000
            )
        )
        section.rows.append(
            _row(
                "… as a share of a bare PTB echo bot (same run)",
                f"{share:.0%} (echo {base_rate:,.0f}/s)",
                "≥ 40%",
                share >= 0.40,
            )
        )
        section.rows.append(_row("… p99 handling time per update", ms(p99), "≤ 5 ms", p99 <= 0.005))
        if errors:
            section.line(f"first errors: {LOGS.first_errors}")
        if not met_rate or p99 > 0.005:
            profiler = Profiler()
            with profiler:
                await workload.run(profile_updates // 2)
            section.profiles.append(
                (f"cProfile of {profile_updates // 2} more app updates (tottime)", profiler.top())
            )
            section.profiles.append(
                (
                    "the same profile, cumulative, bot code only (handlers, bot, scheduler)",
                    profiler.top(
                        sort="cumulative", only=r"/(handlers|scheduler)/|/bot/(?!fakeapi/)"
                    ),
                )
            )
        del clients
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        await baseline.app.shutdown()
        await app.shutdown()
        await svc.close()
    return section


def _slowest(sink: Sink, count: int, top: int = 5) -> str:
    """The ``top`` steps with the highest mean handling time among the first ``count``."""
    by_step: dict[str, list[float]] = {}
    for label, seconds in zip(sink.labels[:count], sink.times[:count], strict=True):
        by_step.setdefault(label, []).append(seconds)
    ranked = sorted(by_step.items(), key=lambda item: -sum(item[1]) / len(item[1]))
    return "; ".join(
        f"{label} {ms(sum(v) / len(v))}, {ms(percentile(v, 99))}, {len(v)}"
        for label, v in ranked[:top]
    )


def _mix(kinds: list[tuple[int, str, str]]) -> str:
    """Describe the update mix."""
    texts = sum(1 for _, kind, _ in kinds if kind == "msg")
    return f"{texts:,} messages, {len(kinds) - texts:,} button presses"


def _row(what: str, measured: str, target: str, met: bool) -> Row:
    """A table row."""
    return Row(what, measured, target, met)
