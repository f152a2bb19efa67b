"""64 simultaneous REST assigns of one number: exactly one wins, the rest are 409."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from services.registry.models import InboundNumber
from tests.services.registry.factories import Tenant, assign_body, create_tenant, fresh_number
from tests.support.stack import Stack

CONTENDERS = 64


async def test_simultaneous_assigns_of_one_number(stack: Stack, tenant: Tenant) -> None:
    others = [await create_tenant(stack) for _ in range(3)]
    callers = [tenant, *others]
    number = fresh_number()

    async def attempt(index: int) -> int:
        caller = callers[index % len(callers)]
        response = await stack.http.post(
            "/inbound/assign",
            headers=caller.headers,
            json=assign_body(caller.assistant_id, number),
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(attempt(i) for i in range(CONTENDERS))))

    assert statuses == {200: 1, 409: CONTENDERS - 1}
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
