"""Inkbox's own Python SDK (``inkbox==0.7.20``, unpatched) against the gateway, admin and scoped.

The SDK is synchronous and the servers run in the test's event loop, so every SDK call
runs in a worker thread (``sdk``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from inkbox import Inkbox
from inkbox.exceptions import InkboxAPIError
from inkbox.signing_keys import verify_webhook
from inkbox.whoami.types import (
    AUTH_SUBTYPE_API_KEY_ADMIN_SCOPED,
    AUTH_SUBTYPE_API_KEY_AGENT_SCOPED_CLAIMED,
    WhoamiApiKeyResponse,
)

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.inkbox_rest import create_scoped_key, new_handle
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack

Result = TypeVar("Result")
FIXTURE_KEYS = list(
    json.loads(
        (Path(__file__).parents[2] / "fixtures" / "inkbox_phone_incoming_call.json").read_text()
    )
)


async def sdk(call: Callable[[], Result]) -> Result:
    """Run one blocking SDK call off the event loop the servers run on."""
    return await asyncio.to_thread(call)


@pytest.fixture
def client_for(stack: Stack) -> Iterator[Callable[[str], Inkbox]]:
    """SDK clients with ``base_url`` pointed at the test gateway, closed after the test."""
    clients: list[Inkbox] = []

    def make(api_key: str) -> Inkbox:
        client = Inkbox(api_key=api_key, base_url=stack.gateway_url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def admin_sdk(account: CreatedAccount, client_for: Callable[[str], Inkbox]) -> Inkbox:
    return client_for(account.api_key)


async def scoped_sdk(
    stack: Stack, account: CreatedAccount, client_for: Callable[[str], Inkbox], identity_id: Any
) -> Inkbox:
    secret = await create_scoped_key(stack.http, {"X-API-Key": account.api_key}, str(identity_id))
    return client_for(secret)


async def test_identities_display_name_clear_and_signing_key_summary(
    stack: Stack, account: CreatedAccount, admin_sdk: Inkbox, client_for: Callable[[str], Inkbox]
) -> None:
    handle = new_handle()
    identity = await sdk(lambda: admin_sdk.create_identity(handle, display_name="Desk"))
    assert (identity.display_name, identity.signing_key_configured) == ("Desk", False)
    assert identity.signing_key_created_at is None
    updated = await sdk(lambda: admin_sdk.identities.update(handle, display_name=None))
    assert updated.display_name is None
    assert (await sdk(lambda: admin_sdk.get_identity(handle))).display_name is None
    await sdk(lambda: identity.update(display_name="Front desk"))
    assert (await sdk(lambda: admin_sdk.get_identity(handle))).display_name == "Front desk"

    key = await sdk(identity.create_signing_key)
    [summary] = [s for s in await sdk(admin_sdk.list_identities) if s.agent_handle == handle]
    assert summary.signing_key_configured is True
    assert summary.signing_key_created_at == key.created_at
    scoped = await scoped_sdk(stack, account, client_for, identity.id)
    own = await sdk(lambda: scoped.get_identity(handle))
    assert own.signing_key_configured and own.signing_key_created_at == key.created_at


async def test_per_identity_signing_keys_admin_and_scoped(
    stack: Stack, account: CreatedAccount, admin_sdk: Inkbox, client_for: Callable[[str], Inkbox]
) -> None:
    mine = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    theirs = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    status = await sdk(lambda: admin_sdk.signing_keys.get_status(mine.agent_handle))
    assert (status.configured, status.created_at) == (False, None)

    first = await sdk(lambda: admin_sdk.signing_keys.create_or_rotate(mine.agent_handle))
    assert first.signing_key.startswith("whsec_")
    status = await sdk(mine.get_signing_key_status)
    assert (status.configured, status.created_at) == (True, first.created_at)

    scoped = await scoped_sdk(stack, account, client_for, mine.id)
    second = await sdk(lambda: scoped.signing_keys.create_or_rotate(mine.agent_handle))
    assert second.signing_key != first.signing_key and second.created_at >= first.created_at
    status = await sdk(lambda: scoped.signing_keys.get_status(mine.agent_handle))
    assert status.created_at == second.created_at
    with pytest.raises(InkboxAPIError) as denied:
        await sdk(lambda: scoped.signing_keys.create_or_rotate(theirs.agent_handle))
    assert denied.value.status_code == 403
    with pytest.raises(InkboxAPIError) as missing:
        await sdk(lambda: admin_sdk.signing_keys.get_status("no-such-handle"))
    assert missing.value.status_code == 404


async def test_deprecated_organization_signing_keys(
    stack: Stack, account: CreatedAccount, admin_sdk: Inkbox, client_for: Callable[[str], Inkbox]
) -> None:
    identity = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    assert (await sdk(admin_sdk.signing_keys.get_status)).configured is False
    with pytest.raises(InkboxAPIError) as conflict:
        await sdk(admin_sdk.create_signing_key)
    assert conflict.value.status_code == 409
    assert "/signing-key" in str(conflict.value.detail)

    scoped = await scoped_sdk(stack, account, client_for, identity.id)
    key = await sdk(scoped.create_signing_key)
    assert key.signing_key.startswith("whsec_")
    own = await sdk(scoped.signing_keys.get_status)
    assert (own.configured, own.created_at) == (True, key.created_at)
    aggregate = await sdk(admin_sdk.signing_keys.get_status)
    assert (aggregate.configured, aggregate.created_at) == (True, key.created_at)
    per_identity = await sdk(lambda: admin_sdk.signing_keys.get_status(identity.agent_handle))
    assert per_identity.created_at == key.created_at


async def test_whoami_for_admin_and_scoped_keys(
    stack: Stack, account: CreatedAccount, admin_sdk: Inkbox, client_for: Callable[[str], Inkbox]
) -> None:
    admin = await sdk(admin_sdk.whoami)
    assert isinstance(admin, WhoamiApiKeyResponse)
    assert (admin.auth_type, admin.auth_subtype) == ("api_key", AUTH_SUBTYPE_API_KEY_ADMIN_SCOPED)
    assert (admin.organization_id, admin.key_id) == (account.account_id, account.api_key_id)
    assert admin.scope == f"organization:{account.account_id}"
    assert (admin.label, admin.creator_type, admin.created_by) == (
        "initial admin key",
        "human",
        "operator",
    )
    assert isinstance(admin.created_at, float) and admin.expires_at is None
    assert isinstance(admin.last_used_at, float)

    identity = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    scoped_client = await scoped_sdk(stack, account, client_for, identity.id)
    scoped = await sdk(scoped_client.whoami)
    assert isinstance(scoped, WhoamiApiKeyResponse)
    assert scoped.auth_subtype == AUTH_SUBTYPE_API_KEY_AGENT_SCOPED_CLAIMED
    assert scoped.scope == f"agent_identity:{identity.id}"
    assert (scoped.organization_id, scoped.creator_type) == (account.account_id, "agent")
    assert scoped.created_by == account.api_key_id and scoped.key_id != account.api_key_id
    assert scoped.created_at is not None and scoped.created_at >= admin.created_at
    with pytest.raises(InkboxAPIError) as refused:
        await sdk(Inkbox(api_key="sb_not-a-key", base_url=stack.gateway_url).whoami)
    assert refused.value.status_code == 401


async def test_api_keys_admin_minting_is_403_scoped_minting_works(
    stack: Stack, account: CreatedAccount, admin_sdk: Inkbox, client_for: Callable[[str], Inkbox]
) -> None:
    with pytest.raises(InkboxAPIError) as refused:
        await sdk(lambda: admin_sdk.api_keys.create(label="another admin"))
    assert refused.value.status_code == 403
    identity = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    created = await sdk(
        lambda: admin_sdk.api_keys.create(label="agent", scoped_identity_id=identity.id)
    )
    scoped = client_for(created.api_key)
    assert (await sdk(scoped.whoami)).scope == f"agent_identity:{identity.id}"
    with pytest.raises(InkboxAPIError) as scoped_refused:
        await sdk(lambda: scoped.api_keys.create(label="x", scoped_identity_id=identity.id))
    assert scoped_refused.value.status_code == 403


@pytest.mark.parametrize("scope", ["admin", "scoped"])
async def test_forwarding_target_type_none_clears_both_targets(
    stack: Stack,
    account: CreatedAccount,
    admin_sdk: Inkbox,
    client_for: Callable[[str], Inkbox],
    scope: str,
) -> None:
    identity = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    client = admin_sdk
    if scope == "scoped":
        client = await scoped_sdk(stack, account, client_for, identity.id)
    actions = client.incoming_call_action
    target: dict[str, Any] = {"agent_identity_id": identity.id} if scope == "admin" else {}
    sip = await sdk(
        lambda: actions.set(
            incoming_call_action="forward",
            forwarding_target_type="sip",
            forwarding_sip_uri="sip:desk@sip.example.com",
            **target,
        )
    )
    assert sip.forwarding_sip_uri == "sip:desk@sip.example.com"
    cleared = await sdk(
        lambda: actions.set(
            incoming_call_action="auto_reject", forwarding_target_type=None, **target
        )
    )
    assert cleared.incoming_call_action.value == "auto_reject"
    assert (cleared.forwarding_target_type, cleared.forwarding_phone_number) == (None, None)
    assert cleared.forwarding_sip_uri is None
    read = await sdk(lambda: actions.get(**target))
    assert (read.forwarding_target_type, read.forwarding_sip_uri) == (None, None)
    await sdk(
        lambda: actions.set(
            incoming_call_action="forward",
            forwarding_target_type="phone",
            forwarding_phone_number="+14155550123",
            **target,
        )
    )
    kept = await sdk(lambda: actions.set(incoming_call_action="auto_reject", **target))
    assert kept.forwarding_phone_number == "+14155550123"  # omitted: kept


async def test_incoming_call_webhook_is_signed_with_the_called_identitys_key(
    routing: RoutingStack, account: CreatedAccount, client_for: Callable[[str], Inkbox]
) -> None:
    admin_sdk = client_for(account.api_key)
    called = await sdk(lambda: admin_sdk.create_identity(new_handle(), display_name="Called"))
    bystander = await sdk(lambda: admin_sdk.create_identity(new_handle()))
    url = routing.receiver.endpoint(Reply.json({"action": "answer"}))
    await sdk(
        lambda: admin_sdk.incoming_call_action.set(
            agent_identity_id=called.id,
            incoming_call_action="webhook",
            incoming_call_webhook_url=url,
            client_websocket_url="wss://agent.example.com/stream",
        )
    )
    scoped = await scoped_sdk(routing.stack, account, client_for, called.id)
    key = await sdk(scoped.create_signing_key)
    other_key = await sdk(bystander.create_signing_key)
    mapping = await factories.map_number(routing.stack, account.account_id, str(called.id))

    await routing.route(mapping.number, caller_number="+14155550999")

    [request] = routing.receiver.received(url)
    assert verify_webhook(payload=request.body, headers=request.headers, secret=key.signing_key)
    assert not verify_webhook(
        payload=request.body, headers=request.headers, secret=other_key.signing_key
    )
    body = request.json()
    assert list(body)[: len(FIXTURE_KEYS)] == FIXTURE_KEYS
    assert body["called_agent_identity"] == {
        "id": str(called.id),
        "agent_handle": called.agent_handle,
        "display_name": "Called",
    }
    assert body["agent_identities"] == [] and body["contacts"] == []
