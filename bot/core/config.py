"""Settings read from the environment (and a `.env` file), validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bot.messengers.pacer import Limits

TELEGRAM_API_DEFAULT = "https://api.telegram.org/bot"
BALE_API_DEFAULT = "https://tapi.bale.ai/bot"
PLATFORMS = ("telegram", "bale")
LANGUAGES = ("fa", "en")
DEFAULT_SEND_RATE = 30  # Telegram: "about 30 messages per second" per bot
SAFIR_URL_DEFAULT = "https://safir.bale.ai"
# Safir publishes no rate limit; a few a second is gentle and still reaches 200,000 people in
# about two days of sending windows. HOMEBIZ_SAFIR_RATE changes it ("N" a second or "N/min").
DEFAULT_SAFIR_RATE = (5, 1.0)
_SAFIR_RATE_RE = re.compile(r"^(\d{1,5})\s*(?:/\s*(s|sec|second|m|min|minute))?$")
_SAFIR_KEY_RE = re.compile(r"^[\x21-\x7e]{8,512}$")
_TOKEN_RE = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{10,}$")
_ADMIN_RE = re.compile(r"^(telegram|bale):(-?\d{1,20})$")
_HOST_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and never holds a secret."""


class StartupError(Exception):
    """Start-up cannot go on (token rejected, port taken…); one line, without secrets."""


@dataclass(frozen=True)
class PlatformSettings:
    """Connection settings of one messenger."""

    name: str
    token: str = field(repr=False)
    api_url: str
    file_url: str
    webhook_url: str | None = None
    webhook_port: int = 8443
    webhook_listen: str = "0.0.0.0"
    webhook_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SafirSettings:
    """Bale Safir: sends the Bale bot's messages to phone numbers (invitations, first check-ins)."""

    api_key: str = field(repr=False)
    bot_id: int
    url: str = SAFIR_URL_DEFAULT
    rate: int = DEFAULT_SAFIR_RATE[0]
    per: float = DEFAULT_SAFIR_RATE[1]  # seconds: ``rate`` messages in any ``per`` seconds

    @property
    def limits(self) -> Limits:
        """Safir's own pace (not the Bot API pacer's budget): ``rate`` per ``per`` seconds."""
        return Limits(bot_count=self.rate, bot_period=self.per, chat_burst=1, reserve=0)


@dataclass(frozen=True)
class WebSettings:
    """The staff console: where it listens and the address staff open (for login links)."""

    port: int
    listen: str = "127.0.0.1"
    url: str = ""  # the public address; empty: http://<listen>:<port>

    @property
    def base_url(self) -> str:
        """The address login links point at, without a trailing slash."""
        if self.url:
            return self.url.rstrip("/")
        host = "127.0.0.1" if self.listen in ("0.0.0.0", "::") else self.listen
        return f"http://{host}:{self.port}"

    @property
    def secure(self) -> bool:
        """Whether staff reach the console over HTTPS (cookies are then marked Secure)."""
        return self.base_url.startswith("https://")


@dataclass(frozen=True)
class Settings:
    """Everything the process needs to start."""

    db_path: Path  # the SQLite file (unused when db_url names a PostgreSQL server)
    default_locale: str = "fa"
    admins: frozenset[tuple[str, int]] = frozenset()
    platforms: tuple[PlatformSettings, ...] = ()
    content_path: Path | None = None
    log_level: str = "INFO"
    staff_chats: Mapping[str, int] = field(default_factory=dict)
    send_rate: int = 30
    outbox_lease: int = 30
    safir: SafirSettings | None = None
    web: WebSettings | None = None
    db_url: str | None = None  # HOMEBIZ_DB=postgresql://…: the store is PostgreSQL

    @property
    def database(self) -> str | Path:
        """What holds the data: the PostgreSQL URL, else the SQLite file."""
        return self.db_url or self.db_path

    @property
    def secrets(self) -> list[str]:
        """Every configured secret, for the log redactor: tokens, webhook secrets, the Safir key."""
        found = [p.token for p in self.platforms] + [p.webhook_secret or "" for p in self.platforms]
        found.append(urlsplit(self.db_url).password or "" if self.db_url else "")
        return [s for s in (*found, self.safir.api_key if self.safir else "") if s]

    @property
    def limits(self) -> Limits:
        """The flood limits every send is paced by: Telegram's, at HOMEBIZ_SEND_RATE a second."""
        return Limits(bot_count=self.send_rate)

    def platform(self, name: str) -> PlatformSettings | None:
        """The settings of one platform, if it is configured."""
        return next((p for p in self.platforms if p.name == name), None)


