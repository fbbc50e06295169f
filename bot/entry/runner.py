"""`homebiz run`: serve every configured platform from one process until a signal stops it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.core.config import PlatformSettings, Settings, StartupError
from bot.core.logs import describe_error
from bot.entry.app import build_application, close_http, set_commands
from bot.entry.services import Services
from bot.messengers.update_inbox import UpdateInbox, uses_inbox
from bot.messengers.webhook import WebhookListener, register_webhook, stop_quietly
from scheduler import Proactive

if TYPE_CHECKING:
    from web.server import ConsoleServer

log = logging.getLogger(__name__)
#: Seconds before the first retry when the Bot API does not answer at start-up; doubled
#: after each failure up to RETRY_CAP.
RETRY_FIRST = 1.0
RETRY_CAP = 60.0
_DISPLAY = {"telegram": "Telegram", "bale": "Bale"}


@dataclass
class Served:
    """One platform's running parts, kept so that shutdown can undo a partial start."""

    platform: PlatformSettings
    app: Application
    listener: WebhookListener | None = None
    inbox: UpdateInbox | None = None
    jobs: list[Proactive] = field(default_factory=list)


def settle_memory() -> None:
    """Once started: keep start-up objects out of every collection, and collect less often.

    A turn allocates thousands of short-lived objects (PTB's Update and its parts); with
    Python's default thresholds a full collection over the whole heap came every few thousand
    updates and stopped every reply for up to ~200 ms (the benchmark's max). Larger
    thresholds let those objects die before a collection looks at them.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def retry_delays(first: float = RETRY_FIRST, cap: float = RETRY_CAP) -> Iterator[float]:
    """1, 2, 4, … seconds, capped, for ever."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


def _seconds(value: float | dt.timedelta) -> float:
    """A retry_after as seconds (PTB gives an int or a timedelta, depending on a setting)."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _setting(platform: PlatformSettings, name: str) -> str:
    """The environment variable of one of a platform's settings."""
    return f"{platform.name.upper()}_{name}"


async def until_answered(
    platform: PlatformSettings, action: Callable[[], Awaitable[object]], what: str
) -> None:
    """Run ``action`` until the Bot API answers it: one log line per failure, then back off.

    A rejected token (401, or 404 from a wrong API URL) and any other refusal become a
    StartupError; only an unreachable or failing server (network errors, timeouts, 5xx,
    429) is retried.
    """
    name = _DISPLAY.get(platform.name, platform.name)
    for delay in retry_delays():
        try:
            await action()
            return
        except InvalidToken:
            raise StartupError(
                f"the {name} token was rejected (check {_setting(platform, 'BOT_TOKEN')} "
                f"and {_setting(platform, 'API_URL')})"
            ) from None
        except RetryAfter as exc:
            delay = max(delay, _seconds(exc.retry_after))
            reason = "flood control"
        except NetworkError as exc:  # connection refused, timeouts, 5xx
            reason = describe_error(exc)
        except TelegramError as exc:
            refusal = describe_error(exc)
            raise StartupError(f"the {name} Bot API refused {what}: {refusal}") from None
        log.warning(
            "%s: the Bot API did not answer %s (%s); retrying in %g s",
            platform.name,
            what,
            reason,
            delay,
        )
        await asyncio.sleep(delay)


def _on_polling_error(platform: str) -> Callable[[TelegramError], None]:
    """PTB's polling error callback: one line per failure, no traceback."""

    def report(exc: TelegramError) -> None:
        """Log the failure; PTB retries by itself."""
        log.warning("%s: polling failed (%s); retrying", platform, describe_error(exc))

    return report


def _open_inbox(served: Served) -> UpdateInbox | None:
    """The update inbox the replicas share, when this webhook platform has one (PostgreSQL)."""
    services: Services = served.app.bot_data["services"]
    if uses_inbox(services.db, webhook=True):
        served.inbox = UpdateInbox(served.app, services.db, served.platform.name)
    return served.inbox


async def _stop_inbox(served: Served) -> None:
    """Let the inbox's turns in progress finish (after the listener stopped storing)."""
    if served.inbox is not None:
        with contextlib.suppress(Exception):
            await served.inbox.stop()


