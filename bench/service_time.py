"""Service time of the ConfigInternalService handlers: the servicer called in-process.

No gRPC transport: each call is the servicer's own coroutine, awaited directly with
a minimal context, against the benchmark's config database, with the servicers built
as the config process builds them. What remains is the handler's work (token check,
database read, protobuf building), timed call by call after a warm-up.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import SecretStr

from bench.internal_rpcs import RPCS, Fixture, requests
from bench.report import ServiceTime, summarize_service_time
from services.common.storage.db import create_engine
from services.config.server import build_servicers
from services.config.settings import ConfigSettings

CALLS = 2_000
WARMUP_CALLS = 200

Handler = Callable[[Any, Any], Awaitable[Any]]


class FakeContext:
    """The part of ``grpc.aio.ServicerContext`` the internal servicer uses."""

    def __init__(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._metadata = tuple(metadata)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """The call's metadata."""
        return self._metadata


async def time_calls(
    handler: Handler, requests: Sequence[Any], context: FakeContext, *, warmup: int
) -> ServiceTime:
    """Await ``handler`` on each request in turn; time all but the first ``warmup``."""
    durations: list[int] = []
    clock = time.perf_counter_ns
    for index, request in enumerate(requests):
        began = clock()
        await handler(request, context)
        if index >= warmup:
            durations.append(clock() - began)
    return summarize_service_time(durations)


async def measure(
    database_url: str, fixture: Fixture, *, calls: int = CALLS, seed: int = 0
) -> dict[str, ServiceTime]:
    """Service time of each internal RPC over ``calls`` warm calls."""
    engine = create_engine(database_url)
    settings = ConfigSettings(
        config_database_url=database_url, internal_token=SecretStr(fixture.internal_token)
    )
    servicers = build_servicers(engine, settings)
    context = FakeContext(fixture.metadata())
    try:
        return {
            rpc: await time_calls(
                getattr(servicers.internal, rpc),
                requests(fixture, rpc, WARMUP_CALLS + calls, seed),
                context,
                warmup=WARMUP_CALLS,
            )
            for rpc in RPCS
        }
    finally:
        await servicers.reader.close()
        await engine.dispose()
