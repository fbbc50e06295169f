"""A load balancer for tests: webhook posts forwarded to several replicas in turn.

Like a reverse proxy with passive health checks, it sends each POST to the next replica and,
when that replica does not answer (refused, reset, killed mid-request), to the one after it; the
platform sees the first real answer, or a 502 when none answered. Every post's replica is
recorded, so a test can check that one person's updates really alternated between processes.
"""

from __future__ import annotations

import json
from collections import Counter
from types import TracebackType

import aiohttp
from aiohttp import web

FORWARDED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")
UPSTREAM_TIMEOUT = 30.0


class RoundRobin:
    """An HTTP listener on 127.0.0.1 that forwards every request to ``upstreams`` in turn."""

    def __init__(self, upstreams: list[int], *, host: str = "127.0.0.1") -> None:
        """Forward to the given ports on ``host`` (the replicas' webhook listeners)."""
        self.upstreams = list(upstreams)
        self.host = host
        self.port = 0
        self.routed: list[tuple[int, int]] = []  # (update_id or -1, upstream port) answered
        self.failed_over: Counter[int] = Counter()  # upstream port -> posts it did not answer
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """The address to register as the webhook."""
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> RoundRobin:
        """Start listening on a free port."""
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = int(server.sockets[0].getsockname()[1])
        timeout = aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening."""
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def replicas_of(self, update_ids: set[int]) -> list[int]:
        """The upstream ports that answered these updates, in delivery order."""
        return [port for uid, port in self.routed if uid in update_ids]

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        """Send the request to the next replica that answers; its answer, or 502."""
        body = await request.read()
        headers = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers}
        update_id = _update_id(body)
        assert self._session is not None
        for _ in range(len(self.upstreams)):
            port = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            url = f"http://{self.host}:{port}{request.path_qs}"
            try:
                async with self._session.request(
                    request.method, url, data=body, headers=headers
                ) as answer:
                    text = await answer.read()
                    self.routed.append((update_id, port))
                    return web.Response(status=answer.status, body=text)
            except (TimeoutError, aiohttp.ClientError, OSError):
                self.failed_over[port] += 1
        return web.Response(status=502, text="no replica answered")


def _update_id(body: bytes) -> int:
    """The update_id of a posted update, or -1."""
    try:
        found = json.loads(body).get("update_id")
    except (ValueError, AttributeError):
        return -1
    return found if isinstance(found, int) else -1
