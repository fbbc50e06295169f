"""An HTTP/1.1 Bot API server on 127.0.0.1 that serves a BotApiEmulator to real bot processes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import signal
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tornado.httputil import HTTPFile, parse_body_arguments

from bot.messengers.fakeapi.emulator import BotApiEmulator
from bot.messengers.fakeapi.flood import FloodRules
from bot.messengers.fakeapi.model import UploadedFile
from bot.messengers.fakeapi.params import decode_params

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
METHOD_PATH_RE = re.compile(r"/bot([^/]+)/([A-Za-z0-9_]+)/?")
FILE_PATH_RE = re.compile(r"/file/bot([^/]+)/(.+)")
CONTROL_PATH_RE = re.compile(r"/_control/([a-z_]+)/?")
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
MAX_REQUESTS_PER_CONNECTION = 1_000_000
MAX_POLL_TIMEOUT = 50.0
MAX_POLL_ROUNDS = 10_000
WEBHOOK_IDLE_WAIT = 0.5
WEBHOOK_IO_TIMEOUT = 10.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UNAUTHORIZED: dict[str, Any] = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND: dict[str, Any] = {"ok": False, "error_code": 404, "description": "Not Found"}
USER_ACTIONS = frozenset(
    {
        "add_user",
        "user_text",
        "user_press",
        "user_contact",
        "user_sticker",
        "user_photo",
        "user_voice",
        "user_document",
        "user_location",
        "user_edit",
    }
)
FAULTS = ("global_rate", "per_chat_rate", "rate_burst", "error_rate")


class BadHttpRequest(Exception):
    """The bytes on a connection are not an HTTP/1.x request this server can read."""


@dataclass
class HttpRequest:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass
class HttpResponse:
    """One HTTP answer: status, body bytes and content type."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, status: int, payload: Any) -> HttpResponse:
        """A JSON answer."""
        return cls(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


@dataclass
class BotState:
    """What the server keeps per emulator besides the emulator itself: the webhook."""

    emulator: BotApiEmulator
    webhook_secret: str | None = None
    webhook_task: asyncio.Future[None] | None = None


class _Stream:
    """A buffered reader over a StreamReader that can watch for disconnects between requests."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        """Wrap ``reader`` with an empty buffer."""
        self.reader = reader
        self.buffer = bytearray()

    async def fill(self) -> bool:
        """Read more bytes into the buffer; False when the peer closed or reset."""
        try:
            chunk = await self.reader.read(65536)
        except (ConnectionError, OSError):
            return False
        self.buffer += chunk
        return bool(chunk)

    async def read_until(self, separator: bytes, limit: int) -> bytes | None:
        """Return bytes up to and including ``separator``; None on a clean EOF before any."""
        for _ in range(limit + 2):  # every fill adds at least one byte
            index = self.buffer.find(separator)
            if index >= 0:
                data = bytes(self.buffer[: index + len(separator)])
                del self.buffer[: index + len(separator)]
                return data
            if len(self.buffer) > limit:
                raise BadHttpRequest("header section too large")
            if not await self.fill():
                if self.buffer:
                    raise BadHttpRequest("connection closed inside a request")
                return None
        raise BadHttpRequest("header section too large")

    async def read_exactly(self, size: int) -> bytes:
        """Return exactly ``size`` bytes."""
        for _ in range(size + 2):  # every fill adds at least one byte
            if len(self.buffer) >= size:
                break
            if not await self.fill():
                raise BadHttpRequest("connection closed inside a body")
        if len(self.buffer) < size:
            raise BadHttpRequest("body shorter than announced")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def read_chunked(self) -> bytes:
        """Return a chunked body, decoded."""
        body = bytearray()
        for _ in range(MAX_BODY // 16 + 1):
            line = await self.read_until(b"\r\n", 1024)
            if line is None:
                raise BadHttpRequest("connection closed inside a chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise BadHttpRequest("bad chunk size") from None
            if size == 0:
                await self.read_until(b"\r\n", MAX_HEAD)  # trailers end with an empty line
                return bytes(body)
            body += await self.read_exactly(size)
            await self.read_exactly(2)
            if len(body) > MAX_BODY:
                raise BadHttpRequest("body too large")
        raise BadHttpRequest("too many chunks")

    async def read_request(self) -> HttpRequest | None:
        """Parse the next request; None when the client closed the connection cleanly."""
        head = await self.read_until(b"\r\n\r\n", MAX_HEAD)
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            raise BadHttpRequest(f"bad request line {lines[0]!r}") from None
        headers: dict[str, str] = {}
        for line in filter(None, lines[1:]):
            name, sep, value = line.partition(":")
            if not sep:
                raise BadHttpRequest(f"bad header line {line!r}")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self.read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                raise BadHttpRequest("bad Content-Length") from None
            if not 0 <= length <= MAX_BODY:
                raise BadHttpRequest("bad Content-Length")
            body = await self.read_exactly(length)
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        parts = urlsplit(target)
        return HttpRequest(
            method=method.upper(),
            path=unquote(parts.path),
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            keep_alive=keep_alive,
        )


def _encode_response(response: HttpResponse, keep_alive: bool) -> bytes:
    """Serialise an answer as HTTP/1.1 bytes."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "Server: homebiz-fake-botapi\r\n\r\n"
    )
    return head.encode("latin-1") + response.body


