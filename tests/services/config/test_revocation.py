"""A revoked key stops working at once on config, and on the registry within its cache TTL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.errors import Unauthenticated
from services.config import operator
from services.config.operator import CreatedAccount
from services.registry.config_client import ConfigClient
from services.registry.settings import RegistrySettings
from tests.services.config.conftest import Metadata, key_metadata
from tests.support.processes import eventually
from tests.support.rpc_errors import rpc_error
from tests.support.stack import INTERNAL_TOKEN, Stack


def test_default_registry_cache_ttl_is_at_most_30_seconds() -> None:
    field = RegistrySettings.model_fields["auth_cache_ttl_seconds"]
    assert field.default <= 30
    with pytest.raises(ValueError):
        RegistrySettings(auth_cache_ttl_seconds=31)


async def test_revoked_key_is_refused_by_config_at_once_and_by_registry_within_ttl(
    stack: Stack, admin: Metadata, account: CreatedAccount
) -> None:
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    minted = await operator.create_admin_key(stack.config_sessions, account.account_id, "doomed")
    created = config_pb2.CreateApiKeyResponse(api_key=minted.api_key)
    created.record.id = minted.api_key_id
    settings = RegistrySettings(
        config_address=stack.config_target,
        auth_cache_ttl_seconds=0.5,
        internal_token=SecretStr(INTERNAL_TOKEN),
    )
    client = ConfigClient.connect(settings)
    try:
        principal = await client.authenticate(created.api_key)
        assert principal.api_key_id == created.record.id
        await stub.RevokeApiKey(
            config_pb2.RevokeApiKeyRequest(api_key_id=created.record.id), metadata=admin
        )
        refused = await rpc_error(
            stub.ListApiKeys(
                config_pb2.ListApiKeysRequest(), metadata=key_metadata(created.api_key)
            )
        )
        assert refused.code.name == "UNAUTHENTICATED"

        async def registry_refuses() -> bool:
            try:
                await client.authenticate(created.api_key)
            except Unauthenticated:
                return True
            return False

        assert await eventually(registry_refuses, timeout=10, interval=0.1)
    finally:
        await client.close()


async def test_operator_revocation_is_seen_by_config_at_once(
    stack: Stack, account: CreatedAccount
) -> None:
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    secret = account.api_key
    await stub.ListApiKeys(config_pb2.ListApiKeysRequest(), metadata=key_metadata(secret))
    await operator.revoke_key(stack.config_sessions, account.api_key_id)
    refused = await rpc_error(
        stub.ListApiKeys(config_pb2.ListApiKeysRequest(), metadata=key_metadata(secret))
    )
    assert refused.code.name == "UNAUTHENTICATED"
