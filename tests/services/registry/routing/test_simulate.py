"""SimulateCall: the decision RouteCall would make, explained, with no side effects.

A simulation and a real call on the same configuration must give the same decision; the
simulation sends no webhook or strategy request unless asked, journals nothing and counts no
routing decision; its steps say which stage decided.
"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from prometheus_client import REGISTRY
from switchboard.registry.v1 import journal_pb2, journal_pb2_grpc, registry_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from tests.services.registry.factories import grpc_metadata
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.processes import eventually
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"
ANSWERED = "wss://answered.example.com/stream"
FALLBACK = "wss://fallback.example.com/stream"


async def simulate(
    routing: RoutingStack,
    number: str,
    *,
    caller_number: str = "+919900000001",
    **options: object,
) -> pb.SimulateCallResponse:
    request = pb.SimulateCallRequest(
        call=pb.RouteCallRequest(
            inbound_number=number, caller_number=caller_number, service="exotel"
        ),
        **options,  # type: ignore[arg-type]
    )
    response: pb.SimulateCallResponse = await routing.stub.SimulateCall(
        request, metadata=(("x-switchboard-edge-token", routing.edge_token),), timeout=30
    )
    return response


def same_decision(simulated: pb.RouteCallResponse, real: pb.RouteCallResponse) -> bool:
    """Equal in everything but the call id (each run has its own)."""
    simulated = pb.RouteCallResponse.FromString(simulated.SerializeToString())
    simulated.call_id, simulated.decision_id = real.call_id, real.decision_id
    return simulated == real


def stages(response: pb.SimulateCallResponse) -> list[tuple[str, str]]:
    return [(step.stage, step.outcome) for step in response.steps]


def decisions_counted() -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "switchboard_routing_decisions":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


async def test_simulation_equals_the_real_decision_for_every_kind_of_outcome(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    accepting = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    rejecting = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    forwarding = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sip:desk@pbx.example.com",
    )
    orphan = await factories.map_number(routing.stack, account.account_id, None)
    unmapped, _ = factories.new_number()
    for number in (accepting.number, rejecting.number, forwarding.number, orphan.number, unmapped):
        real = await routing.route(number)
        simulated = await simulate(routing, number)
        assert same_decision(simulated.decision, real), number
    invalid = await simulate(routing, "12")
    assert invalid.decision.reject_reason == pb.REJECT_REASON_INVALID_NUMBER
    assert stages(invalid) == [
        ("service", "exotel"),
        ("normalize", "invalid"),
        ("outcome", "reject"),
    ]


async def test_steps_of_an_accepted_call_name_each_stage_in_order(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        display_name="Front desk",
        client_websocket_url=WSS,
    )
    response = await simulate(routing, mapping.number.replace("+", ""))
    assert stages(response) == [
        ("service", "exotel"),
        ("normalize", "ok"),
        ("mapping", "found"),
        ("caller_screening", "allow"),
        ("assistant", "found"),
        ("business_hours", "none"),
        ("call_action", "auto_accept"),
        ("capacity", "unlimited"),
        ("caller_context", "not_configured"),
        ("call_context", "not_signed"),
        ("outcome", "accept"),
    ]
    details = {step.stage: step.detail for step in response.steps}
    assert mapping.normalized in details["normalize"]
    assert mapping.inbound_id in details["mapping"]
    assert "Front desk" in details["assistant"]
    assert details["outcome"] == "edge outcome bridge"
    assert response.decision.client_websocket_url == WSS


async def test_unmapped_and_assistant_less_numbers_say_why(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    unmapped, normalized = factories.new_number()
    response = await simulate(routing, unmapped)
    assert stages(response)[-2:] == [("mapping", "not_found"), ("outcome", "reject")]
    assert normalized in response.steps[-2].detail
    assert "reject reason no_active_mapping" in response.steps[-1].detail

    orphan = await factories.map_number(routing.stack, account.account_id, None)
    response = await simulate(routing, orphan.number)
    assert ("assistant", "none") in stages(response)
    assert response.decision.reject_reason == pb.REJECT_REASON_NO_ASSISTANT


async def test_a_webhook_is_not_asked_unless_told_and_the_fallback_shows(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(
        Reply.json({"action": "answer", "client_websocket_url": ANSWERED})
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        client_websocket_url=WSS,
        fallback_action="accept",
        fallback_client_websocket_url=FALLBACK,
    )
    not_asked = await simulate(routing, mapping.number)
    assert routing.receiver.received(url) == []
    assert not_asked.decision.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK
    assert not_asked.decision.client_websocket_url == FALLBACK
    assert ("webhook", "failed") in stages(not_asked)
    assert ("fallback", "accept") in stages(not_asked)

    asked = await simulate(routing, mapping.number, ask_webhook=True)
    assert len(routing.receiver.received(url)) == 1
    real = await routing.route(mapping.number)
    assert same_decision(asked.decision, real)
    assert real.client_websocket_url == ANSWERED
    assert ("webhook", "answer") in stages(asked)


async def test_a_supplied_webhook_answer_is_read_like_a_real_one_and_nothing_is_sent(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"action": "reject"}))
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        client_websocket_url=WSS,
    )
    answer = pb.SimulatedWebhookAnswer
    answered = await simulate(
        routing,
        mapping.number,
        ask_webhook=True,
        webhook_answer=answer(verdict=answer.VERDICT_ANSWER, client_websocket_url=ANSWERED),
    )
    configured = await simulate(
        routing, mapping.number, webhook_answer=answer(verdict=answer.VERDICT_ANSWER)
    )
    rejected = await simulate(
        routing, mapping.number, webhook_answer=answer(verdict=answer.VERDICT_REJECT)
    )
    failed = await simulate(
        routing, mapping.number, webhook_answer=answer(verdict=answer.VERDICT_FAILED)
    )
    unusable = await simulate(
        routing,
        mapping.number,
        webhook_answer=answer(verdict=answer.VERDICT_ANSWER, client_websocket_url="http://x.io/"),
    )
    assert routing.receiver.received(url) == []
    assert (answered.decision.decision, answered.decision.client_websocket_url) == (
        pb.ROUTING_DECISION_ACCEPT,
        ANSWERED,
    )
    assert configured.decision.client_websocket_url == WSS
    assert rejected.decision.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
    # Without a fallback, a webhook that did not answer (or answered nonsense) rejects.
    assert failed.decision.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert unusable.decision.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert "client_websocket_url is not usable" in unusable.decision.reason_detail

    real = await routing.route(mapping.number)
    assert same_decision(rejected.decision, real)


async def test_unspecified_supplied_verdict_is_invalid_argument(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await simulate(routing, mapping.number, webhook_answer=pb.SimulatedWebhookAnswer())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "webhook_answer.verdict" in (raised.value.details() or "")


async def test_the_context_strategy_is_asked_only_when_told(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"tier": "gold"}))
    strategy_id = await factories.create_strategy(routing.stack, account.account_id, url)
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        strategy_id=strategy_id,
        client_websocket_url=WSS,
    )
    not_asked = await simulate(routing, mapping.number)
    assert routing.receiver.received(url) == []
    context = not_asked.decision.caller_context
    assert (context.status, context.inbound_context_strategy_id) == (
        pb.CONTEXT_LOOKUP_STATUS_NOT_LOOKED_UP,
        strategy_id,
    )
    assert ("caller_context", "not_looked_up") in stages(not_asked)

    asked = await simulate(routing, mapping.number, look_up_context=True)
    assert len(routing.receiver.received(url)) == 1
    assert dict(asked.decision.caller_context.variables) == {"tier": "gold"}
    assert same_decision(asked.decision, await routing.route(mapping.number))


async def test_a_blocked_caller_is_explained_by_its_rule(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    rules = registry_pb2_grpc.ContactRuleServiceStub(routing.stack.registry_channel)
    rule = await rules.CreateContactRule(
        pb.CreateContactRuleRequest(
            inbound_id=mapping.inbound_id,
            contact_rule=pb.ContactRule(
                action=pb.CONTACT_RULE_ACTION_BLOCK, match_target="+919812345678"
            ),
        ),
        metadata=grpc_metadata(account.api_key),
    )
    response = await simulate(routing, mapping.number, caller_number="09812345678")
    assert response.decision.reject_reason == pb.REJECT_REASON_CALLER_BLOCKED
    [screening] = [step for step in response.steps if step.stage == "caller_screening"]
    assert (screening.outcome, rule.id in screening.detail) == ("block", True)
    assert same_decision(
        response.decision, await routing.route(mapping.number, caller_number="09812345678")
    )


async def test_simulations_are_neither_journaled_nor_counted_as_decisions(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    counted = decisions_counted()
    call_id = f"simulated-{uuid.uuid4()}"
    request = pb.SimulateCallRequest(
        call=pb.RouteCallRequest(
            inbound_number=mapping.number,
            caller_number="+919900000001",
            service="exotel",
            call_id=call_id,
        )
    )
    edge = (("x-switchboard-edge-token", routing.edge_token),)
    simulated = await routing.stub.SimulateCall(request, metadata=edge, timeout=30)
    assert simulated.decision.call_id == call_id
    assert decisions_counted() == counted

    real_id = f"real-{uuid.uuid4()}"
    await routing.route(mapping.number, call_id=real_id)
    assert decisions_counted() == counted + 1
    journal = journal_pb2_grpc.CallDecisionServiceStub(routing.channel)

    async def journaled(call_id: str) -> bool:
        try:
            await journal.GetCallDecision(
                journal_pb2.GetCallDecisionRequest(call_id=call_id), metadata=edge, timeout=10
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            return False
        return True

    # The real call's record is written by the same batch writer the simulation would use.
    assert await eventually(lambda: journaled(real_id), timeout=10)
    await asyncio.sleep(0.2)
    assert not await journaled(call_id)


async def test_simulate_needs_the_routing_credential(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    request = pb.SimulateCallRequest(
        call=pb.RouteCallRequest(
            inbound_number=mapping.number, caller_number="+919900000001", service="exotel"
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await routing.stub.SimulateCall(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    admin = await routing.stub.SimulateCall(
        request, metadata=(("x-api-key", account.api_key),), timeout=10
    )
    assert admin.decision.reject_reason == pb.REJECT_REASON_AUTO_REJECT


async def test_rest_simulate_mirrors_the_rpc(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"action": "answer"}))
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        client_websocket_url=WSS,
    )
    headers = {"Authorization": f"Bearer {routing.edge_token}"}
    body = {
        "inbound_number": mapping.number,
        "caller_number": "+919900000001",
        "service": "exotel",
        "webhook_answer": {"verdict": "answer", "client_websocket_url": ANSWERED},
    }
    response = await routing.http.post("/v1/calls:simulate", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["decision"]["decision"] == "accept"
    assert result["decision"]["client_websocket_url"] == ANSWERED
    assert result["decision"]["caller_context"]["status"] == "not_configured"
    assert [step["stage"] for step in result["steps"]][-4:] == [
        "webhook",
        "caller_context",
        "call_context",
        "outcome",
    ]
    assert routing.receiver.received(url) == []

    route = await routing.http.post(
        "/v1/calls:route",
        json={key: body[key] for key in ("inbound_number", "caller_number", "service")},
        headers=headers,
    )
    ignored = {"call_id": None, "decision_id": None, "client_websocket_url": None}
    assert {**route.json(), **ignored} == {**result["decision"], **ignored}

    bad = await routing.http.post(
        "/v1/calls:simulate",
        json={**body, "webhook_answer": {"verdict": "maybe"}},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "webhook_answer" in bad.text
