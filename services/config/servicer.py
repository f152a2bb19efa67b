"""``ConfigService``: the public config RPCs, protobuf in and out, no SQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.config.v1 import config_pb2_grpc

from services.config.authentication import Authenticator
from services.config.settings import ConfigSettings


class ConfigServicer(config_pb2_grpc.ConfigServiceServicer):
    """``switchboard.config.v1.ConfigService``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        authenticator: Authenticator,
        settings: ConfigSettings,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._authenticator = authenticator
        self._settings = settings