def decode_body(request: HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode query string and body (JSON, urlencoded or multipart) into params and uploads."""
    params: dict[str, Any] = dict(request.query)
    uploads: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if not request.body:
        return params, uploads
    if kind == "application/json":
        payload = json.loads(request.body.decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("a JSON body must be an object")
        params.update(payload)
    elif kind == "multipart/form-data":
        arguments: dict[str, list[bytes]] = {}
        files: dict[str, list[HTTPFile]] = {}
        parse_body_arguments(content_type, request.body, arguments, files)
        if not arguments and not files:
            raise ValueError("no parts in the multipart body")
        params.update({k: v[-1].decode("utf-8") for k, v in arguments.items()})
        for name, parts in files.items():
            part = parts[-1]
            uploads[name] = UploadedFile(
                filename=part.filename or None, size=len(part.body), content=bytes(part.body)
            )
    else:  # PTB's HTTPXRequest posts ``data=`` as application/x-www-form-urlencoded
        text = request.body.decode("utf-8")
        params.update(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    return params, uploads


class BotApiServer:
    """The Bot API over HTTP on 127.0.0.1, backed by one emulator per token (or one for all)."""

    def __init__(
        self,
        emulator: BotApiEmulator | Mapping[str, BotApiEmulator],
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
        webhook_retries: int = 5,
        webhook_retry_delay: float = 0.2,
        control: bool = True,
    ) -> None:
        """Serve ``emulator`` for ``token`` (any token-shaped string if None), or a token map."""
        if isinstance(emulator, BotApiEmulator):
            self._default: BotApiEmulator | None = emulator if token is None else None
            emulators = {token: emulator} if token is not None else {}
        else:
            self._default, emulators = None, dict(emulator)
        self._states: dict[int, BotState] = {}
        self._tokens: dict[str, BotState] = {t: self._state(e) for t, e in emulators.items()}
        if self._default is not None:
            self._state(self._default)
        self.host = host
        self.port = port
        self.latency = latency
        self.drop_rate = drop_rate
        self.rng = random.Random(seed)
        self.webhook_retries = webhook_retries
        self.webhook_retry_delay = webhook_retry_delay
        self.control = control
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.dropped = 0
        self.unauthorized = 0
        self.webhook_statuses: list[int] = []
        self.webhook_deliveries: list[tuple[int, int]] = []
        self.webhook_failed: list[int] = []
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False

    # --- lifecycle ------------------------------------------------------------------------
    async def __aenter__(self) -> BotApiServer:
        """Start listening."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop listening and drop every connection and webhook sender."""
        await self.close()

    async def start(self) -> None:
        """Bind the listening socket; ``port=0`` picks a free port."""
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop serving, cancel connection handlers and webhook senders."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        tasks: list[asyncio.Future[None]] = [*self._connections]
        tasks += [s.webhook_task for s in self._states.values() if s.webhook_task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    @property
    def api_url(self) -> str:
        """The base URL a bot library needs (``…/bot``; the token and method follow)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def file_url(self) -> str:
        """The base URL of file downloads (``…/file/bot``)."""
        return f"http://{self.host}:{self.port}/file/bot"

    def emulator_for(self, token: str) -> BotApiEmulator | None:
        """The emulator serving ``token``, or None when the token is unknown (401)."""
        state = self._lookup(token)
        return state.emulator if state else None

    def webhook_secret(self, token: str | None = None) -> str | None:
        """The secret_token the bot passed to setWebhook (for the one emulator by default)."""
        state = self._lookup(token) if token else self._only_state()
        return state.webhook_secret if state else None

    # --- internals: routing ------------------------------------------------------------------
    def _state(self, emulator: BotApiEmulator) -> BotState:
        """The BotState of an emulator, created on first use."""
        state = self._states.get(id(emulator))
        if state is None:
            state = self._states[id(emulator)] = BotState(emulator)
        return state

    def _lookup(self, token: str) -> BotState | None:
        """The state serving ``token``."""
        if token in self._tokens:
            return self._tokens[token]
        if self._default is not None and TOKEN_RE.fullmatch(token):
            return self._state(self._default)
        return None

    def _only_state(self) -> BotState | None:
        """The state when exactly one emulator is served."""
        return next(iter(self._states.values())) if len(self._states) == 1 else None

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one keep-alive connection, tracked so ``close`` can cancel it."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve(_Stream(reader), writer)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, stream: _Stream, writer: asyncio.StreamWriter) -> None:
        """Read requests and write answers until the client or a fault closes the connection."""
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            try:
                request = await stream.read_request()
            except BadHttpRequest as exc:
                answer = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
                writer.write(_encode_response(HttpResponse.of_json(400, answer), False))
                await writer.drain()
                return
            if request is None:
                return
            response = await self._answer_unless_gone(request, stream)
            if response is None:
                return
            self.statuses[response.status] += 1
            writer.write(_encode_response(response, request.keep_alive))
            await writer.drain()
            if not request.keep_alive:
                return

    async def _answer_unless_gone(
        self, request: HttpRequest, stream: _Stream
    ) -> HttpResponse | None:
        """Answer ``request``; None if it is dropped or the client disconnects while waiting."""
        work = asyncio.ensure_future(self._respond(request))
        watch: asyncio.Future[bool] | None = None
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                if len(stream.buffer) > MAX_BODY:  # a client pipelining a lot: stop watching
                    await asyncio.wait({work})
                    return _result(work)
                watch = asyncio.ensure_future(stream.fill())
                await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
                if work.done():
                    return _result(work)
                if not watch.result():  # the client went away (long poll abandoned, kill -9…)
                    return None
            await work
            return _result(work)
        finally:
            for future in (work, watch):
                if future is not None and not future.done():
                    future.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await future

    async def _respond(self, request: HttpRequest) -> HttpResponse | None:
        """Route a request: Bot API method, file download or control endpoint."""
        if self.drop_rate and self.rng.random() < self.drop_rate:
            self.dropped += 1
            return None
        if self.latency:
            await asyncio.sleep(self.latency)
        if match := METHOD_PATH_RE.fullmatch(request.path):
            return await self._method(match.group(1), match.group(2), request)
        if match := FILE_PATH_RE.fullmatch(request.path):
            return self._file(match.group(1), match.group(2))
        if self.control and (match := CONTROL_PATH_RE.fullmatch(request.path)):
            return self._control(match.group(1), request)
        return HttpResponse.of_json(404, NOT_FOUND)

    def _file(self, token: str, file_path: str) -> HttpResponse:
        """A file download."""
        state = self._lookup(token)
        if state is None:
            self.unauthorized += 1
            return HttpResponse.of_json(401, UNAUTHORIZED)
        content = state.emulator.file_content(file_path)
        if content is None:
            return HttpResponse.of_json(404, NOT_FOUND)
        return HttpResponse(200, content, "application/octet-stream")

    async def _method(self, token: str, method: str, request: HttpRequest) -> HttpResponse:
        """One Bot API method call."""
        self.requests[method] += 1
        state = self._lookup(token)
        if state is None:
            self.unauthorized += 1
            return HttpResponse.of_json(401, UNAUTHORIZED)
        try:
            params, uploads = decode_body(request)
        except (ValueError, UnicodeDecodeError) as exc:
            answer = {"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}
            return HttpResponse.of_json(400, answer)
        key = method.lower()
        if key == "getupdates":
            return await self._get_updates(state, params)
        if key == "setwebhook":
            return self._set_webhook(state, method, params)
        status, body = state.emulator.handle(method, params, uploads)
        if key == "deletewebhook" and status == 200:
            self._webhook_off(state)
        return HttpResponse.of_json(status, body)

    async def _get_updates(self, state: BotState, params: dict[str, Any]) -> HttpResponse:
        """getUpdates with true long polling: wait up to ``timeout`` seconds for an update."""
        try:
            timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        except (TypeError, ValueError):
            timeout = 0.0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        status, body = state.emulator.handle("getUpdates", params)
        for _ in range(MAX_POLL_ROUNDS):
            remaining = deadline - loop.time()
            if status != 200 or body.get("result") or remaining <= 0:
                break
            if await state.emulator.wait_for_updates(remaining):
                status, body = state.emulator.handle("getUpdates", params)
        return HttpResponse.of_json(status, body)

    # --- webhooks ----------------------------------------------------------------------------
    def _set_webhook(self, state: BotState, method: str, params: dict[str, Any]) -> HttpResponse:
        """setWebhook; unlike Telegram, plain http URLs are accepted so tests stay on loopback."""
        emulator = state.emulator
        decoded = decode_params(params)
        emulator.calls.append((method, dict(decoded)))
        url = str(decoded.get("url") or "")
        secret = decoded.get("secret_token")
        error = None
        if url and not url.startswith(("http://", "https://")):
            error = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
        elif secret is not None and not SECRET_RE.fullmatch(str(secret)):
            error = "Bad Request: secret token contains unallowed characters"
        if error:
            emulator.errors.append((method, 400, error))
            return HttpResponse.of_json(400, {"ok": False, "error_code": 400, "description": error})
        if decoded.get("drop_pending_updates"):
            emulator.confirm_updates(emulator.next_update_id)
        if not url:
            self._webhook_off(state)
            return HttpResponse.of_json(200, _webhook_answer("Webhook was deleted"))
        emulator.webhook_url = url
        state.webhook_secret = None if secret is None else str(secret)
        if state.webhook_task is None or state.webhook_task.done():
            state.webhook_task = asyncio.ensure_future(self._deliver(state))
        return HttpResponse.of_json(200, _webhook_answer("Webhook was set"))

    def _webhook_off(self, state: BotState) -> None:
        """Forget the webhook: getUpdates works again and the sender stops."""
        state.emulator.webhook_url = ""
        state.webhook_secret = None
        if state.webhook_task is not None and not state.webhook_task.done():
            state.webhook_task.cancel()  # its wait_for_updates must not outlive the webhook
        state.webhook_task = None

    async def _deliver(self, state: BotState) -> None:
        """POST queued updates to the webhook, in order, each retried a few times."""
        emulator = state.emulator
        while emulator.webhook_url and not self._closing:
            pending = emulator.pending_updates()
            if not pending:
                await emulator.wait_for_updates(WEBHOOK_IDLE_WAIT)
                continue
            update = pending[0]
            for attempt in range(self.webhook_retries + 1):
                url = emulator.webhook_url
                if not url:
                    return
                status = await self._post_update(state, url, update)
                self.webhook_statuses.append(status)
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    break
                await asyncio.sleep(self.webhook_retry_delay * (attempt + 1))
            else:
                self.webhook_failed.append(update["update_id"])
            emulator.confirm_updates(update["update_id"] + 1)

    async def _post_update(self, state: BotState, url: str, update: dict[str, Any]) -> int:
        """POST one update; the HTTP status, or 0 when no answer came."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = json.dumps(update, ensure_ascii=False).encode("utf-8")
        headers = [
            f"POST {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if state.webhook_secret and state.emulator.platform == "telegram":
            headers.append(f"{SECRET_HEADER}: {state.webhook_secret}")
        head = ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1")
        writer: asyncio.StreamWriter | None = None
        try:
            context = ssl.create_default_context() if secure else None
            connect = asyncio.open_connection(host, port, ssl=context)
            reader, writer = await asyncio.wait_for(connect, WEBHOOK_IO_TIMEOUT)
            writer.write(head + body)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), WEBHOOK_IO_TIMEOUT)
            fields = line.split()
            return int(fields[1]) if len(fields) >= 2 and fields[1].isdigit() else 0
        except (OSError, TimeoutError, ValueError):
            return 0
        finally:
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()

    # --- control endpoints (used by benchmarks against the standalone server) ----------------
    def _control(self, action: str, request: HttpRequest) -> HttpResponse:
        """``/_control/<action>``: user actions, fault settings and counters as JSON."""
        token = request.query.get("token") or request.headers.get("x-bot-token")
        state = self._lookup(token) if token else self._only_state()
        if state is None:
            answer = {"ok": False, "description": "several emulators: pass ?token="}
            return HttpResponse.of_json(404, answer)
        emulator = state.emulator
        try:
            args = json.loads(request.body.decode("utf-8")) if request.body else {}
            if not isinstance(args, dict):
                raise ValueError("the body must be a JSON object")
            if action in USER_ACTIONS:
                result: Any = getattr(emulator, action)(**args)
            elif action == "faults":
                for name in FAULTS:
                    if name in args:
                        setattr(emulator, name, args[name])
                if "blocked" in args:
                    emulator.blocked = {int(c) for c in args["blocked"]}
                if "strict" in args:  # Telegram's documented limits, strictly (or off)
                    emulator.flood_rules = FloodRules.telegram() if args["strict"] else None
                result = {name: getattr(emulator, name) for name in FAULTS}
                result["strict"] = emulator.flood_rules is not None
            elif action == "stats":
                result = self.stats(emulator)
            elif action == "messages":
                chat_id = int(args.get("chat_id", request.query.get("chat_id", 0)))
                result = [
                    {"message_id": m.message_id, "text": m.content, "buttons": m.inline_buttons()}
                    for m in emulator.bot_messages(chat_id)
                ]
            else:
                return HttpResponse.of_json(404, NOT_FOUND)
        except (TypeError, ValueError, KeyError) as exc:
            return HttpResponse.of_json(400, {"ok": False, "description": str(exc)})
        return HttpResponse.of_json(200, {"ok": True, "result": result})

    def stats(self, emulator: BotApiEmulator | None = None) -> dict[str, Any]:
        """Counters of the server and of an emulator (the only one by default)."""
        if emulator is None:
            state = self._only_state()
            emulator = state.emulator if state else None
        stats: dict[str, Any] = {
            "requests": dict(self.requests),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "dropped": self.dropped,
            "unauthorized": self.unauthorized,
            "webhook_statuses": {str(k): v for k, v in Counter(self.webhook_statuses).items()},
        }
        if emulator is not None:
            stats["delivered"] = sum(emulator.delivered.values())
            stats["attempts"] = sum(emulator.attempts.values())
            stats["errors"] = dict(Counter(f"{m}:{s}" for m, s, _ in emulator.errors))
            stats["rate_limited"] = sum(emulator.rate_limited.values())
            stats["pending_updates"] = len(emulator.pending_updates())
        return stats


def _webhook_answer(description: str) -> dict[str, Any]:
    """The answer of a successful setWebhook."""
    return {"ok": True, "result": True, "description": description}


def _result(work: asyncio.Future[HttpResponse | None]) -> HttpResponse | None:
    """The answer of a finished request, or a 500 answer naming the server's own error."""
    error = work.exception()
    if error is None:
        return work.result()
    description = f"Internal Server Error: {type(error).__name__}: {error}"
    return HttpResponse.of_json(500, {"ok": False, "error_code": 500, "description": description})


def _parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the standalone server."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.botapi_server",
        description="A fake Telegram/Bale Bot API over HTTP for benchmarks (loopback only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", action="append", help="accept only these tokens (repeatable)")
    parser.add_argument("--bale", action="store_true", help="behave like Bale, not Telegram")
    parser.add_argument("--global-rate", type=float, default=None, help="sends per second, all")
    parser.add_argument("--per-chat-rate", type=float, default=None, help="sends per second, chat")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="Telegram's documented flood limits, strictly: 30 in any second, about 1/s per "
        "chat (burst 3), 20/min per group, edits counted, a 1 s penalty after a 429",
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of sends failing 502")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped requests")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> None:
    """Serve until SIGINT or SIGTERM."""
    emulator = BotApiEmulator(platform="bale" if args.bale else "telegram", seed=args.seed)
    emulator.global_rate = args.global_rate or None
    emulator.per_chat_rate = args.per_chat_rate or None
    emulator.error_rate = args.error_rate
    if args.strict:
        emulator.flood_rules = FloodRules.telegram()
    served: BotApiEmulator | dict[str, BotApiEmulator] = (
        dict.fromkeys(args.token, emulator) if args.token else emulator
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = BotApiServer(
        served,
        host=args.host,
        port=args.port,
        latency=args.latency,
        drop_rate=args.drop_rate,
        seed=args.seed,
    )
    async with server:
        print(f"fake Bot API ({emulator.platform}) at {server.api_url}", flush=True)
        await stop.wait()
    print(json.dumps(server.stats(emulator), default=dict), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(_parse_args()))
