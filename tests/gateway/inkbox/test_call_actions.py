"""``/api/v1/phone/incoming-call-action`` over HTTP: the seed's contract, row by row."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from services.config.models import IncomingCallAction
from tests.support.inkbox_rest import Headers
from tests.support.stack import Stack

URL = "/api/v1/phone/incoming-call-action"
WSS = "wss://your-agent.example.com/stream"
HTTPS = "https://your-agent.example.com/incoming-call"
SEED_KEYS = {
    "agent_identity_id",
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
}
NO_FORWARDING = {
    "forwarding_target_type": None,
    "forwarding_phone_number": None,
    "forwarding_sip_uri": None,
}


async def put(stack: Stack, headers: Headers, **body: Any) -> Any:
    return await stack.http.put(URL, json=body, headers=headers)


async def row_count(stack: Stack, identity_id: str) -> int:
    async with stack.config_sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(IncomingCallAction)
            .where(IncomingCallAction.agent_identity_id == identity_id)
        )
    return int(count or 0)


async def test_seed_example_round_trips(stack: Stack, admin: Headers, identity: Any) -> None:
    body = {
        "agent_identity_id": identity["id"],
        "incoming_call_action": "webhook",
        "client_websocket_url": WSS,
        "incoming_call_webhook_url": HTTPS,
    }
    response = await stack.http.put(URL, json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {**body, **NO_FORWARDING}
    fetched = await stack.http.get(URL, params={"agent_identity_id": identity["id"]}, headers=admin)
    assert fetched.status_code == 200
    assert fetched.json() == response.json()
    assert set(fetched.json()) == SEED_KEYS


# --- the seed's error tables -------------------------------------------------------------


async def test_put_unknown_identity_is_404(stack: Stack, admin: Headers) -> None:
    response = await put(
        stack, admin, agent_identity_id=str(uuid.uuid4()), incoming_call_action="auto_reject"
    )
    assert (response.status_code, response.json()) == (404, {"detail": "Agent identity not found"})


async def test_put_without_identity_id_with_admin_key_is_422(stack: Stack, admin: Headers) -> None:
    response = await put(stack, admin, incoming_call_action="auto_reject")
    assert response.status_code == 422
    assert response.json() == {"detail": "agent_identity_id is required"}


async def test_put_auto_accept_without_websocket_url_is_422(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    response = await put(
        stack, admin, agent_identity_id=identity["id"], incoming_call_action="auto_accept"
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": 'client_websocket_url is required when incoming_call_action is "auto_accept"'
    }


async def test_put_webhook_without_webhook_url_is_422(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    response = await put(
        stack,
        admin,
        agent_identity_id=identity["id"],
        incoming_call_action="webhook",
        client_websocket_url=WSS,
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": 'incoming_call_webhook_url is required when incoming_call_action is "webhook"'
    }


async def test_get_unknown_identity_is_404(stack: Stack, admin: Headers) -> None:
    response = await stack.http.get(
        URL, params={"agent_identity_id": str(uuid.uuid4())}, headers=admin
    )
    assert (response.status_code, response.json()) == (404, {"detail": "Agent identity not found"})


async def test_get_without_config_is_404(stack: Stack, admin: Headers, identity: Any) -> None:
    response = await stack.http.get(
        URL, params={"agent_identity_id": identity["id"]}, headers=admin
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "No inbound-call config set for this identity"}


async def test_get_without_identity_id_with_admin_key_is_422(stack: Stack, admin: Headers) -> None:
    response = await stack.http.get(URL, headers=admin)
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "agent_identity_id is required"},
    )


# --- keys: admin, identity-scoped, another organization's, missing/invalid/revoked ---------


async def test_scoped_key_omits_id_and_acts_on_its_own_identity(
    stack: Stack, scoped: Headers, identity: Any
) -> None:
    response = await put(
        stack, scoped, incoming_call_action="auto_accept", client_websocket_url=WSS
    )
    assert response.status_code == 200, response.text
    assert response.json()["agent_identity_id"] == identity["id"]
    fetched = await stack.http.get(URL, headers=scoped)
    assert fetched.status_code == 200
    assert fetched.json() == response.json()
    named = await stack.http.get(URL, params={"agent_identity_id": identity["id"]}, headers=scoped)
    assert named.json() == response.json()


async def test_scoped_key_naming_another_identity_is_403(
    stack: Stack, admin: Headers, scoped: Headers
) -> None:
    from tests.support.inkbox_rest import create_identity

    other = await create_identity(stack.http, admin)
    for target in (other["id"], str(uuid.uuid4())):
        response = await put(
            stack, scoped, agent_identity_id=target, incoming_call_action="auto_reject"
        )
        assert response.status_code == 403, response.text
        assert "own agent identity" in response.json()["detail"]
        fetched = await stack.http.get(URL, params={"agent_identity_id": target}, headers=scoped)
        assert fetched.status_code == 403
    assert await row_count(stack, other["id"]) == 0


async def test_other_organizations_identity_is_404_never_data(
    stack: Stack, admin: Headers, other_admin: Headers, identity: Any
) -> None:
    stored = await put(
        stack, admin, agent_identity_id=identity["id"], incoming_call_action="auto_reject"
    )
    assert stored.status_code == 200
    fetched = await stack.http.get(
        URL, params={"agent_identity_id": identity["id"]}, headers=other_admin
    )
    assert (fetched.status_code, fetched.json()) == (404, {"detail": "Agent identity not found"})
    written = await put(
        stack,
        other_admin,
        agent_identity_id=identity["id"],
        incoming_call_action="auto_accept",
        client_websocket_url=WSS,
    )
    assert (written.status_code, written.json()) == (404, {"detail": "Agent identity not found"})
    again = await stack.http.get(URL, params={"agent_identity_id": identity["id"]}, headers=admin)
    assert again.json()["incoming_call_action"] == "auto_reject"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "sb_not-a-real-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "empty", "unknown", "basic-auth", "bearer-without-token"],
)
async def test_missing_malformed_or_unknown_key_is_401(
    stack: Stack, identity: Any, headers: Headers
) -> None:
    fetched = await stack.http.get(
        URL, params={"agent_identity_id": identity["id"]}, headers=headers
    )
    assert fetched.status_code == 401
    assert isinstance(fetched.json()["detail"], str)
    written = await put(
        stack, headers, agent_identity_id=identity["id"], incoming_call_action="auto_reject"
    )
    assert written.status_code == 401


async def test_bearer_authorization_is_accepted(stack: Stack, account: Any, identity: Any) -> None:
    bearer = {"Authorization": f"Bearer {account.api_key}"}
    response = await put(
        stack, bearer, agent_identity_id=identity["id"], incoming_call_action="hosted_agent"
    )
    assert response.status_code == 200, response.text


async def test_revoked_key_is_401_at_once(stack: Stack, admin: Headers, identity: Any) -> None:
    from tests.support.inkbox_rest import create_scoped_key, key_headers

    secret = await create_scoped_key(stack.http, admin, identity["id"])
    records = (await stack.http.get("/api/v1/api-keys", headers=admin)).json()
    key_id = next(r["id"] for r in records if r["scoped_identity_id"] == identity["id"])
    assert (await stack.http.get(URL, headers=key_headers(secret))).status_code == 404
    revoked = await stack.http.delete(f"/api/v1/api-keys/{key_id}", headers=admin)
    assert revoked.status_code == 200
    response = await stack.http.get(URL, headers=key_headers(secret))
    assert response.status_code == 401


# --- what each action requires and forbids -----------------------------------------------

VALID = [
    {"incoming_call_action": "auto_accept", "client_websocket_url": WSS},
    {"incoming_call_action": "auto_reject"},
    {"incoming_call_action": "auto_reject", "client_websocket_url": WSS},
    {"incoming_call_action": "webhook", "incoming_call_webhook_url": HTTPS},
    {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+14155552671",
    },
    {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_sip_uri": "sip:agent@pbx.example.com;transport=tls",
    },
    {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_sip_uri": "sips:pbx.example.com:5061",
    },
    {"incoming_call_action": "hosted_agent"},
    {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_timeout_seconds": 2.5,
    },
    {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "accept", "client_websocket_url": WSS},
    },
    {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "client_websocket_url": WSS,
        "webhook_fallback": {"action": "accept"},
    },
    {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {
            "action": "forward",
            "forwarding_target_type": "phone",
            "forwarding_phone_number": "+442079460958",
        },
    },
    {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "reject"},
    },
]

INVALID = {
    "auto_accept-ws-scheme": {
        "incoming_call_action": "auto_accept",
        "client_websocket_url": "ws://a.example.com/s",
    },
    "auto_accept-https-scheme": {
        "incoming_call_action": "auto_accept",
        "client_websocket_url": "https://a.example.com/s",
    },
    "webhook-http-scheme": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": "http://a.example.com/h",
    },
    "webhook-wss-scheme": {"incoming_call_action": "webhook", "incoming_call_webhook_url": WSS},
    "websocket-url-invalid-on-reject": {
        "incoming_call_action": "auto_reject",
        "client_websocket_url": "not a url",
    },
    "websocket-url-with-credentials": {
        "incoming_call_action": "auto_accept",
        "client_websocket_url": "wss://u:p@a.example.com/",
    },
    "forward-no-destination": {"incoming_call_action": "forward"},
    "forward-type-without-number": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
    },
    "forward-number-without-type": {
        "incoming_call_action": "forward",
        "forwarding_phone_number": "+14155552671",
    },
    "forward-both-destinations": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+14155552671",
        "forwarding_sip_uri": "sip:agent@pbx.example.com",
    },
    "forward-sip-type-with-phone": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_phone_number": "+14155552671",
    },
    "forward-number-without-plus": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "14155552671",
    },
    "forward-number-with-spaces": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+1 415 555 2671",
    },
    "forward-number-impossible": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+10005550000",
    },
    "forward-sip-ip-host": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_sip_uri": "sip:agent@203.0.113.5",
    },
    "forward-sip-wrong-scheme": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_sip_uri": "https://pbx.example.com",
    },
    "forward-sip-no-host": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "sip",
        "forwarding_sip_uri": "sip:agent@",
    },
    "forward-type-unknown": {
        "incoming_call_action": "forward",
        "forwarding_target_type": "fax",
        "forwarding_phone_number": "+14155552671",
    },
    "timeout-too-small": {"incoming_call_action": "auto_reject", "webhook_timeout_seconds": 0.5},
    "timeout-too-large": {"incoming_call_action": "auto_reject", "webhook_timeout_seconds": 11},
    "fallback-accept-without-url": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "accept"},
    },
    "fallback-reject-with-url": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "reject", "client_websocket_url": WSS},
    },
    "fallback-forward-without-destination": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "forward"},
    },
    "fallback-accept-with-destination": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {
            "action": "accept",
            "client_websocket_url": WSS,
            "forwarding_target_type": "phone",
            "forwarding_phone_number": "+14155552671",
        },
    },
    "fallback-unknown-action": {
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
        "webhook_fallback": {"action": "retry"},
    },
}


@pytest.mark.parametrize("body", VALID, ids=lambda b: "-".join(str(v)[:12] for v in b.values()))
async def test_valid_configurations_are_stored_and_echoed(
    stack: Stack, admin: Headers, identity: Any, body: dict[str, Any]
) -> None:
    response = await put(stack, admin, agent_identity_id=identity["id"], **body)
    assert response.status_code == 200, response.text
    echoed = response.json()
    expected = {
        "agent_identity_id": identity["id"],
        "client_websocket_url": None,
        "incoming_call_webhook_url": None,
        **NO_FORWARDING,
        **body,
    }
    if "webhook_fallback" in body:
        expected["webhook_fallback"] = {
            "client_websocket_url": None,
            **NO_FORWARDING,
            **body["webhook_fallback"],
        }
    assert echoed == expected
    assert set(echoed) - SEED_KEYS == set(body) & {"webhook_timeout_seconds", "webhook_fallback"}


@pytest.mark.parametrize("body", INVALID.values(), ids=INVALID.keys())
async def test_invalid_configurations_are_422_and_not_stored(
    stack: Stack, admin: Headers, identity: Any, body: dict[str, Any]
) -> None:
    response = await put(stack, admin, agent_identity_id=identity["id"], **body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert await row_count(stack, identity["id"]) == 0


# --- replace vs. keep/clear/set ----------------------------------------------------------


async def test_seed_fields_are_replaced_by_each_put(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    first = await put(
        stack,
        admin,
        agent_identity_id=identity["id"],
        incoming_call_action="webhook",
        client_websocket_url=WSS,
        incoming_call_webhook_url=HTTPS,
    )
    assert first.status_code == 200
    second = await put(
        stack, admin, agent_identity_id=identity["id"], incoming_call_action="auto_reject"
    )
    assert second.json()["client_websocket_url"] is None
    assert second.json()["incoming_call_webhook_url"] is None


async def test_forwarding_fields_omitted_keep_null_clears_value_sets(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    phone = {"forwarding_target_type": "phone", "forwarding_phone_number": "+14155552671"}
    base = {"agent_identity_id": identity["id"]}
    set_ = await put(stack, admin, **base, incoming_call_action="forward", **phone)
    assert set_.status_code == 200
    kept = await put(
        stack, admin, **base, incoming_call_action="auto_accept", client_websocket_url=WSS
    )
    assert kept.status_code == 200
    assert {k: kept.json()[k] for k in phone} == phone
    assert kept.json()["forwarding_sip_uri"] is None

    partly = await put(
        stack,
        admin,
        **base,
        incoming_call_action="forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sip:desk@pbx.example.com",
    )
    assert partly.status_code == 422
    assert partly.json() == {
        "detail": 'forwarding_phone_number must be null when forwarding_target_type is "sip"'
    }

    switched = await put(
        stack,
        admin,
        **base,
        incoming_call_action="forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sip:desk@pbx.example.com",
        forwarding_phone_number=None,
    )
    assert switched.status_code == 200, switched.text
    assert switched.json()["forwarding_phone_number"] is None
    assert switched.json()["forwarding_sip_uri"] == "sip:desk@pbx.example.com"

    refused = await put(stack, admin, **base, incoming_call_action="forward", **NO_FORWARDING)
    assert refused.status_code == 422

    cleared = await put(stack, admin, **base, incoming_call_action="auto_reject", **NO_FORWARDING)
    assert cleared.status_code == 200
    assert {k: cleared.json()[k] for k in NO_FORWARDING} == NO_FORWARDING
    fetched = await stack.http.get(URL, params=base, headers=admin)
    assert fetched.json() == cleared.json()


async def test_extension_fields_are_three_state_and_hidden_when_unset(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    base = {
        "agent_identity_id": identity["id"],
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": HTTPS,
    }
    fallback = {"action": "reject"}
    set_ = await put(stack, admin, **base, webhook_timeout_seconds=3, webhook_fallback=fallback)
    assert set_.status_code == 200, set_.text
    assert set_.json()["webhook_timeout_seconds"] == 3
    assert set_.json()["webhook_fallback"]["action"] == "reject"
    kept = await put(stack, admin, **base)
    assert kept.json()["webhook_timeout_seconds"] == 3
    assert kept.json()["webhook_fallback"] == set_.json()["webhook_fallback"]
    cleared = await put(stack, admin, **base, webhook_timeout_seconds=None, webhook_fallback=None)
    assert cleared.status_code == 200
    assert set(cleared.json()) == SEED_KEYS


async def test_same_put_twice_is_idempotent_with_one_row(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    body = {
        "agent_identity_id": identity["id"],
        "incoming_call_action": "auto_accept",
        "client_websocket_url": WSS,
    }
    first = await stack.http.put(URL, json=body, headers=admin)
    second = await stack.http.put(URL, json=body, headers=admin)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert await row_count(stack, identity["id"]) == 1


async def test_concurrent_puts_leave_exactly_one_submitted_config(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    bodies = [
        {
            "agent_identity_id": identity["id"],
            "incoming_call_action": "auto_accept",
            "client_websocket_url": f"wss://agent-{n}.example.com/stream",
        }
        for n in range(100)
    ]
    responses = await asyncio.gather(
        *(stack.http.put(URL, json=body, headers=admin) for body in bodies)
    )
    assert [r.status_code for r in responses] == [200] * 100
    assert await row_count(stack, identity["id"]) == 1
    final = (
        await stack.http.get(URL, params={"agent_identity_id": identity["id"]}, headers=admin)
    ).json()
    assert final in [
        {**body, "incoming_call_webhook_url": None, **NO_FORWARDING} for body in bodies
    ]


# --- malformed input is 422, never 500 ---------------------------------------------------

MALFORMED = {
    "not-json": b"{not json",
    "json-array": b"[]",
    "json-string": b'"auto_accept"',
    "json-null": b"null",
    "empty": b"",
    "action-wrong-type": b'{"incoming_call_action": 5}',
    "action-unknown": b'{"incoming_call_action": "ring"}',
    "action-missing": b'{"client_websocket_url": "wss://a.example.com"}',
    "url-wrong-type": b'{"incoming_call_action": "auto_accept", "client_websocket_url": 123}',
    "url-object": b'{"incoming_call_action": "auto_accept", "client_websocket_url": {"a": 1}}',
    "id-not-uuid": b'{"incoming_call_action": "auto_reject", "agent_identity_id": "abc"}',
    "id-number": b'{"incoming_call_action": "auto_reject", "agent_identity_id": 12}',
    "timeout-string": b'{"incoming_call_action": "auto_reject", "webhook_timeout_seconds": "x"}',
    "timeout-nan": b'{"incoming_call_action": "auto_reject", "webhook_timeout_seconds": NaN}',
    "timeout-inf": b'{"incoming_call_action": "auto_reject", "webhook_timeout_seconds": 1e999}',
    "fallback-list": b'{"incoming_call_action": "auto_reject", "webhook_fallback": []}',
    "huge-url": b'{"incoming_call_action": "auto_accept", "client_websocket_url": "wss://a.example.com/'
    + b"x" * 100_000
    + b'"}',
    "huge-phone": b'{"incoming_call_action": "forward", "forwarding_target_type": "phone", '
    b'"forwarding_phone_number": "+' + b"1" * 10_000 + b'"}',
    "nul-in-url": b'{"incoming_call_action": "auto_accept", "client_websocket_url": "wss://a\\u0000.example.com"}',
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_put_body_is_422(
    stack: Stack, admin: Headers, identity: Any, raw: bytes
) -> None:
    response = await stack.http.put(
        URL, content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


@pytest.mark.parametrize("value", ["abc", "", "1234", "a1b2c3d4-e5f6-7890-abcd-ef123456789g"])
async def test_get_with_non_uuid_id_is_422(stack: Stack, admin: Headers, value: str) -> None:
    response = await stack.http.get(URL, params={"agent_identity_id": value}, headers=admin)
    assert response.status_code == 422
    assert "detail" in response.json()
