"""Inkbox-dialect REST helpers of the tests: key headers, fresh handles, identities, keys."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

Headers = dict[str, str]


def key_headers(api_key: str) -> Headers:
    """Request headers carrying ``api_key`` the Inkbox way."""
    return {"X-API-Key": api_key}


def new_handle() -> str:
    """A handle no other test uses."""
    return f"agent-{uuid.uuid4().hex[:12]}"


async def create_identity(http: httpx.AsyncClient, headers: Headers, **fields: Any) -> Any:
    """A new identity created over REST (201 asserted)."""
    body = {"agent_handle": new_handle(), **fields}
    response = await http.post("/api/v1/identities/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_scoped_key(http: httpx.AsyncClient, headers: Headers, identity_id: str) -> str:
    """The secret of a new key scoped to ``identity_id``."""
    response = await http.post(
        "/api/v1/api-keys",
        json={"label": "scoped", "scoped_identity_id": identity_id},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    secret: str = response.json()["api_key"]
    return secret
