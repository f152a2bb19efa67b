"""``InboundContextStrategyService`` over gRPC, and URL safety with private URLs refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import select
from switchboard.registry.v1 import registry_pb2

from services.common.auth import Principal, Scope
from services.common.errors import InvalidArgument
from services.registry.models import InboundNumber
from services.registry.strategies import InboundContextStrategies, NewStrategy
from services.registry.strategy_config import StrategyPatch, WebhookConfigPatch
from tests.services.registry.factories import (
    Tenant,
    create_scoped_key,
    fresh_number,
    grpc_metadata,
    numbers_stub,
    status_of,
    strategies_stub,
)
from tests.support.stack import Stack


async def create(
    stack: Stack, tenant: Tenant, **config: Any
) -> registry_pb2.InboundContextStrategy:
    strategy: registry_pb2.InboundContextStrategy = await strategies_stub(
        stack
    ).CreateInboundContextStrategy(
        registry_pb2.CreateInboundContextStrategyRequest(
            strategy_name="CRM",
            strategy_type="webhook",
            strategy_config=registry_pb2.StrategyConfig(
                url="https://crm.example.com/lookup", **config
            ),
        ),
        metadata=tenant.metadata,
    )
    return strategy


async def test_create_defaults_the_timeout_and_masks_on_every_read(
    stack: Stack, tenant: Tenant
) -> None:
    created = await create(
        stack, tenant, headers={"X-Api-Key": "secret", "X-Env": "prod", "X-Pass": "p"}
    )
    assert created.strategy_config.timeout.ToTimedelta() == timedelta(seconds=10)
    assert dict(created.strategy_config.headers) == {
        "X-Api-Key": "****",
        "X-Env": "prod",
        "X-Pass": "****",
    }
    fetched = await strategies_stub(stack).GetInboundContextStrategy(
        registry_pb2.GetInboundContextStrategyRequest(inbound_context_strategy_id=created.id),
        metadata=tenant.metadata,
    )
    assert fetched == created


async def test_update_request_rules(stack: Stack, tenant: Tenant) -> None:
    created = await create(stack, tenant, headers={"X-A": "1"})
    stub = strategies_stub(stack)

    async def update(
        patch: registry_pb2.InboundContextStrategyPatch, paths: list[str] | None = None
    ) -> registry_pb2.InboundContextStrategy:
        result: registry_pb2.InboundContextStrategy = await stub.UpdateInboundContextStrategy(
            registry_pb2.UpdateInboundContextStrategyRequest(
                inbound_context_strategy_id=created.id,
                strategy=patch,
                update_mask=FieldMask(paths=paths or []),
            ),
            metadata=tenant.metadata,
        )
        return result

    renamed = await update(
        registry_pb2.InboundContextStrategyPatch(strategy_name="New", strategy_type="webhook"),
        ["strategy_name"],
    )
    assert renamed.strategy_name == "New"  # strategy_type is outside the mask: ignored
    patch = registry_pb2.InboundContextStrategyPatch(strategy_type="webhook")
    patch.strategy_config.headers["X-A"].null_value = struct_pb2.NULL_VALUE
    patch.strategy_config.headers["X-B"].string_value = "2"
    merged = await update(patch)
    assert dict(merged.strategy_config.headers) == {"X-B": "2"}

    number_header = registry_pb2.InboundContextStrategyPatch(strategy_type="webhook")
    number_header.strategy_config.headers["X-C"].number_value = 3
    long_timeout = registry_pb2.InboundContextStrategyPatch(strategy_type="webhook")
    long_timeout.strategy_config.timeout.FromSeconds(11)
    invalid: list[tuple[registry_pb2.InboundContextStrategyPatch, list[str] | None]] = [
        (number_header, None),
        (long_timeout, None),
        (registry_pb2.InboundContextStrategyPatch(strategy_name="x"), ["strategy_config.url"]),
        (registry_pb2.InboundContextStrategyPatch(strategy_name="x"), ["strategy_type"]),
        (registry_pb2.InboundContextStrategyPatch(), None),
    ]
    for bad, paths in invalid:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await update(bad, paths)
        assert status_of(caught.value) == grpc.StatusCode.INVALID_ARGUMENT


async def test_delete_detaches_in_the_same_transaction(stack: Stack, tenant: Tenant) -> None:
    strategy = await create(stack, tenant)
    numbers = numbers_stub(stack)
    mappings = [
        await numbers.AssignInboundNumber(
            registry_pb2.AssignInboundNumberRequest(
                assistant_id=tenant.assistant_id,
                inbound_context_strategy_id=strategy.id,
                service="exotel",
                inbound_config=registry_pb2.InboundConfig(phone_number=fresh_number()),
            ),
            metadata=tenant.metadata,
        )
        for _ in range(3)
    ]
    assert all(m.inbound_context_strategy_name == "CRM" for m in mappings)

    await strategies_stub(stack).DeleteInboundContextStrategy(
        registry_pb2.DeleteInboundContextStrategyRequest(inbound_context_strategy_id=strategy.id),
        metadata=tenant.metadata,
    )

    async with stack.registry_sessions() as session:
        rows = (
            await session.scalars(
                select(InboundNumber).where(InboundNumber.id.in_([m.id for m in mappings]))
            )
        ).all()
    assert len(rows) == 3
    for row in rows:
        assert row.inbound_context_strategy_id is None
        assert row.active and row.assistant_id == tenant.assistant_id
        assert row.updated_at > row.created_at


async def test_private_and_metadata_urls_are_refused_unless_allowed(
    stack: Stack, tenant: Tenant
) -> None:
    strict = InboundContextStrategies(
        stack.registry_sessions, stack.registry_sessions, allow_private_urls=False
    )
    admin = Principal(tenant.account_id, Scope.ADMIN, tenant.api_key_id)
    for url in (
        "http://127.0.0.1/lookup",
        "http://10.1.2.3/",
        "https://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://metadata.google.internal/",
        "http://localhost:8080/",
        "http://crm.internal/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "https://intranet/",
    ):
        with pytest.raises(InvalidArgument) as caught:
            await strict.create(admin, NewStrategy("S", "webhook", url, {}))
        assert caught.value.violations[0].field == "strategy_config.url"
    created = await strict.create(
        admin, NewStrategy("S", "webhook", "https://crm.example.com/x", {})
    )
    with pytest.raises(InvalidArgument):
        await strict.update(
            admin,
            created.id,
            StrategyPatch(
                strategy_type="webhook",
                strategy_config=WebhookConfigPatch(url="http://127.0.0.1/"),
            ),
        )
    lenient = InboundContextStrategies(
        stack.registry_sessions, stack.registry_sessions, allow_private_urls=True
    )
    allowed = await lenient.create(admin, NewStrategy("S", "webhook", "http://127.0.0.1:9/", {}))
    assert allowed.config["url"] == "http://127.0.0.1:9/"


async def test_identity_scoped_keys_cannot_read_strategies_over_grpc(
    stack: Stack, tenant: Tenant
) -> None:
    created = await create(stack, tenant, headers={"X-Env": "prod"})
    scoped = grpc_metadata(await create_scoped_key(stack, tenant.account_id, tenant.assistant_id))
    stub = strategies_stub(stack)
    for call in (
        stub.GetInboundContextStrategy(
            registry_pb2.GetInboundContextStrategyRequest(inbound_context_strategy_id=created.id),
            metadata=scoped,
        ),
        stub.ListInboundContextStrategies(
            registry_pb2.ListInboundContextStrategiesRequest(), metadata=scoped
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert status_of(caught.value) == grpc.StatusCode.PERMISSION_DENIED
