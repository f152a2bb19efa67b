"""The config service being down: RouteCall fails fast with UNAVAILABLE, never hangs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.processes import free_port
from tests.support.routing_stack import EDGE_TOKEN, routing_registry_settings, running_registry
from tests.support.stack import Stack

CONFIG_DEADLINE = 1.0
CALL_DEADLINE = 4.0


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts TCP connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def route_with_config_at(
    stack: Stack, workdir: Path, config_address: str, number: str
) -> tuple[grpc.aio.AioRpcError, float]:
    settings = routing_registry_settings(
        stack, workdir, None, config_timeout_seconds=CONFIG_DEADLINE
    )
    settings.config_address = config_address
    async with (
        running_registry(settings) as registry,
        grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
    ):
        stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
        request = pb.RouteCallRequest(inbound_number=number, caller_number="1", service="exotel")
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.RouteCall(
                request,
                metadata=(("x-switchboard-edge-token", EDGE_TOKEN),),
                timeout=CALL_DEADLINE,
            )
        return caught.value, time.monotonic() - started


async def test_refused_connection_is_unavailable_at_once(
    stack: Stack, account: CreatedAccount, tmp_path: Path
) -> None:
    mapping = await factories.map_number(stack, account.account_id, str(uuid.uuid4()))
    error, elapsed = await route_with_config_at(
        stack, tmp_path, f"127.0.0.1:{free_port()}", mapping.number
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "config service unavailable" in (error.details() or "")
    assert elapsed < CONFIG_DEADLINE + 1


async def test_unresponsive_config_is_unavailable_within_the_deadline(
    stack: Stack, account: CreatedAccount, tmp_path: Path, silent_port: int
) -> None:
    mapping = await factories.map_number(stack, account.account_id, str(uuid.uuid4()))
    error, elapsed = await route_with_config_at(
        stack, tmp_path, f"127.0.0.1:{silent_port}", mapping.number
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "config service unavailable" in (error.details() or "")
    assert elapsed < CONFIG_DEADLINE + 1
