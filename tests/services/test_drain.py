"""SIGTERM under load drops nothing: 16 calls waiting on 8 s webhooks, registry and gateway.

Real ``switchboard serve`` processes with the default shutdown grace (which must cover the
longest routing budget) and a short drain delay. On SIGTERM health reports NOT_SERVING
(gRPC ``Check``, gateway ``/readyz``) while in-flight and new work is still served; then
new work is refused and every call in flight finishes.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.common.budgets import LONGEST_ROUTING_WAIT_SECONDS, STRATEGY_BUDGET, WEBHOOK_BUDGET
from services.common.settings import BaseServiceSettings
from services.config.provisioning import CreatedAccount
from services.registry.settings import RegistrySettings
from tests.services.registry.routing import factories
from tests.support.https_receiver import HttpsReceiver, Reply
from tests.support.processes import cli_env, eventually, free_port
from tests.support.routing_stack import EDGE_TOKEN
from tests.support.serve_all import Served, serving
from tests.support.stack import Stack

STARTED = time.monotonic()
IN_FLIGHT = 16
WEBHOOK_SECONDS = 8.0
DRAIN_SECONDS = 10.0
ANSWERED = "wss://drained.example.com/stream"
EDGE = (("x-switchboard-edge-token", EDGE_TOKEN),)


def test_default_grace_covers_the_longest_routing_budget() -> None:
    assert max(WEBHOOK_BUDGET.maximum, STRATEGY_BUDGET.maximum) <= LONGEST_ROUTING_WAIT_SECONDS
    # The webhook and the strategy run concurrently, after the config calls routing makes
    # (auth, call target), each bounded by the registry's config timeout.
    worst = LONGEST_ROUTING_WAIT_SECONDS + 2 * RegistrySettings().config_timeout_seconds
    assert BaseServiceSettings().shutdown_grace_seconds > worst


@pytest.fixture
async def processes(
    stack: Stack, receiver: HttpsReceiver, account: CreatedAccount, workdir: Path
) -> AsyncIterator[dict[str, Served]]:
    """config, registry and two gateways as real processes on the suite's databases."""
    ports = {name: free_port() for name in ("config", "registry")}
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_PORT=str(ports["config"]),
        SWITCHBOARD_REGISTRY_PORT=str(ports["registry"]),
        SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"],
        SWITCHBOARD_REGISTRY_DATABASE_URL=stack.database_urls["registry"],
        SWITCHBOARD_MIGRATE_ON_START="false",
        SWITCHBOARD_ALLOW_PRIVATE_URLS="true",
        SWITCHBOARD_OUTBOUND_CA_FILE=str(receiver.ca_file),
        SWITCHBOARD_EDGE_TOKEN=EDGE_TOKEN,
        SWITCHBOARD_SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
        # Generous upstream deadlines: this test is about shutdown, not speed under load.
        SWITCHBOARD_CONFIG_TIMEOUT_SECONDS="10",
        SWITCHBOARD_UPSTREAM_TIMEOUT_SECONDS="30",
    )
    wanted = {
        "config": ("config", ports["config"]),
        "registry": ("registry", ports["registry"]),
        "gateway-1": ("gateway", free_port()),
        "gateway-2": ("gateway", free_port()),
        "short-grace": ("gateway", free_port()),
    }
    short_grace = {
        "SWITCHBOARD_SHUTDOWN_DRAIN_SECONDS": "0",
        "SWITCHBOARD_SHUTDOWN_GRACE_SECONDS": "1",
    }
    async with serving(wanted, workdir, env, {"short-grace": short_grace}) as started:
        yield started


@dataclass(frozen=True)
class SlowNumber:
    """A mapped number whose webhook answers after WEBHOOK_SECONDS, and that webhook."""

    number: str
    receiver: HttpsReceiver
    url: str

    async def reached(self, count: int) -> None:
        """Wait until ``count`` calls in all have reached the webhook (they are in flight)."""

        async def enough() -> bool:
            return len(self.receiver.received(self.url)) >= count

        assert await eventually(enough, timeout=60)


@pytest.fixture
async def slow(stack: Stack, receiver: HttpsReceiver, account: CreatedAccount) -> SlowNumber:
    """A number whose identity's webhook answers after WEBHOOK_SECONDS."""
    url = receiver.endpoint(Reply.json({"action": "answer"}, delay=WEBHOOK_SECONDS))
    mapping = await factories.routed_identity(
        stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        client_websocket_url=ANSWERED,
        webhook_timeout_ms=round(WEBHOOK_BUDGET.maximum * 1000),
    )
    return SlowNumber(mapping.number, receiver, url)


