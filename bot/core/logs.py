"""Logging set-up that lets no token, webhook secret or personal data reach a log line.

Three rules, applied by one filter on the only handler (so they hold for every logger):

* **Secrets**: configured tokens and webhook secrets, and anything shaped like a bot token,
  become ``***`` in messages and tracebacks.
* **Third-party detail**: libraries log updates, SQL parameters and request lines at DEBUG
  (PTB's "Processing update", httpx's requests). Their records below
  INFO never pass, whatever level a logger was set to; their tracebacks are folded into one
  line unless the process runs at DEBUG (no traceback storm when the network fails).
* **Exception messages**: a message may echo what a person typed (``ValueError: invalid
  literal … '0912…'``). Only messages of exceptions known to be written by us or by a server
  are shown; any other exception appears as its type and its traceback's frames.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import traceback
from collections.abc import Iterable, Mapping

import httpx
from telegram import TelegramObject
from telegram.error import TelegramError

_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
#: Logger name prefixes that are our own code; everything else is a library.
PROJECT_LOGGERS = ("bot", "handlers", "scheduler", "web", "homebiz", "__main__")
#: The level each library logger is held at (lower records are not even created).
LIBRARY_LEVELS = {
    "telegram": logging.INFO,
    "telegram.ext.ExtBot": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "tornado": logging.INFO,
    "aiohttp": logging.INFO,
    "aiohttp.access": logging.WARNING,
    "asyncio": logging.INFO,
}
#: Exceptions whose message is shown: a server's answer, the OS, SQLite, HTTP transport.
_TRUSTED_MESSAGES: tuple[type[BaseException], ...] = (
    TelegramError,
    OSError,
    sqlite3.Error,
    httpx.HTTPError,
)
_OWN_MODULES = ("bot.", "handlers.", "scheduler.", "web.")
WITHHELD = "(message withheld: it may echo personal data)"


def _own_logger(name: str) -> bool:
    """Whether a logger name belongs to this project."""
    return any(name == p or name.startswith(p + ".") for p in PROJECT_LOGGERS)


def trusted_message(exc: BaseException) -> bool:
    """Whether an exception's message can be logged (ours, or from a server, OS or SQLite)."""
    return isinstance(exc, _TRUSTED_MESSAGES) or type(exc).__module__.startswith(_OWN_MODULES)


def describe_error(exc: BaseException) -> str:
    """``Type: message`` when the message is trusted, else ``Type`` alone; never multi-line."""
    name = type(exc).__name__
    if not trusted_message(exc):
        return name
    message = " ".join(str(exc).split())
    return f"{name}: {message}" if message else name


def format_exception(exc: BaseException) -> str:
    """A traceback like Python's, with untrusted exception messages withheld."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception:"
        else:
            current = None
    parts: list[str] = []
    for error, after in reversed(chain):
        frames = traceback.format_tb(error.__traceback__)
        if frames:
            parts.append("Traceback (most recent call last):\n" + "".join(frames))
        shown = describe_error(error)
        if not trusted_message(error) and str(error):
            shown += f" {WITHHELD}"
        parts.append(shown + "\n")
        if after:
            parts.append(f"\n{after}\n\n")
    return "".join(parts).rstrip("\n")


class Redactor:
    """Hides configured secrets and anything shaped like a bot token in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Remember the exact secrets to hide (longest first, so none is half-hidden)."""
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """The text with every secret replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_SHAPE.sub("***", text)


class RedactTokens(logging.Filter):
    """The handler's filter: secrets hidden, library detail dropped, messages withheld."""

    def __init__(self, secrets: Iterable[str] = (), *, tracebacks: bool = True) -> None:
        """Hide ``secrets``; keep library tracebacks only when ``tracebacks`` (DEBUG runs)."""
        super().__init__()
        self.redact = Redactor(secrets)
        self.tracebacks = tracebacks

    @property
    def secrets(self) -> list[str]:
        """The exact secrets hidden."""
        return self.redact.secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (other handlers see it too); drop a library's DEBUG."""
        own = _own_logger(record.name)
        if isinstance(record.args, tuple):
            record.args = tuple(_safe_argument(a, own) for a in record.args)
        message = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            if own or self.tracebacks:
                record.exc_text = self.redact(format_exception(error))
            else:  # one line: a library's traceback per network failure is a storm
                message = f"{message} ({describe_error(error)})"
                record.exc_text = None
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.msg, record.args = self.redact(message), None
        return own or record.levelno >= logging.INFO


def _safe_argument(value: object, own: bool) -> object:
    """A log argument as it may be shown: exceptions described, a library's data withheld.

    Libraries pass whole updates or API answers to some WARNING+ lines (PTB's "Error while
    parsing updates! Received data was %r"); from a library, any Telegram object, mapping,
    sequence or bytes is replaced by its type.
    """
    if isinstance(value, BaseException):
        return _Shown(describe_error(value))
    if not own and isinstance(value, TelegramObject | Mapping | list | tuple | set | bytes):
        return _Shown(f"<{type(value).__name__} withheld>")
    return value


class _Shown(str):
    """A described exception in a log record's arguments: the same text for %s and %r."""

    def __repr__(self) -> str:
        """The text itself, without quotes."""
        return str(self)


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """One stderr handler behind the filter; library loggers held at INFO or above."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(secrets, tracebacks=level == "DEBUG"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name, floor in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
    logging.getLogger(__name__).debug("logging at DEBUG; libraries log from INFO up")