def _file_url(api_url: str) -> str:
    """Derive the file URL from an API URL ending in /bot."""
    return api_url[: -len("bot")] + "file/bot" if api_url.endswith("/bot") else api_url + "/file"


def _parse_admins(raw: str) -> frozenset[tuple[str, int]]:
    """Parse `telegram:123,bale:456` into (platform, user id) pairs."""
    admins: set[tuple[str, int]] = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        match = _ADMIN_RE.match(part)
        if not match:
            raise ConfigError(
                f"HOMEBIZ_ADMINS: '{part}' is not of the form platform:user_id "
                "(e.g. telegram:123,bale:456)"
            )
        admins.add((match.group(1), int(match.group(2))))
    return frozenset(admins)


def _parse_staff_chats(raw: str) -> dict[str, int]:
    """Parse `telegram:-100123,bale:-456` into the staff group of each platform."""
    chats: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        match = _ADMIN_RE.match(part)
        if not match:
            raise ConfigError(
                f"HOMEBIZ_STAFF_CHAT: '{part}' is not of the form platform:chat_id "
                "(e.g. telegram:-1001234567890,bale:-4567)"
            )
        chats[match.group(1)] = int(match.group(2))
    return chats


def _parse_rate(raw: str) -> int:
    """Messages the platform allows the bot in any second, replies and outbox together (30)."""
    if not raw.strip():
        return DEFAULT_SEND_RATE
    try:
        rate = int(raw.strip())
    except ValueError:
        raise ConfigError(f"HOMEBIZ_SEND_RATE: '{raw}' is not a whole number") from None
    if not 1 <= rate <= 10_000:
        raise ConfigError(f"HOMEBIZ_SEND_RATE: {raw} is outside 1 to 10000")
    return rate


def _parse_lease(raw: str) -> int:
    """Seconds a claimed outbox row stays with its sender without renewal (default 30)."""
    if not raw.strip():
        return 30
    try:
        lease = int(raw)
    except ValueError:
        raise ConfigError(f"HOMEBIZ_OUTBOX_LEASE: '{raw}' is not a whole number") from None
    if not 3 <= lease <= 3600:
        raise ConfigError(f"HOMEBIZ_OUTBOX_LEASE: {raw} is outside 3..3600 seconds")
    return lease


def _parse_url(name: str, raw: str) -> str:
    """Check that a URL setting looks like http(s)."""
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ConfigError(f"{name}: '{raw}' is not an http(s) URL")
    return raw.rstrip("/")


def _parse_int(name: str, raw: str | None, default: int | None) -> int | None:
    """Parse an optional integer setting."""
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: '{raw}' is not a whole number") from None


def _parse_port(name: str, raw: str | None) -> int:
    """A TCP port the webhook listener can bind: 1-65535 (0 would pick a random one)."""
    port = _parse_int(name, raw, 8443)
    assert port is not None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name}: {port} is not a port number (1-65535)")
    return port


