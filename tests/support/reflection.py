"""What a gRPC server's reflection service lists."""

from __future__ import annotations

import grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


async def listed_services(channel: grpc.aio.Channel, timeout: float = 5) -> set[str]:
    """The full names of the services ``channel``'s server lists through reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    listed: set[str] = set()
    async for response in stub.ServerReflectionInfo(iter([request]), timeout=timeout):
        listed |= {service.name for service in response.list_services_response.service}
    return listed
