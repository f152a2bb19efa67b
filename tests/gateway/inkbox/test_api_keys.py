"""``/api/v1/api-keys`` over HTTP: minting, listing, revoking; admin-only."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.support.inkbox_rest import Headers, create_identity, key_headers
from tests.support.stack import Stack

RECORD_FIELDS = {
    "id",
    "organization_id",
    "created_by",
    "creator_type",
    "scoped_identity_id",
    "label",
    "description",
    "status",
    "last4",
    "display_prefix",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "created_at",
    "updated_at",
}
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


async def test_minting_an_admin_key_is_403_and_changes_nothing(
    stack: Stack, admin: Headers, account: Any
) -> None:
    before = (await stack.http.get("/api/v1/api-keys", headers=admin)).json()
    for body in ({"label": "ci"}, {"label": "ci", "scoped_identity_id": None}):
        refused = await stack.http.post("/api/v1/api-keys", json=body, headers=admin)
        assert refused.status_code == 403, refused.text
        assert "switchboard keys create --admin" in refused.json()["detail"]
    assert (await stack.http.get("/api/v1/api-keys", headers=admin)).json() == before


async def test_mint_list_and_revoke(
    stack: Stack, admin: Headers, account: Any, identity: Any
) -> None:
    created = await stack.http.post(
        "/api/v1/api-keys",
        json={"label": "ci", "description": "for CI", "scoped_identity_id": identity["id"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"api_key", "record"}
    secret, record = body["api_key"], body["record"]
    assert set(record) == RECORD_FIELDS
    assert record["organization_id"] == account.account_id
    assert record["created_by"] == account.api_key_id
    assert record["status"] == "active"
    assert record["scoped_identity_id"] == identity["id"]
    assert (record["label"], record["description"]) == ("ci", "for CI")
    assert secret.endswith(record["last4"]) and secret.startswith(record["display_prefix"])
    assert record["revoked_at"] is None and record["expires_at"] is None
    assert RFC3339_UTC.fullmatch(record["created_at"])

    works = await stack.http.get(
        f"/api/v1/identities/{identity['agent_handle']}", headers=key_headers(secret)
    )
    assert works.status_code == 200
    listing = await stack.http.get("/api/v1/api-keys", headers=admin)
    listed = listing.json()
    assert [r["id"] for r in listed] == [record["id"], account.api_key_id]
    assert all(set(r) == RECORD_FIELDS for r in listed)
    assert secret not in listing.text

    revoked = await stack.http.delete(f"/api/v1/api-keys/{record['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert RFC3339_UTC.fullmatch(revoked.json()["revoked_at"])
    assert (
        await stack.http.get(
            f"/api/v1/identities/{identity['agent_handle']}", headers=key_headers(secret)
        )
    ).status_code == 401
    twice = await stack.http.delete(f"/api/v1/api-keys/{record['id']}", headers=admin)
    assert twice.json() == revoked.json()


async def test_scoped_key_minting_and_its_limits(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    created = await stack.http.post(
        "/api/v1/api-keys",
        json={"label": "agent", "scoped_identity_id": identity["id"]},
        headers=admin,
    )
    assert created.status_code == 201
    assert created.json()["record"]["scoped_identity_id"] == identity["id"]
    scoped = key_headers(created.json()["api_key"])
    for method, path, body in [
        ("POST", "/api/v1/api-keys", {"label": "x"}),
        ("GET", "/api/v1/api-keys", None),
        ("DELETE", f"/api/v1/api-keys/{created.json()['record']['id']}", None),
    ]:
        response = await stack.http.request(method, path, json=body, headers=scoped)
        assert response.status_code == 403, (method, path)


async def test_other_organizations_identity_and_key_are_404(
    stack: Stack, admin: Headers, other_admin: Headers, account: Any
) -> None:
    theirs = await create_identity(stack.http, other_admin)
    response = await stack.http.post(
        "/api/v1/api-keys",
        json={"label": "x", "scoped_identity_id": theirs["id"]},
        headers=admin,
    )
    assert (response.status_code, response.json()) == (404, {"detail": "Agent identity not found"})
    missing = await stack.http.post(
        "/api/v1/api-keys",
        json={"label": "x", "scoped_identity_id": str(uuid.uuid4())},
        headers=admin,
    )
    assert missing.status_code == 404
    foreign = await stack.http.delete(f"/api/v1/api-keys/{account.api_key_id}", headers=other_admin)
    assert (foreign.status_code, foreign.json()) == (404, {"detail": "API key not found"})
    assert (await stack.http.get("/api/v1/api-keys", headers=admin)).status_code == 200
    listed = await stack.http.get("/api/v1/api-keys", headers=other_admin)
    assert account.api_key_id not in {r["id"] for r in listed.json()}


async def test_revoking_the_key_in_use_is_allowed(
    stack: Stack, admin: Headers, account: Any
) -> None:
    response = await stack.http.delete(f"/api/v1/api-keys/{account.api_key_id}", headers=admin)
    assert response.status_code == 200
    assert (await stack.http.get("/api/v1/api-keys", headers=admin)).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"label": ""},
        {"label": "x" * 201},
        {"label": 5},
        {"label": "x", "scoped_identity_id": "abc"},
        [],
    ],
)
async def test_invalid_create_is_422(stack: Stack, admin: Headers, body: Any) -> None:
    response = await stack.http.post("/api/v1/api-keys", json=body, headers=admin)
    assert response.status_code == 422


async def test_revoke_non_uuid_is_422(stack: Stack, admin: Headers) -> None:
    assert (await stack.http.delete("/api/v1/api-keys/abc", headers=admin)).status_code == 422
    missing = await stack.http.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=admin)
    assert missing.status_code == 404
