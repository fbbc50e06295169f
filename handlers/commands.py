"""One definition of a command, read from the message text itself: the gate and router share it.

Telegram's `bot_command` entities are sent by the client and can be forged (an entity at offset 0
over a text that starts with a space), so they decide nothing here. A command is a text whose
very first character is "/", followed by 1-32 ASCII letters, digits or underscores, optionally
"@botname", then whitespace or the end of the text.
"""

from __future__ import annotations

import re

from telegram import Message
from telegram.ext.filters import MessageFilter

_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?=\s|\Z)")


def parse_command(text: str | None) -> tuple[str, list[str]] | None:
    """`/Word@bot a b` → ("word", ["a", "b"]); None unless the text starts with a command."""
    if not text:
        return None
    match = _COMMAND_RE.match(text)
    if match is None:
        return None
    return match.group(1).lower(), text[match.end() :].split()


def command_of(message: Message | None) -> tuple[str, list[str]] | None:
    """The command a message carries (word lower-cased, arguments), or None."""
    return parse_command(message.text) if message is not None else None


class _CommandFilter(MessageFilter):
    """PTB filter: the message is a command by ``command_of`` (entities are not consulted)."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        """Whether the message is a command."""
        return command_of(message) is not None


COMMAND = _CommandFilter(name="homebiz.COMMAND")