def _parse_listen(name: str, raw: str | None) -> str:
    """A listen address: an IPv4 or IPv6 address, or a host name such as localhost.

    A name whose last label is all digits (``999.1.1.1``) is a mistyped IPv4 address, not a
    host name, so it is refused rather than looked up.
    """
    value = (raw or "").strip()
    if not value:
        return "0.0.0.0"
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if (
        len(value) <= 253
        and all(_HOST_LABEL_RE.match(label) for label in labels)
        and not labels[-1].isdigit()
    ):
        return value
    raise ConfigError(
        f"{name}: '{value}' is not an IPv4 or IPv6 address or a host name "
        "(e.g. 0.0.0.0, 127.0.0.1, :: or localhost)"
    )


def check_db_path(path: Path, name: str = "HOMEBIZ_DB") -> None:
    """Refuse a database path that is a directory or cannot be created or written."""
    if str(path) == ":memory:":
        return
    if path.is_dir():
        raise ConfigError(
            f"{name}: {path} is a directory; give a file in it (e.g. {path / 'homebiz.sqlite3'})"
        )
    if path.exists():
        if not path.is_file():
            raise ConfigError(f"{name}: {path} is not a regular file")
        if not os.access(path, os.R_OK | os.W_OK):
            raise ConfigError(f"{name}: {path} cannot be written (permission denied)")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{name}: {path} cannot be created: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{name}: {path} cannot be created: {folder} is not writable")


def _platform(name: str, env: Mapping[str, str], default_url: str) -> PlatformSettings | None:
    """Read one platform's settings; None when its token is not set."""
    prefix = name.upper()
    token = env.get(f"{prefix}_BOT_TOKEN", "").strip()
    if not token:
        return None
    if not _TOKEN_RE.match(token):
        raise ConfigError(f"{prefix}_BOT_TOKEN: does not look like a bot token (digits:letters)")
    api_url = _parse_url(f"{prefix}_API_URL", env.get(f"{prefix}_API_URL") or default_url)
    file_url = _parse_url(f"{prefix}_FILE_URL", env.get(f"{prefix}_FILE_URL") or _file_url(api_url))
    webhook = env.get(f"{prefix}_WEBHOOK_URL") or None
    if webhook:
        webhook = _parse_url(f"{prefix}_WEBHOOK_URL", webhook)
    secret = env.get(f"{prefix}_WEBHOOK_SECRET") or None
    if webhook and (not secret or not re.match(r"^[A-Za-z0-9_-]{16,256}$", secret)):
        raise ConfigError(
            f"{prefix}_WEBHOOK_SECRET: required with {prefix}_WEBHOOK_URL, "
            "16-256 characters of A-Z a-z 0-9 _ -"
        )
    port = _parse_port(f"{prefix}_WEBHOOK_PORT", env.get(f"{prefix}_WEBHOOK_PORT"))
    listen = _parse_listen(f"{prefix}_WEBHOOK_LISTEN", env.get(f"{prefix}_WEBHOOK_LISTEN"))
    return PlatformSettings(
        name=name,
        token=token,
        api_url=api_url,
        file_url=file_url,
        webhook_url=webhook,
        webhook_port=port,
        webhook_listen=listen,
        webhook_secret=secret,
    )


def _parse_safir_rate(raw: str) -> tuple[int, float]:
    """HOMEBIZ_SAFIR_RATE: "N" messages a second or "N/min" a minute (default 5 a second)."""
    if not raw.strip():
        return DEFAULT_SAFIR_RATE
    match = _SAFIR_RATE_RE.match(raw.strip().lower())
    if not match or not 1 <= int(match.group(1)) <= 1000:
        raise ConfigError(
            f"HOMEBIZ_SAFIR_RATE: '{raw}' is not 1-1000 a second or a minute (e.g. 5 or 120/min)"
        )
    per = 60.0 if (match.group(2) or "s").startswith("m") else 1.0
    return int(match.group(1)), per


