"""Figures of earlier code measured on this machine, for the before-and-after lines of the report.

Each entry says which commit was measured, when, and with what command, so anyone can take it
again: check the commit out in a worktree of its own (with its own virtual environment) and run
the same command there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Before:
    """One figure of earlier code."""

    what: str
    measured: str
    commit: str
    date: str
    command: str


UPDATES_COMMAND = (
    "python -c 'import asyncio, tempfile, pathlib; from bench import updates; "
    "from bench.common import FULL, setup_logging; setup_logging(); "
    "asyncio.run(updates.run(FULL, pathlib.Path(tempfile.mkdtemp())))'"
)

BEFORE = [
    Before(
        "updates/s, realistic mix (issue 8, before)",
        "563/s; 18% of the echo bot (3,108/s); p99 3.47 ms; max 238 ms; "
        "1.71 Bot API calls per update; database 0.74 ms per update (3.8 thread hand-offs)",
        "7b1e774",
        "2026-12-07",
        UPDATES_COMMAND,
    ),
]


def lines() -> list[str]:
    """The before-and-after lines of the report."""
    return [
        f"{b.what}: {b.measured} — measured {b.date} on this machine at commit {b.commit} "
        f"with `{b.command}`"
        for b in BEFORE
    ]
