"""Suite-wide fixtures: every stack-backed test runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.config import provisioning
from tests.support.databases import (
    fresh_databases,
    postgres_admin_url,
    postgres_unreachable_reason,
    running_in_ci,
)
from tests.support.https_receiver import HttpsReceiver, running_receiver
from tests.support.routing_stack import RoutingStack, running_routing_stack
from tests.support.stack import Stack, running_stack

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> str:
    """The database engine this part of the run uses."""
    name: str = request.param
    if name == "postgresql":
        reason = await postgres_unreachable_reason(postgres_admin_url())
        if reason is not None:
            message = f"PostgreSQL at {postgres_admin_url()} is unreachable: {reason}"
            if running_in_ci():
                pytest.fail(f"{message} (mandatory with CI=true)")
            pytest.skip(message)
    return name


@pytest.fixture(scope="session")
async def database_urls(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, str]]:
    """Fresh databases for the two services, for this backend's part of the run."""
    async with fresh_databases(backend, tmp_path_factory.mktemp(f"db-{backend}")) as urls:
        yield urls


@pytest.fixture(scope="session")
async def stack(
    backend: str, database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """Config, registry and gateway, running for the whole backend's part of the run."""
    async with running_stack(backend, database_urls, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
async def account(stack: Stack) -> provisioning.CreatedAccount:
    """A new account with its admin key; each test gets its own tenant."""
    return await provisioning.create_account(stack.config_sessions, "Test account")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch directory for files a test writes."""
    return tmp_path


@pytest.fixture(scope="session")
async def receiver(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[HttpsReceiver]:
    """One local HTTPS receiver for the session (tests use unique paths)."""
    async with running_receiver(tmp_path_factory.mktemp("receiver")) as running:
        yield running


@pytest.fixture(scope="session")
async def routing(
    stack: Stack, receiver: HttpsReceiver, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RoutingStack]:
    """The routing registry and its gateway, once per database backend for every test dir.

    Defined here rather than in each directory's conftest: a fixture registered in two
    conftests is two fixtures, and each would start its own registry and gateway.
    """
    async with running_routing_stack(stack, receiver, tmp_path_factory.mktemp("routing")) as rs:
        yield rs
