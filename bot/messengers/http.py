"""python-telegram-bot's HTTP layer on aiohttp: the same requests, a fraction of the CPU.

PTB's own backend (httpx) spent about 1–2 ms of CPU per request here, which capped one process
at a few hundred messages a second whatever the limits; aiohttp, already our web server, needs
a fraction of that. This is PTB's documented extension point (a BaseRequest): PTB still builds
every request and reads every answer; only the transport changes. Requests go as a form (or
multipart with files), exactly as PTB's own backend sends them.
"""

from __future__ import annotations

from typing import IO, Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

USER_AGENT = "homebiz-bot (python-telegram-bot; aiohttp)"


class AiohttpRequest(BaseRequest):
    """A BaseRequest over one aiohttp session with a pool of keep-alive connections."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 64,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        """Configure; the session opens in ``initialize``."""
        self._pool_size = connection_pool_size
        self._read, self._write, self._connect = read_timeout, write_timeout, connect_timeout
        self._pool, self._media_write = pool_timeout, media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to a long poll's own timeout)."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (proxies from the environment apply, as with PTB's backend)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=True, headers={"User-Agent": USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One request; (HTTP status, body). Transport failures become PTB's errors."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = write_timeout
        if isinstance(write, DefaultValue):
            write = self._media_write if files else self._write
        total = None if read is None or write is None else read + write + (connect or 0)
        waiting = None if pool is None or connect is None else pool + connect
        timeout = aiohttp.ClientTimeout(
            total=total, connect=waiting, sock_connect=connect, sock_read=read
        )
        body: Any = _multipart(fields or {}, files) if files else fields
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes | IO[bytes], str]]
) -> aiohttp.FormData:
    """A multipart body: the parameters, then each file part."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        data = content if isinstance(content, bytes | bytearray) else content.read()
        form.add_field(name, bytes(data), filename=filename, content_type=mimetype)
    return form
