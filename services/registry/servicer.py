"""gRPC servicers of the registry service: protobuf in and out, no SQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.registry.v1 import registry_pb2_grpc

from services.registry.config_client import ConfigClient
from services.registry.settings import RegistrySettings


class RegistryServicerBase:
    """Dependencies every registry servicer is built with."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        readers: async_sessionmaker[AsyncSession],
        config: ConfigClient,
        settings: RegistrySettings,
    ) -> None:
        self._sessions = sessions
        self._readers = readers
        self._config = config
        self._settings = settings


class InboundNumberServicer(RegistryServicerBase, registry_pb2_grpc.InboundNumberServiceServicer):
    """``switchboard.registry.v1.InboundNumberService``."""


class InboundContextStrategyServicer(
    RegistryServicerBase, registry_pb2_grpc.InboundContextStrategyServiceServicer
):
    """``switchboard.registry.v1.InboundContextStrategyService``."""
