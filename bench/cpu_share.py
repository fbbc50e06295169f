"""Where the machine's CPU goes while a benchmark runs: processes by pid (/proc), the
PostgreSQL backends of one application_name, and the machine as a whole (/proc/stat)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import asyncpg


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every core, /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def backends(url: str, app_name: str) -> Callable[[], Awaitable[list[int]]]:
    """A function listing the process ids of the PostgreSQL backends whose connections say
    ``application_name`` app_name (the replicas')."""

    async def pids() -> list[int]:
        """The backends' pids now (pg_stat_activity, by the replicas' application_name)."""
        conn = await asyncpg.connect(url, timeout=10)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app_name
            )
        finally:
            await conn.close()
        return [int(r["pid"]) for r in rows]

    return pids


async def cpu_share(
    pids: dict[str, list[int]],
    backends: Callable[[], Awaitable[list[int]]] | None,
    warm: float,
    window: float,
) -> str:
    """Where the machine's CPU went in the measured window: each group's cores busy, the
    replicas' PostgreSQL backends (when on PostgreSQL and visible in /proc), and the rest (the
    server's own processes, and whatever else runs on the machine)."""
    await asyncio.sleep(warm)
    first = await backends() if backends else []
    began = {p: _cpu_of(p) for p in first}
    groups = {name: sum(_cpu_of(p) for p in group) for name, group in pids.items()}
    machine = _machine_busy()
    await asyncio.sleep(window)
    used = {
        name: (sum(_cpu_of(p) for p in group) - groups[name]) / window
        for name, group in pids.items()
    }
    if backends is not None:
        last = await backends()
        seen = [p for p in {*first, *last} if os.path.exists(f"/proc/{p}")]
        if seen:
            used["PostgreSQL backends"] = sum(_cpu_of(p) - began.get(p, 0.0) for p in seen) / window
    busy = (_machine_busy() - machine) / window
    rest = busy - sum(used.values())
    parts = [f"{name} {value:.2f}" for name, value in used.items()]
    return (
        f"cores busy in the window: {', '.join(parts)}, the rest (other work on the machine"
        f"{'' if 'PostgreSQL backends' in used else ', PostgreSQL'}) {rest:.2f}; the machine "
        f"{busy:.2f} of {os.cpu_count()}"
    )
