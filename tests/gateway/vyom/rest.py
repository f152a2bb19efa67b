"""REST helpers of the Vyom route tests: assigning, listing, and checking error envelopes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.services.registry.factories import Tenant, assign_body, strategy_body
from tests.support.stack import Stack


async def assign(stack: Stack, tenant: Tenant, number: str, **extra: Any) -> httpx.Response:
    return await stack.http.post(
        "/inbound/assign",
        headers=tenant.headers,
        json=assign_body(tenant.assistant_id, number, **extra),
    )


async def assigned_id(stack: Stack, tenant: Tenant, number: str, **extra: Any) -> str:
    response = await assign(stack, tenant, number, **extra)
    assert response.status_code == 200, response.text
    inbound_id: str = response.json()["data"]["inbound_id"]
    return inbound_id


async def listed(stack: Stack, tenant: Tenant, query: str = "") -> list[dict[str, Any]]:
    response = await stack.http.get(f"/inbound/list{query}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


def assert_error(response: httpx.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert set(body) == {"success", "message", "data"}
    if message is not None:
        assert body["message"] == message


async def create_strategy(stack: Stack, tenant: Tenant, name: str = "CRM lookup") -> str:
    body = strategy_body()
    body["strategy_name"] = name
    response = await stack.http.post(
        "/inbound_context_strategy/create", headers=tenant.headers, json=body
    )
    assert response.status_code == 200, response.text
    strategy_id: str = response.json()["data"]["strategy_id"]
    return strategy_id
