"""The scale-out path: two replicas of config and registry on PostgreSQL through PgBouncer.

PgBouncer runs in transaction-pooling mode (started here); every process reaches the
databases through it (URLs with ``?pgbouncer=true``). Routing works across replicas,
64 concurrent assigns of one number leave exactly one mapping, and ``serve all``
through it stops as a whole when one child is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.common.rpc.server import GrpcServer
from services.common.storage.db import create_engine, create_session_factory
from services.config import provisioning
from services.config import server as config_server
from services.registry import server as registry_server
from services.registry.models import InboundNumber
from tests.support.databases import (
    fresh_databases,
    postgres_admin_url,
    postgres_unreachable_reason,
    running_in_ci,
)
from tests.support.pgbouncer import running_pgbouncer, through
from tests.support.serve_all import alive, serve_all
from tests.support.stack import service_settings

EDGE_TOKEN = "sbedge_pgbouncer-test-edge-token"
CONCURRENT_ASSIGNS = 64


@pytest.fixture(scope="module")
async def pgbouncer_port() -> AsyncIterator[int]:
    reason = await postgres_unreachable_reason(postgres_admin_url())
    if reason is not None:
        message = f"PostgreSQL is unreachable: {reason}"
        if running_in_ci():
            pytest.fail(f"{message} (mandatory with CI=true)")
        pytest.skip(message)
    with running_pgbouncer(postgres_admin_url()) as port:
        yield port


@pytest.fixture
async def pooled_urls(pgbouncer_port: int, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    async with fresh_databases("postgresql", tmp_path) as urls:
        yield {service: through(url, pgbouncer_port) for service, url in urls.items()}


@dataclass
class Replicas:
    configs: list[GrpcServer]
    registries: list[GrpcServer]
    channels: list[grpc.aio.Channel]

    def config(self, index: int) -> config_pb2_grpc.ConfigServiceStub:
        return config_pb2_grpc.ConfigServiceStub(self.channels[index])

    def numbers(self, index: int) -> registry_pb2_grpc.InboundNumberServiceStub:
        return registry_pb2_grpc.InboundNumberServiceStub(self.channels[2 + index])

    def routing(self, index: int) -> registry_pb2_grpc.CallRoutingServiceStub:
        return registry_pb2_grpc.CallRoutingServiceStub(self.channels[2 + index])


@pytest.fixture
async def replicas(pooled_urls: dict[str, str], tmp_path: Path) -> AsyncIterator[Replicas]:
    config_settings, registry_settings = service_settings(
        pooled_urls, tmp_path, edge_token=EDGE_TOKEN
    )
    async with AsyncExitStack() as exits:
        configs = []
        for _ in range(2):
            server = await config_server.start(config_settings.model_copy())
            exits.push_async_callback(server.stop, 0.5)
            configs.append(server)
        registries = []
        for config in configs:  # each registry replica asks its own config replica
            settings = registry_settings.model_copy(
                update={"config_address": f"127.0.0.1:{config.port}"}
            )
            server = await registry_server.start(settings)
            exits.push_async_callback(server.stop, 0.5)
            registries.append(server)
        channels = []
        for server in (*configs, *registries):
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
            exits.push_async_callback(channel.close)
            channels.append(channel)
        for channel in channels:
            await asyncio.wait_for(channel.channel_ready(), timeout=60)
        yield Replicas(configs, registries, channels)


async def account_with_identity(
    urls: dict[str, str], replicas: Replicas
) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """(account id, admin metadata, identity id) created through config replica 0 and 1."""
    engine = create_engine(urls["config"])
    try:
        created = await provisioning.create_account(create_session_factory(engine), "pooled")
    finally:
        await engine.dispose()
    admin = (("x-api-key", created.api_key),)
    identity = await replicas.config(0).CreateAgentIdentity(
        config_pb2.CreateAgentIdentityRequest(
            agent_identity=config_pb2.AgentIdentity(
                agent_handle=f"pooled-{uuid.uuid4().hex[:10]}", display_name="Pooled agent"
            )
        ),
        metadata=admin,
        timeout=30,
    )
    await replicas.config(1).UpdateIncomingCallAction(
        config_pb2.UpdateIncomingCallActionRequest(
            incoming_call_action=config_pb2.IncomingCallAction(
                agent_identity_id=identity.id,
                incoming_call_action=config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT,
                client_websocket_url="wss://agent.example.com/pooled",
            )
        ),
        metadata=admin,
        timeout=30,
    )
    return created.account_id, admin, identity.id


def assign_request(identity: str, number: str) -> pb.AssignInboundNumberRequest:
    return pb.AssignInboundNumberRequest(
        assistant_id=identity,
        service="exotel",
        inbound_config=pb.InboundConfig(type="exotel", phone_number=number),
    )


async def test_routing_across_replicas_through_pgbouncer(
    pooled_urls: dict[str, str], replicas: Replicas
) -> None:
    _, admin, identity = await account_with_identity(pooled_urls, replicas)
    number = "+919812300001"
    await replicas.numbers(0).AssignInboundNumber(
        assign_request(identity, number), metadata=admin, timeout=30
    )
    for index in (0, 1):
        for _ in range(20):  # many transactions: pooled server connections get reused
            decision = await replicas.routing(index).RouteCall(
                pb.RouteCallRequest(
                    inbound_number=number, caller_number="+14155550100", service="exotel"
                ),
                metadata=(("x-switchboard-edge-token", EDGE_TOKEN),),
                timeout=30,
            )
            assert decision.decision == pb.ROUTING_DECISION_ACCEPT
            assert decision.client_websocket_url == "wss://agent.example.com/pooled"
    listed = await replicas.numbers(1).ListInboundNumbers(
        pb.ListInboundNumbersRequest(), metadata=admin, timeout=30
    )
    assert [mapping.phone_number for mapping in listed.inbound_numbers] == [number]


async def test_64_concurrent_assigns_of_one_number_leave_one_mapping(
    pooled_urls: dict[str, str], replicas: Replicas
) -> None:
    account_id, admin, identity = await account_with_identity(pooled_urls, replicas)
    number = "+919812300002"

    async def assign(index: int) -> grpc.StatusCode:
        try:
            await replicas.numbers(index % 2).AssignInboundNumber(
                assign_request(identity, number), metadata=admin, timeout=60
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    codes = await asyncio.gather(*(assign(i) for i in range(CONCURRENT_ASSIGNS)))
    assert codes.count(grpc.StatusCode.OK) == 1, codes
    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS}, set(codes)
    engine = create_engine(pooled_urls["registry"])
    try:
        async with create_session_factory(engine)() as session:
            active = await session.scalar(
                select(func.count())
                .select_from(InboundNumber)
                .where(InboundNumber.account_id == account_id, InboundNumber.active.is_(True))
            )
    finally:
        await engine.dispose()
    assert active == 1


def _variables(urls: dict[str, str]) -> Iterator[tuple[str, Any]]:
    yield "SWITCHBOARD_CONFIG_DATABASE_URL", urls["config"]
    yield "SWITCHBOARD_REGISTRY_DATABASE_URL", urls["registry"]


async def test_serve_all_through_pgbouncer_stops_whole_when_a_child_is_killed(
    pooled_urls: dict[str, str], tmp_path: Path
) -> None:
    async with serve_all(tmp_path, **dict(_variables(pooled_urls))) as running:
        assert await running.ready(), running.stderr()
        children = running.children()
        os.kill(children["registry"], signal.SIGKILL)
        status = await asyncio.wait_for(running.process.wait(), timeout=60)
        assert status != 0
        for pid in children.values():
            assert not alive(pid)
    # The pooler is unharmed: a new process connects through it and reads its schema.
    engine = create_engine(pooled_urls["registry"])
    try:
        async with create_session_factory(engine)() as session:
            assert await session.scalar(select(func.count()).select_from(InboundNumber)) == 0
    finally:
        await engine.dispose()
