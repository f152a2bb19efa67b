"""``/api/v1/identities`` over HTTP: handles, ownership, scoped keys, deletion."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from services.config.models import ApiKey, IncomingCallAction
from tests.support.inkbox_rest import (
    Headers,
    create_identity,
    create_scoped_key,
    key_headers,
    new_handle,
)
from tests.support.stack import Stack

FIELDS = {
    "id",
    "organization_id",
    "agent_handle",
    "display_name",
    "description",
    "created_at",
    "updated_at",
    "signing_key_configured",
    "signing_key_created_at",
    "max_concurrent_calls",
    "overflow_chain",
    "phone_number",
}
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.mark.parametrize("path", ["/api/v1/identities/", "/api/v1/identities"])
async def test_create_returns_201_with_exact_fields(
    stack: Stack, admin: Headers, account: Any, path: str
) -> None:
    handle = new_handle()
    response = await stack.http.post(
        path, json={"agent_handle": f"@{handle.upper()}"}, headers=admin
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert body["agent_handle"] == handle
    assert body["display_name"] == handle
    assert body["description"] is None
    assert body["phone_number"] is None
    assert body["organization_id"] == account.account_id
    assert RFC3339_UTC.fullmatch(body["created_at"])
    assert RFC3339_UTC.fullmatch(body["updated_at"])


async def test_create_keeps_display_name_and_description(stack: Stack, admin: Headers) -> None:
    body = await create_identity(stack.http, admin, display_name="Support bot", description="d")
    assert (body["display_name"], body["description"]) == ("Support bot", "d")


@pytest.mark.parametrize(
    "handle", ["", "@", "a", "-abc", "has space", "ümlaut", "x" * 64, "a/b", "@@abc"]
)
async def test_malformed_handle_is_422(stack: Stack, admin: Headers, handle: str) -> None:
    response = await stack.http.post(
        "/api/v1/identities/", json={"agent_handle": handle}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"{",
        b'{"agent_handle": 5}',
        b"{}",
        b'{"agent_handle": "ok-handle", "display_name": []}',
    ],
)
async def test_malformed_create_body_is_422(stack: Stack, admin: Headers, raw: bytes) -> None:
    response = await stack.http.post(
        "/api/v1/identities/", content=raw, headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_handle_is_unique_across_organizations(
    stack: Stack, admin: Headers, other_admin: Headers
) -> None:
    taken = await create_identity(stack.http, admin)
    for headers in (admin, other_admin):
        response = await stack.http.post(
            "/api/v1/identities/",
            json={"agent_handle": "@" + taken["agent_handle"]},
            headers=headers,
        )
        assert (response.status_code, response.json()) == (
            409,
            {"detail": "agent_handle already taken"},
        )


async def test_concurrent_creates_of_one_handle_yield_one_winner(
    stack: Stack, admin: Headers
) -> None:
    handle = new_handle()
    responses = await asyncio.gather(
        *(
            stack.http.post("/api/v1/identities/", json={"agent_handle": handle}, headers=admin)
            for _ in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19


async def test_list_get_patch_delete(stack: Stack, admin: Headers) -> None:
    first = await create_identity(stack.http, admin)
    second = await create_identity(stack.http, admin)
    for path in ("/api/v1/identities/", "/api/v1/identities"):
        listed = await stack.http.get(path, headers=admin)
        assert listed.status_code == 200
        assert [i["id"] for i in listed.json()] == [second["id"], first["id"]]

    fetched = await stack.http.get(f"/api/v1/identities/@{first['agent_handle']}", headers=admin)
    assert fetched.json() == first

    new = new_handle()
    patched = await stack.http.patch(
        f"/api/v1/identities/{first['agent_handle']}",
        json={"agent_handle": new, "description": "now described"},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["agent_handle"], patched.json()["description"]) == (new, "now described")
    assert patched.json()["display_name"] == first["display_name"]

    renamed = await stack.http.patch(
        f"/api/v1/identities/{new}", json={"display_name": None, "description": None}, headers=admin
    )
    assert (renamed.json()["display_name"], renamed.json()["description"]) == (None, None)
    kept = await stack.http.get(f"/api/v1/identities/{new}", headers=admin)
    assert kept.json()["display_name"] is None
    unchanged = await stack.http.patch(f"/api/v1/identities/{new}", json={}, headers=admin)
    assert unchanged.json()["agent_handle"] == new

    clash = await stack.http.patch(
        f"/api/v1/identities/{new}", json={"agent_handle": second["agent_handle"]}, headers=admin
    )
    assert (clash.status_code, clash.json()) == (409, {"detail": "agent_handle already taken"})
    null_handle = await stack.http.patch(
        f"/api/v1/identities/{new}", json={"agent_handle": None}, headers=admin
    )
    assert null_handle.status_code == 422

    deleted = await stack.http.delete(f"/api/v1/identities/{new}", headers=admin)
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await stack.http.get(f"/api/v1/identities/{new}", headers=admin)
    assert (gone.status_code, gone.json()) == (404, {"detail": "Agent identity not found"})
    again = await stack.http.delete(f"/api/v1/identities/{new}", headers=admin)
    assert again.status_code == 404


async def test_delete_removes_call_config_and_scoped_keys(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    secret = await create_scoped_key(stack.http, admin, identity["id"])
    put = await stack.http.put(
        "/api/v1/phone/incoming-call-action",
        json={"agent_identity_id": identity["id"], "incoming_call_action": "auto_reject"},
        headers=admin,
    )
    assert put.status_code == 200
    deleted = await stack.http.delete(
        f"/api/v1/identities/{identity['agent_handle']}", headers=admin
    )
    assert deleted.status_code == 204
    async with stack.config_sessions() as session:
        actions = await session.scalar(
            select(func.count())
            .select_from(IncomingCallAction)
            .where(IncomingCallAction.agent_identity_id == identity["id"])
        )
        keys = await session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.scoped_identity_id == identity["id"])
        )
    assert (actions, keys) == (0, 0)
    refused = await stack.http.get(
        "/api/v1/phone/incoming-call-action", headers=key_headers(secret)
    )
    assert refused.status_code == 401


async def test_other_organization_sees_404_and_an_empty_list(
    stack: Stack, other_admin: Headers, identity: Any
) -> None:
    path = f"/api/v1/identities/{identity['agent_handle']}"
    assert (await stack.http.get(path, headers=other_admin)).status_code == 404
    patched = await stack.http.patch(path, json={"display_name": "x"}, headers=other_admin)
    assert patched.status_code == 404
    assert (await stack.http.delete(path, headers=other_admin)).status_code == 404
    listed = await stack.http.get("/api/v1/identities/", headers=other_admin)
    assert identity["id"] not in {i["id"] for i in listed.json()}


async def test_scoped_key_reads_only_its_own_identity(
    stack: Stack, admin: Headers, scoped: Headers, identity: Any
) -> None:
    other = await create_identity(stack.http, admin)
    own = await stack.http.get(f"/api/v1/identities/{identity['agent_handle']}", headers=scoped)
    assert own.json() == identity
    for handle in (other["agent_handle"], "no-such-handle", "NOT VALID"):
        probe = await stack.http.get(f"/api/v1/identities/{handle}", headers=scoped)
        assert probe.status_code == 403, handle
    for method, path, body in [
        ("POST", "/api/v1/identities/", {"agent_handle": new_handle()}),
        ("GET", "/api/v1/identities/", None),
        ("PATCH", f"/api/v1/identities/{identity['agent_handle']}", {"display_name": "x"}),
        ("DELETE", f"/api/v1/identities/{identity['agent_handle']}", None),
    ]:
        response = await stack.http.request(method, path, json=body, headers=scoped)
        assert response.status_code == 403, (method, path, response.text)
        assert isinstance(response.json()["detail"], str)


async def test_unknown_handle_and_missing_key(stack: Stack, admin: Headers) -> None:
    for handle in ("no-such-handle-here", "NOT VALID", "x" * 500):
        response = await stack.http.get(f"/api/v1/identities/{handle}", headers=admin)
        assert response.status_code == 404
    assert (await stack.http.get("/api/v1/identities/")).status_code == 401
    assert (
        await stack.http.post("/api/v1/identities/", json={"agent_handle": "abc"})
    ).status_code == 401
