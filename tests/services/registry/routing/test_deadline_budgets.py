"""Webhook and context-strategy budgets are cut to the caller's remaining deadline."""

from __future__ import annotations

import time

from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack

CALLER_DEADLINE = 3.0
SLOW = 8.0
"""The receiver's delay: longer than the caller's deadline, shorter than the 10 s budgets."""


async def test_a_slow_webhook_falls_back_before_the_callers_deadline(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"action": "answer"}, delay=SLOW))
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        webhook_timeout_ms=10_000,
        fallback_action="accept",
        fallback_client_websocket_url="wss://fallback.example.com/s",
    )
    started = time.monotonic()
    response = await routing.route(mapping.number, timeout=CALLER_DEADLINE)
    took = time.monotonic() - started
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK
    assert response.client_websocket_url == "wss://fallback.example.com/s"
    assert "no complete answer within" in response.reason_detail
    assert took < CALLER_DEADLINE
    assert len(routing.receiver.received(url)) == 1


async def test_a_slow_strategy_fails_open_before_the_callers_deadline(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"tier": "gold"}, delay=SLOW))
    strategy = await factories.create_strategy(
        routing.stack, account.account_id, url, timeout_seconds=10
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        strategy_id=strategy,
        client_websocket_url="wss://agent.example.com/s",
    )
    started = time.monotonic()
    response = await routing.route(mapping.number, timeout=CALLER_DEADLINE)
    took = time.monotonic() - started
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_TIMEOUT
    assert took < CALLER_DEADLINE


async def test_without_a_deadline_the_budget_is_the_configured_one(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"action": "reject"}, delay=1.5))
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        webhook_timeout_ms=10_000,
    )
    request = pb.RouteCallRequest(
        inbound_number=mapping.number, caller_number="1", service="exotel"
    )
    response = await routing.stub.RouteCall(
        request, metadata=(("x-switchboard-edge-token", routing.edge_token),)
    )
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
