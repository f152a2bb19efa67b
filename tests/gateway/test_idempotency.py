"""`Idempotency-Key` on the REST writes of both dialects, including an answer lost in transit."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from services.config.models import AgentIdentity
from services.config.provisioning import CreatedAccount
from services.registry.models import InboundNumber
from tests.services.registry.factories import (
    Tenant,
    assign_body,
    create_tenant,
    fresh_number,
    strategy_body,
)
from tests.support.dropping_proxy import dropping_proxy
from tests.support.inkbox_rest import key_headers, new_handle
from tests.support.stack import Stack


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


@pytest.fixture
def admin(account: CreatedAccount) -> dict[str, str]:
    return key_headers(account.api_key)


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    return await create_tenant(stack)


async def identities_of(stack: Stack, account_id: str) -> int:
    async with stack.config_sessions() as session:
        found = await session.scalar(
            select(func.count()).where(AgentIdentity.account_id == account_id)
        )
    return int(found or 0)


async def mappings_of(stack: Stack, account_id: str) -> int:
    async with stack.registry_sessions() as session:
        found = await session.scalar(
            select(func.count()).where(InboundNumber.account_id == account_id)
        )
    return int(found or 0)


async def lose_the_answer(stack: Stack, path: str, body: Any, headers: dict[str, str]) -> None:
    """POST through a proxy that hangs up once the gateway answers (the client sees no answer)."""
    port = urlsplit(stack.gateway_url).port
    assert port is not None
    async with (
        dropping_proxy(port) as proxy,
        httpx.AsyncClient(base_url=proxy.url, timeout=30) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.post(path, json=body, headers=headers)
    assert proxy.dropped == 1


async def test_identity_create_whose_answer_was_lost_is_recovered_by_its_key(
    stack: Stack, admin: dict[str, str], account: CreatedAccount
) -> None:
    key = str(uuid.uuid4())
    body = {"agent_handle": new_handle(), "display_name": "Support"}
    await lose_the_answer(stack, "/api/v1/identities/", body, keyed(admin, key))
    assert await identities_of(stack, account.account_id) == 1  # committed, answer lost

    retry = await stack.http.post("/api/v1/identities/", json=body, headers=keyed(admin, key))
    assert retry.status_code == 201, retry.text
    assert retry.json()["agent_handle"] == body["agent_handle"]
    assert await identities_of(stack, account.account_id) == 1
    again = await stack.http.post("/api/v1/identities/", json=body, headers=keyed(admin, key))
    assert (again.status_code, again.json()) == (201, retry.json())
    listed = await stack.http.get("/api/v1/identities/", headers=admin)
    assert [item["id"] for item in listed.json()] == [retry.json()["id"]]
    # Without a key, the same retry is the 409 the issue describes.
    plain = await stack.http.post("/api/v1/identities/", json=body, headers=admin)
    assert plain.status_code == 409


async def test_assign_whose_answer_was_lost_is_recovered_by_its_key(
    stack: Stack, tenant: Tenant
) -> None:
    key = str(uuid.uuid4())
    body = assign_body(tenant.assistant_id, fresh_number())
    await lose_the_answer(stack, "/inbound/assign", body, keyed(tenant.headers, key))
    assert await mappings_of(stack, tenant.account_id) == 1

    retry = await stack.http.post("/inbound/assign", json=body, headers=keyed(tenant.headers, key))
    assert retry.status_code == 200, retry.text
    assert retry.json()["success"] is True
    assert retry.json()["data"]["phone_number"] == body["inbound_config"]["phone_number"]
    again = await stack.http.post("/inbound/assign", json=body, headers=keyed(tenant.headers, key))
    assert (again.status_code, again.json()) == (200, retry.json())
    assert await mappings_of(stack, tenant.account_id) == 1


async def test_reusing_a_key_for_another_body_is_422_in_each_dialect(
    stack: Stack, admin: dict[str, str], tenant: Tenant
) -> None:
    key = str(uuid.uuid4())
    headers = keyed(admin, key)
    first = await stack.http.post(
        "/api/v1/identities/", json={"agent_handle": new_handle()}, headers=headers
    )
    assert first.status_code == 201
    reused = await stack.http.post(
        "/api/v1/identities/", json={"agent_handle": new_handle()}, headers=headers
    )
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["detail"]

    vyom = keyed(tenant.headers, key)  # another account: the same key is free there
    assigned = await stack.http.post(
        "/inbound/assign", json=assign_body(tenant.assistant_id, fresh_number()), headers=vyom
    )
    assert assigned.status_code == 200, assigned.text
    other = await stack.http.post(
        "/inbound_context_strategy/create", json=strategy_body(), headers=vyom
    )
    assert other.status_code == 422
    assert other.json()["success"] is False
    assert "Idempotency-Key" in other.json()["message"]


async def test_every_keyed_route_replays(stack: Stack, admin: dict[str, str]) -> None:
    identity = await stack.http.post(
        "/api/v1/identities/", json={"agent_handle": new_handle()}, headers=admin
    )
    handle = identity.json()["agent_handle"]
    scoped = {"label": "ci", "scoped_identity_id": identity.json()["id"]}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/v1/api-keys", scoped),
        ("POST", f"/api/v1/identities/{handle}/signing-key", {}),
        ("POST", f"/api/v1/identities/{handle}/signing-key", None),
        ("PATCH", f"/api/v1/identities/{handle}", {"description": "replayed"}),
    ]
    for method, path, body in calls:
        headers = keyed(admin, str(uuid.uuid4()))
        first = await stack.http.request(method, path, json=body, headers=headers)
        again = await stack.http.request(method, path, json=body, headers=headers)
        assert first.status_code in (200, 201), (path, first.text)
        assert (again.status_code, again.json()) == (first.status_code, first.json()), path


async def test_malformed_keys_are_422_and_change_nothing(
    stack: Stack, admin: dict[str, str], account: CreatedAccount, tenant: Tenant
) -> None:
    for bad in ("x" * 256, ""):
        response = await stack.http.post(
            "/api/v1/identities/", json={"agent_handle": new_handle()}, headers=keyed(admin, bad)
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    vyom = await stack.http.post(
        "/inbound/assign",
        json=assign_body(tenant.assistant_id, fresh_number()),
        headers=[
            *((name.encode(), value.encode()) for name, value in tenant.headers.items()),
            (b"Idempotency-Key", "é".encode()),
        ],
    )
    assert vyom.status_code == 422
    assert vyom.json()["success"] is False
    assert await mappings_of(stack, tenant.account_id) == 0
    assert await identities_of(stack, account.account_id) == 0


async def test_openapi_documents_the_header_on_keyed_routes(stack: Stack) -> None:
    document = (await stack.http.get("/openapi.json")).json()
    for path, method in (
        ("/api/v1/identities/", "post"),
        ("/api/v1/identities/{agent_handle}", "patch"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/identities/{agent_handle}/signing-key", "post"),
        ("/api/v1/signing-keys", "post"),
        ("/inbound/assign", "post"),
        ("/inbound_context_strategy/create", "post"),
    ):
        operation = document["paths"][path][method]
        assert "Idempotency-Key" in operation["responses"]["422"]["description"], path
        parameters = operation.get("parameters", [])
        assert {"name": "Idempotency-Key", "in": "header"} in [
            {"name": p["name"], "in": p["in"]} for p in parameters
        ], path
