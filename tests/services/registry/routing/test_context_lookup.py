"""Caller-context lookups (fail-open) and their concurrency with the webhook."""

from __future__ import annotations

import time
from typing import Any

from google.protobuf import json_format
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"


async def accept_with_strategy(
    routing: RoutingStack, account: CreatedAccount, reply: Reply, **strategy: object
) -> tuple[factories.Mapping, str, str]:
    url = routing.receiver.endpoint(reply)
    strategy_id = await factories.create_strategy(
        routing.stack,
        account.account_id,
        url,
        **strategy,  # type: ignore[arg-type]
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        strategy_id=strategy_id,
        display_name="Context agent",
        client_websocket_url=WSS,
    )
    return mapping, url, strategy_id


async def test_success_sends_the_documented_payload_and_returns_the_object(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    variables = {"customer": {"name": "Asha", "tier": "gold"}, "open_tickets": 2, "vip": True}
    mapping, url, strategy_id = await accept_with_strategy(
        routing, account, Reply.json(variables), headers={"X-Crm-Token": "t0k3n"}
    )
    response = await routing.route(mapping.number, caller_number="09900012345")

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    context = response.caller_context
    assert context.status == pb.CONTEXT_LOOKUP_STATUS_OK
    assert context.inbound_context_strategy_id == strategy_id
    assert not context.HasField("error")
    received: dict[str, Any] = json_format.MessageToDict(context.variables)
    assert received["customer"]["name"] == "Asha"
    assert received["open_tickets"] == 2
    assert received["vip"] is True
    [request] = routing.receiver.received(url)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-crm-token"] == "t0k3n"
    assert request.json() == {
        "assistant_id": mapping.assistant_id,
        "assistant_name": "Context agent",
        "strategy_id": strategy_id,
        "strategy_name": "CRM lookup",
        "strategy_type": "webhook",
        "call_type": "inbound",
        "service": "exotel",
        "inbound_id": mapping.inbound_id,
        "caller_number": "09900012345",
        "inbound_number": mapping.number,
    }


async def test_timeout_continues_without_context(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, _, strategy_id = await accept_with_strategy(
        routing, account, Reply.json({"late": True}, delay=3), timeout_seconds=0.5
    )
    started = time.monotonic()
    response = await routing.route(mapping.number)
    assert time.monotonic() - started < 2
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_TIMEOUT
    assert response.caller_context.inbound_context_strategy_id == strategy_id
    assert response.caller_context.error
    assert not response.caller_context.variables


async def test_non_object_json_continues_without_context(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    for reply in (Reply.json([1, 2]), Reply.json("text"), Reply(body=b"not json")):
        mapping, _, _ = await accept_with_strategy(routing, account, reply)
        response = await routing.route(mapping.number)
        assert response.decision == pb.ROUTING_DECISION_ACCEPT
        assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_INVALID_RESPONSE


async def test_http_error_and_redirect(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping, _, _ = await accept_with_strategy(routing, account, Reply(status=500))
    response = await routing.route(mapping.number)
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_HTTP_ERROR

    final = routing.receiver.endpoint(Reply.json({"via": "redirect"}))
    mapping, _, _ = await accept_with_strategy(routing, account, Reply.redirect(final, 302))
    response = await routing.route(mapping.number)
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_OK
    assert response.caller_context.variables["via"] == "redirect"


async def test_rejected_calls_do_not_look_up_context(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({}))
    strategy_id = await factories.create_strategy(routing.stack, account.account_id, url)
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_reject", strategy_id=strategy_id
    )
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_AUTO_REJECT
    assert not response.HasField("caller_context")
    assert routing.receiver.received(url) == []


async def test_webhook_and_context_lookup_run_concurrently(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    lookup = routing.receiver.endpoint(Reply.json({"ctx": 1}, delay=1.0))
    hook = routing.receiver.endpoint(Reply.json({"action": "answer"}, delay=1.0))
    strategy_id = await factories.create_strategy(
        routing.stack, account.account_id, lookup, timeout_seconds=5
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        strategy_id=strategy_id,
        incoming_call_webhook_url=hook,
        client_websocket_url=WSS,
    )
    started = time.monotonic()
    response = await routing.route(mapping.number)
    elapsed = time.monotonic() - started

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_OK
    assert 0.9 < elapsed < 1.8, f"total {elapsed:.2f} s: the two 1 s calls ran in sequence"
    [to_hook] = routing.receiver.received(hook)
    [to_lookup] = routing.receiver.received(lookup)
    assert abs(to_hook.at - to_lookup.at) < 0.5
