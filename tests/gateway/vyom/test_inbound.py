"""``/inbound/...`` over HTTP: the seed's shapes and messages, every documented error."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from services.config import provisioning
from services.registry.settings import RegistrySettings
from tests.gateway.vyom.rest import assert_error, assign, assigned_id, create_strategy, listed
from tests.services.registry.factories import (
    Tenant,
    assign_body,
    bearer,
    create_identity,
    create_scoped_key,
    fresh_number,
    random_suffix,
)
from tests.support.processes import eventually
from tests.support.stack import Stack

RFC3339_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
LISTED_KEYS = [
    "inbound_id",
    "phone_number",
    "phone_number_normalized",
    "inbound_config",
    "assistant_id",
    "assistant_name",
    "inbound_context_strategy_id",
    "inbound_context_strategy_name",
    "service",
    "created_at",
    "updated_at",
]


async def test_assign_with_strategy_answers_the_seed_shape(stack: Stack, tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    number = fresh_number()
    response = await assign(stack, tenant, number, inbound_context_strategy_id=strategy_id)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Inbound number assigned successfully"
    data = body["data"]
    assert list(data) == [
        "inbound_id",
        "phone_number",
        "phone_number_normalized",
        "assistant_id",
        "inbound_context_strategy_id",
        "inbound_context_strategy_name",
        "service",
        "inbound_config",
    ]
    uuid.UUID(data["inbound_id"])
    assert data["phone_number"] == number
    assert data["phone_number_normalized"] == number.removeprefix("+")
    assert data["assistant_id"] == tenant.assistant_id
    assert data["inbound_context_strategy_id"] == strategy_id
    assert data["inbound_context_strategy_name"] == "CRM lookup"
    assert data["service"] == "exotel"
    assert data["inbound_config"] == {"type": "exotel", "phone_number": number}


async def test_list_answers_the_seed_shape(stack: Stack, tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    number = fresh_number()
    inbound_id = await assigned_id(stack, tenant, number, inbound_context_strategy_id=strategy_id)

    response = await stack.http.get("/inbound/list", headers=tenant.headers)

    body = response.json()
    assert set(body) == {"success", "message", "data"}
    assert body["message"] == "Inbound numbers retrieved successfully"
    [item] = body["data"]
    assert list(item) == LISTED_KEYS
    assert item["inbound_id"] == inbound_id
    assert item["assistant_name"] == "Support Assistant"
    assert item["inbound_context_strategy_name"] == "CRM lookup"
    assert item["inbound_config"] == {"type": "exotel", "phone_number": number}
    assert RFC3339_Z.fullmatch(item["created_at"])
    assert item["created_at"] == item["updated_at"]


async def test_x_api_key_header_is_accepted_too(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.post(
        "/inbound/assign",
        headers={"X-API-Key": tenant.api_key},
        json=assign_body(tenant.assistant_id, fresh_number()),
    )
    assert response.status_code == 200
    assert response.json()["data"]["inbound_context_strategy_id"] is None
    assert response.json()["data"]["inbound_context_strategy_name"] is None


# {s} is replaced by four random digits so each run uses numbers of its own.
VALID_NUMBERS = [
    ("+91 80 4431 {s}", "91804431{s}"),
    ("+91804431{s}", "91804431{s}"),
    ("91804431{s}", "91804431{s}"),
    ("080-4431-{s}", "91804431{s}"),
    ("080 4431 {s}", "91804431{s}"),
    ("(080) 4431-{s}", "91804431{s}"),
    ("804431{s}", "91804431{s}"),
    ("0091 80 4431 {s}", "91804431{s}"),
    ("(+91) 80 4431 {s}", "91804431{s}"),
    ("+91.80.4431.{s}", "91804431{s}"),
    ("  +91-80-4431-{s}  ", "91804431{s}"),
    ("022 2284 {s}", "91222284{s}"),
    ("+91 98 2011 {s}", "91982011{s}"),
    ("09820 11{s}", "91982011{s}"),
    ("+1 (212) 736-{s}", "1212736{s}"),
    ("+44 20 7946 {s}", "44207946{s}"),
    ("+49 30 9018 {s}", "49309018{s}"),
    ("+61 2 9374 {s}", "6129374{s}"),
    ("+81 3-3224-{s}", "8133224{s}"),
    ("+971 4 312 {s}", "9714312{s}"),
    ("+33 1 42 68 {s}", "3314268{s}"),
    ("+55 11 3456-{s}", "55113456{s}"),
    ("+27 21 418 {s}", "2721418{s}"),
]

INVALID_NUMBERS = [
    "",
    "   ",
    "+",
    "abc",
    "12345",
    "+91 80 4431 924",
    "91804431924000000",
    "+999 123456789",
    "+0 123",
    "++918044319240",
    "1-800-FLOWERS",
    "+91 80 4431 9240 ext 5",
    "080 4431 9240 x12",
    "\u0660\u0668\u0660\u0664\u0664\u0663\u0661\u0669\u0662\u0664\u0660",
    "\uff10\uff18\uff10\uff14\uff14\uff13\uff11\uff19\uff12\uff14\uff10",
    "14155552671",
    "+91 (80) 4431\n9240",
    "9" * 40,
]


@pytest.mark.parametrize(("raw", "expected"), VALID_NUMBERS)
async def test_valid_numbers_are_stored_as_sent_and_normalized(
    stack: Stack, tenant: Tenant, raw: str, expected: str
) -> None:
    suffix = random_suffix()
    raw = raw.replace("{s}", suffix)
    response = await assign(stack, tenant, raw)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["phone_number"] == raw
    assert data["inbound_config"]["phone_number"] == raw
    assert data["phone_number_normalized"] == expected.replace("{s}", suffix)
    deleted = await stack.http.delete(
        f"/inbound/delete/{data['inbound_id']}", headers=tenant.headers
    )
    assert deleted.status_code == 200


@pytest.mark.parametrize("raw", INVALID_NUMBERS)
async def test_invalid_numbers_are_400(stack: Stack, tenant: Tenant, raw: str) -> None:
    assert_error(await assign(stack, tenant, raw), 400, "Invalid inbound phone number")


async def test_equivalent_formats_are_one_number(stack: Stack, tenant: Tenant) -> None:
    suffix = random_suffix()
    await assigned_id(stack, tenant, f"+91 80 4431 {suffix}")
    for variant in (f"91804431{suffix}", f"080-4431-{suffix}", f"0091 80 4431 {suffix}"):
        assert_error(
            await assign(stack, tenant, variant), 409, "Inbound number is already assigned"
        )


async def test_unsupported_service_is_400(stack: Stack, tenant: Tenant) -> None:
    for service in ("twilio", "", "exotel-2"):
        body = assign_body(tenant.assistant_id, fresh_number())
        body["service"] = service
        response = await stack.http.post("/inbound/assign", headers=tenant.headers, json=body)
        assert_error(response, 400)
        assert response.json()["message"].startswith("Unsupported service")


async def test_service_is_matched_case_insensitively_and_stored_lower_case(
    stack: Stack, tenant: Tenant
) -> None:
    """The rule RouteCall applies: a number assigned as "Exotel" is routed as "exotel"."""
    for service, config_type in (("Exotel", None), (" EXOTEL ", "Exotel")):
        number = fresh_number()
        body = assign_body(tenant.assistant_id, number)
        body["service"] = service
        if config_type is not None:
            body["inbound_config"] = {"type": config_type, "phone_number": number}
        response = await stack.http.post("/inbound/assign", headers=tenant.headers, json=body)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["service"] == "exotel"
        assert data["inbound_config"] == {"type": "exotel", "phone_number": number}


async def test_inbound_config_type_is_injected_or_must_match(stack: Stack, tenant: Tenant) -> None:
    number = fresh_number()
    body = assign_body(tenant.assistant_id, number)
    body["inbound_config"] = {"type": "exotel", "phone_number": number}
    response = await stack.http.post("/inbound/assign", headers=tenant.headers, json=body)
    assert response.json()["data"]["inbound_config"] == {"type": "exotel", "phone_number": number}

    body = assign_body(tenant.assistant_id, fresh_number())
    body["inbound_config"] = {"type": "twilio", "phone_number": fresh_number()}
    response = await stack.http.post("/inbound/assign", headers=tenant.headers, json=body)
    assert_error(response, 400)
    assert response.json()["data"]["errors"][0]["field"] == "inbound_config.type"


async def test_unknown_or_foreign_assistant_is_404(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    for assistant_id in (str(uuid.uuid4()), "not-a-uuid", other_tenant.assistant_id):
        response = await stack.http.post(
            "/inbound/assign",
            headers=tenant.headers,
            json=assign_body(assistant_id, fresh_number()),
        )
        assert_error(response, 404, "Assistant not found")


async def test_unknown_or_foreign_strategy_is_404(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = await create_strategy(stack, other_tenant)
    for strategy_id in (str(uuid.uuid4()), "nope", foreign):
        response = await assign(
            stack, tenant, fresh_number(), inbound_context_strategy_id=strategy_id
        )
        assert_error(response, 404, "Inbound context strategy not found")


async def test_duplicate_is_409_across_accounts(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    number = fresh_number()
    await assigned_id(stack, tenant, number)
    assert_error(await assign(stack, tenant, number), 409, "Inbound number is already assigned")
    assert_error(
        await assign(stack, other_tenant, number), 409, "Inbound number is already assigned"
    )


async def test_update_changes_only_the_fields_sent(stack: Stack, tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    second_assistant = await create_identity(stack, tenant.account_id, "Sales Assistant")
    inbound_id = await assigned_id(
        stack, tenant, fresh_number(), inbound_context_strategy_id=strategy_id
    )

    async def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = await stack.http.patch(
            f"/inbound/update/{inbound_id}", headers=tenant.headers, json=body
        )
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "Inbound number mapping updated successfully"
        data: dict[str, Any] = response.json()["data"]
        assert list(data) == ["inbound_id", "assistant_id", "inbound_context_strategy_id"]
        return data

    data = await patch({"assistant_id": second_assistant})
    assert data == {
        "inbound_id": inbound_id,
        "assistant_id": second_assistant,
        "inbound_context_strategy_id": strategy_id,
    }
    data = await patch({"inbound_context_strategy_id": None})
    assert data["assistant_id"] == second_assistant
    assert data["inbound_context_strategy_id"] is None
    data = await patch({"inbound_context_strategy_id": strategy_id})
    assert data["inbound_context_strategy_id"] == strategy_id
    data = await patch({"assistant_id": None})
    assert data["assistant_id"] is None
    assert data["inbound_context_strategy_id"] == strategy_id
    data = await patch({"assistant_id": tenant.assistant_id, "inbound_context_strategy_id": None})
    assert data["assistant_id"] == tenant.assistant_id
    assert data["inbound_context_strategy_id"] is None
    [item] = await listed(stack, tenant)
    assert item["assistant_name"] == "Support Assistant"
    assert datetime.fromisoformat(item["updated_at"]) > datetime.fromisoformat(item["created_at"])


async def test_update_errors(stack: Stack, tenant: Tenant, other_tenant: Tenant) -> None:
    inbound_id = await assigned_id(stack, tenant, fresh_number())
    url = f"/inbound/update/{inbound_id}"
    foreign_strategy = await create_strategy(stack, other_tenant)

    empty = await stack.http.patch(url, headers=tenant.headers, json={})
    assert_error(
        empty, 400, "At least one of assistant_id or inbound_context_strategy_id is required"
    )
    assert_error(
        await stack.http.patch(
            url, headers=tenant.headers, json={"assistant_id": other_tenant.assistant_id}
        ),
        404,
        "Assistant not found",
    )
    assert_error(
        await stack.http.patch(
            url, headers=tenant.headers, json={"inbound_context_strategy_id": foreign_strategy}
        ),
        404,
        "Inbound context strategy not found",
    )
    for unknown in (str(uuid.uuid4()), "garbage"):
        assert_error(
            await stack.http.patch(
                f"/inbound/update/{unknown}", headers=tenant.headers, json={"assistant_id": None}
            ),
            404,
            "Inbound number mapping not found",
        )


async def test_detach_delete_and_reuse(stack: Stack, tenant: Tenant, other_tenant: Tenant) -> None:
    strategy_id = await create_strategy(stack, tenant)
    number = fresh_number()
    inbound_id = await assigned_id(stack, tenant, number, inbound_context_strategy_id=strategy_id)

    detached = await stack.http.post(f"/inbound/detach/{inbound_id}", headers=tenant.headers)
    assert detached.status_code == 200
    assert detached.json() == {
        "success": True,
        "message": "Inbound number detached successfully",
        "data": {
            "inbound_id": inbound_id,
            "assistant_id": None,
            "inbound_context_strategy_id": None,
        },
    }
    [item] = await listed(stack, tenant)
    assert item["assistant_id"] is None
    assert item["assistant_name"] is None
    assert item["inbound_context_strategy_name"] is None
    assert_error(await assign(stack, other_tenant, number), 409)  # detach keeps the number held

    deleted = await stack.http.delete(f"/inbound/delete/{inbound_id}", headers=tenant.headers)
    assert deleted.json() == {
        "success": True,
        "message": "Inbound number deleted successfully",
        "data": {"inbound_id": inbound_id},
    }
    assert await listed(stack, tenant) == []
    for method, path in (
        ("DELETE", f"/inbound/delete/{inbound_id}"),
        ("POST", f"/inbound/detach/{inbound_id}"),
    ):
        response = await stack.http.request(method, path, headers=tenant.headers)
        assert_error(response, 404, "Inbound number mapping not found")
    response = await stack.http.patch(
        f"/inbound/update/{inbound_id}", headers=tenant.headers, json={"assistant_id": None}
    )
    assert_error(response, 404, "Inbound number mapping not found")

    reused = await assigned_id(stack, other_tenant, number)  # freed at once, for anyone
    assert reused != inbound_id
    [item] = await listed(stack, other_tenant)
    assert item["inbound_id"] == reused


async def test_other_accounts_cannot_touch_a_mapping(
    stack: Stack, tenant: Tenant, other_tenant: Tenant
) -> None:
    inbound_id = await assigned_id(stack, tenant, fresh_number())
    attempts = [
        ("PATCH", f"/inbound/update/{inbound_id}", {"inbound_context_strategy_id": None}),
        ("PATCH", f"/inbound/update/{inbound_id}", {"assistant_id": other_tenant.assistant_id}),
        ("POST", f"/inbound/detach/{inbound_id}", None),
        ("DELETE", f"/inbound/delete/{inbound_id}", None),
    ]
    for method, path, body in attempts:
        response = await stack.http.request(method, path, headers=other_tenant.headers, json=body)
        assert_error(response, 404, "Inbound number mapping not found")
    assert await listed(stack, other_tenant) == []
    assert await listed(stack, other_tenant, f"?assistant_id={tenant.assistant_id}") == []
    [item] = await listed(stack, tenant)
    assert item["assistant_id"] == tenant.assistant_id


async def test_identity_scoped_keys_manage_only_their_identity(
    stack: Stack, tenant: Tenant
) -> None:
    other_assistant = await create_identity(stack, tenant.account_id, "Other")
    scoped = bearer(await create_scoped_key(stack, tenant.account_id, tenant.assistant_id))
    theirs = await stack.http.post(
        "/inbound/assign", headers=tenant.headers, json=assign_body(other_assistant, fresh_number())
    )
    theirs_id = theirs.json()["data"]["inbound_id"]

    mine = await stack.http.post(
        "/inbound/assign", headers=scoped, json=assign_body(tenant.assistant_id, fresh_number())
    )
    assert mine.status_code == 200
    mine_id = mine.json()["data"]["inbound_id"]
    refused = await stack.http.post(
        "/inbound/assign", headers=scoped, json=assign_body(other_assistant, fresh_number())
    )
    assert_error(refused, 404, "Assistant not found")

    listing = await stack.http.get("/inbound/list", headers=scoped)
    assert [item["inbound_id"] for item in listing.json()["data"]] == [mine_id]
    filtered = await stack.http.get(f"/inbound/list?assistant_id={other_assistant}", headers=scoped)
    assert filtered.json()["data"] == []
    for method, path, body in (
        ("PATCH", f"/inbound/update/{theirs_id}", {"assistant_id": tenant.assistant_id}),
        ("POST", f"/inbound/detach/{theirs_id}", None),
        ("DELETE", f"/inbound/delete/{theirs_id}", None),
    ):
        response = await stack.http.request(method, path, headers=scoped, json=body)
        assert_error(response, 404, "Inbound number mapping not found")
    moved = await stack.http.patch(
        f"/inbound/update/{mine_id}", headers=scoped, json={"assistant_id": other_assistant}
    )
    assert_error(moved, 404, "Assistant not found")
    admin_view = await listed(stack, tenant)
    assert {item["inbound_id"] for item in admin_view} == {mine_id, theirs_id}


async def test_list_is_newest_first_and_pages_on_request(stack: Stack, tenant: Tenant) -> None:
    second_assistant = await create_identity(stack, tenant.account_id, "Second")
    ids = [await assigned_id(stack, tenant, fresh_number()) for _ in range(5)]
    response = await stack.http.post(
        "/inbound/assign",
        headers=tenant.headers,
        json=assign_body(second_assistant, fresh_number()),
    )
    ids.append(response.json()["data"]["inbound_id"])
    newest_first = ids[::-1]

    everything = await stack.http.get("/inbound/list", headers=tenant.headers)
    assert "next_page_token" not in everything.json()
    assert [item["inbound_id"] for item in everything.json()["data"]] == newest_first

    collected: list[str] = []
    token = ""
    while True:
        page = await stack.http.get(
            "/inbound/list", headers=tenant.headers, params={"page_size": 4, "page_token": token}
        )
        body = page.json()
        assert set(body) == {"success", "message", "data", "next_page_token"}
        collected += [item["inbound_id"] for item in body["data"]]
        token = body["next_page_token"]
        if not token:
            break
    assert collected == newest_first

    only_second = await listed(stack, tenant, f"?assistant_id={second_assistant}")
    assert [item["inbound_id"] for item in only_second] == [ids[-1]]
    assert only_second[0]["assistant_name"] == "Second"


async def test_list_rejects_bad_paging_input(stack: Stack, tenant: Tenant) -> None:
    await assigned_id(stack, tenant, fresh_number())
    await assigned_id(stack, tenant, fresh_number())
    first = await stack.http.get("/inbound/list?page_size=1", headers=tenant.headers)
    token = first.json()["next_page_token"]
    assert token

    for query in ("?page_size=1&page_token=garbage", f"?page_size=1&page_token={token[:-3]}"):
        response = await stack.http.get(f"/inbound/list{query}", headers=tenant.headers)
        assert_error(response, 400)
    reused = await stack.http.get(
        f"/inbound/list?page_size=1&page_token={token}&assistant_id={tenant.assistant_id}",
        headers=tenant.headers,
    )
    assert_error(reused, 400)
    assert_error(
        await stack.http.get("/inbound/list?assistant_id=nope", headers=tenant.headers), 400
    )
    for query in ("?page_size=0", "?page_size=-1", "?page_size=many"):
        response = await stack.http.get(f"/inbound/list{query}", headers=tenant.headers)
        assert_error(response, 422)


async def test_missing_or_invalid_key_is_401_on_every_route(stack: Stack) -> None:
    some_id = str(uuid.uuid4())
    routes = [
        ("POST", "/inbound/assign", assign_body(some_id, fresh_number())),
        ("PATCH", f"/inbound/update/{some_id}", {"assistant_id": None}),
        ("POST", f"/inbound/detach/{some_id}", None),
        ("DELETE", f"/inbound/delete/{some_id}", None),
        ("GET", "/inbound/list", None),
    ]
    credentials: list[dict[str, str]] = [
        {},
        bearer("sb_not-a-real-key"),
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": ""},
    ]
    for method, path, body in routes:
        for headers in credentials:
            response = await stack.http.request(method, path, headers=headers, json=body)
            assert_error(response, 401)


async def test_malformed_payloads_are_422_with_field_errors(stack: Stack, tenant: Tenant) -> None:
    response = await stack.http.post(
        "/inbound/assign",
        headers=tenant.headers,
        json={"service": "exotel", "inbound_config": {"phone_number": 918044319240}},
    )
    assert_error(response, 422)
    fields = {error["field"] for error in response.json()["data"]["errors"]}
    assert fields == {"assistant_id", "inbound_config.phone_number"}


REQUEST_ALLOWANCE_SECONDS = 2.0
"""The time one polling request may take on a loaded machine."""


async def test_revoked_key_is_refused_within_the_auth_cache_ttl(
    stack: Stack, tenant: Tenant
) -> None:
    """End to end over REST. Revoked outside the config process (the operator CLI), so no
    change is pushed and the registry's auth cache bound is what ends the key: refused by
    the TTL plus one request. The cache's exact bound is proven on a fake clock in
    tests/services/config/test_revocation.py."""
    assert (await stack.http.get("/inbound/list", headers=tenant.headers)).status_code == 200
    await provisioning.revoke_key(stack.config_sessions, tenant.api_key_id)
    revoked_at = time.monotonic()

    async def refused() -> bool:
        response = await stack.http.get("/inbound/list", headers=tenant.headers)
        return response.status_code == 401

    ttl = RegistrySettings.model_fields["auth_cache_ttl_seconds"].default
    assert await eventually(refused, timeout=ttl + 10, interval=0.05)
    assert time.monotonic() - revoked_at < ttl + REQUEST_ALLOWANCE_SECONDS
