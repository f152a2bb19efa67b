"""Identities, API keys and the signing secret over gRPC: paging, masks, scopes, accounts."""

from __future__ import annotations

import asyncio
import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from tests.services.config.conftest import Metadata, create_identity, key_metadata, rpc_error
from tests.support.stack import Stack

Stub = config_pb2_grpc.ConfigServiceStub


async def test_identities_page_newest_first(stub: Stub, admin: Metadata) -> None:
    created = [await create_identity(stub, admin) for _ in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListAgentIdentities(
            config_pb2.ListAgentIdentitiesRequest(page_size=2, page_token=token), metadata=admin
        )
        assert len(page.agent_identities) <= 2
        seen += [identity.id for identity in page.agent_identities]
        token = page.next_page_token
        if not token:
            break
    assert seen == [identity.id for identity in reversed(created)]
    for bad in (
        config_pb2.ListAgentIdentitiesRequest(page_size=-1),
        config_pb2.ListAgentIdentitiesRequest(page_token="not-a-token"),
    ):
        error = await rpc_error(stub.ListAgentIdentities(bad, metadata=admin))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_identity_update_mask_and_delete(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    described = await stub.UpdateAgentIdentity(
        config_pb2.UpdateAgentIdentityRequest(
            agent_handle="@" + identity.agent_handle,
            agent_identity=config_pb2.AgentIdentity(display_name="Desk", description="d"),
        ),
        metadata=admin,
    )
    assert (described.display_name, described.description) == ("Desk", "d")
    cleared = await stub.UpdateAgentIdentity(
        config_pb2.UpdateAgentIdentityRequest(
            agent_handle=identity.agent_handle,
            agent_identity=config_pb2.AgentIdentity(),
            update_mask=FieldMask(paths=["display_name", "description"]),
        ),
        metadata=admin,
    )
    assert cleared.display_name == identity.agent_handle
    assert not cleared.HasField("description")
    bad_path = await rpc_error(
        stub.UpdateAgentIdentity(
            config_pb2.UpdateAgentIdentityRequest(
                agent_handle=identity.agent_handle, update_mask=FieldMask(paths=["id"])
            ),
            metadata=admin,
        )
    )
    assert bad_path.code == grpc.StatusCode.INVALID_ARGUMENT
    await stub.DeleteAgentIdentity(
        config_pb2.DeleteAgentIdentityRequest(agent_handle=identity.agent_handle), metadata=admin
    )
    gone = await rpc_error(
        stub.GetAgentIdentity(
            config_pb2.GetAgentIdentityRequest(agent_handle=identity.agent_handle), metadata=admin
        )
    )
    assert gone.code == grpc.StatusCode.NOT_FOUND


async def test_identity_rules_by_key_kind(
    stub: Stub,
    admin: Metadata,
    scoped: Metadata,
    other_admin: Metadata,
    identity: config_pb2.AgentIdentity,
) -> None:
    by_handle = config_pb2.GetAgentIdentityRequest(agent_handle=identity.agent_handle)
    assert (await stub.GetAgentIdentity(by_handle, metadata=scoped)) == identity
    other = await create_identity(stub, admin)
    denied = await rpc_error(
        stub.GetAgentIdentity(
            config_pb2.GetAgentIdentityRequest(agent_handle=other.agent_handle), metadata=scoped
        )
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    hidden = await rpc_error(stub.GetAgentIdentity(by_handle, metadata=other_admin))
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    for pending in (
        stub.ListAgentIdentities(config_pb2.ListAgentIdentitiesRequest(), metadata=scoped),
        stub.DeleteAgentIdentity(
            config_pb2.DeleteAgentIdentityRequest(agent_handle=identity.agent_handle),
            metadata=scoped,
        ),
        stub.CreateAgentIdentity(
            config_pb2.CreateAgentIdentityRequest(
                agent_identity=config_pb2.AgentIdentity(agent_handle="scoped-may-not")
            ),
            metadata=scoped,
        ),
    ):
        assert (await rpc_error(pending)).code == grpc.StatusCode.PERMISSION_DENIED
    taken = await rpc_error(
        stub.CreateAgentIdentity(
            config_pb2.CreateAgentIdentityRequest(
                agent_identity=config_pb2.AgentIdentity(agent_handle=identity.agent_handle.upper())
            ),
            metadata=other_admin,
        )
    )
    assert (taken.code, taken.message) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "agent_handle already taken",
    )


async def test_api_keys_mint_list_revoke(
    stub: Stub, admin: Metadata, other_admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    created = await stub.CreateApiKey(
        config_pb2.CreateApiKeyRequest(label="agent", scoped_identity_id=identity.id),
        metadata=admin,
    )
    record = created.record
    assert record.status == config_pb2.API_KEY_STATUS_ACTIVE
    assert record.scoped_identity_id == identity.id
    assert created.api_key.endswith(record.last4)
    scoped = key_metadata(created.api_key)
    minting = await rpc_error(
        stub.CreateApiKey(config_pb2.CreateApiKeyRequest(label="x"), metadata=scoped)
    )
    assert minting.code == grpc.StatusCode.PERMISSION_DENIED
    listed = await stub.ListApiKeys(config_pb2.ListApiKeysRequest(page_size=1), metadata=admin)
    assert [key.id for key in listed.api_keys] == [record.id]
    assert listed.next_page_token
    foreign = await rpc_error(
        stub.RevokeApiKey(
            config_pb2.RevokeApiKeyRequest(api_key_id=record.id), metadata=other_admin
        )
    )
    assert foreign.code == grpc.StatusCode.NOT_FOUND
    revoked = await stub.RevokeApiKey(
        config_pb2.RevokeApiKeyRequest(api_key_id=record.id), metadata=admin
    )
    assert revoked.status == config_pb2.API_KEY_STATUS_REVOKED
    assert revoked.HasField("revoked_at")
    refused = await rpc_error(
        stub.GetAgentIdentity(
            config_pb2.GetAgentIdentityRequest(agent_handle=identity.agent_handle), metadata=scoped
        )
    )
    assert refused.code == grpc.StatusCode.UNAUTHENTICATED
    for bad in (
        config_pb2.CreateApiKeyRequest(label=""),
        config_pb2.CreateApiKeyRequest(label="x", scoped_identity_id="abc"),
    ):
        error = await rpc_error(stub.CreateApiKey(bad, metadata=admin))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    missing = await rpc_error(
        stub.CreateApiKey(
            config_pb2.CreateApiKeyRequest(label="x", scoped_identity_id=str(uuid.uuid4())),
            metadata=admin,
        )
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_signing_secret_rotation_reaches_call_routing(
    stack: Stack, stub: Stub, admin: Metadata, scoped: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    status = await stub.GetWebhookSigningSecret(
        config_pb2.GetWebhookSigningSecretRequest(), metadata=admin
    )
    assert not status.configured and not status.HasField("display_prefix")
    first = await stub.RotateWebhookSigningSecret(
        config_pb2.RotateWebhookSigningSecretRequest(), metadata=admin
    )
    second = await stub.RotateWebhookSigningSecret(
        config_pb2.RotateWebhookSigningSecretRequest(), metadata=admin
    )
    assert first.secret != second.secret and second.secret.startswith("whsec_")
    assert second.status.create_time == first.status.create_time
    internal = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    target = await internal.ResolveCallTarget(
        config_pb2.ResolveCallTargetRequest(identity_id=identity.id)
    )
    assert target.webhook_signing_secret == second.secret
    denied = await rpc_error(
        stub.RotateWebhookSigningSecret(
            config_pb2.RotateWebhookSigningSecretRequest(), metadata=scoped
        )
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED


async def test_concurrent_first_rotations_all_succeed(stub: Stub, admin: Metadata) -> None:
    results = await asyncio.gather(
        *(
            stub.RotateWebhookSigningSecret(
                config_pb2.RotateWebhookSigningSecretRequest(), metadata=admin
            )
            for _ in range(10)
        )
    )
    status = await stub.GetWebhookSigningSecret(
        config_pb2.GetWebhookSigningSecretRequest(), metadata=admin
    )
    assert status.configured
    assert status.display_prefix in {r.secret[: len(status.display_prefix)] for r in results}
