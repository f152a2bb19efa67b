"""Authenticate and BatchGetAgentIdentities on the fast point-read path, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from services.common.auth import Principal, Scope
from services.common.errors import Unauthenticated
from services.common.storage.db import create_read_only_session_factory, create_session_factory
from services.common.storage.orm import utcnow
from services.common.storage.point_reads import PointQuery, PointReader
from services.config import api_keys, provisioning, repository
from services.config.authentication import LAST_USED_RESOLUTION, Authenticator
from services.config.convert import identity_to_proto
from services.config.identity_read import IdentityBatchReader
from services.config.models import ApiKey
from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.stack import Stack

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def reader(stack: Stack) -> AsyncIterator[PointReader]:
    """A fast read path on the stack's config database."""
    point_reader = PointReader(
        stack.config_engine, create_read_only_session_factory(stack.config_engine)
    )
    yield point_reader
    await point_reader.close()


@pytest.fixture
def authenticator(stack: Stack, reader: PointReader) -> Authenticator:
    return Authenticator(create_session_factory(stack.config_engine), reader)


@pytest.fixture
def session_path_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of the session fallback fail: only the fast path may answer."""

    async def refuse(self: PointQuery, params: Any) -> None:
        raise AssertionError(f"session path used for {params}")

    monkeypatch.setattr(PointQuery, "first_via_session", refuse)
    monkeypatch.setattr(PointQuery, "all_via_session", refuse)


async def key_row(stack: Stack, key_id: str) -> ApiKey:
    async with stack.config_sessions() as session:
        key = await repository.get_api_key(session, key_id)
    assert key is not None
    return key


async def set_key(stack: Stack, key_id: str, **values: Any) -> None:
    async with stack.config_sessions.begin() as session:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(**values))


async def test_admin_and_scoped_keys_authenticate_on_the_fast_path(
    stack: Stack,
    account: CreatedAccount,
    authenticator: Authenticator,
    session_path_forbidden: None,
) -> None:
    assert await authenticator.authenticate(account.api_key) == Principal(
        account.account_id, Scope.ADMIN, account.api_key_id, None
    )
    identity_id = await factories.create_identity(stack, account.account_id)
    admin = await authenticator.authenticate(account.api_key)
    minted = await api_keys.create_api_key(
        stack.config_sessions, admin, "scoped", None, identity_id
    )
    assert await authenticator.authenticate(minted.secret) == Principal(
        account.account_id, Scope.IDENTITY, minted.record.id, identity_id
    )


async def test_unknown_revoked_and_expired_keys_are_unauthenticated(
    stack: Stack,
    account: CreatedAccount,
    authenticator: Authenticator,
    session_path_forbidden: None,
) -> None:
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate("sk_live_not_a_key")
    await set_key(stack, account.api_key_id, expires_at=utcnow() - timedelta(seconds=1))
    with pytest.raises(Unauthenticated, match="expired"):
        await authenticator.authenticate(account.api_key)
    await set_key(stack, account.api_key_id, expires_at=utcnow() + timedelta(hours=1))
    await authenticator.authenticate(account.api_key)
    await provisioning.revoke_key(stack.config_sessions, account.api_key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await authenticator.authenticate(account.api_key)  # at once: nothing is cached


async def test_last_used_at_is_refreshed_at_most_once_a_minute(
    stack: Stack, account: CreatedAccount, authenticator: Authenticator
) -> None:
    assert (await key_row(stack, account.api_key_id)).last_used_at is None
    before = utcnow()
    await authenticator.authenticate(account.api_key)
    first = (await key_row(stack, account.api_key_id)).last_used_at
    assert first is not None and first >= before
    await authenticator.authenticate(account.api_key)
    assert (await key_row(stack, account.api_key_id)).last_used_at == first
    stale = utcnow() - LAST_USED_RESOLUTION
    await set_key(stack, account.api_key_id, last_used_at=stale)
    await authenticator.authenticate(account.api_key)
    refreshed = (await key_row(stack, account.api_key_id)).last_used_at
    assert refreshed is not None and refreshed > stale


async def test_a_failing_fast_path_authenticates_through_the_session(
    account: CreatedAccount,
    authenticator: Authenticator,
    reader: PointReader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = await authenticator.authenticate(account.api_key)

    async def broken(sql: str, args: list[Any], *, one: bool) -> Any:
        raise OSError("connection lost")

    assert reader._backend is not None
    monkeypatch.setattr(reader._backend, "fetch", broken)
    assert await authenticator.authenticate(account.api_key) == fast
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate("sk_live_not_a_key")


@pytest.mark.parametrize("count", [1, 3, 50, 64, 65])
async def test_batch_get_reads_what_the_repository_reads(
    stack: Stack,
    account: CreatedAccount,
    reader: PointReader,
    session_path_forbidden: None,
    count: int,
) -> None:
    ids = [await factories.create_identity(stack, account.account_id) for _ in range(count)]
    other = await provisioning.create_account(stack.config_sessions, "Other account")
    foreign = await factories.create_identity(stack, other.account_id)
    asked = sorted([*ids, foreign, UNKNOWN_ID])
    found = await IdentityBatchReader(reader).get(account.account_id, asked)
    async with stack.config_sessions() as session:
        expected = await repository.get_identities(session, account.account_id, asked)
    assert sorted(identity_to_proto(row).SerializeToString() for row in found) == sorted(
        identity_to_proto(row).SerializeToString() for row in expected
    )
    assert {row.id for row in found} == set(ids)
    assert await IdentityBatchReader(reader).get(account.account_id, []) == []


async def test_batch_get_falls_back_to_the_session(
    stack: Stack, account: CreatedAccount, reader: PointReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await factories.create_identity(stack, account.account_id) for _ in range(3)]
    batch = IdentityBatchReader(reader)
    fast = await batch.get(account.account_id, ids)

    async def broken(sql: str, args: list[Any], *, one: bool) -> Any:
        raise OSError("connection lost")

    assert reader._backend is not None
    monkeypatch.setattr(reader._backend, "fetch", broken)
    assert sorted(await batch.get(account.account_id, ids)) == sorted(fast)
