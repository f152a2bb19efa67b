"""Capacity in real RouteCalls: exactly N of N+1 simultaneous calls, release, expiry, the
mapping's limit, the overflow chain in order, the journal and the explain trace, the
statements a call costs, carrier overrides, and ReleaseCall / RenewCall over gRPC and REST."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config.models import AgentIdentity
from services.config.provisioning import CreatedAccount
from services.registry.capacity_leases import identity_scope, mapping_scope
from tests.services.registry.routing import factories
from tests.support.processes import eventually
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"
FALLBACK_WSS = "wss://overflow.example.com/queue"
FORWARD_TO = "+14155550100"


def edge(routing: RoutingStack) -> tuple[tuple[str, str], ...]:
    return (("x-switchboard-edge-token", routing.edge_token),)


def call_id() -> str:
    return f"call-{uuid.uuid4()}"


async def set_capacity(
    routing: RoutingStack,
    identity_id: str,
    limit: int | None,
    chain: list[dict[str, Any]] | None = None,
) -> None:
    async with routing.stack.config_sessions.begin() as session:
        await session.execute(
            update(AgentIdentity)
            .where(AgentIdentity.id == identity_id)
            .values(max_concurrent_calls=limit, overflow_chain=chain)
        )


async def limited(routing: RoutingStack, account_id: str, limit: int) -> factories.Mapping:
    mapping = await factories.routed_identity(
        routing.stack, account_id, "auto_accept", client_websocket_url=WSS
    )
    assert mapping.assistant_id is not None
    await set_capacity(routing, mapping.assistant_id, limit)
    return mapping


async def release(routing: RoutingStack, call: str) -> None:
    await routing.stub.ReleaseCall(pb.ReleaseCallRequest(call_id=call), metadata=edge(routing))


@contextmanager
def capacity_statements() -> Iterator[list[str]]:
    """Every statement any engine of this process runs on capacity_slots, while open."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "capacity_slots" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_n_plus_one_simultaneous_calls_get_exactly_n_and_release_frees_one(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await limited(routing, account.account_id, 3)
    calls = [call_id() for _ in range(4)]
    answers = await asyncio.gather(*(routing.route(mapping.number, call_id=c) for c in calls))
    accepted = [a for a in answers if a.decision == pb.ROUTING_DECISION_ACCEPT]
    busy = [a for a in answers if a.decision == pb.ROUTING_DECISION_REJECT]
    assert (len(accepted), len(busy)) == (3, 1)
    [refused] = busy
    assert refused.reject_reason == pb.REJECT_REASON_AT_CAPACITY
    assert (refused.edge_outcome, refused.sip_status) == (pb.EDGE_OUTCOME_BUSY, 486)
    assert list(refused.capacity.full_scopes) == [identity_scope(mapping.assistant_id or "")]
    assert not refused.capacity.HasField("lease")
    slots = sorted(slot for a in accepted for slot in a.capacity.lease.slots)
    assert slots == [f"{identity_scope(mapping.assistant_id or '')}#{n}" for n in range(3)]

    # Release frees a slot; releasing again is a no-op that frees nobody else's.
    holder = accepted[0].call_id
    await release(routing, holder)
    await release(routing, holder)
    first, second = await asyncio.gather(
        routing.route(mapping.number, call_id=call_id()),
        routing.route(mapping.number, call_id=call_id()),
    )
    assert sorted([first.decision, second.decision]) == [
        pb.ROUTING_DECISION_ACCEPT,
        pb.ROUTING_DECISION_REJECT,
    ]
    # A retried RouteCall of a call holding a slot keeps it (no second slot, not busy).
    retried = await routing.route(mapping.number, call_id=accepted[1].call_id)
    assert retried.decision == pb.ROUTING_DECISION_ACCEPT
    assert list(retried.capacity.lease.slots) == list(accepted[1].capacity.lease.slots)


