"""Fixtures of the registry tests: a tenant with an assistant, created directly in the config DB."""

from __future__ import annotations

import pytest

from tests.services.registry.factories import Tenant, create_tenant
from tests.support.stack import Stack


@pytest.fixture
async def tenant(stack: Stack) -> Tenant:
    """A new account with its admin key and one assistant."""
    return await create_tenant(stack)


@pytest.fixture
async def other_tenant(stack: Stack) -> Tenant:
    """A second, unrelated account, for isolation checks."""
    return await create_tenant(stack, "Other Assistant")
