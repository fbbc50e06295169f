"""Files uploaded in the console, sent by the outbox: the first row of a messenger uploads the
bytes, its answer gives the file id, and every later row sends that id.

While the first upload of a file is under way the other rows carrying it wait for it (one lock per
file), so a broadcast to thousands uploads its photo once per messenger, not thousands of times.
If the upload fails (that person blocked the bot, say), the next row tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InputFile
from telegram.error import BadRequest

from bot.repo.broadcast_files import BroadcastFileRepo, stored_id

log = logging.getLogger(__name__)
Send = Callable[[Any], Awaitable[Any]]


def _given_id(result: Any, field: str) -> str | None:
    """The file id in a sendPhoto/sendDocument answer (the largest size of a photo)."""
    if not isinstance(result, dict):
        return None
    found = result.get(field)
    if field == "photo" and isinstance(found, list) and found:
        found = found[-1]
    value = found.get("file_id") if isinstance(found, dict) else None
    return value if isinstance(value, str) and value else None


class StoredFiles:
    """One messenger's view of the stored files: their ids there, uploading when none yet."""

    def __init__(self, repo: BroadcastFileRepo, platform: str) -> None:
        """Resolve files for ``platform``."""
        self.repo, self.platform = repo, platform
        self.known: dict[int, str] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    @staticmethod
    def holds(value: object) -> bool:
        """Whether a payload's photo/document names a stored file."""
        return stored_id(value) is not None

    async def send(self, value: str, field: str, send: Send) -> Any:
        """Call ``send(file)`` with the file's id on this messenger, or with its bytes the first
        time (remembering the id the answer gives); the call's answer."""
        pk = stored_id(value)
        assert pk is not None
        if pk in self.known:
            return await send(self.known[pk])
        async with self._locks.setdefault(pk, asyncio.Lock()):
            if pk not in self.known:
                found = await self.repo.file_id(pk, self.platform)
                if found is not None:
                    self.known[pk] = found
            if pk in self.known:
                return await send(self.known[pk])
            meta, data = await self.repo.get(pk), await self.repo.data(pk)
            if meta is None or data is None:
                raise BadRequest("stored file not found")
            result = await send(InputFile(data, filename=meta.name))
            given = _given_id(result, field)
            if given is not None:
                self.known[pk] = given
                try:
                    await self.repo.remember(pk, self.platform, given)
                except Exception:  # kept in memory: this sender still sends by id
                    log.warning("%s: stored file %d: its id was not saved", self.platform, pk)
            return result
