"""Who may call RouteCall: the edge token routes anything, admin keys only their own numbers."""

from __future__ import annotations

import grpc
import pytest
from switchboard.registry.v1 import registry_pb2 as pb

from services.config import provisioning
from services.config.models import ApiKey
from services.config.provisioning import CreatedAccount
from services.config.secrets import new_api_key_secret
from tests.services.registry.routing import factories
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"


async def accepted_number(routing: RoutingStack, account: CreatedAccount) -> factories.Mapping:
    return await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )


async def code_of(
    routing: RoutingStack, number: str, metadata: tuple[tuple[str, str], ...]
) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await routing.route(number, metadata=metadata)
    return caught.value.code()


async def test_edge_token_as_bearer_routes_any_account(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await accepted_number(routing, account)
    response = await routing.route(
        mapping.number, metadata=(("authorization", f"Bearer {routing.edge_token}"),)
    )
    assert response.decision == pb.ROUTING_DECISION_ACCEPT


async def test_missing_or_wrong_credentials_are_unauthenticated(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await accepted_number(routing, account)
    for metadata in (
        (),
        (("x-switchboard-edge-token", routing.edge_token + "x"),),
        (("x-switchboard-edge-token", ""),),
        (("authorization", "Bearer not-a-key"),),
        (("x-api-key", "sb_unknown"),),
        (("authorization", f"Basic {routing.edge_token}"),),
    ):
        assert await code_of(routing, mapping.number, metadata) == grpc.StatusCode.UNAUTHENTICATED


async def test_admin_key_routes_its_own_numbers_only(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mine = await accepted_number(routing, account)
    other = await provisioning.create_account(routing.stack.config_sessions, "Other")
    theirs = await accepted_number(routing, other)
    unmapped, _ = factories.new_number()
    key = (("x-api-key", account.api_key),)

    own = await routing.route(mine.number, metadata=key)
    assert own.decision == pb.ROUTING_DECISION_ACCEPT
    assert own.inbound_id == mine.inbound_id

    foreign = await routing.route(theirs.number, metadata=key, call_id="c")
    nowhere = await routing.route(unmapped, metadata=key, call_id="c")
    assert foreign.reject_reason == pb.REJECT_REASON_NO_ACTIVE_MAPPING
    # Exactly like an unmapped number (each decision has its own id).
    foreign.decision_id = nowhere.decision_id
    assert foreign == nowhere

    bearer = await routing.route(
        mine.number, metadata=(("authorization", f"Bearer {account.api_key}"),)
    )
    assert bearer.decision == pb.ROUTING_DECISION_ACCEPT


async def test_identity_scoped_keys_are_denied(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await accepted_number(routing, account)
    assert mapping.assistant_id is not None
    secret = new_api_key_secret()
    async with routing.stack.config_sessions.begin() as session:
        session.add(
            ApiKey(
                account_id=account.account_id,
                secret_hash=secret.secret_hash,
                display_prefix=secret.display_prefix,
                last4=secret.last4,
                label="scoped",
                scoped_identity_id=mapping.assistant_id,
            )
        )
    code = await code_of(routing, mapping.number, (("x-api-key", secret.secret),))
    assert code == grpc.StatusCode.PERMISSION_DENIED
