"""Both gRPC services report health and describe themselves through reflection."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.config.server import SERVICE_NAMES as CONFIG_SERVICES
from services.registry.server import SERVICE_NAMES as REGISTRY_SERVICES
from tests.support.reflection import listed_services
from tests.support.stack import Stack


def _channel(stack: Stack, service: str) -> grpc.aio.Channel:
    return stack.config_channel if service == "config" else stack.registry_channel


@pytest.mark.parametrize(
    ("service", "names"), [("config", CONFIG_SERVICES), ("registry", REGISTRY_SERVICES)]
)
async def test_health_is_serving_for_server_and_each_service(
    stack: Stack, service: str, names: tuple[str, ...]
) -> None:
    stub = health_pb2_grpc.HealthStub(_channel(stack, service))
    for name in ("", *names):
        response = await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING, name


async def test_health_of_unknown_service_is_not_found(stack: Stack) -> None:
    stub = health_pb2_grpc.HealthStub(stack.registry_channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("service", "names"), [("config", CONFIG_SERVICES), ("registry", REGISTRY_SERVICES)]
)
async def test_reflection_lists_every_service(
    stack: Stack, service: str, names: tuple[str, ...]
) -> None:
    listed = await listed_services(_channel(stack, service))
    assert set(names) | {"grpc.health.v1.Health"} <= listed


async def test_reflection_serves_file_descriptors(stack: Stack) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(stack.registry_channel)
    request = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="switchboard.registry.v1.InboundNumberService"
    )
    responses = [r async for r in stub.ServerReflectionInfo(iter([request]), timeout=5)]
    assert responses[0].file_descriptor_response.file_descriptor_proto
