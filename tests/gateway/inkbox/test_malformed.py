"""Lone surrogates and odd path/query values on every Inkbox route: 4xx `{"detail"}`, no 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.inkbox_rest import Headers, new_handle
from tests.support.stack import Stack

LONE_SURROGATES = ["\ud800", "a\udfffb", "\ud83d"]
"""Valid JSON escapes (``"\\ud800"``) that are not Unicode text: protobuf cannot send them."""
ODD_PATH_VALUES = ["%ED%A0%80", "%ED%BF%BF", "%F0%9F%98%80", "%00", "%FF", "a" * 5000]
CALL_ACTION_PATH = "/api/v1/phone/incoming-call-action"


async def send(
    http: httpx.AsyncClient, method: str, path: str, headers: Headers, body: dict[str, Any]
) -> httpx.Response:
    """``body`` as JSON with non-ASCII escaped, so lone surrogates travel as ``\\udXXX``."""
    return await http.request(
        method,
        path,
        content=json.dumps(body).encode("ascii"),
        headers={**headers, "Content-Type": "application/json"},
    )


def assert_rejected_field(response: httpx.Response, field: str) -> None:
    """A 422 ``{"detail": [...]}`` naming ``field`` (its last path element)."""
    assert response.status_code == 422, (field, response.text)
    body = response.json()
    assert set(body) == {"detail"}
    assert any(item["loc"][-1] == field for item in body["detail"]), (field, body)


def with_value(body: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    """A copy of ``body`` with the (possibly nested) field at ``path`` set to ``value``."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize("value", LONE_SURROGATES)
@pytest.mark.parametrize("field", ["agent_handle", "display_name", "description"])
async def test_identity_create_and_update_reject_lone_surrogates(
    stack: Stack, admin: Headers, identity: Any, field: str, value: str
) -> None:
    body = {"agent_handle": new_handle(), "display_name": "Agent", "description": "Text"}
    created = await send(
        stack.http, "POST", "/api/v1/identities/", admin, with_value(body, (field,), value)
    )
    assert_rejected_field(created, field)
    path = f"/api/v1/identities/{identity['agent_handle']}"
    updated = await send(stack.http, "PATCH", path, admin, {field: value})
    assert_rejected_field(updated, field)
    unchanged = await stack.http.get(path, headers=admin)
    assert unchanged.json() == identity


@pytest.mark.parametrize("value", LONE_SURROGATES)
@pytest.mark.parametrize("field", ["label", "description", "scoped_identity_id"])
async def test_api_key_create_rejects_lone_surrogates(
    stack: Stack, admin: Headers, field: str, value: str
) -> None:
    body = {"label": "Label", "description": "Text"}
    response = await send(
        stack.http, "POST", "/api/v1/api-keys", admin, with_value(body, (field,), value)
    )
    assert_rejected_field(response, field)


CALL_ACTION_FIELDS = [
    ("incoming_call_action",),
    ("client_websocket_url",),
    ("incoming_call_webhook_url",),
    ("forwarding_target_type",),
    ("forwarding_phone_number",),
    ("forwarding_sip_uri",),
    ("agent_identity_id",),
    ("webhook_fallback", "action"),
    ("webhook_fallback", "client_websocket_url"),
    ("webhook_fallback", "forwarding_target_type"),
    ("webhook_fallback", "forwarding_phone_number"),
    ("webhook_fallback", "forwarding_sip_uri"),
]


@pytest.mark.parametrize("value", LONE_SURROGATES)
@pytest.mark.parametrize("path", CALL_ACTION_FIELDS, ids=".".join)
async def test_call_action_put_rejects_lone_surrogates(
    stack: Stack, admin: Headers, identity: Any, path: tuple[str, ...], value: str
) -> None:
    body = {
        "agent_identity_id": identity["id"],
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": "https://hooks.example.com/call",
        "client_websocket_url": "wss://agent.example.com/stream",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+14155552671",
        "forwarding_sip_uri": "sip:agent@example.com",
        "webhook_fallback": {
            "action": "forward",
            "client_websocket_url": "wss://agent.example.com/fallback",
            "forwarding_target_type": "sip",
            "forwarding_phone_number": "+14155552672",
            "forwarding_sip_uri": "sip:fallback@example.com",
        },
    }
    response = await send(stack.http, "PUT", CALL_ACTION_PATH, admin, with_value(body, path, value))
    assert_rejected_field(response, path[-1])


async def test_odd_path_and_query_values_get_the_detail_shape(stack: Stack, admin: Headers) -> None:
    for raw in ODD_PATH_VALUES:
        for method, path, body in (
            ("GET", f"/api/v1/identities/{raw}", None),
            ("PATCH", f"/api/v1/identities/{raw}", {"display_name": "Agent"}),
            ("DELETE", f"/api/v1/identities/{raw}", None),
            ("DELETE", f"/api/v1/api-keys/{raw}", None),
            ("GET", f"{CALL_ACTION_PATH}?agent_identity_id={raw}", None),
        ):
            response = await stack.http.request(method, path, headers=admin, json=body)
            assert 400 <= response.status_code < 500, (method, path[:80], response.text)
            assert set(response.json()) == {"detail"}
