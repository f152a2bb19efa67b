"""Running the gateway under uvicorn, with a drain delay before it stops taking requests."""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from collections.abc import Generator
from types import FrameType

import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from gateway.http_protocol import head_limited_protocol
from gateway.limits import server_head_limit
from gateway.settings import GatewaySettings
from services.common.observability import logs
from services.common.process.shutdown import STOP_SIGNALS, StopRequest, signal_name


class DrainingServer(uvicorn.Server):
    """uvicorn, stopped the Switchboard way (see ``services.common.process.shutdown``).

    SIGTERM: ``/readyz`` answers 503 ``draining`` for ``shutdown_drain_seconds`` while
    every request, new ones included, is still served; then the listener closes and
    in-flight requests get ``shutdown_grace_seconds``. SIGINT skips the drain. A second
    signal never aborts in-flight requests, and no signal is re-raised afterwards.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI, settings: GatewaySettings) -> None:
        super().__init__(config)
        self.app = app
        self.settings = settings
        self.stop_request = StopRequest()
        self._drain_until: float | None = None
        self._announced = False

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
                self._announce_drain()
            if request.interrupted or time.monotonic() >= self._drain_until:
                self.should_exit = True
                self.app.state.stopping = True
        return await super().on_tick(counter)

    def _announce_drain(self) -> None:
        drain = self.settings.shutdown_drain_seconds
        if self.stop_request.drains and drain > 0:
            print(
                f"switchboard gateway: {signal_name(self.stop_request.signum)}: /readyz 503, "
                f"draining for {drain:g} s, then in-flight requests get up to "
                f"{self.settings.shutdown_grace_seconds:g} s",
                flush=True,
            )


async def serve(settings: GatewaySettings | None = None) -> None:
    """Serve HTTP until SIGTERM (drain, then stop) or SIGINT (stop)."""
    settings = settings or GatewaySettings()
    logs.configure("gateway", settings.log_level, settings.secret_values())
    app = create_app(settings)
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
    print(
        f"switchboard gateway: HTTP listening on http://{settings.bind_host}:{settings.gateway_port}",
        flush=True,
    )
    await DrainingServer(config, app, settings).serve()
    print("switchboard gateway: stopped", flush=True)
