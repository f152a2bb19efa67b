"""Paging 10,000 mappings over gRPC while others are being added: no duplicates, no gaps."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from switchboard.registry.v1 import registry_pb2

from services.registry.models import InboundNumber
from tests.services.registry.factories import Tenant, fresh_number, numbers_stub
from tests.support.stack import Stack

BULK = 10_000
PAGE_SIZE = 500


async def insert_bulk(stack: Stack, tenant: Tenant) -> set[str]:
    """BULK old mappings straight into the database; groups of three share a created_at."""
    run = random.randrange(10**6)
    start = datetime.now(UTC) - timedelta(days=30)
    rows: list[dict[str, Any]] = []
    for index in range(BULK):
        created = start + timedelta(milliseconds=index // 3)
        number = f"00{run:06d}{index:05d}"  # never a real normalized number
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "account_id": tenant.account_id,
                "phone_number": number,
                "phone_number_normalized": number,
                "service": "exotel",
                "inbound_config": {"type": "exotel", "phone_number": number},
                "assistant_id": tenant.assistant_id if index % 2 else None,
                "active": True,
                "created_at": created,
                "updated_at": created,
            }
        )
    async with stack.registry_sessions.begin() as session:
        await session.execute(insert(InboundNumber), rows)
    return {row["id"] for row in rows}


async def test_ten_thousand_mappings_page_completely_while_more_arrive(
    stack: Stack, tenant: Tenant
) -> None:
    bulk_ids = await insert_bulk(stack, tenant)
    stub = numbers_stub(stack)
    added: list[str] = []
    progress = asyncio.Event()

    async def keep_adding() -> None:
        while True:
            mapping = await stub.AssignInboundNumber(
                registry_pb2.AssignInboundNumberRequest(
                    assistant_id=tenant.assistant_id,
                    service="exotel",
                    inbound_config=registry_pb2.InboundConfig(phone_number=fresh_number()),
                ),
                metadata=tenant.metadata,
            )
            added.append(mapping.id)
            progress.set()

    adder = asyncio.create_task(keep_adding())
    seen: list[registry_pb2.InboundNumber] = []
    token = ""
    pages = 0
    started = time.monotonic()
    try:
        while True:
            progress.clear()
            await asyncio.wait_for(progress.wait(), timeout=30)  # an insert between pages
            page = await stub.ListInboundNumbers(
                registry_pb2.ListInboundNumbersRequest(page_size=PAGE_SIZE, page_token=token),
                metadata=tenant.metadata,
            )
            pages += 1
            seen.extend(page.inbound_numbers)
            token = page.next_page_token
            if not token:
                break
    finally:
        adder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await adder
    elapsed = time.monotonic() - started

    ids = [mapping.id for mapping in seen]
    assert len(ids) == len(set(ids)), "a mapping was returned twice"
    assert bulk_ids <= set(ids), f"{len(bulk_ids - set(ids))} mappings were skipped"
    assert set(ids) - bulk_ids <= set(added)
    assert len(added) >= pages
    keys = [(m.create_time.ToDatetime(), m.id) for m in seen]
    assert keys == sorted(keys, reverse=True)
    assert pages >= BULK // PAGE_SIZE
    named = [m for m in seen if m.id in bulk_ids and m.HasField("assistant_id")]
    assert len(named) == BULK // 2
    assert all(m.assistant_name == tenant.assistant_name for m in named)
    print(f"{stack.backend}: {len(ids)} mappings in {pages} pages in {elapsed:.2f}s")

    capped = await stub.ListInboundNumbers(
        registry_pb2.ListInboundNumbersRequest(page_size=5000), metadata=tenant.metadata
    )
    assert len(capped.inbound_numbers) == 1000
    everything = await stack.http.get("/inbound/list", headers=tenant.headers)
    assert len(everything.json()["data"]) >= BULK + len(added)
