"""The webhook action end to end over gRPC, against a real local HTTPS receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

from switchboard.registry.v1 import registry_pb2 as pb

from services.config import provisioning
from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack

CONFIGURED = "wss://configured.example.com/stream"
ANSWERED = "wss://answered.example.com/stream"
SECRET_BODY = "c2VjcmV0LWtleS1mb3ItdGVzdHM"
INKBOX_FIXTURE = json.loads(
    (Path(__file__).parents[3] / "fixtures" / "inkbox_phone_incoming_call.json").read_text()
)
"""Inkbox's own incoming-call webhook fixture (copied verbatim): the keys our body must carry."""


def inkbox_signature_is_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Receiver-side verification written from the documentation, independent of our code."""
    key = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    request_id = headers["x-inkbox-request-id"]
    timestamp = headers["x-inkbox-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    signed = request_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-inkbox-signature"])


async def webhook_mapping(
    routing: RoutingStack, account: CreatedAccount, reply: Reply, **fields: Any
) -> tuple[factories.Mapping, str]:
    url = routing.receiver.endpoint(reply)
    fields.setdefault("client_websocket_url", CONFIGURED)
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        display_name="Webhook agent",
        incoming_call_webhook_url=url,
        **fields,
    )
    return mapping, url


async def test_answer_with_url_is_signed_and_carries_the_inkbox_payload(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    secret = "whsec_" + SECRET_BODY
    mapping, url = await webhook_mapping(
        routing, account, Reply.json({"action": "answer", "client_websocket_url": ANSWERED})
    )
    assert mapping.assistant_id is not None
    await factories.set_signing_key(routing.stack, mapping.assistant_id, secret)
    response = await routing.route(
        mapping.number, caller_number="+91 99000 12345", call_id="call-1"
    )

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == ANSWERED
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK
    assert response.edge_outcome == pb.EDGE_OUTCOME_BRIDGE
    assert response.assistant_name == "Webhook agent"
    [request] = routing.receiver.received(url)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-inkbox-signature"].startswith("sha256=")
    assert inkbox_signature_is_valid(secret, request.headers, request.body)
    assert not inkbox_signature_is_valid("whsec_other", request.headers, request.body)
    body = request.json()
    assert list(body) == [*INKBOX_FIXTURE, "called_agent_identity"]
    assert body["id"] == "call-1"
    assert body["local_phone_number"] == mapping.number
    assert body["remote_phone_number"] == "+91 99000 12345"
    assert body["direction"] == "inbound"
    assert body["status"] == "initiated"
    assert body["client_websocket_url"] == CONFIGURED
    assert body["created_at"].endswith("Z")
    assert body["updated_at"].endswith("Z")
    for absent in ("use_inkbox_tts", "use_inkbox_stt", "hangup_reason", "started_at"):
        assert body[absent] is None
    assert (body["ended_at"], body["rate_limit"], body["contacts"]) == (None, None, [])
    # The caller is no identity of the account: no remote-party match.
    assert body["agent_identities"] == []
    called = body["called_agent_identity"]
    assert called["id"] == mapping.assistant_id
    assert called["display_name"] == "Webhook agent"
    assert called["agent_handle"].startswith("agent-")


async def test_agent_identities_is_the_calling_identity_of_the_same_account(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, url = await webhook_mapping(routing, account, Reply.json({"action": "answer"}))
    caller = await factories.routed_identity(
        routing.stack, account.account_id, "auto_reject", display_name="Calling agent"
    )
    stranger = await factories.map_number(
        routing.stack,
        (await provisioning.create_account(routing.stack.config_sessions, "Other")).account_id,
        await factories.create_identity(routing.stack, account.account_id, "Elsewhere"),
    )
    await routing.route(mapping.number, caller_number=caller.number)
    await routing.route(mapping.number, caller_number=stranger.number)
    await routing.route(mapping.number, caller_number="not a number")
    matched, foreign, garbage = (request.json() for request in routing.receiver.received(url))
    [remote] = matched["agent_identities"]
    assert (remote["id"], remote["display_name"]) == (caller.assistant_id, "Calling agent")
    assert matched["called_agent_identity"]["id"] == mapping.assistant_id
    assert foreign["agent_identities"] == [] and garbage["agent_identities"] == []


async def test_secret_without_prefix_signs_too(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, url = await webhook_mapping(routing, account, Reply.json({"action": "answer"}))
    assert mapping.assistant_id is not None
    await factories.set_signing_key(routing.stack, mapping.assistant_id, SECRET_BODY)
    await routing.route(mapping.number)
    [request] = routing.receiver.received(url)
    assert inkbox_signature_is_valid(SECRET_BODY, request.headers, request.body)


async def test_unsigned_without_secret_and_answer_uses_configured_url(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, url = await webhook_mapping(routing, account, Reply.json({"action": "answer"}))
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == CONFIGURED
    [request] = routing.receiver.received(url)
    assert "x-inkbox-signature" not in request.headers


async def test_answer_without_any_url_fails(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping, _ = await webhook_mapping(
        routing, account, Reply.json({"action": "answer"}), client_websocket_url=None
    )
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    # Nobody refused the call, the customer's app failed: temporary (480), not a decline.
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.sip_status == 480


async def test_answer_with_a_non_wss_url_fails(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    reply = Reply.json({"action": "answer", "client_websocket_url": "https://x.example.com/"})
    mapping, _ = await webhook_mapping(routing, account, reply)
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED


async def test_reject(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping, _ = await webhook_mapping(routing, account, Reply.json({"action": "reject"}))
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_REJECT
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
    assert response.edge_outcome == pb.EDGE_OUTCOME_REJECTED
    assert response.sip_status == 603
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK
    assert response.assistant_id == mapping.assistant_id


async def test_server_error_fails(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping, _ = await webhook_mapping(routing, account, Reply.json({"action": "answer"}, 500))
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK
    assert "500" in response.reason_detail


async def test_garbage_body_fails(routing: RoutingStack, account: CreatedAccount) -> None:
    for body in (b"<html>oops</html>", b'["answer"]', b'{"action": "maybe"}'):
        mapping, _ = await webhook_mapping(routing, account, Reply(body=body))
        response = await routing.route(mapping.number)
        assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED, body


async def test_oversized_body_fails(routing: RoutingStack, account: CreatedAccount) -> None:
    padding = "x" * (128 * 1024)
    mapping, _ = await webhook_mapping(
        routing, account, Reply.json({"action": "answer", "padding": padding})
    )
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert "larger than" in response.reason_detail


async def test_timeout_fails_within_the_identity_budget(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, _ = await webhook_mapping(
        routing, account, Reply.json({"action": "answer"}, delay=3), webhook_timeout_ms=1000
    )
    started = time.monotonic()
    response = await routing.route(mapping.number)
    elapsed = time.monotonic() - started
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert 0.9 < elapsed < 2.5


async def test_slow_drip_body_is_cut_by_the_budget(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    drip = Reply(body=b'{"action": "answer"}', drip_interval=0.2)
    mapping, _ = await webhook_mapping(routing, account, drip, webhook_timeout_ms=1000)
    started = time.monotonic()
    response = await routing.route(mapping.number)
    elapsed = time.monotonic() - started
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert 0.9 < elapsed < 2.5


async def test_redirect_to_another_public_endpoint_is_followed(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    final = routing.receiver.endpoint(Reply.json({"action": "answer"}))
    mapping, _ = await webhook_mapping(routing, account, Reply.redirect(final))
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert len(routing.receiver.received(final)) == 1


async def test_fallback_accept_forward_and_reject(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    failing = Reply(status=503)
    accept, _ = await webhook_mapping(
        routing,
        account,
        failing,
        fallback_action="accept",
        fallback_client_websocket_url="wss://fallback.example.com/s",
    )
    accept_configured, _ = await webhook_mapping(
        routing, account, failing, fallback_action="accept"
    )
    forward, _ = await webhook_mapping(
        routing,
        account,
        failing,
        fallback_action="forward",
        fallback_forwarding_target_type="phone",
        fallback_forwarding_phone_number="+14155550111",
    )
    reject, _ = await webhook_mapping(routing, account, failing, fallback_action="reject")

    response = await routing.route(accept.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == "wss://fallback.example.com/s"
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK
    assert "503" in response.reason_detail

    response = await routing.route(accept_configured.number)
    assert response.client_websocket_url == CONFIGURED
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK

    response = await routing.route(forward.number)
    assert response.decision == pb.ROUTING_DECISION_FORWARD
    assert response.forwarding_phone_number == "+14155550111"
    assert response.edge_outcome == pb.EDGE_OUTCOME_FORWARD
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK

    response = await routing.route(reject.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_FAILED
    assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK


async def test_fallback_does_not_apply_to_an_explicit_reject(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping, _ = await webhook_mapping(
        routing, account, Reply.json({"action": "reject"}), fallback_action="accept"
    )
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
