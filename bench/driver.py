"""The Python load driver, only for scenarios h2load cannot drive: requests that must differ.

``POST /inbound/assign`` needs a new number per request (h2load repeats one
body), so it runs here: N requests in flight for a fixed time over HTTP/1.1
keep-alive connections, each assigning the next unused benchmark number.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx

from bench.numbers import SERVICE, inbound_number
from bench.report import PointResult, summarize

Call = Callable[[int], Awaitable[str | None]]
"""Sends request ``i``; None when OK, else an error label."""
REQUEST_TIMEOUT_S = 10.0


async def measure(
    call: Call, *, concurrency: int, warmup_s: float, duration_s: float
) -> PointResult:
    """Keep ``concurrency`` calls in flight; time those that complete in the window.

    The window opens ``warmup_s`` after the start and lasts ``duration_s``;
    requests completing outside it are not counted.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    window_open = start + warmup_s
    window_close = window_open + duration_s
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while True:
            sent = time.perf_counter()
            if sent >= window_close:
                return
            counter += 1
            outcome = await call(counter)
            done = time.perf_counter()
            if window_open <= sent and done <= window_close:
                if outcome is None:
                    latencies.append(done - sent)
                else:
                    errors[outcome] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summarize(latencies, errors, duration_s)


def assign_call(client: httpx.AsyncClient, api_key: str, assistant_id: str, first: int) -> Call:
    """``POST /inbound/assign`` of number ``first + i`` (never loaded before) to the assistant."""

    async def call(i: int) -> str | None:
        number = inbound_number(first + i)
        body = {
            "assistant_id": assistant_id,
            "service": SERVICE,
            "inbound_config": {"type": SERVICE, "phone_number": number},
        }
        try:
            response = await client.post(
                "/inbound/assign",
                json=body,
                headers={"authorization": f"Bearer {api_key}"},
                timeout=REQUEST_TIMEOUT_S,
            )
        except httpx.HTTPError as error:
            return type(error).__name__
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

    return call


async def measure_assign(
    base_url: str,
    api_key: str,
    assistant_id: str,
    first: int,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
) -> PointResult:
    """One assign point against the gateway at ``base_url``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
        return await measure(
            assign_call(client, api_key, assistant_id, first),
            concurrency=concurrency,
            warmup_s=warmup_s,
            duration_s=duration_s,
        )
