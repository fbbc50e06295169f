"""`homebiz run`: serve every configured platform from one process until a signal stops it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from telegram.ext import Application

from bot.app import build_application, set_commands
from bot.config import PlatformSettings, Settings
from bot.services import Services
from scheduler import Proactive

log = logging.getLogger(__name__)


async def _start(app: Application, platform: PlatformSettings) -> None:
    """Start one Application by long polling or by webhook."""
    await app.initialize()
    await set_commands(app)
    updater = app.updater
    assert updater is not None
    if platform.webhook_url and platform.webhook_secret:
        if platform.name == "bale":
            # Bale sends no secret header: the secret is the URL path instead.
            await updater.start_webhook(
                listen=platform.webhook_listen,
                port=platform.webhook_port,
                url_path=platform.webhook_secret,
                webhook_url=f"{platform.webhook_url}/{platform.webhook_secret}",
            )
        else:
            await updater.start_webhook(
                listen=platform.webhook_listen,
                port=platform.webhook_port,
                url_path="telegram",
                webhook_url=f"{platform.webhook_url}/telegram",
                secret_token=platform.webhook_secret,
            )
        log.info("%s: webhook listening on port %d", platform.name, platform.webhook_port)
    else:
        await updater.start_polling(drop_pending_updates=False)
        log.info("%s: long polling", platform.name)
    await app.start()


async def _stop(app: Application) -> None:
    """Stop one Application, whatever state it reached."""
    with contextlib.suppress(Exception):
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
    with contextlib.suppress(Exception):
        if app.running:
            await app.stop()
    with contextlib.suppress(Exception):
        await app.shutdown()


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or the given event) and shut down cleanly."""
    services = await Services.open(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    apps: list[Application] = []
    jobs: list[Proactive] = []
    try:
        for platform in settings.platforms:
            app = build_application(
                services,
                platform.name,
                token=platform.token,
                base_url=platform.api_url,
                base_file_url=platform.file_url,
            )
            apps.append(app)
            await _start(app, platform)
            jobs.append(Proactive(app, services, platform.name))
            jobs[-1].start()
        gc.freeze()  # start-up objects live forever: keep them out of every collection
        log.info("serving %s", ", ".join(p.name for p in settings.platforms))
        await stop.wait()
    finally:
        for job in jobs:
            await job.stop()
        for app in reversed(apps):
            await _stop(app)
        await services.close()
        log.info("stopped")
