"""A registry (and a gateway in front of it) set up for routing tests: edge token, receiver CA."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
import httpx
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.settings import GatewaySettings
from services.common.rpc.server import GrpcServer
from services.registry import server as registry_server
from services.registry.settings import RegistrySettings
from tests.support.https_receiver import HttpsReceiver
from tests.support.stack import Stack, running_gateway, service_settings

EDGE_TOKEN = "edge-token-for-tests-0123456789abcdef"


@dataclass
class RoutingStack:
    """The shared stack's databases and config service, with a routing-ready registry."""

    stack: Stack
    receiver: HttpsReceiver
    registry: GrpcServer
    channel: grpc.aio.Channel
    http: httpx.AsyncClient
    edge_token: str = EDGE_TOKEN

    @property
    def stub(self) -> registry_pb2_grpc.CallRoutingServiceStub:
        return registry_pb2_grpc.CallRoutingServiceStub(self.channel)

    async def route(
        self,
        inbound_number: str,
        *,
        caller_number: str = "+919900000001",
        call_id: str | None = None,
        service: str = "exotel",
        metadata: tuple[tuple[str, str], ...] | None = None,
        timeout: float = 30,
    ) -> registry_pb2.RouteCallResponse:
        """RouteCall as the edge (or with ``metadata``)."""
        request = registry_pb2.RouteCallRequest(
            inbound_number=inbound_number, caller_number=caller_number, service=service
        )
        if call_id is not None:
            request.call_id = call_id
        if metadata is None:
            metadata = (("x-switchboard-edge-token", self.edge_token),)
        response: registry_pb2.RouteCallResponse = await self.stub.RouteCall(
            request, metadata=metadata, timeout=timeout
        )
        return response


def routing_registry_settings(
    stack: Stack, workdir: Path, ca_file: Path | None, **overrides: object
) -> RegistrySettings:
    """Registry settings on the stack's databases and config service."""
    _, settings = service_settings(
        stack.database_urls,
        workdir,
        outbound_ca_file=ca_file,
        edge_token=EDGE_TOKEN,
        **overrides,
    )
    settings.config_address = stack.config_target
    return settings


@contextlib.asynccontextmanager
async def running_registry(
    settings: RegistrySettings, *, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[GrpcServer]:
    """A registry server for the duration of the block (routing on ``clock`` when given)."""
    server = await registry_server.start(settings, clock=clock)
    try:
        yield server
    finally:
        await server.stop(0.5)


@contextlib.asynccontextmanager
async def running_routing_stack(
    stack: Stack,
    receiver: HttpsReceiver,
    workdir: Path,
    *,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[RoutingStack]:
    """Registry trusting the receiver's CA (no call-target cache), plus a gateway on it."""
    settings = routing_registry_settings(
        stack, workdir, receiver.ca_file, call_target_cache_ttl_seconds=0
    )
    async with running_registry(settings, clock=clock) as registry:
        gateway_settings = GatewaySettings(
            gateway_port=0,
            config_address=stack.config_target,
            registry_address=f"127.0.0.1:{registry.port}",
            data_dir=workdir,
        )
        async with (
            running_gateway(gateway_settings) as gateway_url,
            grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
            httpx.AsyncClient(base_url=gateway_url, timeout=30) as http,
        ):
            yield RoutingStack(stack, receiver, registry, channel, http)
