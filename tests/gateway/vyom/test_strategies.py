"""``/inbound_context_strategy/...`` over HTTP: shapes, merge rules, masking, errors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.gateway.vyom.rest import assert_error, assigned_id, create_strategy, listed
from tests.services.registry.factories import (
    Tenant,
    bearer,
    create_scoped_key,
    fresh_number,
    strategy_body,
)
from tests.support.stack import Stack

SECRET_HEADERS = {
    "Authorization": "Bearer crm-secret",
    "X-API-Key": "k-123",
    "X-Auth-Token": "t-456",
    "Cookie": "session=abc",
    "X-Signature": "sig",
    "X-Client-Secret": "shh",
    "X-Pass": "p",
    "X-Access": "a",
    "X-Session": "s",
    "X-Private-Key": "k",
}
PLAIN_HEADERS = {"X-Tenant": "acme", "Accept-Language": "en"}


async def create(stack: Stack, tenant: Tenant, body: dict[str, Any]) -> httpx.Response:
    return await stack.http.post(
        "/inbound_context_strategy/create", headers=tenant.headers, json=body
    )


async def details(stack: Stack, tenant: Tenant, strategy_id: str) -> dict[str, Any]:
    response = await stack.http.get(
        f"/inbound_context_strategy/details/{strategy_id}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Inbound context strategy retrieved successfully"
    data: dict[str, Any] = response.json()["data"]
    return data


async def update(
    stack: Stack, tenant: Tenant, strategy_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await stack.http.patch(
        f"/inbound_context_strategy/update/{strategy_id}", headers=tenant.headers, json=body
    )


async def test_create_answers_id_name_and_type(stack: Stack, tenant: Tenant) -> None:
    response = await create(stack, tenant, strategy_body())
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Inbound context strategy created successfully"
    assert list(body["data"]) == ["strategy_id", "strategy_name", "strategy_type"]
    uuid.UUID(body["data"]["strategy_id"])
    assert body["data"]["strategy_name"] == "CRM lookup"
    assert body["data"]["strategy_type"] == "webhook"


async def test_details_and_list_mask_secret_header_values(stack: Stack, tenant: Tenant) -> None:
    headers = {**SECRET_HEADERS, **PLAIN_HEADERS}
    response = await create(stack, tenant, strategy_body(headers=headers, timeout_seconds=3.5))
    strategy_id = response.json()["data"]["strategy_id"]

    data = await details(stack, tenant, strategy_id)
    assert list(data) == [
        "strategy_id",
        "strategy_name",
        "strategy_type",
        "strategy_config",
        "strategy_created_by_email",
        "strategy_updated_by_email",
        "strategy_created_at",
        "strategy_updated_at",
        "strategy_is_active",
    ]
    assert data["strategy_config"] == {
        "type": "webhook",
        "url": "https://crm.example.com/lookup",
        "headers": {**dict.fromkeys(SECRET_HEADERS, "****"), **PLAIN_HEADERS},
        "timeout_seconds": 3.5,
    }
    assert data["strategy_is_active"] is True
    assert data["strategy_created_by_email"] is None
    assert data["strategy_created_at"].endswith("Z")
    listing = await stack.http.get("/inbound_context_strategy/list", headers=tenant.headers)
    assert listing.json()["message"] == "Inbound context strategies retrieved successfully"
    # Vyom's documented list item: the details keys without the audit fields.
    assert listing.json()["data"] == [
        {
            key: data[key]
            for key in (
                "strategy_id",
                "strategy_name",
                "strategy_type",
                "strategy_config",
                "strategy_created_at",
                "strategy_updated_at",
            )
        }
    ]


async def test_secret_query_parameters_of_the_url_are_masked(stack: Stack, tenant: Tenant) -> None:
    body = strategy_body()
    body["strategy_config"]["url"] = "https://crm.example.com/lookup?api_key=k-1&tenant=acme"
    response = await create(stack, tenant, body)
    strategy_id = response.json()["data"]["strategy_id"]
    data = await details(stack, tenant, strategy_id)
    assert (
        data["strategy_config"]["url"] == "https://crm.example.com/lookup?api_key=****&tenant=acme"
    )
    # Echoing the masked URL back is refused, so a GET-edit-PATCH cannot store the mask.
    echoed = await update(
        stack,
        tenant,
        strategy_id,
        {"strategy_type": "webhook", "strategy_config": {"url": data["strategy_config"]["url"]}},
    )
    assert_error(echoed, 400)


async def test_header_names_merge_case_insensitively(stack: Stack, tenant: Tenant) -> None:
    response = await create(
        stack, tenant, strategy_body(headers={"Authorization": "Bearer a", "X-Tenant": "acme"})
    )
    strategy_id = response.json()["data"]["strategy_id"]
    patch = {"strategy_type": "webhook", "strategy_config": {"headers": {"authorization": "b"}}}
    assert (await update(stack, tenant, strategy_id, patch)).status_code == 200
    headers = (await details(stack, tenant, strategy_id))["strategy_config"]["headers"]
    assert headers == {"X-Tenant": "acme", "authorization": "****"}
    patch = {"strategy_type": "webhook", "strategy_config": {"headers": {"x-TENANT": None}}}
    assert (await update(stack, tenant, strategy_id, patch)).status_code == 200
    headers = (await details(stack, tenant, strategy_id))["strategy_config"]["headers"]
    assert headers == {"authorization": "****"}
    # Two spellings of one header in a single request are refused, on create and update.
    both = {"Authorization": "a", "authorization": "b"}
    assert_error(await create(stack, tenant, strategy_body(headers=both)), 400)
    patch = {"strategy_type": "webhook", "strategy_config": {"headers": both}}
    assert_error(await update(stack, tenant, strategy_id, patch), 400)


async def test_timeout_defaults_to_ten_seconds_and_is_bounded(stack: Stack, tenant: Tenant) -> None:
    response = await create(stack, tenant, strategy_body())
    data = await details(stack, tenant, response.json()["data"]["strategy_id"])
    assert data["strategy_config"]["timeout_seconds"] == 10.0
    assert data["strategy_config"]["headers"] == {}
    for accepted in (0.5, 10, 10.0):
        assert (
            await create(stack, tenant, strategy_body(timeout_seconds=accepted))
        ).status_code == 200
    for refused in (0, 0.49, 10.01, -1, 1e300):
        assert_error(await create(stack, tenant, strategy_body(timeout_seconds=refused)), 400)


async def test_create_errors(stack: Stack, tenant: Tenant) -> None:
    bad_bodies: list[dict[str, Any]] = [
        {**strategy_body(), "strategy_type": "graphql"},
        {**strategy_body(), "strategy_name": "   "},
        {**strategy_body(), "strategy_name": "x" * 201},
        strategy_body(headers={"Authorization": "****"}),
        strategy_body(headers={"Bad Header": "x"}),
        strategy_body(headers={"X-Ok": "line\nbreak"}),
        {**strategy_body(), "strategy_config": {"url": "ftp://crm.example.com/x"}},
        {**strategy_body(), "strategy_config": {"url": "file:///etc/passwd"}},
        {**strategy_body(), "strategy_config": {"url": "https://user:pw@crm.example.com/"}},
        {**strategy_body(), "strategy_config": {"url": "http://2130706433/"}},
        {**strategy_body(), "strategy_config": {"url": "not a url"}},
    ]
    for body in bad_bodies:
        assert_error(await create(stack, tenant, body), 400)
    masked = await create(stack, tenant, strategy_body(headers={"X-Token": "****"}))
    message = (
        "'X-Token' is masked (as returned by GET /tool/details). "
        "Send the real value, or omit the field to keep the stored one."
    )
    assert masked.json()["message"] == message
    assert masked.json()["data"]["errors"] == [
        {"field": "strategy_config.headers.X-Token", "message": message}
    ]
    for body in ({}, {"strategy_name": "x"}, {**strategy_body(), "strategy_config": {}}):
        assert_error(await create(stack, tenant, body), 422)


async def test_update_merges_config(stack: Stack, tenant: Tenant) -> None:
    response = await create(
        stack,
        tenant,
        strategy_body(headers={"Authorization": "Bearer a", "X-Keep": "1", "X-Drop": "2"}),
    )
    strategy_id = response.json()["data"]["strategy_id"]
    before = await details(stack, tenant, strategy_id)

    response = await update(
        stack,
        tenant,
        strategy_id,
        {
            "strategy_type": "webhook",
            "strategy_config": {
                "timeout_seconds": 5,
                "headers": {"X-Drop": None, "X-New": "3", "Authorization": "Bearer b"},
            },
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "message": "Inbound context strategy updated successfully",
        "data": {"strategy_id": strategy_id},
    }
    data = await details(stack, tenant, strategy_id)
    assert data["strategy_name"] == "CRM lookup"
    assert data["strategy_config"] == {
        "type": "webhook",
        "url": "https://crm.example.com/lookup",
        "headers": {"Authorization": "****", "X-Keep": "1", "X-New": "3"},
        "timeout_seconds": 5.0,
    }
    assert datetime.fromisoformat(data["strategy_updated_at"]) > datetime.fromisoformat(
        before["strategy_updated_at"]
    )

    response = await update(
        stack,
        tenant,
        strategy_id,
        {"strategy_type": "webhook", "strategy_config": {"url": "https://other.example.org/x"}},
    )
    assert response.status_code == 200, response.text
    config = (await details(stack, tenant, strategy_id))["strategy_config"]
    assert config["url"] == "https://other.example.org/x"
    assert config["timeout_seconds"] == 5.0
    assert set(config["headers"]) == {"Authorization", "X-Keep", "X-New"}

    response = await update(stack, tenant, strategy_id, {"strategy_name": "Renamed"})
    assert response.status_code == 200, response.text
    renamed = await details(stack, tenant, strategy_id)
    assert renamed["strategy_name"] == "Renamed"
    assert renamed["strategy_config"] == config


async def test_update_errors(stack: Stack, tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    config = {"url": "https://crm.example.com/v2"}
    refused: list[dict[str, Any]] = [
        {},
        {"strategy_type": "webhook"},
        {"strategy_config": config},
        {"strategy_name": None},
        {"strategy_type": None, "strategy_config": config},
        {"strategy_type": "webhook", "strategy_config": None},
        {"strategy_name": ""},
        {"strategy_type": "graphql", "strategy_config": config},
        {"strategy_type": "webhook", "strategy_config": {"url": None}},
        {"strategy_type": "webhook", "strategy_config": {"timeout_seconds": None}},
        {"strategy_type": "webhook", "strategy_config": {"headers": None}},
        {"strategy_type": "webhook", "strategy_config": {"headers": {"X-Token": "****"}}},
        {"strategy_type": "webhook", "strategy_config": {"timeout_seconds": 11}},
        {"strategy_type": "webhook", "strategy_config": {"url": "gopher://crm.example.com"}},
    ]
    for body in refused:
        assert_error(await update(stack, tenant, strategy_id, body), 400)
    documented: dict[str, dict[str, Any]] = {
        "No fields provided for update": {},
        "Provide both `strategy_type` and `strategy_config` together, or neither.": {
            "strategy_type": "webhook"
        },
        "`strategy_config` cannot be null; omit it to leave it unchanged.": {
            "strategy_type": "webhook",
            "strategy_config": None,
        },
        "`strategy_name` cannot be null; omit it to leave it unchanged.": {"strategy_name": None},
    }
    for message, body in documented.items():
        assert_error(await update(stack, tenant, strategy_id, body), 400, message)
    assert_error(
        await update(stack, tenant, strategy_id, {"strategy_config": {"headers": {"X": 1}}}), 422
    )
    unchanged = await details(stack, tenant, strategy_id)
    assert unchanged["strategy_config"]["url"] == "https://crm.example.com/lookup"
    for unknown in (str(uuid.uuid4()), "nope"):
        response = await update(stack, tenant, unknown, {"strategy_name": "x"})
        assert_error(response, 404, "Inbound context strategy not found")


async def test_delete_detaches_mappings_which_keep_routing(stack: Stack, tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    inbound_id = await assigned_id(
        stack, tenant, fresh_number(), inbound_context_strategy_id=strategy_id
    )
    [before] = await listed(stack, tenant)

    response = await stack.http.delete(
        f"/inbound_context_strategy/delete/{strategy_id}", headers=tenant.headers
    )
    assert response.json() == {
        "success": True,
        "message": "Inbound context strategy deleted successfully",
        "data": {"strategy_id": strategy_id},
    }
    [after] = await listed(stack, tenant)
    assert after["inbound_id"] == inbound_id
    assert after["assistant_id"] == tenant.assistant_id
    assert after["inbound_context_strategy_id"] is None
    assert after["inbound_context_strategy_name"] is None
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(
        before["updated_at"]
    )
    for method, path in (
        ("GET", f"/inbound_context_strategy/details/{strategy_id}"),
        ("DELETE", f"/inbound_context_strategy/delete/{strategy_id}"),
    ):
        response = await stack.http.request(method, path, headers=tenant.headers)
        assert_error(response, 404, "Inbound context strategy not found")


async def test_other_accounts_cannot_see_or_use_a_strategy(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    strategy_id = await create_strategy(stack, tenant)
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/inbound_context_strategy/details/{strategy_id}", None),
        ("PATCH", f"/inbound_context_strategy/update/{strategy_id}", {"strategy_name": "x"}),
        ("DELETE", f"/inbound_context_strategy/delete/{strategy_id}", None),
    ]
    for method, path, body in attempts:
        response = await stack.http.request(method, path, headers=other_tenant.headers, json=body)
        assert_error(response, 404, "Inbound context strategy not found")
    listing = await stack.http.get("/inbound_context_strategy/list", headers=other_tenant.headers)
    assert listing.json()["data"] == []
    assert (await details(stack, tenant, strategy_id))["strategy_name"] == "CRM lookup"


async def test_identity_scoped_keys_neither_read_nor_change_strategies(
    stack: Stack, tenant: Tenant
) -> None:
    strategy_id = await create_strategy(stack, tenant)
    # Even a strategy attached to the key's own identity's number stays admin-only.
    await assigned_id(stack, tenant, fresh_number(), inbound_context_strategy_id=strategy_id)
    scoped = bearer(await create_scoped_key(stack, tenant.account_id, tenant.assistant_id))
    for method, path, body in (
        ("GET", f"/inbound_context_strategy/details/{strategy_id}", None),
        ("GET", "/inbound_context_strategy/list", None),
        ("POST", "/inbound_context_strategy/create", strategy_body()),
        ("PATCH", f"/inbound_context_strategy/update/{strategy_id}", {"strategy_name": "x"}),
        ("DELETE", f"/inbound_context_strategy/delete/{strategy_id}", None),
    ):
        response = await stack.http.request(method, path, headers=scoped, json=body)
        assert_error(response, 403)


async def test_list_pages_on_request(stack: Stack, tenant: Tenant) -> None:
    ids = [await create_strategy(stack, tenant, f"S{i}") for i in range(3)]
    first = await stack.http.get(
        "/inbound_context_strategy/list?page_size=2", headers=tenant.headers
    )
    token = first.json()["next_page_token"]
    second = await stack.http.get(
        f"/inbound_context_strategy/list?page_size=2&page_token={token}", headers=tenant.headers
    )
    assert second.json()["next_page_token"] == ""
    pages = first.json()["data"] + second.json()["data"]
    assert [item["strategy_id"] for item in pages] == ids[::-1]


async def test_a_page_token_of_another_list_is_400(stack: Stack, tenant: Tenant) -> None:
    for index in range(2):
        await create_strategy(stack, tenant, f"S{index}")
        await assigned_id(stack, tenant, fresh_number())
    numbers = await stack.http.get("/inbound/list?page_size=1", headers=tenant.headers)
    token = numbers.json()["next_page_token"]
    assert token
    refused = await stack.http.get(
        f"/inbound_context_strategy/list?page_size=1&page_token={token}", headers=tenant.headers
    )
    assert_error(refused, 400)
    resumed = await stack.http.get(
        f"/inbound/list?page_size=1&page_token={token}", headers=tenant.headers
    )
    assert resumed.status_code == 200 and len(resumed.json()["data"]) == 1


async def test_missing_or_invalid_key_is_401_on_every_route(stack: Stack) -> None:
    some_id = str(uuid.uuid4())
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/inbound_context_strategy/create", strategy_body()),
        ("PATCH", f"/inbound_context_strategy/update/{some_id}", {"strategy_name": "x"}),
        ("GET", "/inbound_context_strategy/list", None),
        ("GET", f"/inbound_context_strategy/details/{some_id}", None),
        ("DELETE", f"/inbound_context_strategy/delete/{some_id}", None),
    ]
    for method, path, body in routes:
        for headers in ({}, bearer("sb_unknown")):
            response = await stack.http.request(method, path, headers=headers, json=body)
            assert_error(response, 401)
