"""Our webhook listener (aiohttp): the secret is checked before the body is read, the body capped.

Telegram posts to ``/telegram`` with the secret in the ``X-Telegram-Bot-Api-Secret-Token``
header; Bale sends no such header, so there the secret is the URL path (``/<secret>``).
Every check that needs no body runs first, in this order, and a refusal closes the
connection without reading what the sender is still sending:

=========================================  ======
wrong path                                 404
wrong or missing secret header (Telegram)  403
not POST                                   405
not ``application/json`` (any parameters)  415
compressed body                            415
announced or actual body over the cap      413
body not complete within BODY_TIMEOUT      408
not JSON, not an object, not an update     400
an update                                  200, at once; it waits in ``app.update_queue``
=========================================  ======

With an update inbox (PostgreSQL: several replicas, see bot/messengers/update_inbox.py) an
update is stored and committed before the 200 instead (a redelivered update_id too is answered
200, and dropped); when it cannot be stored the answer is 503 and the platform sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import Counter
from typing import Any

from aiohttp import web
from telegram import Bot, Update
from telegram.ext import Application

from bot.core.logs import describe_error
from bot.messengers.update_inbox import UpdateInbox

log = logging.getLogger(__name__)

#: The largest body read. Updates carry file ids, never files: the biggest real update (a
#: 4,096-character message with entities, a reply and a keyboard) is well under 100 KiB.
MAX_UPDATE_BYTES = 1024 * 1024
#: Seconds a sender may take to deliver the body once the checks passed.
BODY_TIMEOUT = 10.0
#: Seconds an idle keep-alive connection stays open.
KEEPALIVE_TIMEOUT = 75.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(platform: str, secret: str) -> str:
    """The path updates are posted to: ``/telegram``, or ``/<secret>`` on Bale."""
    return f"/{secret}" if platform == "bale" else f"/{platform}"


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of two texts."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def _refuse(status: int, reason: str) -> web.Response:
    """A short plain answer that also closes the connection (the body is left unread)."""
    response = web.Response(status=status, text=reason)
    response.force_close()
    return response


class WebhookListener:
    """An HTTP listener that feeds checked updates into one Application's update queue, or
    into the update inbox shared by the replicas."""

    def __init__(
        self,
        app: Application,
        *,
        platform: str,
        secret: str,
        listen: str,
        port: int,
        max_body: int = MAX_UPDATE_BYTES,
        inbox: UpdateInbox | None = None,
    ) -> None:
        """Prepare (not start) a listener on ``listen:port`` for ``platform`` (``inbox``: store
        updates there instead of queueing them in memory)."""
        self.app = app
        self.inbox = inbox
        self.platform = platform
        self.secret = secret
        self.listen = listen
        self.port = port
        self.max_body = max_body
        self.path = webhook_path(platform, secret)
        self.answered: Counter[int] = Counter()
        self._runner: web.ServerRunner | None = None

    async def start(self) -> None:
        """Bind and serve; raises OSError when the address cannot be bound."""
        server = web.Server(
            self.handle,
            access_log=None,  # the Bale secret is the path: no request line is ever logged
            lingering_time=0,  # after a refusal, close instead of draining the sender's body
            auto_decompress=False,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
        )
        runner = web.ServerRunner(server, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Check, read and queue one posted update."""
        response = await self._answer(request)
        self.answered[response.status] += 1
        if response.status != 200:
            log.debug("%s webhook: refused with %d", self.platform, response.status)
        return response

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        """Every check in order; the body is read only once the rest passed."""
        if not _same(request.path, self.path):
            return _refuse(404, "Not Found")
        if self.platform != "bale" and not _same(
            request.headers.get(SECRET_HEADER, ""), self.secret
        ):
            return _refuse(403, "Forbidden")
        if request.method != "POST":
            response = _refuse(405, "Method Not Allowed")
            response.headers["Allow"] = "POST"
            return response
        if (
            "Content-Type" not in request.headers
            or request.content_type != "application/json"
            or request.headers.get("Content-Encoding", "identity").lower() != "identity"
        ):
            return _refuse(415, "Unsupported Media Type")
        if (request.content_length or 0) > self.max_body:
            return _refuse(413, "Payload Too Large")
        try:
            async with asyncio.timeout(BODY_TIMEOUT):
                body = await self._read_body(request)
        except TimeoutError:
            return _refuse(408, "Request Timeout")
        if body is None:
            return _refuse(413, "Payload Too Large")
        parsed = self._parse(body)
        if parsed is None:
            return web.Response(status=400, text="Bad Request")
        update, data = parsed
        if self.inbox is None:
            await self.app.update_queue.put(update)
            return web.Response(status=200)
        try:
            await self.inbox.store(update, data)
        except Exception as exc:  # not stored: no 200, so the platform sends it again
            log.warning("%s webhook: update not stored (%s)", self.platform, describe_error(exc))
            return web.Response(status=503, text="Service Unavailable")
        return web.Response(status=200)

    async def _read_body(self, request: web.BaseRequest) -> bytes | None:
        """The body, or None as soon as it grows past the cap (the rest is never read)."""
        body = bytearray()
        while chunk := await request.content.readany():
            body += chunk
            if len(body) > self.max_body:
                return None
        return bytes(body)

    def _parse(self, body: bytes) -> tuple[Update, dict[str, Any]] | None:
        """The update in a JSON body (and the JSON object), or None when it is not one."""
        try:
            data = json.loads(body)
        except ValueError:  # not JSON, or not UTF-8/16/32 text
            return None
        if not isinstance(data, dict):
            return None
        try:
            return Update.de_json(data, self.app.bot), data
        except Exception:  # any shape PTB cannot read is the sender's mistake, not ours
            return None


async def register_webhook(bot: Bot, platform: str, base_url: str, secret: str) -> str:
    """setWebhook for our listener's path; the URL registered.

    Telegram gets ``secret_token`` (it sends it back in the header). Bale has no such
    parameter and ``allowed_updates`` is undocumented there, so neither is sent to Bale.
    """
    url = base_url.rstrip("/") + webhook_path(platform, secret)
    if platform == "bale":
        await bot.set_webhook(url=url)
    else:
        await bot.set_webhook(url=url, secret_token=secret)
    return url


async def stop_quietly(listener: WebhookListener | None) -> None:
    """Stop a listener, whatever state it reached."""
    if listener is not None:
        with contextlib.suppress(Exception):
            await listener.stop()
