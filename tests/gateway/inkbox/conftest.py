"""Fixtures of the Inkbox-route tests: keys of two organizations, identities, scoped keys."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.config import operator
from services.config.operator import CreatedAccount
from tests.support.stack import Stack

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


@pytest.fixture
def admin(account: CreatedAccount) -> Headers:
    """Headers with the test organization's admin key."""
    return key_headers(account.api_key)


@pytest.fixture
async def other_admin(stack: Stack) -> Headers:
    """Headers with another organization's admin key."""
    other = await operator.create_account(stack.config_sessions, "Other organization")
    return key_headers(other.api_key)


@pytest.fixture
async def identity(stack: Stack, admin: Headers) -> Any:
    """An identity of the test organization (its JSON object)."""
    return await create_identity(stack.http, admin)


@pytest.fixture
async def scoped(stack: Stack, admin: Headers, identity: Any) -> Headers:
    """Headers with a key scoped to ``identity``."""
    return key_headers(await create_scoped_key(stack.http, admin, identity["id"]))
