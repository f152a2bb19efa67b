"""The signed call context in real decisions: minted for every accepted call of an identity
with a signing key, verifiable with that key alone, in the URL only when opted in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from services.registry.routing.call_context_token import (
    URL_PARAMETER,
    InvalidCallContext,
    verify,
)
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.processes import eventually
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream?room=7"
SECRET = "whsec_" + "Y2FsbC1jb250ZXh0LXNpZ25pbmcta2V5"
CALLER = "09812345678"


async def signed_identity(
    routing: RoutingStack, account: CreatedAccount, action: str = "auto_accept", **fields: Any
) -> factories.Mapping:
    fields.setdefault("client_websocket_url", WSS)
    mapping = await factories.routed_identity(routing.stack, account.account_id, action, **fields)
    assert mapping.assistant_id is not None
    await factories.set_signing_key(routing.stack, mapping.assistant_id, SECRET)
    return mapping


async def test_an_accepted_call_carries_a_token_the_identitys_key_verifies(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"tier": "gold"}))
    strategy_id = await factories.create_strategy(routing.stack, account.account_id, url)
    mapping = await signed_identity(routing, account, strategy_id=strategy_id)
    response = await routing.route(mapping.number, caller_number=CALLER, call_id="ctx-1")

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == WSS, "not in the URL unless opted in"
    claims = verify(response.call_context_token, SECRET)
    assert (claims.call_id, claims.decision_id, claims.assistant_id) == (
        "ctx-1",
        response.decision_id,
        mapping.assistant_id,
    )
    assert (claims.dialed_number, claims.caller_number) == (mapping.number, "+919812345678")
    assert claims.context == {"tier": "gold"}
    assert 30 <= claims.expires_at - claims.issued_at <= 3600
    with pytest.raises(InvalidCallContext):
        verify(response.call_context_token, "whsec_someone-else")
    header, body, signature = response.call_context_token.split(".")
    with pytest.raises(InvalidCallContext):
        verify(f"{header}.{body}x.{signature}", SECRET)

    # The token's decision id is the journal record's.
    journaled = await routing.http.get(
        "/v1/calls/ctx-1/decision", headers={"X-API-Key": account.api_key}
    )

    async def written() -> bool:
        nonlocal journaled
        journaled = await routing.http.get(
            "/v1/calls/ctx-1/decision", headers={"X-API-Key": account.api_key}
        )
        return journaled.status_code == 200

    assert await eventually(written, timeout=10)
    assert journaled.json()["decision_id"] == response.decision_id


async def test_opting_in_appends_the_token_to_the_url_also_through_exotel(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await signed_identity(routing, account, call_context_in_url=True)
    response = await routing.route(mapping.number, caller_number=CALLER)
    parts = urlsplit(response.client_websocket_url)
    query = parse_qs(parts.query)
    assert query["room"] == ["7"]
    assert query[URL_PARAMETER] == [response.call_context_token]
    assert verify(query[URL_PARAMETER][0], SECRET).call_id == response.call_id

    exotel = await routing.http.get(
        f"/exotel/{routing.edge_token}/stream",
        params={"CallTo": mapping.number, "CallFrom": CALLER, "CallSid": "ctx-exotel"},
    )
    assert exotel.status_code == 200
    token = parse_qs(urlsplit(exotel.json()["url"]).query)[URL_PARAMETER][0]
    assert verify(token, SECRET).call_id == "ctx-exotel"


async def test_a_webhook_answer_is_signed_too(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    hook = routing.receiver.endpoint(
        Reply.json({"action": "answer", "client_websocket_url": "wss://answered.example.com/s"})
    )
    mapping = await signed_identity(
        routing, account, "webhook", incoming_call_webhook_url=hook, call_context_in_url=True
    )
    response = await routing.route(mapping.number, caller_number=CALLER)
    assert response.client_websocket_url.startswith("wss://answered.example.com/s?sb_call_context=")
    assert verify(response.call_context_token, SECRET).caller_number == "+919812345678"


async def test_no_token_without_a_key_for_refusals_and_in_simulations(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    unsigned = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    assert not (await routing.route(unsigned.number)).HasField("call_context_token")
    refusing = await signed_identity(routing, account, "auto_reject")
    assert not (await routing.route(refusing.number)).HasField("call_context_token")

    signed = await signed_identity(routing, account, call_context_in_url=True)
    simulated = await routing.stub.SimulateCall(
        pb.SimulateCallRequest(
            call=pb.RouteCallRequest(
                inbound_number=signed.number, caller_number=CALLER, service="exotel"
            )
        ),
        metadata=(("x-switchboard-edge-token", routing.edge_token),),
    )
    assert not simulated.decision.HasField("call_context_token")
    assert simulated.decision.client_websocket_url == WSS
    assert ("call_context", "not_minted") in [(s.stage, s.outcome) for s in simulated.steps]
