"""Carrier outcomes per account: the table over REST and gRPC, validation that changes
nothing, overrides applied to real decisions (RouteCall, the journal, the explain trace, the
Exotel adapter), concurrent first writes, and the routing cache's bound."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import httpx
import pytest
from switchboard.registry.v1 import carrier_pb2, carrier_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb

from services.common.auth import Principal, Scope
from services.config import provisioning
from services.config.provisioning import CreatedAccount
from services.registry.carrier_settings import CarrierSettings
from services.registry.routing.carrier_outcomes import DEFAULTS, NOT_OVERRIDABLE
from services.registry.routing.outcome import RejectReason
from tests.services.registry.factories import grpc_metadata
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.processes import eventually
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack

WSS = "wss://agent.example.com/stream"
ROUTED_REASONS = [reason.value for reason in RejectReason]


def admin(account: CreatedAccount) -> dict[str, str]:
    return {"X-API-Key": account.api_key}


async def table(http: httpx.AsyncClient, account: CreatedAccount) -> dict[str, dict[str, Any]]:
    response = await http.get("/api/v1/phone/carrier-outcomes", headers=admin(account))
    assert response.status_code == 200, response.text
    return {row["reason"]: row for row in response.json()["outcomes"]}


async def put(
    http: httpx.AsyncClient, account: CreatedAccount, overrides: dict[str, Any]
) -> httpx.Response:
    return await http.put(
        "/api/v1/phone/carrier-outcomes", json={"overrides": overrides}, headers=admin(account)
    )


async def test_the_default_table_lists_every_routed_reason_with_its_rationale(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    rows = await table(routing.http, account)
    assert list(rows) == [reason for reason in DEFAULTS if reason in ROUTED_REASONS]
    assert set(rows) == set(ROUTED_REASONS)
    for reason, row in rows.items():
        assert (row["edge_outcome"], row["sip_status"]) == (
            DEFAULTS[reason].edge_outcome,
            DEFAULTS[reason].sip_status,
        )
        assert row["source"] == "default"
        assert row["overridable"] is (reason not in NOT_OVERRIDABLE)
        assert row["default_rationale"]
    assert rows["caller_blocked"]["sip_reason_phrase"] == "Decline"
    assert rows["webhook_failed"]["sip_status"] == 480


async def test_overrides_change_real_decisions_the_journal_trace_and_exotel(
    routing: RoutingStack, account: CreatedAccount, stack: Stack
) -> None:
    blocked = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    await factories.block_caller(routing.stack, account.account_id, blocked, "+919812345678")
    refusing = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    response = await put(
        routing.http,
        account,
        {"caller_blocked": {"sip_status": 607}, "auto_reject": {"sip_status": 486}},
    )
    assert response.status_code == 200, response.text
    rows = {row["reason"]: row for row in response.json()["outcomes"]}
    assert (rows["caller_blocked"]["sip_status"], rows["caller_blocked"]["source"]) == (
        607,
        "account",
    )
    assert rows["auto_reject"]["edge_outcome"] == "busy"
    assert rows["auto_reject"]["sip_reason_phrase"] == "Busy Here"

    spam = await routing.route(blocked.number, caller_number="09812345678", call_id="c-spam")
    assert (spam.edge_outcome, spam.sip_status) == (pb.EDGE_OUTCOME_REJECTED, 607)
    busy = await routing.route(refusing.number, call_id="c-busy")
    assert (busy.edge_outcome, busy.sip_status) == (pb.EDGE_OUTCOME_BUSY, 486)
    # Not overridable: decided before the account is known.
    unmapped, _ = factories.new_number()
    assert (await routing.route(unmapped)).sip_status == 480

    simulated = await routing.stub.SimulateCall(
        pb.SimulateCallRequest(
            call=pb.RouteCallRequest(
                inbound_number=refusing.number, caller_number="+919900000001", service="exotel"
            )
        ),
        metadata=(("x-switchboard-edge-token", routing.edge_token),),
    )
    assert simulated.steps[-1].detail == (
        "edge outcome busy, reject reason auto_reject, SIP 486 Busy Here (the account's override)"
    )

    decision = await routing.http.get("/v1/calls/c-busy/decision", headers=admin(account))

    async def journaled() -> bool:
        nonlocal decision
        decision = await routing.http.get("/v1/calls/c-busy/decision", headers=admin(account))
        return decision.status_code == 200

    assert await eventually(journaled, timeout=10)
    assert (decision.json()["edge_outcome"], decision.json()["sip_status"]) == ("busy", 486)

    exotel = await routing.http.get(
        f"/exotel/{routing.edge_token}/stream",
        params={"CallTo": refusing.number, "CallFrom": "+919900000001", "CallSid": "c-x"},
    )
    assert exotel.status_code == 404
    assert exotel.json()["detail"]["sip_status"] == 486

    # Another account keeps the defaults; {} restores this one's.
    other = await provisioning.create_account(stack.config_sessions, "Other carrier")
    assert (await table(routing.http, other))["auto_reject"]["sip_status"] == 603
    assert (await put(routing.http, account, {})).status_code == 200
    assert (await routing.route(refusing.number)).sip_status == 603


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"invalid_number": {"sip_status": 404}}, "overrides.invalid_number"),
        ({"caller_blocked": {"sip_status": 599}}, "overrides.caller_blocked.sip_status"),
        ({"caller_blocked": {"sip_status": 10**30}}, "sip_status"),
        ({"caller_blocked": {"sip_status": 480, "edge_outcome": "rejected"}}, "sip_status"),
        ({"not_a_reason": {"sip_status": 480}}, "overrides"),
        ({"caller_blocked": 607}, "caller_blocked"),
    ],
)
async def test_bad_overrides_are_422_and_change_nothing(
    routing: RoutingStack, account: CreatedAccount, overrides: dict[str, Any], field: str
) -> None:
    assert (await put(routing.http, account, {"webhook_failed": {"sip_status": 503}})).is_success
    before = await table(routing.http, account)
    response = await put(routing.http, account, overrides)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert await table(routing.http, account) == before


async def test_grpc_refuses_unknown_and_duplicate_reasons(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    stub = carrier_pb2_grpc.CarrierOutcomeServiceStub(routing.channel)
    metadata = grpc_metadata(account.api_key)
    for overrides in (
        [carrier_pb2.CarrierOutcomeOverride(reason=99, sip_status=480)],  # type: ignore[arg-type]
        [carrier_pb2.CarrierOutcomeOverride(sip_status=480)],
        [
            carrier_pb2.CarrierOutcomeOverride(reason=pb.REJECT_REASON_AUTO_REJECT, sip_status=486),
            carrier_pb2.CarrierOutcomeOverride(reason=pb.REJECT_REASON_AUTO_REJECT, sip_status=600),
        ],
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.UpdateCarrierOutcomes(
                carrier_pb2.UpdateCarrierOutcomesRequest(overrides=overrides), metadata=metadata
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    current = await stub.GetCarrierOutcomes(
        carrier_pb2.GetCarrierOutcomesRequest(), metadata=metadata
    )
    assert not any(outcome.overridden for outcome in current.outcomes)


async def test_concurrent_first_writes_of_one_account_all_succeed(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    statuses = (480, 404, 410, 503) * 2
    responses = await asyncio.gather(
        *(
            put(routing.http, account, {"webhook_failed": {"sip_status": status}})
            for status in statuses
        )
    )
    assert [response.status_code for response in responses] == [200] * len(statuses)
    assert (await table(routing.http, account))["webhook_failed"]["sip_status"] in statuses


async def test_another_replicas_change_reaches_routing_within_the_cache_bound(
    stack: Stack, account: CreatedAccount
) -> None:
    now = [0.0]
    reasons = ROUTED_REASONS
    routing_view = CarrierSettings(
        stack.registry_sessions,
        stack.registry_sessions,
        reasons=reasons,
        cache_seconds=5,
        clock=lambda: now[0],
    )
    writer = CarrierSettings(
        stack.registry_sessions, stack.registry_sessions, reasons=reasons, cache_seconds=5
    )
    principal = Principal(account.account_id, Scope.ADMIN, account.api_key_id)
    assert (await routing_view.policy_for(account.account_id)).answer(
        "auto_reject"
    ).sip_status == 603
    await writer.replace(principal, {"auto_reject": {"sip_status": 607}})
    now[0] = 4.9
    assert (await routing_view.policy_for(account.account_id)).answer(
        "auto_reject"
    ).sip_status == 603
    now[0] = 5.1
    assert (await routing_view.policy_for(account.account_id)).answer(
        "auto_reject"
    ).sip_status == 607
    # The writing replica drops its own entry at once.
    await routing_view.replace(principal, {})
    assert (await routing_view.policy_for(account.account_id)).answer(
        "auto_reject"
    ).sip_status == 603


async def test_a_webhook_that_fails_is_temporarily_unavailable_not_declined(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply(status=500))
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "webhook", incoming_call_webhook_url=url
    )
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert (response.edge_outcome, response.sip_status) == (
        pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE,
        480,
    )
