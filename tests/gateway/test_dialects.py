"""Errors every dialect renders the same way: no credential is 401 before any body check."""

from __future__ import annotations

import pytest

from services.common.auth import MISSING_CREDENTIAL
from tests.support.stack import Stack

MALFORMED = b"{not json"

INKBOX_ROUTES = [
    ("PUT", "/api/v1/phone/incoming-call-action"),
    ("GET", "/api/v1/phone/incoming-call-action?agent_identity_id=not-a-uuid"),
    ("POST", "/api/v1/identities/"),
    ("PATCH", "/api/v1/identities/some-handle"),
    ("POST", "/api/v1/api-keys"),
    ("POST", "/v1/calls:route"),
]
VYOM_ROUTES = [
    ("POST", "/inbound/assign"),
    ("PATCH", "/inbound/update/not-a-uuid"),
    ("POST", "/inbound_context_strategy/create"),
    ("GET", "/inbound/list?page_size=-1"),
]


@pytest.mark.parametrize(("method", "path"), INKBOX_ROUTES)
async def test_inkbox_routes_answer_401_before_validating_input(
    stack: Stack, method: str, path: str
) -> None:
    response = await stack.http.request(
        method, path, content=MALFORMED, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": MISSING_CREDENTIAL}


@pytest.mark.parametrize(("method", "path"), VYOM_ROUTES)
async def test_vyom_routes_answer_401_before_validating_input(
    stack: Stack, method: str, path: str
) -> None:
    response = await stack.http.request(
        method, path, content=MALFORMED, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {"success": False, "message": MISSING_CREDENTIAL, "data": None}


async def test_vyom_malformed_json_names_the_body(stack: Stack) -> None:
    response = await stack.http.post(
        "/inbound/assign",
        content=MALFORMED,
        headers={"Content-Type": "application/json", "Authorization": "Bearer anything"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["data"]["errors"][0]["field"] == "body"
