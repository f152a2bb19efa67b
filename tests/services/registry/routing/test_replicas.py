"""Two registry replicas on one database; the routing read's query plan.

Mapping changes are seen at once, call-target changes within the cache TTL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import grpc
import pytest
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config.provisioning import CreatedAccount
from services.registry.repository import ACTIVE_MAPPING_OF_ANY_ACCOUNT
from tests.services.registry.routing import factories
from tests.support.processes import eventually
from tests.support.routing_stack import EDGE_TOKEN, routing_registry_settings, running_registry
from tests.support.stack import Stack

TTL = 1.0
WSS = "wss://agent.example.com/stream"


@pytest.fixture
async def replicas(
    stack: Stack, tmp_path: Path
) -> AsyncIterator[list[registry_pb2_grpc.CallRoutingServiceStub]]:
    # TTL semantics only: the test writes the database directly, which config cannot announce.
    settings = routing_registry_settings(
        stack,
        tmp_path,
        None,
        call_target_cache_ttl_seconds=TTL,
        call_target_cache_pushed_ttl_seconds=0,
    )
    async with AsyncExitStack() as exits:
        stubs = []
        for _ in range(2):
            registry = await exits.enter_async_context(running_registry(settings))
            channel = await exits.enter_async_context(
                grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}")
            )
            stubs.append(registry_pb2_grpc.CallRoutingServiceStub(channel))
        yield stubs


async def decide(
    stub: registry_pb2_grpc.CallRoutingServiceStub, number: str
) -> pb.RouteCallResponse:
    response: pb.RouteCallResponse = await stub.RouteCall(
        pb.RouteCallRequest(inbound_number=number, caller_number="1", service="exotel"),
        metadata=(("x-switchboard-edge-token", EDGE_TOKEN),),
        timeout=10,
    )
    return response


async def test_call_action_changes_reach_every_replica_within_the_ttl(
    stack: Stack, account: CreatedAccount, replicas: list[registry_pb2_grpc.CallRoutingServiceStub]
) -> None:
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    assert mapping.assistant_id is not None
    for stub in replicas:
        assert (await decide(stub, mapping.number)).decision == pb.ROUTING_DECISION_ACCEPT

    await factories.set_call_action(stack, mapping.assistant_id, "auto_reject")

    async def all_reject() -> bool:
        decisions = [(await decide(stub, mapping.number)).decision for stub in replicas]
        return all(d == pb.ROUTING_DECISION_REJECT for d in decisions)

    assert await eventually(all_reject, timeout=TTL + 1.5, interval=0.1)


async def test_mapping_changes_are_seen_by_every_replica_at_once(
    stack: Stack, account: CreatedAccount, replicas: list[registry_pb2_grpc.CallRoutingServiceStub]
) -> None:
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    for stub in replicas:
        assert (await decide(stub, mapping.number)).decision == pb.ROUTING_DECISION_ACCEPT
    await factories.deactivate(stack, mapping.inbound_id)
    for stub in replicas:
        response = await decide(stub, mapping.number)
        assert response.reject_reason == pb.REJECT_REASON_NO_ACTIVE_MAPPING


async def test_the_mapping_read_uses_the_partial_unique_index(stack: Stack) -> None:
    engine = stack.registry_engine
    sql = str(
        ACTIVE_MAPPING_OF_ANY_ACCOUNT.params(number="919800000000", caller="919812345678").compile(
            engine.sync_engine, compile_kwargs={"literal_binds": True}
        )
    )
    async with engine.connect() as connection:
        if stack.backend == "sqlite":
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
        else:
            # Tiny test tables favour a sequential scan; ask whether the index is usable at all.
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = await connection.exec_driver_sql("EXPLAIN " + sql)
        details = " ".join(str(row[-1]) for row in plan)
    assert "uq_inbound_numbers_active_normalized" in details
    # The caller's contact rule is a point read of the inbound side's unique index too.
    assert "uq_contact_rules_inbound_side" in details
    assert "SCAN contact_rules" not in details
    assert "SCAN inbound_numbers" not in details
    assert "Seq Scan on inbound_numbers" not in details
