"""``POST /v1/calls:route`` over real HTTP: JSON mirrors RouteCallResponse, Inkbox-style errors."""

from __future__ import annotations

import uuid

from services.config import provisioning
from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"
FIELDS = {
    "call_id",
    "decision",
    "reject_reason",
    "edge_outcome",
    "sip_status",
    "decision_id",
    "call_context_token",
    "capacity",
    "business_hours",
    "client_websocket_url",
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
    "inbound_id",
    "assistant_id",
    "assistant_name",
    "action_source",
    "caller_context",
    "reason_detail",
    "caller_screening",
}


def edge(routing: RoutingStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {routing.edge_token}"}


def call(number: str, **extra: object) -> dict[str, object]:
    return {
        "inbound_number": number,
        "caller_number": "+919900000001",
        "service": "exotel",
        **extra,
    }


async def test_accept_with_context(routing: RoutingStack, account: CreatedAccount) -> None:
    lookup = routing.receiver.endpoint(Reply.json({"name": "Asha"}))
    strategy_id = await factories.create_strategy(routing.stack, account.account_id, lookup)
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        strategy_id=strategy_id,
        display_name="Priya",
        client_websocket_url=WSS,
    )
    response = await routing.http.post(
        "/v1/calls:route", json=call(mapping.number), headers=edge(routing)
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    uuid.UUID(body["call_id"])
    assert body["decision"] == "accept"
    assert body["reject_reason"] is None
    assert body["edge_outcome"] == "bridge"
    assert body["client_websocket_url"] == WSS
    assert body["forwarding_target_type"] is None
    assert body["inbound_id"] == mapping.inbound_id
    assert body["assistant_id"] == mapping.assistant_id
    assert body["assistant_name"] == "Priya"
    assert body["action_source"] == "auto_accept"
    assert body["caller_context"] == {
        "status": "ok",
        "variables": {"name": "Asha"},
        "error": None,
        "strategy_id": strategy_id,
    }
    assert body["caller_screening"] == {
        "verdict": "allow",
        "contact_rule_id": None,
        "filter_mode": "blacklist",
        "caller_number_normalized": "919900000001",
    }


async def test_reject_forward_and_hosted(routing: RoutingStack, account: CreatedAccount) -> None:
    unmapped, _ = factories.new_number()
    response = await routing.http.post(
        "/v1/calls:route", json=call(unmapped, call_id="c-1"), headers=edge(routing)
    )
    body = response.json()
    assert response.status_code == 200
    assert body["call_id"] == "c-1"
    assert body["decision"] == "reject"
    assert body["reject_reason"] == "no_active_mapping"
    assert body["edge_outcome"] == "temporarily_unavailable"
    assert body["caller_context"] is None

    forward = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sip:desk@pbx.example.com",
    )
    body = (
        await routing.http.post("/v1/calls:route", json=call(forward.number), headers=edge(routing))
    ).json()
    assert body["decision"] == "forward"
    assert body["edge_outcome"] == "forward"
    assert body["forwarding_target_type"] == "sip"
    assert body["forwarding_sip_uri"] == "sip:desk@pbx.example.com"
    assert body["caller_context"]["status"] == "not_configured"

    hosted = await factories.routed_identity(routing.stack, account.account_id, "hosted_agent")
    body = (
        await routing.http.post("/v1/calls:route", json=call(hosted.number), headers=edge(routing))
    ).json()
    assert body["decision"] == "hosted_agent"
    assert body["edge_outcome"] == "bridge"


async def test_webhook_fallback_source(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=routing.receiver.endpoint(Reply(status=500)),
        client_websocket_url=WSS,
        fallback_action="accept",
    )
    body = (
        await routing.http.post("/v1/calls:route", json=call(mapping.number), headers=edge(routing))
    ).json()
    assert body["decision"] == "accept"
    assert body["action_source"] == "webhook_fallback"


async def test_admin_key_and_other_accounts(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    mine = await routing.http.post(
        "/v1/calls:route", json=call(mapping.number), headers={"X-API-Key": account.api_key}
    )
    assert mine.json()["decision"] == "accept"

    other = await provisioning.create_account(routing.stack.config_sessions, "Other")
    theirs = await routing.http.post(
        "/v1/calls:route", json=call(mapping.number), headers={"X-API-Key": other.api_key}
    )
    assert theirs.status_code == 200
    assert theirs.json()["reject_reason"] == "no_active_mapping"


async def test_errors_use_the_detail_shape(routing: RoutingStack) -> None:
    number = factories.new_number()[0]
    unauthenticated = await routing.http.post("/v1/calls:route", json=call(number))
    assert unauthenticated.status_code == 401
    assert isinstance(unauthenticated.json()["detail"], str)

    wrong = await routing.http.post(
        "/v1/calls:route", json=call(number), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401

    malformed = await routing.http.post(
        "/v1/calls:route", json={"inbound_number": 5}, headers=edge(routing)
    )
    assert malformed.status_code == 422
    assert isinstance(malformed.json()["detail"], list)

    not_json = await routing.http.post(
        "/v1/calls:route",
        content=b"{",
        headers={**edge(routing), "content-type": "application/json"},
    )
    assert not_json.status_code == 422

    unsupported = await routing.http.post(
        "/v1/calls:route", json=call(number, service="twilio"), headers=edge(routing)
    )
    assert unsupported.status_code == 422
    assert "service" in unsupported.json()["detail"]


async def test_edge_token_header_is_forwarded(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    response = await routing.http.post(
        "/v1/calls:route",
        json=call(mapping.number),
        headers={"x-switchboard-edge-token": routing.edge_token},
    )
    assert response.status_code == 200
    assert response.json()["decision"] == "accept"


async def test_service_is_matched_case_insensitively(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    for service in ("Exotel", " EXOTEL "):
        response = await routing.http.post(
            "/v1/calls:route", json=call(mapping.number, service=service), headers=edge(routing)
        )
        assert response.status_code == 200 and response.json()["decision"] == "accept"
    unsupported = await routing.http.post(
        "/v1/calls:route", json=call(mapping.number, service="twilio"), headers=edge(routing)
    )
    assert unsupported.status_code == 422
    assert unsupported.json()["detail"].startswith("Unsupported service")
