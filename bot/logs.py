"""Logging set-up that never lets a bot token reach a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Replace configured tokens, and anything shaped like one, with ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        """Remember the exact secrets to hide."""
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place."""
        message = record.getMessage()
        for secret in self.secrets:
            message = message.replace(secret, "***")
        message = _TOKEN_SHAPE.sub("***", message)
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _TOKEN_SHAPE.sub(
                "***", logging.Formatter().formatException(record.exc_info)
            )
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
            record.exc_info = None
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """One stderr handler with redaction; chatty HTTP loggers kept quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.ExtBot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
