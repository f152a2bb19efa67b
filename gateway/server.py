"""Running the gateway under uvicorn."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings


async def serve(settings: GatewaySettings | None = None) -> None:
    """Serve HTTP until SIGINT/SIGTERM (uvicorn handles both gracefully)."""
    settings = settings or GatewaySettings()
    config = uvicorn.Config(
        create_app(settings),
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        server_header=False,
    )
    print(
        f"switchboard gateway: HTTP listening on http://{settings.bind_host}:{settings.gateway_port}",
        flush=True,
    )
    await uvicorn.Server(config).serve()
