"""The load generator, run in its own process: N requests in flight for a fixed time.

Prints one JSON object (a :class:`bench.report.PointResult`) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import grpc
from switchboard.bench.v1 import echo_pb2, echo_pb2_grpc
from switchboard.config.v1 import config_pb2_grpc
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from bench import internal_rpcs
from bench.numbers import CALLER_NUMBER, SERVICE, inbound_number
from bench.report import PointResult, summarize

REQUEST_POOL = 50_000
"""Distinct pre-built requests cycled through (numbers drawn at random from the loaded set)."""
INTERNAL_REQUEST_POOL = 5_000
"""Distinct pre-built ConfigInternalService requests cycled through."""
RPC_TIMEOUT_S = 10.0

Call = Callable[[int], Awaitable[str | None]]
"""Sends request ``i`` of the pool; None when OK, else an error label."""


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


def echo_call(channel: grpc.aio.Channel, pool_size: int) -> Call:
    """Echo of a payload the size of a dialed number."""
    stub = echo_pb2_grpc.EchoServiceStub(channel)
    requests = [echo_pb2.EchoRequest(payload=inbound_number(i)) for i in range(pool_size)]

    async def call(i: int) -> str | None:
        try:
            await stub.Echo(requests[i % pool_size], timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        return None

    return call


def route_call(channel: grpc.aio.Channel, mappings: int, token: str, seed: int) -> Call:
    """RouteCall for numbers drawn at random from the ``mappings`` loaded ones.

    Every loaded number routes to an ``auto_accept`` identity, so anything but
    ACCEPT is counted as an error (the hot path was not measured).
    """
    stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
    draw = random.Random(seed)
    requests = [
        registry_pb2.RouteCallRequest(
            inbound_number=inbound_number(draw.randrange(mappings)),
            caller_number=CALLER_NUMBER,
            call_id=f"bench-{seed}-{i}",
            service=SERVICE,
        )
        for i in range(REQUEST_POOL)
    ]
    metadata = (("authorization", f"Bearer {token}"),)

    async def call(i: int) -> str | None:
        try:
            response = await stub.RouteCall(
                requests[i % REQUEST_POOL], metadata=metadata, timeout=RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        if response.decision != registry_pb2.ROUTING_DECISION_ACCEPT:
            reason = registry_pb2.RejectReason.Name(response.reject_reason)
            return f"decision={registry_pb2.RoutingDecision.Name(response.decision)}/{reason}"
        return None

    return call


def internal_call(
    channel: grpc.aio.Channel, rpc: str, fixture: internal_rpcs.Fixture, seed: int
) -> Call:
    """One ConfigInternalService RPC, with the internal token, checked for the right answer."""
    method = getattr(config_pb2_grpc.ConfigInternalServiceStub(channel), rpc)
    requests = internal_rpcs.requests(fixture, rpc, INTERNAL_REQUEST_POOL, seed)
    metadata = fixture.metadata()

    async def call(i: int) -> str | None:
        request = requests[i % INTERNAL_REQUEST_POOL]
        try:
            response = await method(request, metadata=metadata, timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
        return internal_rpcs.check(rpc, request, response)

    return call


async def run(args: argparse.Namespace) -> PointResult:
    """Connect, then measure one point."""
    async with grpc.aio.insecure_channel(args.target) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=10)
        if args.kind == "echo":
            call = echo_call(channel, REQUEST_POOL)
        elif args.kind == "route":
            call = route_call(channel, args.mappings, args.token, args.seed)
        else:
            fixture = internal_rpcs.Fixture.load(args.fixture)
            call = internal_call(channel, args.kind, fixture, args.seed)
        return await measure(
            call, concurrency=args.concurrency, warmup_s=args.warmup, duration_s=args.duration
        )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.driver --kind route --target HOST:PORT ...``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kind", choices=("echo", "route", *internal_rpcs.RPCS), required=True)
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--mappings", type=int, default=1, help="route: numbers loaded")
    parser.add_argument("--token", default="", help="route: bearer credential")
    parser.add_argument(
        "--fixture", type=Path, help="internal RPCs: the JSON file of internal_rpcs.Fixture"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
