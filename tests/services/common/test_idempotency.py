"""Idempotent writes over real gRPC, both databases: replay, reuse, scope, races, replicas, age."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select, update
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import registry_pb2

from services.common.auth import Principal, Scope
from services.common.storage import idempotency
from services.common.storage.db import WriteSessions
from services.common.storage.orm import utcnow
from services.config import identities
from services.config import server as config_server
from services.config.models import IDEMPOTENCY_KEYS, AgentIdentity, ApiKey
from services.config.provisioning import CreatedAccount
from tests.services.registry.factories import (
    create_tenant,
    fresh_number,
    numbers_stub,
    strategies_stub,
)
from tests.support.config_grpc import Metadata, key_metadata
from tests.support.rpc_errors import rpc_error
from tests.support.stack import Stack, service_settings

Stub = config_pb2_grpc.ConfigServiceStub


@pytest.fixture
def stub(stack: Stack) -> Stub:
    return config_pb2_grpc.ConfigServiceStub(stack.config_channel)


@pytest.fixture
def admin(account: CreatedAccount) -> Metadata:
    return key_metadata(account.api_key)


def create_request(handle: str, key: str, **identity: Any) -> config_pb2.CreateAgentIdentityRequest:
    return config_pb2.CreateAgentIdentityRequest(
        agent_identity=config_pb2.AgentIdentity(agent_handle=handle, **identity), request_id=key
    )


def new_handle() -> str:
    return f"idem-{uuid.uuid4().hex[:12]}"


async def count_identities(stack: Stack, account_id: str) -> int:
    async with stack.config_sessions() as session:
        found = await session.scalar(
            select(func.count()).where(AgentIdentity.account_id == account_id)
        )
    return int(found or 0)


async def test_a_retry_with_the_key_replays_the_first_identity(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    key, handle = str(uuid.uuid4()), new_handle()
    first = await stub.CreateAgentIdentity(create_request(handle, key), metadata=admin)
    again = await stub.CreateAgentIdentity(create_request(handle, key), metadata=admin)
    assert again == first
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(
        deterministic=True
    )
    assert await count_identities(stack, account.account_id) == 1
    # Without a key the same body is a second, conflicting create, as before.
    error = await rpc_error(stub.CreateAgentIdentity(create_request(handle, ""), metadata=admin))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS


async def test_the_same_key_with_another_request_is_failed_precondition(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    key = str(uuid.uuid4())
    await stub.CreateAgentIdentity(create_request(new_handle(), key), metadata=admin)
    for other in (
        stub.CreateAgentIdentity(create_request(new_handle(), key), metadata=admin),
        stub.CreateApiKey(
            config_pb2.CreateApiKeyRequest(label="k", request_id=key), metadata=admin
        ),
    ):
        error = await rpc_error(other)
        assert error.code == grpc.StatusCode.FAILED_PRECONDITION
        assert error.reason == idempotency.KEY_REUSED_REASON
    assert await count_identities(stack, account.account_id) == 1
    async with stack.config_sessions() as session:
        keys = await session.scalar(
            select(func.count()).where(ApiKey.account_id == account.account_id)
        )
    assert keys == 1  # only the account's first admin key: the reused key minted nothing


async def test_keys_are_per_account_and_per_caller_scope(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    key = str(uuid.uuid4())
    other = await create_tenant(stack)
    identity = await stub.CreateAgentIdentity(create_request(new_handle(), ""), metadata=admin)
    mine = await stub.CreateApiKey(
        config_pb2.CreateApiKeyRequest(label="ci", request_id=key, scoped_identity_id=identity.id),
        metadata=admin,
    )
    theirs = await stub.CreateApiKey(
        config_pb2.CreateApiKeyRequest(
            label="ci", request_id=key, scoped_identity_id=other.assistant_id
        ),
        metadata=other.metadata,
    )
    assert theirs.api_key != mine.api_key
    assert theirs.record.account_id == other.account_id
    # A scoped key of the same account never gets what an admin key's request returned.
    scoped = await stub.CreateApiKey(
        config_pb2.CreateApiKeyRequest(label="s", scoped_identity_id=identity.id), metadata=admin
    )
    error = await rpc_error(
        stub.CreateApiKey(
            config_pb2.CreateApiKeyRequest(
                label="ci", request_id=key, scoped_identity_id=identity.id
            ),
            metadata=key_metadata(scoped.api_key),
        )
    )
    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == idempotency.KEY_REUSED_REASON


async def test_secrets_are_replayed_but_never_stored_in_clear(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    key = f"rotate-{uuid.uuid4()}"
    identity = await stub.CreateAgentIdentity(create_request(new_handle(), ""), metadata=admin)
    handle = identity.agent_handle
    request = config_pb2.RotateAgentIdentitySigningKeyRequest(agent_handle=handle, request_id=key)
    first = await stub.RotateAgentIdentitySigningKey(request, metadata=admin)
    again = await stub.RotateAgentIdentitySigningKey(request, metadata=admin)
    assert again == first
    fresh = await stub.RotateAgentIdentitySigningKey(
        config_pb2.RotateAgentIdentitySigningKeyRequest(
            agent_handle=handle, request_id=str(uuid.uuid4())
        ),
        metadata=admin,
    )
    assert fresh.signing_key != first.signing_key
    minted = config_pb2.CreateApiKeyRequest(
        label="deploy", request_id=key + "-k", scoped_identity_id=identity.id
    )
    created = await stub.CreateApiKey(minted, metadata=admin)
    assert await stub.CreateApiKey(minted, metadata=admin) == created

    async with stack.config_sessions() as session:
        rows = (
            await session.execute(
                select(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.account_id == account.account_id)
            )
        ).all()
    assert len(rows) == 3
    for row in rows:
        stored = bytes(row.response)
        assert first.signing_key.encode() not in stored
        assert created.api_key.encode() not in stored
        assert key.encode() not in row.key_hash.encode()


async def test_a_failed_request_does_not_use_up_its_key(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    key = str(uuid.uuid4())
    error = await rpc_error(stub.CreateAgentIdentity(create_request("!", key), metadata=admin))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    created = await stub.CreateAgentIdentity(create_request(new_handle(), key), metadata=admin)
    assert created.id
    for bad in ("x" * (idempotency.KEY_MAX_LENGTH + 1), "tab\tkey", "naïve", " padded"):
        error = await rpc_error(
            stub.CreateAgentIdentity(create_request(new_handle(), bad), metadata=admin)
        )
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert error.violations[0][0] == "request_id"
    assert await count_identities(stack, account.account_id) == 1


async def test_identity_update_with_a_key_is_replayed(stub: Stub, admin: Metadata) -> None:
    identity = await stub.CreateAgentIdentity(create_request(new_handle(), ""), metadata=admin)
    renamed = new_handle()
    request = config_pb2.UpdateAgentIdentityRequest(
        agent_handle=identity.agent_handle,
        agent_identity=config_pb2.AgentIdentity(agent_handle=renamed),
        request_id=str(uuid.uuid4()),
    )
    first = await stub.UpdateAgentIdentity(request, metadata=admin)
    # Without the key this retry would be NOT_FOUND: the old handle no longer exists.
    assert await stub.UpdateAgentIdentity(request, metadata=admin) == first
    assert first.agent_handle == renamed


async def test_concurrent_requests_with_one_key_write_once_and_agree(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    request = create_request(new_handle(), str(uuid.uuid4()))
    answers = await asyncio.gather(
        *(stub.CreateAgentIdentity(request, metadata=admin) for _ in range(8))
    )
    assert all(answer == answers[0] for answer in answers)
    assert await count_identities(stack, account.account_id) == 1


async def test_a_second_request_waits_for_the_first_in_flight_and_replays_it(
    stack: Stack, account: CreatedAccount
) -> None:
    sessions = stack.config_sessions
    assert isinstance(sessions, WriteSessions)
    principal = Principal(account.account_id, Scope.ADMIN, account.api_key_id)
    request = create_request(new_handle(), str(uuid.uuid4()))
    inside, release = asyncio.Event(), asyncio.Event()
    second_wrote = False

    async def first_write() -> config_pb2.AgentIdentity:
        async with sessions.begin() as session:
            inside.set()
            await release.wait()  # the key is claimed; the transaction is still open
            identity = AgentIdentity(
                account_id=account.account_id,
                agent_handle=request.agent_identity.agent_handle,
                display_name="first",
            )
            session.add(identity)
            await session.flush()
            return config_pb2.AgentIdentity(id=identity.id, display_name="first")

    async def second_write() -> config_pb2.AgentIdentity:
        nonlocal second_wrote
        identity = await identities.create_identity(
            sessions, principal, request.agent_identity.agent_handle, "second", None
        )
        second_wrote = True
        return config_pb2.AgentIdentity(id=identity.identity.id, display_name="second")

    first = asyncio.create_task(
        idempotency.once(sessions, principal, request, config_pb2.AgentIdentity, first_write)
    )
    await inside.wait()
    second = asyncio.create_task(
        idempotency.once(sessions, principal, request, config_pb2.AgentIdentity, second_write)
    )
    await asyncio.sleep(0.2)  # let the second reach the key (it blocks there, or comes later)
    assert not second.done()
    release.set()
    first_answer, second_answer = await asyncio.gather(first, second)
    assert second_answer == first_answer
    assert second_answer.display_name == "first"
    assert not second_wrote
    assert await count_identities(stack, account.account_id) == 1


async def test_a_replica_or_a_restarted_process_replays_from_the_database(
    stub: Stub, admin: Metadata, stack: Stack, workdir: Path
) -> None:
    request = create_request(new_handle(), str(uuid.uuid4()))
    first = await stub.CreateAgentIdentity(request, metadata=admin)
    settings, _ = service_settings(stack.database_urls, workdir)
    replica = await config_server.start(settings)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{replica.port}") as channel:
            replayed = await config_pb2_grpc.ConfigServiceStub(channel).CreateAgentIdentity(
                request, metadata=admin
            )
    finally:
        await replica.stop(0.5)
    assert replayed == first


async def test_keys_older_than_the_retention_are_pruned_and_free_again(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount
) -> None:
    request = create_request(new_handle(), str(uuid.uuid4()))
    first = await stub.CreateAgentIdentity(request, metadata=admin)
    sessions = stack.config_sessions
    assert isinstance(sessions, WriteSessions)
    assert await idempotency.prune(sessions, timedelta(hours=1)) == 0  # never under 24 h
    async with sessions.begin() as session:
        await session.execute(
            update(IDEMPOTENCY_KEYS)
            .where(IDEMPOTENCY_KEYS.c.account_id == account.account_id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    assert await idempotency.prune(sessions, idempotency.DEFAULT_RETENTION) >= 1
    # The key is free: the same request runs again (and meets the identity it made).
    error = await rpc_error(stub.CreateAgentIdentity(request, metadata=admin))
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert first.id


async def test_a_starting_process_prunes_old_keys(
    stub: Stub, admin: Metadata, stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    await stub.CreateAgentIdentity(create_request(new_handle(), str(uuid.uuid4())), metadata=admin)
    mine = IDEMPOTENCY_KEYS.c.account_id == account.account_id
    async with stack.config_sessions.begin() as session:
        await session.execute(
            update(IDEMPOTENCY_KEYS).where(mine).values(created_at=utcnow() - timedelta(days=2))
        )
    settings, _ = service_settings(stack.database_urls, workdir)
    replica = await config_server.start(settings)
    try:
        for _ in range(300):  # the first round runs at start-up; allow a loaded machine 30 s
            async with stack.config_sessions() as session:
                left = await session.scalar(select(func.count()).where(mine))
            if left == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await replica.stop(0.5)
    assert left == 0


async def test_registry_assign_and_strategy_create_replay(stack: Stack) -> None:
    tenant = await create_tenant(stack)
    assign = registry_pb2.AssignInboundNumberRequest(
        assistant_id=tenant.assistant_id,
        service="exotel",
        inbound_config=registry_pb2.InboundConfig(phone_number=fresh_number()),
        request_id=str(uuid.uuid4()),
    )
    numbers = numbers_stub(stack)
    first = await numbers.AssignInboundNumber(assign, metadata=tenant.metadata)
    assert await numbers.AssignInboundNumber(assign, metadata=tenant.metadata) == first
    moved = registry_pb2.AssignInboundNumberRequest()
    moved.CopyFrom(assign)
    moved.inbound_config.phone_number = fresh_number()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await numbers.AssignInboundNumber(moved, metadata=tenant.metadata)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    create = registry_pb2.CreateInboundContextStrategyRequest(
        strategy_name="CRM",
        strategy_type="webhook",
        strategy_config=registry_pb2.StrategyConfig(
            url="https://crm.example.com/lookup", headers={"X-Api-Key": "crm-secret"}
        ),
        request_id=str(uuid.uuid4()),
    )
    strategies = strategies_stub(stack)
    made = await strategies.CreateInboundContextStrategy(create, metadata=tenant.metadata)
    assert await strategies.CreateInboundContextStrategy(create, metadata=tenant.metadata) == made
    listed = await strategies.ListInboundContextStrategies(
        registry_pb2.ListInboundContextStrategiesRequest(), metadata=tenant.metadata
    )
    assert [s.id for s in listed.strategies] == [made.id]


async def test_retention_setting_cannot_go_under_a_day(stack: Stack, workdir: Path) -> None:
    with pytest.raises(ValueError, match="idempotency_retention_hours"):
        service_settings(stack.database_urls, workdir, idempotency_retention_hours=1)
