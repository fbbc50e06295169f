"""Serve the console on its port: inside `homebiz run`, or alone with `homebiz web`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping

from aiohttp import web
from telegram.ext import Application

from bot.core.config import Settings, StartupError, WebSettings
from bot.entry.services import Services
from web.app import build_console

log = logging.getLogger(__name__)


class ConsoleServer:
    """The console's listener (no access log: paths may carry a login token)."""

    def __init__(
        self, services: Services, settings: WebSettings, bots: Mapping[str, Application] | None
    ) -> None:
        """Prepare, without listening yet."""
        self.settings = settings
        self.runner = web.AppRunner(build_console(services, bots), access_log=None)

    async def start(self) -> None:
        """Listen, or raise StartupError naming the setting when the port is taken."""
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.listen, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            await self.runner.cleanup()
            raise StartupError(
                f"HOMEBIZ_WEB_LISTEN/HOMEBIZ_WEB_PORT: cannot listen on {self.settings.listen} "
                f"port {self.settings.port}: {exc.strerror or type(exc).__name__}"
            ) from None
        log.info("staff console on %s", self.settings.base_url)

    async def stop(self) -> None:
        """Stop listening and finish open requests."""
        await self.runner.cleanup()


async def serve_console(settings: Settings) -> None:
    """`homebiz web`: the console alone, until SIGINT or SIGTERM."""
    if settings.web is None:
        raise StartupError("HOMEBIZ_WEB_PORT: set it to serve the staff console")
    services = await Services.open(settings)
    server = ConsoleServer(services, settings.web, None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        await stop.wait()
    finally:
        await server.stop()
        await services.close()
