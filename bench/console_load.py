"""`homebiz run` with the staff console on, on the million-applicant database: people's replies
while staff hammer the console, beside the same chat with nobody on the console (same run).

The bot is the real process; the fake Bot API runs in its own process and times each person's
update to the bot's first visible reply. Staff sign in the way people do (/web, then the link)
and request the console's pages back to back, with no think time: harder than any office.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import httpx

from bench.apiserver import ApiServerProcess
from bench.broadcast import Chatter
from bench.common import TOKEN, Row, Scale, Section, ms, percentile
from bench.process import ADMIN, CHATTERS, PEOPLE, THINK, _chat
from tests.support import BotProcess, bot_env, free_port

STAFF_CLIENTS = 4  # desks requesting pages at the same time, back to back
LINK_RE = re.compile(r"(http://\S+/login/[A-Za-z0-9_-]+)")
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')
SEARCH = "POST q="  # a search is posted, as the page's form does (never in an address)


def pages(applicants: int) -> dict[str, list[str]]:
    """What staff open, by kind: the first few of each kind, cycled."""
    some = [applicants // 7, applicants // 3, applicants - 5]
    return {
        "overview": ["/overview"],
        "applicants": ["/applicants", "/applicants?county=karaj&stage=loan"],
        "search by mobile": [f"{SEARCH}0912{n % 10_000_000:07d}" for n in some],
        "search by name": [f"{SEARCH}Applicant {n}" for n in some],
        "person": [f"/applicants/{n}" for n in some],
        "tickets": ["/tickets?view=open"],
        "follow-ups": ["/followups"],
        "broadcasts": ["/broadcasts"],
        "loan list": ["/roster"],
        "audit log": ["/audit", "/audit?action=web_login"],
    }


async def _sign_in(api: ApiServerProcess, client: httpx.AsyncClient) -> str:
    """/web from the admin's chat, then the link's button (a POST with its token)."""
    admin = Chatter(api, ADMIN)
    await admin.act("text", "/web")
    messages = await api.control("messages", chat_id=ADMIN)
    found = next(LINK_RE.search(m["text"]) for m in reversed(messages) if "/login/" in m["text"])
    assert found is not None, "no login link"
    token = found.group(1).rsplit("/", 1)[1]
    response = await client.post("/login", data={"token": token})
    assert response.status_code == 303, response.status_code
    found_csrf = CSRF_RE.search((await client.get("/me")).text)
    assert found_csrf is not None, "no form token"
    return found_csrf.group(1)


async def _desk(
    client: httpx.AsyncClient,
    csrf: str,
    paths: dict[str, list[str]],
    until: float,
    times: dict[str, list],
) -> None:
    """Request every kind of page in turn, back to back, until ``until``."""
    turn = 0
    while time.monotonic() < until:
        for kind, options in paths.items():
            path = options[turn % len(options)]
            began = time.perf_counter()
            if path.startswith(SEARCH):
                form = {"q": path.removeprefix(SEARCH), "_csrf": csrf}
                response = await client.post("/applicants", data=form)
            else:
                response = await client.get(path)
            times.setdefault(kind, []).append(time.perf_counter() - began)
            if response.status_code != 200:
                times.setdefault(f"{kind} status {response.status_code}", []).append(0.0)
        turn += 1


async def _chatting(api: ApiServerProcess, first: int, window: float) -> tuple[int, list[str]]:
    """CHATTERS people onboarding for ``window`` seconds; (updates sent, missed replies)."""
    missed: list[str] = []
    until = time.monotonic() + window
    sent = await asyncio.gather(*(_chat(api, first + i, until, missed) for i in range(CHATTERS)))
    return sum(sent), missed


async def while_staff_work(db_path: Path, scale: Scale, workdir: Path, section: Section) -> None:
    """Chat alone, then chat while STAFF_CLIENTS desks request console pages."""
    window = max(scale.interactive_window / 2, 15.0)
    port = free_port()
    async with ApiServerProcess(first=1, count=0, strict=True, open_chats=True) as api:
        env = bot_env(
            db_path,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api.api_url,
            HOMEBIZ_ADMINS=f"telegram:{ADMIN}",
            HOMEBIZ_WEB_PORT=str(port),
        )
        async with BotProcess(env, workdir, "bench-console") as bot:
            await bot.wait_for(lambda: "serving" in bot.stderr, "the bot serving", timeout=120)
            await api.control("bench_latencies")
            alone_sent, alone_missed = await _chatting(api, PEOPLE + 10_000, window)
            alone = await api.control("bench_latencies")
            base = f"http://127.0.0.1:{port}"
            times: dict[str, list[float]] = {}
            clients = [
                httpx.AsyncClient(base_url=base, trust_env=False, timeout=30)
                for _ in range(STAFF_CLIENTS)
            ]
            try:
                csrfs = [await _sign_in(api, client) for client in clients]
                paths = pages(scale.applicants)
                for client in clients:  # warm: the overview's first computation is its own row
                    began = time.perf_counter()
                    await client.get("/overview")
                    times.setdefault("overview (first)", []).append(time.perf_counter() - began)
                until = time.monotonic() + window
                pairs = zip(clients, csrfs, strict=True)
                desks = [_desk(c, f, paths, until, times) for c, f in pairs]
                (busy_sent, busy_missed), *_ = await asyncio.gather(
                    _chatting(api, PEOPLE + 20_000, window), *desks
                )
            finally:
                for client in clients:
                    await client.aclose()
            busy = await api.control("bench_latencies")
            status = await bot.stop(signal.SIGTERM, timeout=60)
    p99_alone = percentile(alone, 99) if alone else float("nan")
    p99_busy = percentile(busy, 99) if busy else float("nan")
    section.line(
        f"the real `homebiz run` with HOMEBIZ_WEB_PORT on the {scale.applicants:,}-applicant "
        f"database, against the strict server; {CHATTERS} people onboarding (think time {THINK:g} "
        f"s) for {window:.0f} s with nobody on the console, then {window:.0f} s while "
        f"{STAFF_CLIENTS} signed-in desks request pages back to back; exit status {status}"
    )
    section.line(
        f"replies alone: {alone_sent} updates, {len(alone_missed)} missed, p50 "
        f"{ms(percentile(alone, 50)) if alone else '—'}, p99 {ms(p99_alone)}; with the console "
        f"busy: {busy_sent} updates, {len(busy_missed)} missed, p50 "
        f"{ms(percentile(busy, 50)) if busy else '—'}, p99 {ms(p99_busy)}"
    )
    for kind, values in times.items():
        if "status" in kind:
            section.line(f"{kind}: {len(values)} answers")
            continue
        section.line(
            f"console {kind}: {len(values)} requests, p50 {ms(percentile(values, 50))}, "
            f"p95 {ms(percentile(values, 95))}, max {ms(max(values))} (4 desks at once)"
        )
    section.rows.append(
        Row(
            "interactive p99 while staff use the console (beside: nobody on it)",
            f"{p99_busy:.3f} s (alone {p99_alone:.3f} s), {len(busy_missed)} missing",
            "≤ 1.5 s",
            p99_busy <= 1.5 and not busy_missed,
        )
    )
