"""``InboundNumberService`` over gRPC: update masks, paging input, auth, concurrency."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import func, select
from switchboard.registry.v1 import registry_pb2

from services.registry.models import InboundNumber
from tests.services.registry.factories import (
    Tenant,
    fresh_number,
    numbers_stub,
    status_of,
)
from tests.support.stack import Stack

CONTENDERS = 64


def assign_request(assistant_id: str, number: str) -> registry_pb2.AssignInboundNumberRequest:
    return registry_pb2.AssignInboundNumberRequest(
        assistant_id=assistant_id,
        service="exotel",
        inbound_config=registry_pb2.InboundConfig(phone_number=number),
    )


async def assign(stack: Stack, tenant: Tenant, number: str) -> registry_pb2.InboundNumber:
    mapping: registry_pb2.InboundNumber = await numbers_stub(stack).AssignInboundNumber(
        assign_request(tenant.assistant_id, number), metadata=tenant.metadata
    )
    return mapping


async def test_assign_returns_the_mapping_with_names(stack: Stack, tenant: Tenant) -> None:
    number = fresh_number()
    mapping = await assign(stack, tenant, number)
    assert mapping.phone_number == number
    assert mapping.phone_number_normalized == number.removeprefix("+")
    assert mapping.assistant_id == tenant.assistant_id
    assert mapping.assistant_name == tenant.assistant_name
    assert not mapping.HasField("inbound_context_strategy_id")
    assert mapping.inbound_config.type == "exotel"
    assert mapping.create_time == mapping.update_time


async def test_update_mask_semantics(stack: Stack, tenant: Tenant) -> None:
    mapping = await assign(stack, tenant, fresh_number())
    stub = numbers_stub(stack)

    async def update(paths: list[str], **links: Any) -> registry_pb2.InboundNumber:
        result: registry_pb2.InboundNumber = await stub.UpdateInboundNumber(
            registry_pb2.UpdateInboundNumberRequest(
                inbound_id=mapping.id,
                inbound_number=registry_pb2.InboundNumberLinks(**links),
                update_mask=FieldMask(paths=paths),
            ),
            metadata=tenant.metadata,
        )
        return result

    # A set field outside the mask is ignored; a masked unset field detaches.
    kept = await update(["inbound_context_strategy_id"], assistant_id=str(uuid.uuid4()))
    assert kept.assistant_id == tenant.assistant_id
    assert kept.assistant_name == tenant.assistant_name
    cleared = await update(["assistant_id"])
    assert not cleared.HasField("assistant_id")
    assert not cleared.HasField("assistant_name")
    restored = await update(["assistant_id"], assistant_id=tenant.assistant_id.upper())
    assert restored.assistant_id == tenant.assistant_id

    for paths in ([], ["phone_number"], ["assistant_id", ""]):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await update(paths)
        assert status_of(caught.value) == grpc.StatusCode.INVALID_ARGUMENT


async def test_list_page_size_and_token_validation(stack: Stack, tenant: Tenant) -> None:
    for _ in range(3):
        await assign(stack, tenant, fresh_number())
    stub = numbers_stub(stack)
    first = await stub.ListInboundNumbers(
        registry_pb2.ListInboundNumbersRequest(page_size=2), metadata=tenant.metadata
    )
    assert len(first.inbound_numbers) == 2
    assert first.next_page_token
    default = await stub.ListInboundNumbers(
        registry_pb2.ListInboundNumbersRequest(), metadata=tenant.metadata
    )
    assert len(default.inbound_numbers) == 3
    assert default.next_page_token == ""

    bad_requests = [
        registry_pb2.ListInboundNumbersRequest(page_size=-1),
        registry_pb2.ListInboundNumbersRequest(page_token="x"),
        registry_pb2.ListInboundNumbersRequest(
            page_token=first.next_page_token, assistant_id=tenant.assistant_id
        ),
        registry_pb2.ListInboundNumbersRequest(assistant_id="not-a-uuid"),
    ]
    for request in bad_requests:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListInboundNumbers(request, metadata=tenant.metadata)
        assert status_of(caught.value) == grpc.StatusCode.INVALID_ARGUMENT


async def test_calls_without_a_valid_key_are_unauthenticated(stack: Stack, tenant: Tenant) -> None:
    stub = numbers_stub(stack)
    for metadata in ((), (("x-api-key", "sb_wrong"),), (("authorization", "Token abc"),)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListInboundNumbers(
                registry_pb2.ListInboundNumbersRequest(), metadata=metadata
            )
        assert status_of(caught.value) == grpc.StatusCode.UNAUTHENTICATED
    listed = await stub.ListInboundNumbers(
        registry_pb2.ListInboundNumbersRequest(), metadata=(("x-api-key", tenant.api_key),)
    )
    assert listed.next_page_token == ""


async def test_simultaneous_grpc_assigns_of_one_number(stack: Stack, tenant: Tenant) -> None:
    number = fresh_number()
    stub = numbers_stub(stack)

    async def attempt() -> grpc.StatusCode:
        try:
            await stub.AssignInboundNumber(
                assign_request(tenant.assistant_id, number), metadata=tenant.metadata
            )
        except grpc.aio.AioRpcError as error:
            return status_of(error)
        return grpc.StatusCode.OK

    outcomes = Counter(await asyncio.gather(*(attempt() for _ in range(CONTENDERS))))

    assert outcomes == {grpc.StatusCode.OK: 1, grpc.StatusCode.ALREADY_EXISTS: CONTENDERS - 1}
    async with stack.registry_sessions() as session:
        active = await session.scalar(
            select(func.count())
            .select_from(InboundNumber)
            .where(
                InboundNumber.phone_number_normalized == number.removeprefix("+"),
                InboundNumber.active.is_(True),
            )
        )
    assert active == 1
