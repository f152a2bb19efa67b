"""Identities, API keys, signing keys and whoami over gRPC: paging, masks, scopes, accounts."""

from __future__ import annotations

import asyncio
import uuid

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.config.provisioning import CreatedAccount
from tests.support.config_grpc import Metadata, create_identity, key_metadata
from tests.support.rpc_errors import rpc_error
from tests.support.stack import INTERNAL_METADATA, Stack

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


async def test_a_page_token_resumes_only_the_list_that_issued_it(
    stub: Stub, admin: Metadata, scoped: Metadata
) -> None:
    """Two keys (admin, scoped) and two identities: both lists have a second page."""
    await create_identity(stub, admin)
    keys = await stub.ListApiKeys(config_pb2.ListApiKeysRequest(page_size=1), metadata=admin)
    identities = await stub.ListAgentIdentities(
        config_pb2.ListAgentIdentitiesRequest(page_size=1), metadata=admin
    )
    assert keys.next_page_token and identities.next_page_token
    foreign = await rpc_error(
        stub.ListAgentIdentities(
            config_pb2.ListAgentIdentitiesRequest(page_size=1, page_token=keys.next_page_token),
            metadata=admin,
        )
    )
    assert foreign.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in foreign.violations] == ["page_token"]
    swapped = await rpc_error(
        stub.ListApiKeys(
            config_pb2.ListApiKeysRequest(page_size=1, page_token=identities.next_page_token),
            metadata=admin,
        )
    )
    assert swapped.code == grpc.StatusCode.INVALID_ARGUMENT
    resumed = await stub.ListApiKeys(
        config_pb2.ListApiKeysRequest(page_size=1, page_token=keys.next_page_token),
        metadata=admin,
    )
    assert [key.id for key in resumed.api_keys] != [key.id for key in keys.api_keys]


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
    assert not cleared.HasField("display_name")
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
    assert revoked.HasField("revoke_time")
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
    admin_key = await rpc_error(
        stub.CreateApiKey(config_pb2.CreateApiKeyRequest(label="x"), metadata=admin)
    )
    assert (admin_key.code, admin_key.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ADMIN_KEY_MINTING_REFUSED",
    )
    missing = await rpc_error(
        stub.CreateApiKey(
            config_pb2.CreateApiKeyRequest(label="x", scoped_identity_id=str(uuid.uuid4())),
            metadata=admin,
        )
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_identity_signing_key_rotation_reaches_call_routing(
    stack: Stack, stub: Stub, admin: Metadata, scoped: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    handle = identity.agent_handle
    status = await stub.GetAgentIdentitySigningKey(
        config_pb2.GetAgentIdentitySigningKeyRequest(agent_handle=handle), metadata=admin
    )
    assert not status.configured and not status.HasField("create_time")
    request = config_pb2.RotateAgentIdentitySigningKeyRequest(agent_handle="@" + handle)
    first = await stub.RotateAgentIdentitySigningKey(request, metadata=admin)
    second = await stub.RotateAgentIdentitySigningKey(request, metadata=scoped)
    assert first.signing_key != second.signing_key and second.signing_key.startswith("whsec_")
    assert second.create_time.ToDatetime() >= first.create_time.ToDatetime()
    status = await stub.GetAgentIdentitySigningKey(
        config_pb2.GetAgentIdentitySigningKeyRequest(agent_handle=handle), metadata=scoped
    )
    assert status.configured and status.create_time == second.create_time
    read = await stub.GetAgentIdentity(
        config_pb2.GetAgentIdentityRequest(agent_handle=handle), metadata=admin
    )
    assert read.signing_key_configured and read.signing_key_create_time == second.create_time
    internal = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    target = await internal.ResolveCallTarget(
        config_pb2.ResolveCallTargetRequest(agent_identity_id=identity.id),
        metadata=INTERNAL_METADATA,
    )
    assert target.webhook_signing_key == second.signing_key


async def test_signing_key_scopes_and_the_deprecated_organization_rpcs(
    stub: Stub,
    admin: Metadata,
    other_admin: Metadata,
    scoped: Metadata,
    identity: config_pb2.AgentIdentity,
) -> None:
    other = await create_identity(stub, admin)
    org_status = config_pb2.GetOrganizationSigningKeyRequest()
    assert not (await stub.GetOrganizationSigningKey(org_status, metadata=admin)).configured
    for metadata, handle, code in (
        (scoped, other.agent_handle, grpc.StatusCode.PERMISSION_DENIED),
        (scoped, "no-such-handle", grpc.StatusCode.PERMISSION_DENIED),
        (other_admin, identity.agent_handle, grpc.StatusCode.NOT_FOUND),
        (admin, "no-such-handle", grpc.StatusCode.NOT_FOUND),
    ):
        for call in (
            stub.GetAgentIdentitySigningKey(
                config_pb2.GetAgentIdentitySigningKeyRequest(agent_handle=handle),
                metadata=metadata,
            ),
            stub.RotateAgentIdentitySigningKey(
                config_pb2.RotateAgentIdentitySigningKeyRequest(agent_handle=handle),
                metadata=metadata,
            ),
        ):
            assert (await rpc_error(call)).code == code, (handle, code)

    refused = await rpc_error(
        stub.RotateOrganizationSigningKey(
            config_pb2.RotateOrganizationSigningKeyRequest(), metadata=admin
        )
    )
    assert (refused.code, refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SIGNING_KEY_PER_IDENTITY",
    )
    rotated = await stub.RotateOrganizationSigningKey(
        config_pb2.RotateOrganizationSigningKeyRequest(), metadata=scoped
    )
    own = await stub.GetAgentIdentitySigningKey(
        config_pb2.GetAgentIdentitySigningKeyRequest(agent_handle=identity.agent_handle),
        metadata=admin,
    )
    assert own.configured and own.create_time == rotated.create_time
    assert (await stub.GetOrganizationSigningKey(org_status, metadata=scoped)) == own
    aggregate = await stub.GetOrganizationSigningKey(org_status, metadata=admin)
    assert aggregate.configured and aggregate.create_time == rotated.create_time
    assert not (await stub.GetOrganizationSigningKey(org_status, metadata=other_admin)).configured
    unkeyed = await stub.GetAgentIdentity(
        config_pb2.GetAgentIdentityRequest(agent_handle=other.agent_handle), metadata=admin
    )
    assert not unkeyed.signing_key_configured and not unkeyed.HasField("signing_key_create_time")


async def test_caller_api_key_is_the_authenticating_key(
    stub: Stub, admin: Metadata, scoped: Metadata, account: CreatedAccount
) -> None:
    own = await stub.GetCallerApiKey(config_pb2.GetCallerApiKeyRequest(), metadata=admin)
    assert own.id == account.api_key_id and not own.HasField("scoped_identity_id")
    mine = await stub.GetCallerApiKey(config_pb2.GetCallerApiKeyRequest(), metadata=scoped)
    assert mine.HasField("scoped_identity_id") and mine.account_id == account.account_id
    missing = await rpc_error(stub.GetCallerApiKey(config_pb2.GetCallerApiKeyRequest()))
    assert missing.code == grpc.StatusCode.UNAUTHENTICATED


async def test_concurrent_first_rotations_all_succeed(
    stack: Stack, stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    request = config_pb2.RotateAgentIdentitySigningKeyRequest(agent_handle=identity.agent_handle)
    results = await asyncio.gather(
        *(stub.RotateAgentIdentitySigningKey(request, metadata=admin) for _ in range(10))
    )
    internal = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    target = await internal.ResolveCallTarget(
        config_pb2.ResolveCallTargetRequest(agent_identity_id=identity.id),
        metadata=INTERNAL_METADATA,
    )
    assert target.webhook_signing_key in {result.signing_key for result in results}
