"""Configured headers of webhooks and strategies stay with their origin across redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from services.registry.routing.outbound_http import OutboundHttp, origin
from tests.services.registry.routing import factories
from tests.support.https_receiver import HttpsReceiver, Reply, running_receiver
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"
CREDENTIALS = {
    "X-Api-Key": "crm-api-key-0123456789",
    "X-Crm-Token": "crm-token-abcdef",
    "Authorization": "Bearer crm-bearer-xyz",
}
SIGNATURE_HEADERS = ("x-inkbox-signature", "x-inkbox-timestamp", "x-inkbox-request-id")


@pytest.fixture
async def elsewhere(receiver: HttpsReceiver, tmp_path: Path) -> AsyncIterator[HttpsReceiver]:
    """A second receiver: same trusted CA, another port, so another origin."""
    async with running_receiver(tmp_path, ca=receiver.ca) as second:
        assert second.port != receiver.port
        yield second


def sent_credentials(headers: dict[str, str]) -> set[str]:
    return {name for name in (n.lower() for n in CREDENTIALS) if name in headers}


async def strategy_call(
    routing: RoutingStack, account: CreatedAccount, first_url: str
) -> pb.RouteCallResponse:
    strategy_id = await factories.create_strategy(
        routing.stack, account.account_id, first_url, headers=CREDENTIALS
    )
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        strategy_id=strategy_id,
        client_websocket_url=WSS,
    )
    return await routing.route(mapping.number)


async def test_a_strategy_redirected_to_another_origin_sends_none_of_its_headers(
    routing: RoutingStack, account: CreatedAccount, elsewhere: HttpsReceiver
) -> None:
    final = elsewhere.endpoint(Reply.json({"tier": "gold"}))
    start = routing.receiver.endpoint(Reply.redirect(final))
    response = await strategy_call(routing, account, start)

    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_OK
    assert response.caller_context.variables["tier"] == "gold"
    [first] = routing.receiver.received(start)
    assert sent_credentials(first.headers) == {n.lower() for n in CREDENTIALS}
    [redirected] = elsewhere.received(final)
    assert sent_credentials(redirected.headers) == set()
    for value in CREDENTIALS.values():
        assert value not in str(redirected.headers)
    assert redirected.json()["caller_number"] == first.json()["caller_number"]


async def test_a_strategy_redirected_within_its_origin_keeps_its_headers(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    final = routing.receiver.endpoint(Reply.json({"tier": "silver"}))
    start = routing.receiver.endpoint(Reply.redirect(final, 308))
    response = await strategy_call(routing, account, start)

    assert response.caller_context.variables["tier"] == "silver"
    [redirected] = routing.receiver.received(final)
    for name, value in CREDENTIALS.items():
        assert redirected.headers[name.lower()] == value


async def webhook_call(
    routing: RoutingStack, account: CreatedAccount, first_url: str
) -> pb.RouteCallResponse:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=first_url,
        client_websocket_url=WSS,
    )
    # Webhooks are signed with the called identity's key (per-identity signing keys).
    assert mapping.assistant_id is not None
    await factories.set_signing_key(routing.stack, mapping.assistant_id, "whsec_" + "s" * 40)
    return await routing.route(mapping.number)


async def test_a_webhook_redirected_to_another_origin_is_not_signed_there(
    routing: RoutingStack, account: CreatedAccount, elsewhere: HttpsReceiver
) -> None:
    final = elsewhere.endpoint(Reply.json({"action": "answer"}))
    start = routing.receiver.endpoint(Reply.redirect(final))
    response = await webhook_call(routing, account, start)

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    [first] = routing.receiver.received(start)
    assert all(name in first.headers for name in SIGNATURE_HEADERS)
    [redirected] = elsewhere.received(final)
    assert not any(name in redirected.headers for name in SIGNATURE_HEADERS)
    assert redirected.json() == first.json()


async def test_a_webhook_redirected_within_its_origin_stays_signed(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    final = routing.receiver.endpoint(Reply.json({"action": "answer"}))
    start = routing.receiver.endpoint(Reply.redirect(final))
    response = await webhook_call(routing, account, start)

    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    [first] = routing.receiver.received(start)
    [redirected] = routing.receiver.received(final)
    for name in SIGNATURE_HEADERS:
        assert redirected.headers[name] == first.headers[name]


async def test_headers_once_dropped_stay_dropped_and_no_cookie_is_kept(
    receiver: HttpsReceiver, elsewhere: HttpsReceiver
) -> None:
    home_final = receiver.endpoint(Reply.json({}, status=200))
    away = elsewhere.endpoint(Reply.redirect(home_final))
    start = receiver.endpoint(
        Reply(status=307, headers={"location": away, "set-cookie": "session=leak; Path=/"})
    )
    http = OutboundHttp(allow_private=True, max_response_bytes=65536, ca_file=receiver.ca_file)
    try:
        answer = await http.post_json(
            start, b"{}", headers=CREDENTIALS, budget=5, schemes=frozenset({"https"})
        )
        again = await http.post_json(
            home_final, b"{}", headers={}, budget=5, schemes=frozenset({"https"})
        )
    finally:
        await http.close()
    assert (answer.status_code, again.status_code) == (200, 200)
    back_home, later = receiver.received(home_final)
    assert sent_credentials(back_home.headers) == set()  # A -> B -> A: still not sent
    assert "cookie" not in back_home.headers
    assert "cookie" not in later.headers


def test_origin_is_scheme_host_and_effective_port() -> None:
    assert origin(httpx.URL("https://crm.example.com/a")) == origin(
        httpx.URL("https://crm.example.com:443/b?q=1")
    )
    for other in (
        "http://crm.example.com/a",
        "https://crm.example.com:8443/a",
        "https://api.crm.example.com/a",
    ):
        assert origin(httpx.URL(other)) != origin(httpx.URL("https://crm.example.com/a"))
