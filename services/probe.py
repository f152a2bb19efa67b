"""``switchboard probe``: container health checks for a gRPC service or an HTTP URL."""

from __future__ import annotations

import asyncio

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROBE_TIMEOUT_SECONDS = 2.0


async def grpc_serving(target: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """True when ``target`` answers ``grpc.health.v1`` Check with SERVING."""
    async with grpc.aio.insecure_channel(target) as channel:
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
    check = grpc_serving(target) if kind == "grpc" else http_ok(target)
    return asyncio.run(check)
