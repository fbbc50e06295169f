"""Different people's updates at once, each person's (or group's) strictly in arrival order.

A reply that waits for its chat's flood limit must not hold everybody else's updates, so PTB
hands us many updates concurrently. PTB starts one task per update in arrival order and lets each
through its semaphore in that order (asyncio's semaphore is first come, first served); the chain
below is extended before anything yields, so the n-th update of a chat always waits for its
(n-1)-th to finish, whatever happens to the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT = 512  # updates admitted at once (those waiting behind their chat's turn included)


def order_key(update: object) -> int | None:
    """Whose turn this is: the chat for messages and buttons, else the person; None: no order."""
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    user = update.effective_user
    return user.id if user is not None else None


class PersonOrderedProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently and those of one chat one after another."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        """Allow up to ``max_concurrent_updates`` updates in progress or waiting their turn."""
        super().__init__(max_concurrent_updates)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the same chat's previous update, then process this one."""
        key = order_key(update)
        if key is None:
            await coroutine
            return
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        try:
            if previous is not None:
                try:
                    await asyncio.wait({previous})
                except asyncio.CancelledError:
                    _close(coroutine)  # never started: don't leave it "never awaited"
                    raise
            await coroutine
        finally:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close: the Application waits for every update it handed out."""


def _close(coroutine: Awaitable[Any]) -> None:
    """Close a coroutine that will never run."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
