"""Signing keys over HTTP: per identity, the deprecated org routes, the retired account secret."""

from __future__ import annotations

from typing import Any

from tests.support.inkbox_rest import Headers, create_identity, create_scoped_key, key_headers
from tests.support.stack import Stack

RETIRED = "/api/v1/webhooks/signing-secret"


def key_url(handle: str) -> str:
    return f"/api/v1/identities/{handle}/signing-key"


async def test_create_rotate_status_and_summary(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    url = key_url(identity["agent_handle"])
    assert identity["signing_key_configured"] is False
    assert identity["signing_key_created_at"] is None
    initial = await stack.http.get(url, headers=admin)
    assert initial.json() == {"configured": False, "created_at": None}

    created = await stack.http.post(url, json={}, headers=admin)
    assert created.status_code == 200, created.text
    first = created.json()
    assert set(first) == {"signing_key", "created_at"}
    assert first["signing_key"].startswith("whsec_") and first["created_at"].endswith("Z")
    status = await stack.http.get(url, headers=admin)
    assert status.json() == {"configured": True, "created_at": first["created_at"]}
    assert first["signing_key"] not in status.text

    rotated = (
        await stack.http.post(
            f"/api/v1/identities/@{identity['agent_handle']}/signing-key", headers=admin
        )
    ).json()
    assert rotated["signing_key"] != first["signing_key"]
    assert rotated["created_at"] >= first["created_at"]
    summary = (
        await stack.http.get(f"/api/v1/identities/{identity['agent_handle']}", headers=admin)
    ).json()
    assert summary["signing_key_configured"] is True
    assert summary["signing_key_created_at"] == rotated["created_at"]
    listed = (await stack.http.get("/api/v1/identities/", headers=admin)).json()
    assert [i["signing_key_created_at"] for i in listed if i["id"] == identity["id"]] == [
        rotated["created_at"]
    ]
    assert rotated["signing_key"] not in str(listed)


async def test_scopes_tenancy_and_credentials(
    stack: Stack, admin: Headers, other_admin: Headers, scoped: Headers, identity: Any
) -> None:
    other = await create_identity(stack.http, admin)
    own = key_url(identity["agent_handle"])
    assert (await stack.http.post(own, headers=scoped)).status_code == 200
    assert (await stack.http.get(own, headers=scoped)).json()["configured"] is True
    for url in (key_url(other["agent_handle"]), key_url("no-such-handle")):
        assert (await stack.http.get(url, headers=scoped)).status_code == 403
        assert (await stack.http.post(url, headers=scoped)).status_code == 403
    for url in (own, key_url("no-such-handle")):
        assert (await stack.http.get(url, headers=other_admin)).status_code == 404
        assert (await stack.http.post(url, headers=other_admin)).status_code == 404
    for method in ("GET", "POST"):
        assert (await stack.http.request(method, own)).status_code == 401
        bad = await stack.http.request(method, own, headers=key_headers("sb_not-a-key"))
        assert bad.status_code == 401
    unkeyed = await stack.http.get(key_url(other["agent_handle"]), headers=admin)
    assert unkeyed.json() == {"configured": False, "created_at": None}


async def test_deprecated_organization_routes(
    stack: Stack, admin: Headers, other_admin: Headers
) -> None:
    first = await create_identity(stack.http, admin)
    second = await create_identity(stack.http, admin)
    scoped = key_headers(await create_scoped_key(stack.http, admin, first["id"]))
    assert (await stack.http.get("/api/v1/signing-keys", headers=admin)).json() == {
        "configured": False,
        "created_at": None,
    }
    refused = await stack.http.post("/api/v1/signing-keys", json={}, headers=admin)
    assert refused.status_code == 409
    assert "/signing-key" in refused.json()["detail"]

    rotated = await stack.http.post("/api/v1/signing-keys", json={}, headers=scoped)
    assert rotated.status_code == 200, rotated.text
    key = rotated.json()
    own = (await stack.http.get(key_url(first["agent_handle"]), headers=admin)).json()
    assert own == {"configured": True, "created_at": key["created_at"]}
    untouched = (await stack.http.get(key_url(second["agent_handle"]), headers=admin)).json()
    assert untouched["configured"] is False
    assert (await stack.http.get("/api/v1/signing-keys", headers=scoped)).json() == own
    assert (await stack.http.get("/api/v1/signing-keys", headers=admin)).json() == own
    other = (await stack.http.get("/api/v1/signing-keys", headers=other_admin)).json()
    assert other["configured"] is False
    assert (await stack.http.get("/api/v1/signing-keys")).status_code == 401


async def test_account_secret_route_is_retired(
    stack: Stack, admin: Headers, scoped: Headers
) -> None:
    for method, path in (("GET", RETIRED), ("POST", RETIRED), ("POST", f"{RETIRED}:rotate")):
        for headers in (admin, scoped):
            gone = await stack.http.request(method, path, headers=headers)
            assert gone.status_code == 410
            assert "per agent identity" in gone.json()["detail"]
        assert (await stack.http.request(method, path)).status_code == 401
        bad = await stack.http.request(method, path, headers=key_headers("sb_not-a-key"))
        assert bad.status_code == 401
