"""The config service's logic called directly: private-host refusal, field checks."""

from __future__ import annotations

import pytest

from services.common.auth import Principal, Scope
from services.common.errors import InvalidArgument
from services.config import call_actions, identities
from services.config.call_actions import CallActionConfig, Fallback
from services.config.provisioning import CreatedAccount
from services.config.validation import check_e164, check_sip_uri, normalize_handle
from tests.support.stack import Stack

PRIVATE = {
    "loopback": CallActionConfig(action="auto_accept", client_websocket_url="wss://127.0.0.1/s"),
    "localhost": CallActionConfig(action="auto_accept", client_websocket_url="wss://localhost/s"),
    "private-v4": CallActionConfig(
        action="webhook", incoming_call_webhook_url="https://10.0.0.8/h"
    ),
    "link-local": CallActionConfig(
        action="webhook", incoming_call_webhook_url="https://169.254.169.254/latest"
    ),
    "metadata-name": CallActionConfig(
        action="webhook", incoming_call_webhook_url="https://metadata.google.internal/x"
    ),
    "ipv6-loopback": CallActionConfig(action="auto_accept", client_websocket_url="wss://[::1]/s"),
    "sip-internal": CallActionConfig(
        action="forward", forwarding_target_type="sip", forwarding_sip_uri="sip:a@pbx.internal"
    ),
    "fallback-private": CallActionConfig(
        action="webhook",
        incoming_call_webhook_url="https://hooks.example.com/h",
        webhook_fallback=Fallback(action="accept", client_websocket_url="wss://192.168.1.2/s"),
    ),
}


@pytest.fixture
async def identity_principal(stack: Stack, account: CreatedAccount) -> tuple[Principal, str]:
    admin = Principal(account.account_id, Scope.ADMIN, account.api_key_id)
    created = await identities.create_identity(
        stack.config_sessions, admin, f"svc-{account.account_id[:8]}", None, None
    )
    return admin, created.identity.id


@pytest.mark.parametrize("config", PRIVATE.values(), ids=PRIVATE.keys())
async def test_private_hosts_are_refused_unless_allowed(
    stack: Stack, identity_principal: tuple[Principal, str], config: CallActionConfig
) -> None:
    principal, identity_id = identity_principal
    fields = call_actions.FIELDS
    with pytest.raises(InvalidArgument):
        await call_actions.update_call_action(
            stack.config_sessions, principal, identity_id, config, fields, allow_private_urls=False
        )
    stored = await call_actions.update_call_action(
        stack.config_sessions, principal, identity_id, config, fields, allow_private_urls=True
    )
    assert stored.action == config.action


async def test_public_hosts_are_accepted_when_private_ones_are_refused(
    stack: Stack, identity_principal: tuple[Principal, str]
) -> None:
    principal, identity_id = identity_principal
    config = CallActionConfig(
        action="webhook",
        incoming_call_webhook_url="https://hooks.example.com/h",
        client_websocket_url="wss://agent.example.com/s",
    )
    stored = await call_actions.update_call_action(
        stack.config_sessions,
        principal,
        identity_id,
        config,
        call_actions.FIELDS,
        allow_private_urls=False,
    )
    assert stored.incoming_call_webhook_url == "https://hooks.example.com/h"


@pytest.mark.parametrize(
    ("raw", "handle"),
    [("@Agent.One", "agent.one"), ("ab", "ab"), ("0-x_y", "0-x_y"), ("a" * 63, "a" * 63)],
)
def test_handles_are_normalized(raw: str, handle: str) -> None:
    assert normalize_handle(raw) == handle


@pytest.mark.parametrize("raw", ["", "a", "@@ab", "_ab", "a b", "a" * 64, "ab\n", "\uff41\uff42"])
def test_malformed_handles_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        normalize_handle(raw)


@pytest.mark.parametrize("number", ["+14155552671", "+918044319240", "+442079460958"])
def test_e164_numbers_are_accepted(number: str) -> None:
    assert check_e164(number, "n") == number


@pytest.mark.parametrize("number", ["14155552671", "+1 415 555 2671", "+1415555267", "+0123", "+"])
def test_non_e164_numbers_are_refused(number: str) -> None:
    with pytest.raises(InvalidArgument):
        check_e164(number, "n")


@pytest.mark.parametrize(
    "uri",
    [
        "sip:agent@pbx.example.com",
        "sips:pbx.example.com:5061",
        "sip:+1415@gw.example.com;user=phone",
    ],
)
def test_sip_uris_on_public_names_are_accepted(uri: str) -> None:
    assert check_sip_uri(uri, "u", allow_private=False) == uri


@pytest.mark.parametrize(
    "uri",
    [
        "sip:agent@10.0.0.1",
        "sip:agent@[2001:4860::1]",
        "sip:agent@localhost",
        "sip:agent@pbx",
        "tel:+14155552671",
        "sip:",
        "sip:a b@pbx.example.com",
        "sip:a@" + "x" * 3000 + ".com",
    ],
)
def test_other_sip_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument):
        check_sip_uri(uri, "u", allow_private=False)
