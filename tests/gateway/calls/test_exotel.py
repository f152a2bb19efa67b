"""The Exotel Voicebot/Stream adapter: ``GET /exotel/{edge_token}/stream``."""

from __future__ import annotations

import logging

import gateway.calls.exotel  # noqa: F401  (installs the access-log filter)
from services.config.provisioning import CreatedAccount
from services.registry.routing.edge_auth import NO_EDGE_TOKEN
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack

WSS = "wss://agent.example.com/stream"


def stream_path(routing: RoutingStack, token: str | None = None) -> str:
    return f"/exotel/{token or routing.edge_token}/stream"


async def test_accepted_call_gets_its_url(routing: RoutingStack, account: CreatedAccount) -> None:
    hook = routing.receiver.endpoint(
        Reply.json({"action": "answer", "client_websocket_url": "wss://answered.example.com/s"})
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=hook,
        client_websocket_url=WSS,
    )
    national = "0" + mapping.normalized[2:]
    response = await routing.http.get(
        stream_path(routing),
        params={
            "CallSid": "exo-sid-1",
            "CallFrom": "09900012345",
            "CallTo": national,
            "Direction": "incoming",
            "CustomField": "ignored",
        },
    )
    assert response.status_code == 200
    assert response.json() == {"url": "wss://answered.example.com/s"}
    [request] = routing.receiver.received(hook)
    assert request.json()["id"] == "exo-sid-1"
    assert request.json()["remote_phone_number"] == "09900012345"
    assert request.json()["local_phone_number"] == mapping.number


async def test_not_routable_is_404_with_the_reason(routing: RoutingStack) -> None:
    unmapped, _ = factories.new_number()
    response = await routing.http.get(
        stream_path(routing), params={"CallSid": "s", "CallFrom": "1", "CallTo": unmapped}
    )
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["reject_reason"] == "no_active_mapping"
    assert detail["edge_outcome"] == "temporarily_unavailable"
    assert detail["call_id"] == "s"
    assert "no_active_mapping" in detail["message"]


async def test_refused_call_is_404(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    response = await routing.http.get(
        stream_path(routing), params={"CallFrom": "1", "CallTo": mapping.number}
    )
    assert response.status_code == 404
    assert response.json()["detail"]["edge_outcome"] == "rejected"


async def test_forward_and_hosted_agent_are_409(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    forward = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="phone",
        forwarding_phone_number="+14155550100",
    )
    hosted = await factories.routed_identity(routing.stack, account.account_id, "hosted_agent")
    for mapping, decision in ((forward, "forward"), (hosted, "hosted_agent")):
        response = await routing.http.get(
            stream_path(routing), params={"CallFrom": "1", "CallTo": mapping.number}
        )
        assert response.status_code == 409
        assert response.json()["detail"]["decision"] == decision


async def test_wrong_token_and_missing_parameters(routing: RoutingStack) -> None:
    number = factories.new_number()[0]
    wrong = await routing.http.get(
        stream_path(routing, "not-the-token"), params={"CallFrom": "1", "CallTo": number}
    )
    assert wrong.status_code == 401
    assert isinstance(wrong.json()["detail"], str)

    missing = await routing.http.get(stream_path(routing), params={"CallFrom": "1"})
    assert missing.status_code == 422

    empty = await routing.http.get(stream_path(routing), params={"CallFrom": "1", "CallTo": ""})
    assert empty.status_code == 422


def test_the_path_token_is_kept_out_of_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/exotel/s3cret/stream?CallTo=1", "1.1", 200),
        None,
    )
    for log_filter in logging.getLogger("uvicorn.access").filters:
        assert isinstance(log_filter, logging.Filter)
        assert log_filter.filter(record)
    assert "s3cret" not in record.getMessage()
    assert "/exotel/****/stream?CallTo=1" in record.getMessage()


async def test_without_any_edge_token_configured_the_401_says_so(stack: Stack) -> None:
    # The shared stack's registry has no SWITCHBOARD_EDGE_TOKEN (the routing stack's has one).
    unmapped, _ = factories.new_number()
    response = await stack.http.get(
        "/exotel/anything/stream", params={"CallSid": "s", "CallFrom": "1", "CallTo": unmapped}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": NO_EDGE_TOKEN}
    assert "no edge token is configured" in NO_EDGE_TOKEN
