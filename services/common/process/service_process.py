"""Start-up sequence shared by both database-backed gRPC services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.observability import metrics, metrics_server
from services.common.rpc.channels import server_credentials
from services.common.rpc.method_table import Registrar
from services.common.rpc.server import GrpcServer, size_options, start_grpc_server
from services.common.settings import DatabaseServiceSettings
from services.common.storage.db import create_session_factory
from services.common.storage.idempotency import start_pruning
from services.common.storage.migrations import upgrade_to_head


async def start_service(
    *,
    settings: DatabaseServiceSettings,
    host: str,
    port: int,
    engine: AsyncEngine,
    migrations_dir: Path,
    registrars: Sequence[Registrar],
    service_names: Sequence[str],
    closers: Sequence[Callable[[], Awaitable[None]]] = (),
    name: str = "service",
    metrics_port: int | None = None,
) -> GrpcServer:
    """Bind (NOT_SERVING), migrate if configured, then report SERVING.

    ``closers`` (and the engine's dispose) run when the server stops, or at once
    if start-up fails.
    """
    cleanups = [*closers, engine.dispose]
    try:
        server = await start_grpc_server(
            host=host,
            port=port,
            registrars=registrars,
            service_names=service_names,
            credentials=server_credentials(settings),
            options=size_options(settings),
        )
    except BaseException:
        for cleanup in cleanups:
            await cleanup()
        raise
    for cleanup in reversed(cleanups):
        server.on_stop(cleanup)
    metrics.watch_pool(engine, name)
    if metrics_port is not None:
        exporter = await metrics_server.start_if_enabled(
            enabled=settings.metrics_enabled,
            host=host,
            port=metrics_port,
            token=settings.metrics_credential(),
            process=name,
        )
        if exporter is not None:
            server.metrics_port = exporter.port
            server.on_stop(exporter.close)
    try:
        if settings.migrate_on_start:
            await upgrade_to_head(engine, migrations_dir)
    except BaseException:
        await server.stop(0)
        raise
    server.on_stop(
        start_pruning(
            create_session_factory(engine),
            timedelta(hours=settings.idempotency_retention_hours),
        )
    )
    await server.mark_serving()
    return server
