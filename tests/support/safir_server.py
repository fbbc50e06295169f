"""A fake Bale Safir on 127.0.0.1 (aiohttp, in-process) for the client, the sender and the real
`homebiz run` process.

It answers ``POST /api/v3/send_message`` in the shapes docs.bale.ai/safir documents (see
bot/messengers/safir.py): ``{"message_id", "error_data": null}`` on success, and an
``error_data`` list of ``{"phone_number", "code", "description"}`` otherwise (17 NotBaleUser,
8 InvalidPhone, 4 InvalidInput, 3 RateLimitExceeded, 2 InternalServerError). It checks the
``api-access-key`` header, the body (bot_id, a 98… number, a text, link-only buttons as
documented), honours ``request_id`` (a repeated one gets the first answer and nothing is sent
again), answers 429 and 5xx on demand, can hold its answers back after delivering (so a test can
kill the sender between Safir's delivery and its commit), and records every delivery.

Where the documentation is silent the fake chooses, and the client must not depend on it: the
HTTP status of per-number errors (200 here), of InvalidInput (400) and of a refused key (401,
with no error_data).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

PHONE_RE = re.compile(r"^98\d{10}$")
LINK_KINDS = ("url", "web_app", "copy_text")


@dataclass(frozen=True)
class Delivery:
    """One message Safir delivered."""

    phone: str
    request_id: str | None
    text: str
    buttons: list[list[dict[str, Any]]]
    message_id: str


def _error(phone: Any, code: int, description: str) -> dict[str, Any]:
    """An answer with one ErrorInfo."""
    info = {"phone_number": str(phone or ""), "code": code, "description": description}
    return {"message_id": None, "error_data": [info]}


class SafirServer:
    """The fake service; ``url`` is its base URL (SAFIR_URL)."""

    def __init__(
        self, *, api_key: str, bot_id: int | None = None, not_on_bale: set[str] | None = None
    ) -> None:
        """Accept ``api_key`` (and, if given, only ``bot_id``); ``not_on_bale``: 98… numbers
        without a Bale account (every other valid number has one)."""
        self.api_key, self.bot_id = api_key, bot_id
        self.not_on_bale = set(not_on_bale or ())
        self.delivered: list[Delivery] = []
        self.statuses: Counter[int] = Counter()
        self.requests: Counter[str] = Counter()  # calls per request_id (repeats included)
        self.repeats = 0  # calls answered from an earlier request_id's answer
        self.held = 0  # answers held back right now
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._faults: deque[tuple[int, float | None]] = deque()
        self._hold = False
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- what a test controls -------------------------------------------------------------
    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None) -> None:
        """Answer the next ``times`` calls with ``status`` (429 or 5xx) and send nothing."""
        self._faults.extend([(status, retry_after)] * times)

    def hold_answers(self) -> None:
        """From now on, deliver and then keep the answer back until ``release``."""
        self._hold = True
        self._release.clear()

    def release(self) -> None:
        """Answer every held call and stop holding."""
        self._hold = False
        self._release.set()

    def deliveries_to(self, phone: str) -> int:
        """How many messages reached one number."""
        return sum(1 for d in self.delivered if d.phone == phone)

    # --- the service ----------------------------------------------------------------------
    async def _send(self, request: web.Request) -> web.Response:
        """POST /api/v3/send_message."""
        status, body, headers = await self._answer(request)
        self.statuses[status] += 1
        if isinstance(body, str):
            return web.Response(status=status, text=body, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _answer(
        self, request: web.Request
    ) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        """Status, body and headers for one call."""
        if request.headers.get("api-access-key") != self.api_key:
            return 401, {"message": "unauthorized"}, {}
        if self._faults:
            status, wait = self._faults.popleft()
            if status == 429:
                headers = {"Retry-After": f"{wait:g}"} if wait is not None else {}
                return 429, _error("", 3, "rate limit exceeded"), headers
            return status, "upstream unavailable", {}
        try:
            body = json.loads(await request.read())
        except ValueError:
            return 400, _error("", 4, "invalid json"), {}
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if isinstance(request_id, str) and request_id:
            self.requests[request_id] += 1
            if request_id in self._answers:
                self.repeats += 1
                status, answer = self._answers[request_id]
                return status, answer, {}
        status, answer = self._handle(body)
        if isinstance(request_id, str) and request_id and status < 500:
            self._answers[request_id] = (status, answer)
        if self._hold and answer.get("message_id"):
            self.held += 1
            try:
                await self._release.wait()
            finally:
                self.held -= 1
        return status, answer, {}

    def _handle(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Validate a request and deliver it (status, answer)."""
        if not isinstance(body, dict) or not isinstance(body.get("bot_id"), int):
            return 400, _error("", 4, "bot_id must be an integer")
        if self.bot_id is not None and body["bot_id"] != self.bot_id:
            return 400, _error("", 4, "unknown bot")
        phone = body.get("phone_number")
        message = (body.get("message_data") or {}).get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return 400, _error(phone, 4, "message_data.message.text is required")
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        for row in rows:
            for button in row:
                if not isinstance(button.get("text"), str) or not any(
                    button.get(kind) for kind in LINK_KINDS
                ):
                    return 400, _error(phone, 4, "a button needs url, web_app or copy_text")
        if not isinstance(phone, str) or not PHONE_RE.match(phone):
            return 200, _error(phone, 8, "invalid phone number")
        if phone in self.not_on_bale:
            return 200, _error(phone, 17, f"user {phone} is not a bale user")
        message_id = str(uuid.uuid4())
        self.delivered.append(
            Delivery(phone, body.get("request_id"), message["text"], rows, message_id)
        )
        return 200, {"message_id": message_id, "error_data": None}

    # --- start and stop -------------------------------------------------------------------
    async def __aenter__(self) -> SafirServer:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/api/v3/send_message", self._send)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Answer what is held and stop."""
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
