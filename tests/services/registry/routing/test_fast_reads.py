"""The routing reads on the fast point-read path agree with the ORM session path, both databases."""

from __future__ import annotations

from typing import Any

import pytest
from switchboard.config.v1 import config_pb2

from services.common.storage.db import create_read_only_session_factory
from services.common.storage.point_reads import PointQuery, PointReader
from services.config import repository
from services.config.call_target_read import CallTargetReader
from services.config.convert import call_action_to_proto, identity_to_proto
from services.config.provisioning import CreatedAccount
from services.registry.routing.mapping_lookup import MappingLookup
from tests.services.registry.routing import factories
from tests.support.stack import Stack


@pytest.fixture
def session_path_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any use of the session fallback fail: only the fast path may answer."""

    async def refuse(self: PointQuery, params: Any) -> None:
        raise AssertionError(f"session path used for {params}")

    monkeypatch.setattr(PointQuery, "first_via_session", refuse)


async def test_the_mapping_read_is_answered_by_the_fast_path(
    stack: Stack, account: CreatedAccount, session_path_forbidden: None
) -> None:
    strategy_id = await factories.create_strategy(
        stack, account.account_id, "https://crm.example.com/x", headers={"A": "b"}
    )
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", strategy_id=strategy_id
    )
    engine = stack.registry_engine
    reader = PointReader(engine, create_read_only_session_factory(engine))
    lookup = MappingLookup(reader)
    try:
        found = await lookup.find(mapping.normalized, None)
        assert found is not None
        assert (found.inbound_id, found.account_id, found.assistant_id) == (
            mapping.inbound_id,
            account.account_id,
            mapping.assistant_id,
        )
        assert found.strategy is not None
        assert found.strategy.config == {
            "url": "https://crm.example.com/x",
            "headers": {"A": "b"},
            "timeout_seconds": 2.0,
        }
        assert await lookup.find(mapping.normalized, account.account_id) == found
        assert await lookup.find(mapping.normalized, "00000000-0000-0000-0000-000000000000") is None
        await factories.deactivate(stack, mapping.inbound_id)
        assert await lookup.find(mapping.normalized, None) is None  # no caching: at once
    finally:
        await reader.close()


async def test_a_failing_fast_path_falls_back_to_the_session(
    stack: Stack, account: CreatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = await factories.routed_identity(stack, account.account_id, "auto_accept")
    engine = stack.registry_engine
    reader = PointReader(engine, create_read_only_session_factory(engine))
    lookup = MappingLookup(reader)
    try:
        fast = await lookup.find(mapping.normalized, None)
        backend = reader._backend
        assert backend is not None

        async def broken(sql: str, args: list[Any], *, one: bool) -> Any:
            raise OSError("connection lost")

        monkeypatch.setattr(backend, "fetch", broken)
        assert await lookup.find(mapping.normalized, None) == fast
    finally:
        await reader.close()


async def test_resolve_call_target_reads_what_the_repository_reads(
    stack: Stack, account: CreatedAccount, session_path_forbidden: None
) -> None:
    mapping = await factories.routed_identity(
        stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url="https://hooks.example.com/in",
        webhook_timeout_ms=1500,
        fallback_action="forward",
        fallback_forwarding_target_type="phone",
        fallback_forwarding_phone_number="+14155550100",
    )
    bare = await factories.create_identity(stack, account.account_id, "No action")
    assert mapping.assistant_id is not None
    await factories.set_signing_key(stack, mapping.assistant_id, "whsec_test")
    readers = create_read_only_session_factory(stack.config_engine)
    point_reader = PointReader(stack.config_engine, readers)
    reader = CallTargetReader(point_reader)
    try:
        for identity_id in (mapping.assistant_id, bare):
            resolved = await reader.resolve(identity_id)
            assert resolved is not None
            async with readers() as session:
                identity = await repository.get_identity(session, identity_id)
                action = await repository.get_call_action(session, identity_id)
                key = await repository.get_signing_key(session, identity_id)
            assert identity is not None
            assert identity_to_proto(resolved.identity) == identity_to_proto(identity)
            assert (resolved.action is None) == (action is None)
            if action is not None and resolved.action is not None:
                assert call_action_to_proto(resolved.action) == call_action_to_proto(action)
            assert resolved.signing_key == (key.secret if key is not None else None)
            assert (key is None) == (identity_id == bare)
        assert await reader.resolve("00000000-0000-0000-0000-000000000000") is None
    finally:
        await point_reader.close()


async def test_another_identitys_signing_key_is_not_resolved(
    stack: Stack, account: CreatedAccount
) -> None:
    keyed = await factories.create_identity(stack, account.account_id)
    bare = await factories.create_identity(stack, account.account_id)
    await factories.set_signing_key(stack, keyed, "whsec_keyed")
    point_reader = PointReader(
        stack.config_engine, create_read_only_session_factory(stack.config_engine)
    )
    reader = CallTargetReader(point_reader)
    try:
        resolved = await reader.resolve(bare)
        assert resolved is not None
        assert resolved.signing_key is None
        assert isinstance(identity_to_proto(resolved.identity), config_pb2.AgentIdentity)
        keyed_target = await reader.resolve(keyed)
        assert keyed_target is not None and keyed_target.signing_key == "whsec_keyed"
    finally:
        await point_reader.close()
