"""Bale Safir: send the Bale bot's message to a phone number, no /start needed.

What Bale's documentation (docs.bale.ai/safir, «سامانه ارسال پیام در بله (سفیر)», updated
1405/03/29) says, and this client relies on:

* ``POST https://safir.bale.ai/api/v3/send_message``, JSON, header ``api-access-key`` (the
  organisation's key from the Bale business panel). Body: ``bot_id`` (integer, the sending bot),
  ``phone_number`` (string, ``98`` and ten digits, nothing else: "0912…" or dashes are refused
  as an invalid number), ``message_data.message`` with ``text`` and an optional ``reply_markup``
  of ``inline_keyboard`` rows, and ``request_id`` (optional string): "if the same request_id is
  sent again, no duplicate message is sent"; recommended on every call.
* Inline buttons carry ``text`` and one of ``url``, ``web_app`` or ``copy_text``; no
  ``callback_data`` is documented, so every button this project sends through Safir is a link.
* The answer: ``{"message_id": "<string>", "error_data": null}`` on success; ``error_data`` is a
  list of ``{"phone_number", "code", "description"}``, one per number that failed. Codes:
  2 InternalServerError, 3 RateLimitExceeded, 4 InvalidInput, 8 InvalidPhone, 17 NotBaleUser
  ("the user has no Bale account"), 20 PaymentRequired, 21 MaximumContactLimitReached.

Where the documentation is silent, this client is conservative:

* The HTTP status of an answer with ``error_data`` is not given, so the codes decide whatever the
  status; 429 and any 5xx without codes are a rate limit and a passing server error.
* A wait is not documented for rate limits: a ``Retry-After`` header (or a ``retry_after`` in the
  body) is honoured when present, else ``RATE_LIMIT_WAIT`` seconds.
* An authentication failure's shape is not documented: 401 and 403 are taken as "the account
  cannot send" (like codes 20 and 21): sending pauses and is retried later, nothing is marked.
* What a repeated ``request_id`` answers is not documented; any success is taken as delivered.
  Unknown codes and unreadable 4xx answers fail the message (no retry); an unreadable 2xx is
  retried (safe: the same ``request_id`` cannot deliver twice).

No key, phone number or Safir description (which may name the number) ever reaches a log line or
an error text: results carry only codes and fixed words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

SAFIR_BASE = "https://safir.bale.ai"
SEND_PATH = "/api/v3/send_message"
TIMEOUT = 15.0  # seconds for one call, connecting included
RATE_LIMIT_WAIT = 30.0  # seconds to pause when Safir limits us without saying for how long
_PHONE_RE = re.compile(r"^\+?98(9\d{9})$")

# The documented error codes, by what the sender does with them.
INTERNAL, RATE_LIMITED, INVALID_INPUT, INVALID_PHONE, NOT_BALE_USER = 2, 3, 4, 8, 17
PAYMENT_REQUIRED, CONTACT_LIMIT = 20, 21
CODE_NAMES = {
    INTERNAL: "InternalServerError",
    RATE_LIMITED: "RateLimitExceeded",
    INVALID_INPUT: "InvalidInput",
    INVALID_PHONE: "InvalidPhone",
    NOT_BALE_USER: "NotBaleUser",
    PAYMENT_REQUIRED: "PaymentRequired",
    CONTACT_LIMIT: "MaximumContactLimitReached",
}

# Outcomes (SafirResult.outcome).
SENT = "sent"
NOT_ON_BALE = "not_on_bale"
BAD_NUMBER = "bad_number"
LIMITED = "rate_limited"
RETRY = "retry"
ACCOUNT = "account"
REJECTED = "rejected"


@dataclass(frozen=True)
class SafirResult:
    """What one send came to; ``reason`` is fixed words and codes, safe to log and store."""

    outcome: str
    reason: str = ""
    message_id: str | None = None
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        """Whether Safir took the message."""
        return self.outcome == SENT


def safir_phone(mobile: str) -> str:
    """A stored mobile (+989…) as Safir wants it: 98 and ten digits; ValueError otherwise."""
    match = _PHONE_RE.match(mobile.strip())
    if match is None:
        raise ValueError("not an Iranian mobile number in +989… form")
    return "98" + match.group(1)


def message_data(text: str, buttons: Sequence[Sequence[tuple[str, str]]] = ()) -> dict[str, Any]:
    """``message_data`` for a text with rows of (label, url) link buttons."""
    message: dict[str, Any] = {"text": text}
    rows = [[{"text": label, "url": url} for label, url in row] for row in buttons if row]
    if rows:
        message["reply_markup"] = {"inline_keyboard": rows}
    return {"message": message}


def _retry_after(headers: Mapping[str, str], body: Any) -> float | None:
    """Seconds to wait, from a Retry-After header or a retry_after in the body, if given."""
    raw: Any = headers.get("Retry-After")
    if raw is None and isinstance(body, dict):
        raw = body.get("retry_after") or (body.get("parameters") or {}).get("retry_after")
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= 86_400 else None


def _codes(body: Any) -> list[int]:
    """The error codes of an answer's error_data (descriptions are never kept)."""
    items = body.get("error_data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    codes = []
    for item in items:
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            codes.append(code)
        elif isinstance(code, str) and code.strip().isdigit():
            codes.append(int(code))
        else:
            codes.append(-1)  # an error without a readable code
    return codes


def _by_code(code: int, status: int, wait: float | None) -> SafirResult:
    """The outcome one documented (or unknown) error code means."""
    name = f"{CODE_NAMES.get(code, 'unknown code')} ({code}), HTTP {status}"
    if code == NOT_BALE_USER:
        return SafirResult(NOT_ON_BALE, name)
    if code == INVALID_PHONE:
        return SafirResult(BAD_NUMBER, name)
    if code == RATE_LIMITED:
        return SafirResult(LIMITED, name, retry_after=wait or RATE_LIMIT_WAIT)
    if code == INTERNAL:
        return SafirResult(RETRY, name)
    if code in (PAYMENT_REQUIRED, CONTACT_LIMIT):
        return SafirResult(ACCOUNT, name)
    return SafirResult(REJECTED, name)  # InvalidInput, or a code the documentation lacks


def classify(status: int, body: Any, headers: Mapping[str, str] | None = None) -> SafirResult:
    """What an HTTP answer means (pure: the tests feed it every documented shape)."""
    wait = _retry_after(headers or {}, body)
    codes = _codes(body)
    if codes:
        return _by_code(codes[0], status, wait)
    if status == 429:
        return SafirResult(LIMITED, "HTTP 429", retry_after=wait or RATE_LIMIT_WAIT)
    if status in (401, 403):
        return SafirResult(ACCOUNT, f"HTTP {status}: the api-access-key was refused")
    if status >= 500:
        return SafirResult(RETRY, f"HTTP {status}")
    if 200 <= status < 300:
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if isinstance(message_id, str | int) and str(message_id):
            return SafirResult(SENT, f"HTTP {status}", message_id=str(message_id))
        return SafirResult(RETRY, f"HTTP {status} without a message_id")
    return SafirResult(REJECTED, f"HTTP {status}")


class SafirClient:
    """One organisation's Safir account, one bot: ``send`` a message to a phone number."""

    def __init__(
        self, api_key: str, bot_id: int, *, url: str = SAFIR_BASE, timeout: float = TIMEOUT
    ) -> None:
        """Configure; the HTTP session opens on the first send."""
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/send_message") else base + SEND_PATH
        self.bot_id = bot_id
        self._headers = {"api-access-key": api_key, "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, phone: str, data: Mapping[str, Any], request_id: str) -> SafirResult:
        """Send ``data`` (see ``message_data``) to ``phone`` (98…); never raises for the network."""
        body = {
            "request_id": request_id,
            "bot_id": self.bot_id,
            "phone_number": phone,
            "message_data": data,
        }
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(trust_env=True, timeout=self._timeout)
        try:
            async with self._session.post(
                self.endpoint, data=json.dumps(body, ensure_ascii=False), headers=self._headers
            ) as answer:
                raw = await answer.read()
                status, headers = answer.status, dict(answer.headers)
        except TimeoutError:
            return SafirResult(RETRY, f"no answer within {self._timeout.total:g} s")
        except aiohttp.ClientError as exc:
            return SafirResult(RETRY, f"network: {type(exc).__name__}")
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return classify(status, parsed, headers)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