async def _listen(served: Served) -> None:
    """Start our webhook listener (before setWebhook, so the first post finds it)."""
    platform = served.platform
    assert platform.webhook_secret is not None
    listener = WebhookListener(
        served.app,
        platform=platform.name,
        secret=platform.webhook_secret,
        listen=platform.webhook_listen,
        port=platform.webhook_port,
        inbox=_open_inbox(served),
    )
    try:
        await listener.start()
    except OSError as exc:
        raise StartupError(
            f"{_setting(platform, 'WEBHOOK_LISTEN')}/{_setting(platform, 'WEBHOOK_PORT')}: "
            f"cannot listen on {platform.webhook_listen} port {platform.webhook_port}: "
            f"{exc.strerror or describe_error(exc)}"
        ) from None
    served.listener = listener


async def _start(served: Served) -> None:
    """Connect one Application and start it by long polling or through our webhook."""
    app, platform = served.app, served.platform
    await until_answered(platform, app.initialize, "getMe")
    await set_commands(app)
    if platform.webhook_url and platform.webhook_secret:
        await _listen(served)
        await app.start()
        if served.inbox is not None:
            served.inbox.start()
        url, secret = platform.webhook_url, platform.webhook_secret
        await until_answered(
            platform, lambda: register_webhook(app.bot, platform.name, url, secret), "setWebhook"
        )
        log.info(
            "%s: webhook listening on %s port %d",
            platform.name,
            platform.webhook_listen,
            platform.webhook_port,
        )
    else:
        updater = app.updater
        assert updater is not None
        await until_answered(
            platform,
            lambda: updater.start_polling(error_callback=_on_polling_error(platform.name)),
            "deleteWebhook",
        )
        await app.start()
        log.info("%s: long polling", platform.name)


async def _stop(served: Served) -> None:
    """Stop one platform, whatever state it reached."""
    for job in served.jobs:
        with contextlib.suppress(Exception):
            await job.stop()
    await stop_quietly(served.listener)
    await _stop_inbox(served)
    app = served.app
    with contextlib.suppress(Exception):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
    with contextlib.suppress(Exception):
        if app.running:
            await app.stop()
    with contextlib.suppress(Exception):
        await app.shutdown()
    with contextlib.suppress(Exception):
        await close_http(app)


async def _start_all(
    settings: Settings, services: Services, served: list[Served], bots: dict[str, Application]
) -> None:
    """Build and start every platform, recording each as soon as it exists."""
    for platform in settings.platforms:
        app = build_application(
            services,
            platform.name,
            token=platform.token,
            base_url=platform.api_url,
            base_file_url=platform.file_url,
            limits=settings.limits,
        )
        served.append(Served(platform, app))
        bots[platform.name] = app  # the console sends through it once it runs
        await _start(served[-1])
        job = Proactive(app, services, platform.name)
        served[-1].jobs.append(job)
        job.start()


async def _open_console(
    settings: Settings, services: Services, bots: dict[str, Application]
) -> ConsoleServer | None:
    """The staff console on HOMEBIZ_WEB_PORT, in this process, if it is configured."""
    if settings.web is None:
        return None
    from web.server import ConsoleServer

    console = ConsoleServer(services, settings.web, bots)
    try:
        await console.start()
    except StartupError:
        await services.close()
        raise
    return console


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or the given event) and shut down cleanly.

    A signal during start-up (for instance while the Bot API is unreachable and retried)
    stops the process just as cleanly; a StartupError is raised after the clean-up.
    """
    services = await Services.open(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    served: list[Served] = []
    bots: dict[str, Application] = {}
    console = await _open_console(settings, services, bots)
    starting = asyncio.ensure_future(_start_all(settings, services, served, bots))
    stopping = asyncio.ensure_future(stop.wait())
    failed = False
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # a StartupError stops here, after the clean-up below
            settle_memory()
            log.info("serving %s", ", ".join(p.name for p in settings.platforms))
            await stopping
    except BaseException:
        failed = True  # the caller says what went wrong, in one line
        raise
    finally:
        for task in (starting, stopping):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if console is not None:
            await console.stop()
        for one in reversed(served):
            await _stop(one)
        await services.close()
        if not failed:
            log.info("stopped")
