"""The three Switchboard processes' servers, started in the test's event loop on ephemeral ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.app import create_app
from gateway.http_protocol import head_limited_protocol
from gateway.limits import server_head_limit
from gateway.settings import GatewaySettings
from services.common.auth import INTERNAL_TOKEN_HEADER
from services.common.rpc.server import GrpcServer
from services.common.storage.db import WriteSessions, create_engine, create_session_factory
from services.config import server as config_server
from services.config.settings import ConfigSettings
from services.registry import server as registry_server
from services.registry.settings import RegistrySettings

INTERNAL_TOKEN = "internal-token-for-tests-0123456789abcdef"
INTERNAL_METADATA = ((INTERNAL_TOKEN_HEADER, INTERNAL_TOKEN),)
"""What the registry sends on every ConfigInternalService call of the test stack."""


@dataclass
class Stack:
    """Running config, registry and gateway, plus clients for them."""

    backend: str
    database_urls: dict[str, str]
    config: GrpcServer
    registry: GrpcServer
    gateway_url: str
    config_channel: grpc.aio.Channel
    registry_channel: grpc.aio.Channel
    http: httpx.AsyncClient
    config_engine: AsyncEngine
    config_sessions: async_sessionmaker[AsyncSession]
    registry_engine: AsyncEngine
    registry_sessions: WriteSessions

    @property
    def config_target(self) -> str:
        return f"127.0.0.1:{self.config.port}"

    @property
    def registry_target(self) -> str:
        return f"127.0.0.1:{self.registry.port}"


def service_settings(
    database_urls: dict[str, str], workdir: Path, **overrides: Any
) -> tuple[ConfigSettings, RegistrySettings]:
    """Settings for both services on ephemeral ports, private URLs allowed (local receivers)."""
    common: dict[str, Any] = {
        "data_dir": workdir,
        "internal_token": SecretStr(INTERNAL_TOKEN),
        "allow_private_urls": True,
        "shutdown_grace_seconds": 0.5,
    }
    config = ConfigSettings(
        config_port=0,
        config_metrics_port=0,
        config_database_url=database_urls["config"],
        **{**common, **overrides},
    )
    registry = RegistrySettings(
        registry_port=0,
        registry_metrics_port=0,
        registry_database_url=database_urls["registry"],
        config_address="127.0.0.1:1",  # replaced once config is listening
        **{**common, **overrides},
    )
    return config, registry


@contextlib.asynccontextmanager
async def running_gateway(settings: GatewaySettings) -> AsyncIterator[str]:
    """Serve the gateway app over real HTTP on an ephemeral port; yields its base URL."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            http=head_limited_protocol(settings),
            h11_max_incomplete_event_size=server_head_limit(settings),
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("gateway did not start")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def running_stack(
    backend: str, database_urls: dict[str, str], workdir: Path
) -> AsyncIterator[Stack]:
    """Config, registry and gateway wired together, torn down in reverse order."""
    config_settings, registry_settings = service_settings(database_urls, workdir)
    config = await config_server.start(config_settings)
    registry_settings.config_address = f"127.0.0.1:{config.port}"
    registry = await registry_server.start(registry_settings)
    gateway_settings = GatewaySettings(
        gateway_port=0,
        config_address=f"127.0.0.1:{config.port}",
        registry_address=f"127.0.0.1:{registry.port}",
        data_dir=workdir,
    )
    config_engine = create_engine(database_urls["config"])
    registry_engine = create_engine(database_urls["registry"])
    try:
        async with (
            running_gateway(gateway_settings) as gateway_url,
            grpc.aio.insecure_channel(f"127.0.0.1:{config.port}") as config_channel,
            grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as registry_channel,
            httpx.AsyncClient(base_url=gateway_url, timeout=30) as http,
        ):
            yield Stack(
                backend=backend,
                database_urls=database_urls,
                config=config,
                registry=registry,
                gateway_url=gateway_url,
                config_channel=config_channel,
                registry_channel=registry_channel,
                http=http,
                config_engine=config_engine,
                config_sessions=create_session_factory(config_engine),
                registry_engine=registry_engine,
                registry_sessions=create_session_factory(registry_engine),
            )
    finally:
        await config_engine.dispose()
        await registry_engine.dispose()
        await registry.stop(0.5)
        await config.stop(0.5)
