"""The Python load driver, only for scenarios h2load cannot drive: requests that must differ.

``POST /inbound/assign`` needs a new number per request (h2load repeats one
body), so it runs here: N requests in flight for a fixed time over HTTP/1.1
keep-alive connections, each assigning the next unused benchmark number.

Each request in flight has a client (and connection) of its own: one httpx client
sharing 64 connections spent most of a core in its pool's bookkeeping, capping the
point at ~130 req/s with p99 near 2 s, the driver's limit rather than the gateway's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import httpx

from bench.numbers import SERVICE, inbound_number
from bench.report import PointResult, summarize

Call = Callable[[int], Awaitable[str | None]]
"""Sends request ``i``; None when OK, else an error label."""
REQUEST_TIMEOUT_S = 10.0


async def measure(calls: Sequence[Call], *, warmup_s: float, duration_s: float) -> PointResult:
    """Keep one call of each of ``calls`` in flight; time those that complete in the window.

    The window opens ``warmup_s`` after the start and lasts ``duration_s``;
    requests completing outside it are not counted.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = time.perf_counter()
    window_open = start + warmup_s
    window_close = window_open + duration_s
    counter = 0

    async def worker(call: Call) -> None:
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

    await asyncio.gather(*(worker(call) for call in calls))
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
    """One assign point against the gateway at ``base_url``: ``concurrency`` clients, each
    with one connection and one request in flight (numbers ``first + i``, ``i`` counting all)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, limits=limits))
            for _ in range(concurrency)
        ]
        calls = [assign_call(client, api_key, assistant_id, first) for client in clients]
        return await measure(calls, warmup_s=warmup_s, duration_s=duration_s)
