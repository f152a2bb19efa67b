"""gRPC servicers of the config service: protobuf in and out, no SQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.config.v1 import config_pb2_grpc

from services.config.settings import ConfigSettings


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    """``switchboard.config.v1.ConfigService``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: ConfigSettings):
        self._sessions = sessions
        self._settings = settings


class ConfigInternalServicer(config_pb2_grpc.ConfigInternalServiceServicer):
    """``switchboard.config.v1.ConfigInternalService``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: ConfigSettings):
        self._sessions = sessions
        self._settings = settings
