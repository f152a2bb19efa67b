"""gRPC channels from the gateway to the config and registry services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.settings import GatewaySettings
from services.common.rpc.channels import open_channel

Stub = TypeVar("Stub")


@dataclass
class Upstreams:
    """The gateway's two channels; built in the app's lifespan, closed with it."""

    config: grpc.aio.Channel
    registry: grpc.aio.Channel
    timeout: float
    _stubs: dict[tuple[Callable[..., Any], str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def connect(cls, settings: GatewaySettings) -> Upstreams:
        """Open (lazily connecting, TLS if configured) channels to both services, once."""
        return cls(
            config=open_channel(settings.config_address, settings),
            registry=open_channel(settings.registry_address, settings),
            timeout=settings.upstream_timeout_seconds,
        )

    def config_stub(self, stub_type: Callable[[grpc.aio.Channel], Stub]) -> Stub:
        """The config channel's stub of ``stub_type``, made once (a stub builds a callable per
        method, which the hot routes should not pay on every request)."""
        return self._stub(stub_type, "config")

    def registry_stub(self, stub_type: Callable[[grpc.aio.Channel], Stub]) -> Stub:
        """The registry channel's stub of ``stub_type``, made once."""
        return self._stub(stub_type, "registry")

    def _stub(self, stub_type: Callable[[grpc.aio.Channel], Stub], service: str) -> Stub:
        key = (stub_type, service)
        found = self._stubs.get(key)
        if found is None:
            found = self._stubs[key] = stub_type(getattr(self, service))
        stub: Stub = found
        return stub

    async def health(self, timeout: float = 1.0) -> dict[str, str]:
        """Each service's overall health status name (``UNAVAILABLE`` when unreachable)."""
        return {
            "config": await _check(self.config, timeout),
            "registry": await _check(self.registry, timeout),
        }

    async def close(self) -> None:
        """Close both channels."""
        await self.config.close()
        await self.registry.close()


async def _check(channel: grpc.aio.Channel, timeout: float) -> str:
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