def _safir(env: Mapping[str, str], bale: PlatformSettings | None) -> SafirSettings | None:
    """Bale Safir's settings; None when BALE_SAFIR_API_KEY is not set (personal links only)."""
    key = env.get("BALE_SAFIR_API_KEY", "").strip()
    if not key:
        return None
    if not _SAFIR_KEY_RE.match(key):
        raise ConfigError("BALE_SAFIR_API_KEY: 8-512 printable characters without spaces")
    if bale is None:
        raise ConfigError(
            "BALE_SAFIR_API_KEY: needs BALE_BOT_TOKEN too (Safir sends the Bale bot's messages)"
        )
    raw_id = env.get("BALE_SAFIR_BOT_ID", "").strip()
    if raw_id and not raw_id.isdigit():
        raise ConfigError(f"BALE_SAFIR_BOT_ID: '{raw_id}' is not the bot's numeric id")
    # Safir wants the sending bot's numeric id; a Bale token begins with it ("<id>:<secret>").
    bot_id = int(raw_id or bale.token.partition(":")[0])
    url = _parse_url("SAFIR_URL", env.get("SAFIR_URL", "").strip() or SAFIR_URL_DEFAULT)
    rate, per = _parse_safir_rate(env.get("HOMEBIZ_SAFIR_RATE", ""))
    return SafirSettings(api_key=key, bot_id=bot_id, url=url, rate=rate, per=per)


def _web(env: Mapping[str, str]) -> WebSettings | None:
    """HOMEBIZ_WEB_PORT turns the staff console on; HOMEBIZ_WEB_LISTEN and HOMEBIZ_WEB_URL
    say where it listens and the address staff open."""
    raw = env.get("HOMEBIZ_WEB_PORT", "").strip()
    if not raw:
        return None
    port = _parse_port("HOMEBIZ_WEB_PORT", raw)
    listen = _parse_listen("HOMEBIZ_WEB_LISTEN", env.get("HOMEBIZ_WEB_LISTEN") or "127.0.0.1")
    url = env.get("HOMEBIZ_WEB_URL", "").strip()
    if url:
        url = _parse_url("HOMEBIZ_WEB_URL", url)
    return WebSettings(port=port, listen=listen, url=url)


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Read a `.env` file into the environment without overriding what is already set."""
    if path.is_file():
        from dotenv import load_dotenv

        load_dotenv(path, override=False)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, raising ConfigError on the first bad setting."""
    env = os.environ if env is None else env
    locale = env.get("HOMEBIZ_LOCALE", "fa").strip() or "fa"
    if locale not in LANGUAGES:
        raise ConfigError(f"HOMEBIZ_LOCALE: '{locale}' is not one of {', '.join(LANGUAGES)}")
    db_raw = env.get("HOMEBIZ_DB", "").strip()
    db_url = db_raw if db_raw.startswith(("postgresql://", "postgres://")) else None
    db_path = Path(db_raw) if db_raw and not db_url else Path("data") / "homebiz.sqlite3"
    content_raw = env.get("HOMEBIZ_CONTENT", "").strip()
    level = env.get("HOMEBIZ_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"HOMEBIZ_LOG_LEVEL: '{level}' is not DEBUG, INFO, WARNING or ERROR")
    platforms = tuple(
        p
        for p in (
            _platform("telegram", env, TELEGRAM_API_DEFAULT),
            _platform("bale", env, BALE_API_DEFAULT),
        )
        if p is not None
    )
    return Settings(
        db_path=db_path,
        db_url=db_url,
        default_locale=locale,
        admins=_parse_admins(env.get("HOMEBIZ_ADMINS", "")),
        platforms=platforms,
        content_path=Path(content_raw) if content_raw else None,
        log_level=level,
        staff_chats=_parse_staff_chats(env.get("HOMEBIZ_STAFF_CHAT", "")),
        send_rate=_parse_rate(env.get("HOMEBIZ_SEND_RATE", "")),
        outbox_lease=_parse_lease(env.get("HOMEBIZ_OUTBOX_LEASE", "")),
        safir=_safir(env, next((p for p in platforms if p.name == "bale"), None)),
        web=_web(env),
    )
