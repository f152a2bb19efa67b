"""A revoked key stops working at once on config, and on the registry within its cache TTL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.errors import Unauthenticated
from services.config import provisioning
from services.config.provisioning import CreatedAccount
from services.registry.config_client import ConfigClient
from services.registry.settings import RegistrySettings
from tests.support.clock import ManualClock
from tests.support.config_grpc import Metadata, key_metadata
from tests.support.rpc_errors import rpc_error
from tests.support.stack import INTERNAL_TOKEN, Stack

CACHE_TTL = 5.0


def test_default_registry_cache_ttl_is_at_most_30_seconds() -> None:
    field = RegistrySettings.model_fields["auth_cache_ttl_seconds"]
    assert field.default <= 30
    with pytest.raises(ValueError):
        RegistrySettings(auth_cache_ttl_seconds=31)


async def test_revoked_key_is_refused_by_config_at_once_and_by_registry_within_ttl(
    stack: Stack, admin: Metadata, account: CreatedAccount
) -> None:
    """The registry's auth cache (on a clock the test moves) trusts a revoked key for less
    than its TTL and refuses it from the TTL on; config refuses it at once."""
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    minted = await provisioning.create_admin_key(
        stack.config_sessions, account.account_id, "doomed"
    )
    settings = RegistrySettings(
        config_address=stack.config_target,
        auth_cache_ttl_seconds=CACHE_TTL,
        internal_token=SecretStr(INTERNAL_TOKEN),
    )
    clock = ManualClock()
    client = ConfigClient.connect(settings, clock=clock)
    try:
        principal = await client.authenticate(minted.api_key)
        assert principal.api_key_id == minted.api_key_id
        await stub.RevokeApiKey(
            config_pb2.RevokeApiKeyRequest(api_key_id=minted.api_key_id), metadata=admin
        )
        refused = await rpc_error(
            stub.ListApiKeys(config_pb2.ListApiKeysRequest(), metadata=key_metadata(minted.api_key))
        )
        assert refused.code.name == "UNAUTHENTICATED"

        clock.advance(CACHE_TTL - 0.001)  # the documented staleness: still trusted
        assert (await client.authenticate(minted.api_key)).api_key_id == minted.api_key_id
        clock.advance(0.001)  # the bound itself: asked again, and refused
        with pytest.raises(Unauthenticated):
            await client.authenticate(minted.api_key)
        clock.advance(3600)  # a refusal is never cached
        with pytest.raises(Unauthenticated):
            await client.authenticate(minted.api_key)
    finally:
        await client.close()


async def test_operator_revocation_is_seen_by_config_at_once(
    stack: Stack, account: CreatedAccount
) -> None:
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    secret = account.api_key
    await stub.ListApiKeys(config_pb2.ListApiKeysRequest(), metadata=key_metadata(secret))
    await provisioning.revoke_key(stack.config_sessions, account.api_key_id)
    refused = await rpc_error(
        stub.ListApiKeys(config_pb2.ListApiKeysRequest(), metadata=key_metadata(secret))
    )
    assert refused.code.name == "UNAUTHENTICATED"
