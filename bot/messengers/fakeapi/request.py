"""A python-telegram-bot request backend that talks to an in-process BotApiEmulator."""

from __future__ import annotations

import asyncio
import json
import os
from typing import IO, Any
from urllib.parse import urlsplit

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.model import UploadedFile


def _uploaded(field: tuple[str, bytes | IO[bytes], str]) -> UploadedFile:
    """Describe one multipart field tuple ``(filename, content, mimetype)``."""
    filename, content, _mimetype = field
    if isinstance(content, bytes | bytearray):
        return UploadedFile(filename=filename, size=len(content), content=bytes(content))
    try:
        size = os.fstat(content.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        position = content.tell()
        size = content.seek(0, os.SEEK_END) - position
        content.seek(position)
    return UploadedFile(filename=filename, size=size)


class EmulatorRequest(BaseRequest):
    """Routes every Bot API call PTB makes to ``emulator.handle``; no network involved."""

    def __init__(self, emulator: BotApiEmulator, *, latency: float = 0.0) -> None:
        """Wrap ``emulator``; ``latency`` seconds are awaited before each answer."""
        self.emulator = emulator
        self.latency = latency
        self.initialized = False

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; irrelevant in-process, so ``None``."""
        return None

    async def initialize(self) -> None:
        """Nothing to set up; remember that PTB asked."""
        self.initialized = True

    async def shutdown(self) -> None:
        """Nothing to release."""
        self.initialized = False

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer a POST with ``emulator.handle`` and a file GET with the file's bytes."""
        if self.latency:
            await asyncio.sleep(self.latency)
        path = urlsplit(url).path
        if method == "GET" and "/file/" in path:
            file_path = path.split("/file/", 1)[1].split("/", 1)[-1]
            content = self.emulator.file_content(file_path)
            if content is None:
                return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
            return 200, content
        api_method = path.rstrip("/").rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(request_data.json_parameters) if request_data else {}
        files = {
            name: _uploaded(field)
            for name, field in (request_data.multipart_data if request_data else {}).items()
        }
        status, body = self.emulator.handle(api_method, params, files)
        return status, json.dumps(body, ensure_ascii=False).encode("utf-8")
