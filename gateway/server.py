"""Running the gateway under uvicorn, with a drain delay before it stops taking requests."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import time
from collections.abc import Generator
from types import FrameType

import uvicorn
from fastapi import FastAPI

from gateway import lifecycle
from gateway.app import create_app
from gateway.http_protocol import head_limited_protocol
from gateway.limits import server_head_limit
from gateway.settings import GatewaySettings
from services.common.observability import logs
from services.common.process.heap import freeze_startup_heap
from services.common.process.shutdown import STOP_SIGNALS, StopRequest


class DrainingServer(uvicorn.Server):
    """uvicorn, stopped the Switchboard way (see ``services.common.process.shutdown``).

    SIGTERM: ``/readyz`` answers 503 ``draining`` for ``shutdown_drain_seconds`` while
    every request, new ones included, is still served; then the listener closes and
    in-flight requests get ``shutdown_grace_seconds``. SIGINT skips the drain. A second
    signal never aborts in-flight requests, and no signal is re-raised afterwards.
    ``stop_request`` may already hold a signal that arrived before serving began; a worker
    process (``announce=False``) leaves the drain line to its parent.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        app: FastAPI,
        settings: GatewaySettings,
        stop_request: StopRequest | None = None,
        *,
        announce: bool = True,
    ) -> None:
        super().__init__(config)
        self.app = app
        self.settings = settings
        self.stop_request = stop_request or StopRequest()
        self._drain_until: float | None = None
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        freeze_startup_heap()  # once listening: the app, channels and imports are all built

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {signum: signal.signal(signum, self.handle_exit) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in signal context: only record; on_tick acts within 0.1 s.
        self.stop_request.record(sig)

    async def on_tick(self, counter: int) -> bool:
        request = self.stop_request
        if request.requested and not self.should_exit:
            if self._drain_until is None:
                self._drain_until = time.monotonic() + (
                    self.settings.shutdown_drain_seconds if request.drains else 0.0
                )
                self.app.state.draining = True
                if self._announce:
                    lifecycle.draining(self.settings, request)
            if request.interrupted or time.monotonic() >= self._drain_until:
                self.should_exit = True
                self.app.state.stopping = True
        return await super().on_tick(counter)


def _uvicorn_config(app: FastAPI, settings: GatewaySettings) -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # the JSON lines of services.common.observability.logs
        access_log=False,  # one line per request comes from gateway.observe
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        server_header=False,
        http=head_limited_protocol(settings),
        h11_max_incomplete_event_size=server_head_limit(settings),
    )
    # uvicorn's start/stop chatter ("Waiting for application shutdown." ...) is not news
    # unless debugging; the gateway prints one line when it listens and one when it stops.
    lifecycle_logger = logging.getLogger("uvicorn.error")
    if lifecycle_logger.getEffectiveLevel() > logging.DEBUG:
        lifecycle_logger.setLevel(logging.WARNING)
    return config


async def serve(settings: GatewaySettings | None = None) -> None:
    """Serve HTTP in this process until SIGTERM (drain, then stop) or SIGINT (stop)."""
    settings = settings or GatewaySettings()
    logs.configure("gateway", settings.log_level, settings.secret_values())
    app = create_app(settings)
    config = _uvicorn_config(app, settings)
    lifecycle.listening(settings.bind_host, settings.gateway_port)
    await DrainingServer(config, app, settings).serve()
    lifecycle.stopped()


async def serve_worker(
    settings: GatewaySettings, listener: socket.socket, worker: int, stop_request: StopRequest
) -> None:
    """Serve HTTP on ``listener`` (bound by the parent) as worker number ``worker``.

    Stops like :func:`serve`; the parent prints the gateway's lifecycle lines.
    """
    logs.configure(
        "gateway",
        settings.log_level,
        settings.secret_values(),
        process_fields={"worker": worker, "pid": os.getpid()},
    )
    app = create_app(settings)
    config = _uvicorn_config(app, settings)
    server = DrainingServer(config, app, settings, stop_request, announce=False)
    await server.serve(sockets=[listener])
