"""A separate process that races for capacity leases: ``python -m tests.support.capacity_worker``.

Arguments: database URL, scope key, limit, number of calls, call-id prefix. It opens its own
engine (its own connection pool), warms one connection per call, prints ``ready``, waits for
a line on stdin, then acquires all its calls at once and prints the call ids it got as one
JSON list. Two of these started together are two replicas racing in the same instant.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

from services.common.storage.db import create_engine, create_session_factory
from services.registry.capacity_leases import CapacityLeases, CapacityScope, Lease


async def _race(url: str, scope_key: str, limit: int, calls: int, prefix: str) -> list[str]:
    engine = create_engine(url, pool_size=calls)
    try:
        leases = CapacityLeases(create_session_factory(engine))
        connections = [await engine.connect() for _ in range(calls)]
        for connection in connections:
            await connection.close()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        scope = [CapacityScope(scope_key, limit)]
        results = await asyncio.gather(
            *(
                leases.acquire(f"{prefix}-{index}", scope, timedelta(minutes=5))
                for index in range(calls)
            )
        )
        return [result.call_id for result in results if isinstance(result, Lease)]
    finally:
        await engine.dispose()


def main() -> None:
    """Race, then print what was acquired."""
    url, scope_key, limit, calls, prefix = sys.argv[1:6]
    acquired = asyncio.run(_race(url, scope_key, int(limit), int(calls), prefix))
    print(json.dumps(acquired), flush=True)


if __name__ == "__main__":
    main()
