"""gRPC servicers of the registry service: protobuf in and out, no SQL."""

from __future__ import annotations

from typing import TypeAlias

import grpc
from google.protobuf import empty_pb2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from services.common.auth import Principal, credential_from_metadata
from services.common.rpc.proto_time import from_duration
from services.common.storage import idempotency
from services.registry.config_client import ConfigClient
from services.registry.convert import (
    link_changes,
    mapping_to_proto,
    strategy_patch,
    strategy_to_proto,
)
from services.registry.numbers import AssignCommand, InboundNumbers
from services.registry.strategies import InboundContextStrategies, NewStrategy

Context: TypeAlias = grpc.aio.ServicerContext[object, object]


class RegistryServicerBase:
    """What every API-key servicer shares: the caller's principal (asked of config) and the
    sessions idempotent writes are stored in. Services come built (``server.py``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], config: ConfigClient) -> None:
        self._sessions = sessions
        self._config = config

    async def _principal(self, context: Context) -> Principal:
        """Who is calling, from the API key in the call's metadata (asked of config, cached)."""
        return await self._config.authenticate(
            credential_from_metadata(context.invocation_metadata())
        )


class InboundNumberServicer(RegistryServicerBase, registry_pb2_grpc.InboundNumberServiceServicer):
    """``switchboard.registry.v1.InboundNumberService``."""

    def __init__(
        self,
        numbers: InboundNumbers,
        sessions: async_sessionmaker[AsyncSession],
        config: ConfigClient,
    ) -> None:
        super().__init__(sessions, config)
        self._numbers = numbers

    async def AssignInboundNumber(
        self, request: registry_pb2.AssignInboundNumberRequest, context: Context
    ) -> registry_pb2.InboundNumber:
        principal = await self._principal(context)
        command = AssignCommand(
            assistant_id=request.assistant_id,
            service=request.service,
            phone_number=request.inbound_config.phone_number,
            inbound_config_type=request.inbound_config.type,
            strategy_id=(
                request.inbound_context_strategy_id
                if request.HasField("inbound_context_strategy_id")
                else None
            ),
        )

        async def assign() -> registry_pb2.InboundNumber:
            return mapping_to_proto(await self._numbers.assign(principal, command))

        return await idempotency.once(
            self._sessions, principal, request, registry_pb2.InboundNumber, assign
        )

    async def UpdateInboundNumber(
        self, request: registry_pb2.UpdateInboundNumberRequest, context: Context
    ) -> registry_pb2.InboundNumber:
        principal = await self._principal(context)
        view = await self._numbers.update(principal, request.inbound_id, link_changes(request))
        return mapping_to_proto(view)

    async def GetInboundNumber(
        self, request: registry_pb2.GetInboundNumberRequest, context: Context
    ) -> registry_pb2.InboundNumber:
        principal = await self._principal(context)
        return mapping_to_proto(await self._numbers.get(principal, request.inbound_id))

    async def DetachInboundNumber(
        self, request: registry_pb2.DetachInboundNumberRequest, context: Context
    ) -> registry_pb2.InboundNumber:
        principal = await self._principal(context)
        return mapping_to_proto(await self._numbers.detach(principal, request.inbound_id))

    async def DeleteInboundNumber(
        self, request: registry_pb2.DeleteInboundNumberRequest, context: Context
    ) -> empty_pb2.Empty:
        principal = await self._principal(context)
        await self._numbers.delete(principal, request.inbound_id)
        return empty_pb2.Empty()

    async def ListInboundNumbers(
        self, request: registry_pb2.ListInboundNumbersRequest, context: Context
    ) -> registry_pb2.ListInboundNumbersResponse:
        principal = await self._principal(context)
        page = await self._numbers.list_mappings(
            principal,
            page_size=request.page_size,
            page_token=request.page_token,
            assistant_id=request.assistant_id if request.HasField("assistant_id") else None,
        )
        return registry_pb2.ListInboundNumbersResponse(
            inbound_numbers=[mapping_to_proto(view) for view in page.items],
            next_page_token=page.next_page_token,
        )


class InboundContextStrategyServicer(
    RegistryServicerBase, registry_pb2_grpc.InboundContextStrategyServiceServicer
):
    """``switchboard.registry.v1.InboundContextStrategyService``."""

    def __init__(
        self,
        strategies: InboundContextStrategies,
        sessions: async_sessionmaker[AsyncSession],
        config: ConfigClient,
    ) -> None:
        super().__init__(sessions, config)
        self._strategies = strategies

    async def CreateInboundContextStrategy(
        self, request: registry_pb2.CreateInboundContextStrategyRequest, context: Context
    ) -> registry_pb2.InboundContextStrategy:
        principal = await self._principal(context)
        config = request.strategy_config
        new = NewStrategy(
            strategy_name=request.strategy_name,
            strategy_type=request.strategy_type,
            url=config.url,
            headers=dict(config.headers),
            timeout_seconds=from_duration(config.timeout) if config.HasField("timeout") else None,
        )

        async def create() -> registry_pb2.InboundContextStrategy:
            return strategy_to_proto(await self._strategies.create(principal, new))

        return await idempotency.once(
            self._sessions, principal, request, registry_pb2.InboundContextStrategy, create
        )

    async def UpdateInboundContextStrategy(
        self, request: registry_pb2.UpdateInboundContextStrategyRequest, context: Context
    ) -> registry_pb2.InboundContextStrategy:
        principal = await self._principal(context)
        patch = strategy_patch(request)
        return strategy_to_proto(
            await self._strategies.update(principal, request.inbound_context_strategy_id, patch)
        )

    async def ListInboundContextStrategies(
        self, request: registry_pb2.ListInboundContextStrategiesRequest, context: Context
    ) -> registry_pb2.ListInboundContextStrategiesResponse:
        principal = await self._principal(context)
        page = await self._strategies.list_strategies(
            principal, page_size=request.page_size, page_token=request.page_token
        )
        return registry_pb2.ListInboundContextStrategiesResponse(
            strategies=[strategy_to_proto(strategy) for strategy in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetInboundContextStrategy(
        self, request: registry_pb2.GetInboundContextStrategyRequest, context: Context
    ) -> registry_pb2.InboundContextStrategy:
        principal = await self._principal(context)
        return strategy_to_proto(
            await self._strategies.get(principal, request.inbound_context_strategy_id)
        )

    async def DeleteInboundContextStrategy(
        self, request: registry_pb2.DeleteInboundContextStrategyRequest, context: Context
    ) -> empty_pb2.Empty:
        principal = await self._principal(context)
        await self._strategies.delete(principal, request.inbound_context_strategy_id)
        return empty_pb2.Empty()
