"""``switchboard probe``: container health checks for a gRPC service or an HTTP URL."""

from __future__ import annotations

import asyncio

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.rpc.channels import open_channel
from services.common.settings import BaseServiceSettings

PROBE_TIMEOUT_SECONDS = 2.0
_PLAINTEXT = BaseServiceSettings.model_construct()


async def grpc_serving(
    target: str,
    timeout: float = PROBE_TIMEOUT_SECONDS,
    settings: BaseServiceSettings | None = None,
) -> bool:
    """True when ``target`` answers ``grpc.health.v1`` Check with SERVING.

    ``settings`` give the TLS files to dial with (plaintext without them).
    """
    async with open_channel(target, settings or _PLAINTEXT) as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.aio.AioRpcError:
            return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


async def http_ok(url: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when ``url`` answers 2xx."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            return False
    return response.is_success


def probe(kind: str, target: str) -> bool:
    """Run one probe synchronously."""
    check = (
        grpc_serving(target, settings=BaseServiceSettings()) if kind == "grpc" else http_ok(target)
    )
    return asyncio.run(check)
