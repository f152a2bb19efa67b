"""Assembly and lifecycle of the config service process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.observability import logs
from services.common.process.local_secrets import internal_token, require_token_off_loopback
from services.common.process.service_process import start_service
from services.common.rpc.server import GrpcServer, serve_until_signalled
from services.common.storage.db import (
    create_engine,
    create_read_only_session_factory,
    create_session_factory,
)
from services.common.storage.point_reads import PointReader
from services.config.authentication import Authenticator
from services.config.call_target_read import CallTargetReader
from services.config.changes import ChangeLog, session_options
from services.config.identity_read import IdentityBatchReader
from services.config.internal_servicer import ConfigInternalServicer
from services.config.models import MIGRATIONS_DIR
from services.config.servicer import ConfigServicer
from services.config.settings import ConfigSettings

SERVICE_NAMES = tuple(
    config_pb2.DESCRIPTOR.services_by_name[name].full_name
    for name in ("ConfigService", "ConfigInternalService")
)


@dataclass(frozen=True)
class Servicers:
    """The config process's servicers over one engine; close ``reader`` on stop."""

    public: ConfigServicer
    internal: ConfigInternalServicer
    reader: PointReader


def build_servicers(engine: AsyncEngine, settings: ConfigSettings) -> Servicers:
    """Both servicers, sharing one authenticator and one fast read path."""
    changes = ChangeLog()
    sessions = create_session_factory(engine, **session_options(changes))
    readers = create_read_only_session_factory(engine)
    reader = PointReader(engine, readers)
    authenticator = Authenticator(sessions, reader)
    targets = CallTargetReader(reader)
    return Servicers(
        public=ConfigServicer(sessions, readers, targets, authenticator, settings),
        internal=ConfigInternalServicer(
            IdentityBatchReader(reader),
            targets,
            authenticator,
            settings,
            changes,
        ),
        reader=reader,
    )


async def start(settings: ConfigSettings) -> GrpcServer:
    """Start serving; health turns SERVING once migrations are applied."""
    engine = create_engine(settings.database_url)
    servicers = build_servicers(engine, settings)
    public, internal = servicers.public, servicers.internal
    return await start_service(
        settings=settings,
        host=settings.bind_host,
        port=settings.config_port,
        engine=engine,
        migrations_dir=MIGRATIONS_DIR,
        registrars=[
            lambda s: config_pb2_grpc.add_ConfigServiceServicer_to_server(public, s),
            lambda s: config_pb2_grpc.add_ConfigInternalServiceServicer_to_server(internal, s),
        ],
        service_names=SERVICE_NAMES,
        name="config",
        metrics_port=settings.config_metrics_port,
        closers=[servicers.reader.close],
    )


async def serve(settings: ConfigSettings | None = None) -> None:
    """Run the config service until SIGTERM/SIGINT."""
    settings = settings or ConfigSettings()
    require_token_off_loopback(
        settings.bind_host, settings.internal_token, "the config service binds"
    )
    token = internal_token(settings, settings.internal_token)
    settings = settings.model_copy(update={"internal_token": token})
    logs.configure("config", settings.log_level, settings.secret_values())
    await serve_until_signalled(
        lambda: start(settings),
        name="config",
        grace=settings.shutdown_grace_seconds,
        drain=settings.shutdown_drain_seconds,
    )
