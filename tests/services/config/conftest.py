"""Fixtures of the config service tests: a ConfigService stub and keys of two accounts."""

from __future__ import annotations

import pytest
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.config import provisioning
from services.config.provisioning import CreatedAccount
from tests.support.config_grpc import Metadata, create_identity, key_metadata
from tests.support.stack import Stack


@pytest.fixture
def stub(stack: Stack) -> config_pb2_grpc.ConfigServiceStub:
    """A ConfigService stub on the test stack's config server."""
    return config_pb2_grpc.ConfigServiceStub(stack.config_channel)


@pytest.fixture
def admin(account: CreatedAccount) -> Metadata:
    """Metadata with the test account's admin key."""
    return key_metadata(account.api_key)


@pytest.fixture
async def other_admin(stack: Stack) -> Metadata:
    """Metadata with another account's admin key."""
    other = await provisioning.create_account(stack.config_sessions, "Other account")
    return key_metadata(other.api_key)


@pytest.fixture
async def identity(
    stub: config_pb2_grpc.ConfigServiceStub, admin: Metadata
) -> config_pb2.AgentIdentity:
    """An identity of the test account."""
    return await create_identity(stub, admin)


@pytest.fixture
async def scoped(
    stub: config_pb2_grpc.ConfigServiceStub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> Metadata:
    """Metadata with a key scoped to ``identity``."""
    created = await stub.CreateApiKey(
        config_pb2.CreateApiKeyRequest(label="scoped", scoped_identity_id=identity.id),
        metadata=admin,
    )
    return key_metadata(created.api_key)
