"""Bodies that are not JSON, and text no database can store: 422 in the dialect, no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from services.config.provisioning import CreatedAccount
from tests.support.stack import Stack

UNPARSEABLE = {
    "invalid utf-8": b"\xe0",
    "invalid utf-8 in a string": b'{"agent_handle": "\xff\xfe"}',
    "1000 levels of nesting": b"[" * 1000 + b"]" * 1000,
    "100000 levels of nesting": b"[" * 100_000 + b"]" * 100_000,
    "nested in a field": b'{"agent_handle": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "5000-digit integer": b'{"agent_handle": ' + b"1" * 5000 + b"}",
    "syntax error": b"{not json",
    "truncated": b'{"agent_handle": "a',
    "missing value": b'{"agent_handle": }',
}
ROUTES = [
    ("POST", "/api/v1/identities/"),
    ("PATCH", "/api/v1/identities/some-handle"),
    ("PUT", "/api/v1/phone/incoming-call-action"),
    ("POST", "/api/v1/api-keys"),
    ("POST", "/v1/calls:route"),
    ("POST", "/inbound/assign"),
    ("PATCH", "/inbound/update/00000000-0000-0000-0000-000000000000"),
    ("POST", "/inbound_context_strategy/create"),
    ("PATCH", "/inbound_context_strategy/update/00000000-0000-0000-0000-000000000000"),
]
CREDENTIALS = {
    "bogus api key": {"X-API-Key": "x"},
    "bogus bearer": {"Authorization": "Bearer x"},
    "bogus edge token": {"X-Switchboard-Edge-Token": "x"},
}


def assert_unparseable(path: str, response: Any) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    if path.startswith("/inbound"):
        assert body["success"] is False
        assert body["data"]["errors"][0]["field"] == "body"
    else:
        assert body["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_unparseable_bodies_are_422_whatever_the_credential(
    stack: Stack, caplog: pytest.LogCaptureFixture, method: str, path: str, credential: str
) -> None:
    headers = {**CREDENTIALS[credential], "Content-Type": "application/json"}
    with caplog.at_level(logging.WARNING):
        for body in UNPARSEABLE.values():
            response = await stack.http.request(method, path, content=body, headers=headers)
            assert_unparseable(path, response)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_issue_reproduction_is_422(stack: Stack) -> None:
    response = await stack.http.post(
        "/api/v1/identities/",
        content=b"\xe0",
        headers={"X-API-Key": "x", "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


NUL_VALUES = ["\x00", "a\x00b", "trailing\x00"]


@pytest.mark.parametrize("value", NUL_VALUES)
async def test_nul_in_identity_and_key_text_is_422_and_stores_nothing(
    stack: Stack, account: CreatedAccount, value: str
) -> None:
    admin = {"X-API-Key": account.api_key}
    for field in ("display_name", "description"):
        body = {"agent_handle": f"nul-{field.replace('_', '-')}", field: value}
        response = await stack.http.post("/api/v1/identities/", json=body, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] == field
    key = await stack.http.post("/api/v1/api-keys", json={"label": value}, headers=admin)
    assert key.status_code == 422, key.text
    listed = await stack.http.get("/api/v1/identities/", headers=admin)
    assert listed.json() == []
    keys = await stack.http.get("/api/v1/api-keys", headers=admin)
    assert [record["id"] for record in keys.json()] == [account.api_key_id]


@pytest.mark.parametrize("value", NUL_VALUES)
async def test_nul_in_vyom_text_is_422_in_the_envelope(
    stack: Stack, account: CreatedAccount, value: str
) -> None:
    bearer = {"Authorization": f"Bearer {account.api_key}"}
    strategy = {
        "strategy_name": value,
        "strategy_type": "webhook",
        "strategy_config": {"url": "https://crm.example.com/lookup", "headers": {"X-A": value}},
    }
    response = await stack.http.post(
        "/inbound_context_strategy/create", json=strategy, headers=bearer
    )
    assert response.status_code == 422, response.text
    fields = {error["field"] for error in response.json()["data"]["errors"]}
    assert "strategy_name" in fields
    assign = {
        "assistant_id": value,
        "service": "exotel",
        "inbound_config": {"phone_number": f"+9180{value}44319240"},
    }
    assigned = await stack.http.post("/inbound/assign", json=assign, headers=bearer)
    assert assigned.status_code == 422, assigned.text
    listed = await stack.http.get("/inbound_context_strategy/list", headers=bearer)
    assert listed.json()["data"] == []