async def test_an_unreleased_lease_expires_and_renew_extends_it(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await limited(routing, account.account_id, 1)
    holder = call_id()
    assert (await routing.route(mapping.number, call_id=holder)).capacity.HasField("lease")
    # The edge "crashes" after shortening the lease to one second.
    renewed = await routing.stub.RenewCall(
        pb.RenewCallRequest(call_id=holder, ttl=Duration(seconds=1)), metadata=edge(routing)
    )
    assert renewed.call_id == holder
    assert list(renewed.slots) == [f"{identity_scope(mapping.assistant_id or '')}#0"]
    assert (await routing.route(mapping.number)).reject_reason == pb.REJECT_REASON_AT_CAPACITY

    async def free_again() -> bool:
        answer = await routing.route(mapping.number, call_id=call_id())
        return answer.decision == pb.ROUTING_DECISION_ACCEPT

    assert await eventually(free_again, timeout=5, interval=0.25)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await routing.stub.RenewCall(pb.RenewCallRequest(call_id=holder), metadata=edge(routing))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "request_",
    [
        pb.RenewCallRequest(call_id=""),
        pb.RenewCallRequest(call_id="x" * 257),
        pb.RenewCallRequest(call_id="c", ttl=Duration(nanos=500_000_000)),
        pb.RenewCallRequest(call_id="c", ttl=Duration(seconds=86_401)),
        # Beyond timedelta's range (found by the gRPC fuzz: it was INTERNAL).
        pb.RenewCallRequest(call_id="c", ttl=Duration(seconds=-(2**62))),
        pb.RenewCallRequest(call_id="c", ttl=Duration(seconds=2**62)),
    ],
)
async def test_renew_refuses_bad_arguments(
    routing: RoutingStack, request_: pb.RenewCallRequest
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await routing.stub.RenewCall(request_, metadata=edge(routing))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_release_refuses_an_empty_call_id(routing: RoutingStack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await routing.stub.ReleaseCall(pb.ReleaseCallRequest(call_id=""), metadata=edge(routing))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_mappings_limit_holds_for_every_assistant_and_skips_the_overflow_chain(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    assert mapping.assistant_id is not None
    await set_capacity(
        routing, mapping.assistant_id, None, [{"forwarding_phone_number": FORWARD_TO}]
    )
    numbers = registry_pb2_grpc.InboundNumberServiceStub(routing.channel)
    admin = (("x-api-key", account.api_key),)
    updated = await numbers.UpdateInboundNumber(
        pb.UpdateInboundNumberRequest(
            inbound_id=mapping.inbound_id,
            inbound_number=pb.InboundNumberLinks(max_concurrent_calls=1),
            update_mask=FieldMask(paths=["max_concurrent_calls"]),
        ),
        metadata=admin,
    )
    assert updated.max_concurrent_calls == 1
    first = await routing.route(mapping.number, call_id=call_id())
    assert list(first.capacity.lease.slots) == [f"{mapping_scope(mapping.inbound_id)}#0"]
    second = await routing.route(mapping.number, call_id=call_id())
    assert second.reject_reason == pb.REJECT_REASON_AT_CAPACITY
    assert list(second.capacity.full_scopes) == [mapping_scope(mapping.inbound_id)]
    assert second.capacity.overflow_step == 0

    # Cleared: unlimited again (no capacity in the answer at all).
    cleared = await numbers.UpdateInboundNumber(
        pb.UpdateInboundNumberRequest(
            inbound_id=mapping.inbound_id,
            inbound_number=pb.InboundNumberLinks(),
            update_mask=FieldMask(paths=["max_concurrent_calls"]),
        ),
        metadata=admin,
    )
    assert not cleared.HasField("max_concurrent_calls")
    third = await routing.route(mapping.number, call_id=call_id())
    assert third.decision == pb.ROUTING_DECISION_ACCEPT and not third.HasField("capacity")


async def test_the_overflow_chain_is_followed_in_order(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    stack = routing.stack
    mapping = await limited(routing, account.account_id, 1)
    called = mapping.assistant_id or ""
    spare = await factories.create_identity(stack, account.account_id, "Spare agent")
    await factories.set_call_action(stack, spare, "auto_accept", client_websocket_url=WSS)
    await set_capacity(routing, spare, 1)
    silent = await factories.create_identity(stack, account.account_id, "No action")
    await set_capacity(
        routing,
        called,
        1,
        [
            {"agent_identity_id": silent},
            {"agent_identity_id": spare},
            {"forwarding_phone_number": FORWARD_TO},
        ],
    )
    answers = [await routing.route(mapping.number, call_id=call_id()) for _ in range(4)]
    own, to_spare, forwarded, forwarded_again = answers
    assert (own.assistant_id, own.capacity.overflow_step) == (called, 0)
    assert (to_spare.decision, to_spare.assistant_id) == (pb.ROUTING_DECISION_ACCEPT, spare)
    assert to_spare.assistant_name == "Spare agent"
    assert to_spare.capacity.overflow_step == 2
    assert list(to_spare.capacity.lease.slots) == [f"{identity_scope(spare)}#0"]
    for answer in (forwarded, forwarded_again):
        assert answer.decision == pb.ROUTING_DECISION_FORWARD
        assert answer.forwarding_phone_number == FORWARD_TO
        assert answer.action_source == pb.ACTION_SOURCE_OVERFLOW
        assert answer.capacity.overflow_step == 3
        assert answer.edge_outcome == pb.EDGE_OUTCOME_FORWARD

    # The journal says which rule decided; the explain trace shows each step.
    assert await _journaled(routing, account, forwarded.call_id, "overflow step 3")
    simulated = await routing.stub.SimulateCall(
        pb.SimulateCallRequest(
            call=pb.RouteCallRequest(
                inbound_number=mapping.number, caller_number="+919900000001", service="exotel"
            )
        ),
        metadata=edge(routing),
    )
    capacity = [(s.outcome, s.detail) for s in simulated.steps if s.stage == "capacity"]
    assert [outcome for outcome, _ in capacity] == ["full", "skipped", "full", "unlimited"]
    assert "overflow step 1" in capacity[1][1] and "overflow step 3" in capacity[3][1]
    assert simulated.decision.capacity.slot_free is False
    assert simulated.decision.capacity.overflow_step == 3
    assert not simulated.decision.capacity.HasField("lease")


async def test_the_webhook_fallback_step_and_a_chain_that_takes_nothing(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        client_websocket_url=WSS,
        fallback_action="accept",
        fallback_client_websocket_url=FALLBACK_WSS,
    )
    called = mapping.assistant_id or ""
    await set_capacity(routing, called, 1, [{"webhook_fallback": True}])
    first = await routing.route(mapping.number, call_id=call_id())
    overflowed = await routing.route(mapping.number, call_id=call_id())
    assert first.client_websocket_url == WSS
    assert overflowed.decision == pb.ROUTING_DECISION_ACCEPT
    assert overflowed.client_websocket_url == FALLBACK_WSS
    assert (overflowed.action_source, overflowed.capacity.overflow_step) == (
        pb.ACTION_SOURCE_OVERFLOW,
        1,
    )
    # No usable step: busy.
    plain = await limited(routing, account.account_id, 1)
    await set_capacity(routing, plain.assistant_id or "", 1, [{"webhook_fallback": True}])
    await routing.route(plain.number, call_id=call_id())
    refused = await routing.route(plain.number, call_id=call_id())
    assert refused.reject_reason == pb.REJECT_REASON_AT_CAPACITY
    assert refused.sip_status == 486


async def test_simulations_take_no_lease_and_report_a_free_slot(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await limited(routing, account.account_id, 1)
    request = pb.SimulateCallRequest(
        call=pb.RouteCallRequest(
            inbound_number=mapping.number, caller_number="+919900000001", service="exotel"
        )
    )
    for _ in range(3):
        simulated = await routing.stub.SimulateCall(request, metadata=edge(routing))
        assert simulated.decision.decision == pb.ROUTING_DECISION_ACCEPT
        assert simulated.decision.capacity.slot_free is True
        assert not simulated.decision.capacity.HasField("lease")
    steps = [s for s in simulated.steps if s.stage == "capacity"]
    assert [s.outcome for s in steps] == ["slot_free"]
    # The one slot is still free for a real call.
    real = await routing.route(mapping.number, call_id=call_id())
    assert real.decision == pb.ROUTING_DECISION_ACCEPT
    full = await routing.stub.SimulateCall(request, metadata=edge(routing))
    assert full.decision.reject_reason == pb.REJECT_REASON_AT_CAPACITY
    assert full.decision.capacity.slot_free is False


async def test_an_unlimited_call_costs_no_capacity_statement_a_limited_one_one_write(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    free = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    mapping = await limited(routing, account.account_id, 5)
    await routing.route(mapping.number, call_id=call_id())  # creates the scope's slot rows
    with capacity_statements() as seen:
        for _ in range(3):
            answer = await routing.route(free.number, call_id=call_id())
            assert answer.decision == pb.ROUTING_DECISION_ACCEPT
    assert seen == []
    with capacity_statements() as seen:
        answer = await routing.route(mapping.number, call_id=call_id())
        assert answer.decision == pb.ROUTING_DECISION_ACCEPT
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("UPDATE")


async def test_a_refused_call_gives_its_slot_back(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="phone",
    )  # no forwarding destination: NO_CALL_ACTION after the lease was taken
    await set_capacity(routing, mapping.assistant_id or "", 1)
    for _ in range(2):
        answer = await routing.route(mapping.number, call_id=call_id())
        assert answer.reject_reason == pb.REJECT_REASON_NO_CALL_ACTION
        assert not answer.capacity.HasField("lease")


async def test_an_account_override_applies_to_at_capacity(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await limited(routing, account.account_id, 1)
    response = await routing.http.put(
        "/api/v1/phone/carrier-outcomes",
        json={"overrides": {"at_capacity": {"sip_status": 503}}},
        headers={"X-API-Key": account.api_key},
    )
    assert response.status_code == 200, response.text
    await routing.route(mapping.number, call_id=call_id())
    refused = await routing.route(mapping.number, call_id=call_id())
    assert refused.reject_reason == pb.REJECT_REASON_AT_CAPACITY
    assert (refused.edge_outcome, refused.sip_status) == (
        pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE,
        503,
    )


async def test_rest_route_release_and_renew(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await limited(routing, account.account_id, 1)
    headers = {"Authorization": f"Bearer {routing.edge_token}"}
    body = {"inbound_number": mapping.number, "caller_number": "+919900000001", "service": "exotel"}
    routed = await routing.http.post("/v1/calls:route", json=body, headers=headers)
    assert routed.status_code == 200, routed.text
    capacity = routed.json()["capacity"]
    holder = routed.json()["call_id"]
    assert capacity["lease"]["call_id"] == holder and capacity["overflow_step"] == 0
    held = capacity["lease"]["slots"][0]
    assert await _journaled(routing, account, holder, f"lease {held} until ")
    busy = (await routing.http.post("/v1/calls:route", json=body, headers=headers)).json()
    assert (busy["reject_reason"], busy["edge_outcome"], busy["sip_status"]) == (
        "at_capacity",
        "busy",
        486,
    )

    renewed = await routing.http.post(
        f"/v1/calls/{holder}:renew", json={"ttl_seconds": 600}, headers=headers
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["slots"] == capacity["lease"]["slots"]
    assert renewed.json()["expires_at"].endswith("Z")
    default_ttl = await routing.http.post(f"/v1/calls/{holder}:renew", headers=headers)
    assert default_ttl.status_code == 200, default_ttl.text
    bad = await routing.http.post(
        f"/v1/calls/{holder}:renew", json={"ttl_seconds": 0}, headers=headers
    )
    assert bad.status_code == 422 and "detail" in bad.json()

    for _ in range(2):
        released = await routing.http.post(f"/v1/calls/{holder}:release", headers=headers)
        assert released.status_code == 204
    missing = await routing.http.post(f"/v1/calls/{holder}:renew", headers=headers)
    assert missing.status_code == 404 and "detail" in missing.json()
    again = (await routing.http.post("/v1/calls:route", json=body, headers=headers)).json()
    assert again["decision"] == "accept"

    # An admin key releases and renews only its own account's calls.
    admin = {"X-API-Key": account.api_key}
    own = await routing.http.post(f"/v1/calls/{again['call_id']}:renew", headers=admin)
    assert own.status_code == 200, own.text


async def _journaled(
    routing: RoutingStack, account: CreatedAccount, call: str, expected: str
) -> bool:
    async def found() -> bool:
        response = await routing.http.get(
            f"/v1/calls/{call}/decision", headers={"X-API-Key": account.api_key}
        )
        return response.status_code == 200 and expected in (response.json()["capacity"] or "")

    return await eventually(found, timeout=10)


async def test_the_vyom_update_sets_the_mappings_limit_and_refuses_bad_ones(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    url = f"/inbound/update/{mapping.inbound_id}"
    headers = {"Authorization": f"Bearer {account.api_key}"}
    for bad in (0, 10_001, "2"):
        refused = await routing.http.patch(url, json={"max_concurrent_calls": bad}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["success"] is False
    ok = await routing.http.patch(url, json={"max_concurrent_calls": 1}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert list(ok.json()["data"]) == ["inbound_id", "assistant_id", "inbound_context_strategy_id"]
    await routing.route(mapping.number, call_id=call_id())
    busy = await routing.route(mapping.number, call_id=call_id())
    assert list(busy.capacity.full_scopes) == [mapping_scope(mapping.inbound_id)]
    numbers = registry_pb2_grpc.InboundNumberServiceStub(routing.channel)
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await numbers.UpdateInboundNumber(
            pb.UpdateInboundNumberRequest(
                inbound_id=mapping.inbound_id,
                inbound_number=pb.InboundNumberLinks(max_concurrent_calls=-3),
                update_mask=FieldMask(paths=["max_concurrent_calls"]),
            ),
            metadata=(("x-api-key", account.api_key),),
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
