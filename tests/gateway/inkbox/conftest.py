"""Fixtures of the Inkbox-route tests: keys of two organizations, identities, scoped keys."""

from __future__ import annotations

from typing import Any

import pytest

from services.config import provisioning
from services.config.provisioning import CreatedAccount
from tests.support.inkbox_rest import Headers, create_identity, create_scoped_key, key_headers
from tests.support.stack import Stack


@pytest.fixture
def admin(account: CreatedAccount) -> Headers:
    """Headers with the test organization's admin key."""
    return key_headers(account.api_key)


@pytest.fixture
async def other_admin(stack: Stack) -> Headers:
    """Headers with another organization's admin key."""
    other = await provisioning.create_account(stack.config_sessions, "Other organization")
    return key_headers(other.api_key)


@pytest.fixture
async def identity(stack: Stack, admin: Headers) -> Any:
    """An identity of the test organization (its JSON object)."""
    return await create_identity(stack.http, admin)


@pytest.fixture
async def scoped(stack: Stack, admin: Headers, identity: Any) -> Headers:
    """Headers with a key scoped to ``identity``."""
    return key_headers(await create_scoped_key(stack.http, admin, identity["id"]))
