"""Decoding of Bot API request parameters as they arrive over the wire."""

from __future__ import annotations

import re
from typing import Any

from bot.messengers.fakeapi.model import ApiError, bad_request, decode_json_field

# Parameters whose value is a string in the Bot API and must never be reinterpreted.
STRING_FIELDS = frozenset(
    {
        "action",
        "address",
        "bio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "emoji",
        "file_id",
        "first_name",
        "inline_message_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "parse_mode",
        "phone_number",
        "question",
        "secret_token",
        "short_description",
        "text",
        "title",
        "type",
        "url",
        "username",
        "vcard",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "sticker",
        "animation",
        "video_note",
        "thumbnail",
        "certificate",
        "foursquare_id",
        "payload",
        "start_parameter",
        "provider_token",
        "currency",
        "explanation",
    }
)
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d*(?:[eE][-+]?\d+)?")


def decode_value(name: str, value: Any) -> Any:
    """Decode one parameter sent as a string (form field or PTB json_parameters)."""
    if not isinstance(value, str) or name in STRING_FIELDS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        return decode_json_field(stripped)
    if _INT_RE.fullmatch(stripped):
        return int(stripped)
    if _FLOAT_RE.fullmatch(stripped):
        return float(stripped)
    if stripped in ("true", "false"):
        return stripped == "true"
    return value


def decode_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Decode every parameter of a request; nested objects may arrive JSON-encoded."""
    return {name: decode_value(name, value) for name, value in (params or {}).items()}


def require(params: dict[str, Any], name: str) -> Any:
    """Return a required parameter or raise Telegram's "parameter is empty" error."""
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f"Bad Request: {name} is empty")
    return value


def as_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """Return an integer parameter, rejecting values that are not integers."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"Bad Request: invalid {name} specified")
    return value


def as_object(params: dict[str, Any], name: str) -> Any:
    """Return a parameter that must be a JSON object or array, decoding strings."""
    value = decode_json_field(params.get(name))
    if isinstance(value, str):
        raise bad_request(f"Bad Request: can't parse {name} JSON object")
    return value