async def _health(target: str) -> str:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


async def _route_grpc(target: str, number: str) -> str:
    """One RouteCall as the edge: ``accept`` or what went wrong."""
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            response = await registry_pb2_grpc.CallRoutingServiceStub(channel).RouteCall(
                pb.RouteCallRequest(
                    inbound_number=number, caller_number="+919900000001", service="exotel"
                ),
                metadata=EDGE,
                timeout=30,
            )
        except grpc.aio.AioRpcError as error:
            return str(error.code().name)
    if (
        response.decision == pb.ROUTING_DECISION_ACCEPT
        and response.client_websocket_url == ANSWERED
    ):
        return "accept"
    return pb.RoutingDecision.Name(response.decision)


async def _route_http(http: httpx.AsyncClient, number: str) -> str:
    """One POST /v1/calls:route as the edge: ``accept`` or the status and body."""
    try:
        response = await http.post(
            "/v1/calls:route",
            headers={"Authorization": f"Bearer {EDGE_TOKEN}"},
            json={"inbound_number": number, "caller_number": "+919900000001", "service": "exotel"},
        )
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.status_code == 200 and response.json()["client_websocket_url"] == ANSWERED:
        return "accept"
    return f"{response.status_code} {response.text} at {time.monotonic() - STARTED:.2f}"


async def _route_http_at(url: str, number: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return await _route_http(http, number)


@pytest.mark.timeout(400)  # five processes to start, then two drains and 8 s webhooks
async def test_sigterm_under_load_fails_no_request_in_flight(
    processes: dict[str, Served], slow: SlowNumber
) -> None:
    slow_number = slow.number
    gateway, registry = processes["gateway-1"], processes["registry"]
    short_grace = processes["short-grace"]
    async with (
        httpx.AsyncClient(base_url=gateway.url, timeout=60) as first,
        httpx.AsyncClient(base_url=processes["gateway-2"].url, timeout=60) as second,
    ):
        # 1. SIGTERM the gateway with IN_FLIGHT requests waiting on their webhooks (and
        #    one whose grace is shorter than its webhook: a 503, not a bare 500).
        in_flight = [_route_http(first, slow_number) for _ in range(IN_FLIGHT)]
        gateway_results = asyncio.gather(*in_flight)
        cut_short = asyncio.create_task(_route_http_at(short_grace.url, slow_number))
        await slow.reached(IN_FLIGHT + 1)
        gateway.process.send_signal(signal.SIGTERM)
        short_grace.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        ready = await first.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (503, "draining")
        during_drain = await asyncio.gather(*(_route_http(first, slow_number) for _ in range(4)))
        assert await gateway_results == ["accept"] * IN_FLIGHT
        assert during_drain == ["accept"] * 4
        assert await gateway.wait() == 0
        cut = await cut_short
        assert cut.startswith('503 {"detail":"service is shutting down; retry"} at '), cut
        assert await short_grace.wait() == 0

        # 2. SIGTERM the registry with IN_FLIGHT calls on it directly and IN_FLIGHT more
        #    through the other gateway.
        direct = asyncio.gather(
            *(_route_grpc(registry.target, slow_number) for _ in range(IN_FLIGHT))
        )
        proxied = asyncio.gather(*(_route_http(second, slow_number) for _ in range(IN_FLIGHT)))
        await slow.reached(3 * IN_FLIGHT + 1 + 4)
        registry.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        assert await _health(registry.target) == "NOT_SERVING"
        drained = await asyncio.gather(
            *(_route_grpc(registry.target, slow_number) for _ in range(4))
        )
        direct_results, proxied_results = await direct, await proxied
        logs = processes["gateway-2"].output() + registry.output()
        assert direct_results == ["accept"] * IN_FLIGHT, logs
        assert proxied_results == ["accept"] * IN_FLIGHT, logs
        assert drained == ["accept"] * 4, logs
        assert await registry.wait() == 0
        # After the drain new work is refused; through the gateway that is a 503 in the
        # route's (Inkbox) shape, never a 500.
        assert await _route_grpc(registry.target, slow_number) == "UNAVAILABLE"
        after = await _route_http(second, slow_number)
    assert after.startswith('503 {"detail":"upstream service unavailable"} at '), after

    for served, drained_line in (
        (gateway, "/readyz 503, draining for 10 s"),
        (registry, "health NOT_SERVING, draining for 10 s"),
    ):
        output = served.output()
        assert drained_line in output
        assert output.rstrip().endswith(f"switchboard {served.name}: stopped")
        assert "Traceback" not in output
    assert '" 500' not in gateway.output() + processes["gateway-2"].output()
