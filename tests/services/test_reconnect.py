"""Dependents serve again within 1 s of a restarted upstream reporting SERVING (60 s outage).

Real processes: config, two registries (R2 routes through config; R1 sits behind the gateway)
and the gateway. Config and R1 are killed (SIGKILL) together, stay down for 60 s while
requests keep arriving, and are restarted on the same ports. For each dependency edge the
test measures from the upstream's SERVING to the first request that succeeds through it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from services.config.provisioning import CreatedAccount
from services.probe import grpc_serving
from tests.services.registry.routing import factories
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port
from tests.support.stack import INTERNAL_TOKEN, Stack

OUTAGE_SECONDS = 60.0
BOUND_SECONDS = 1.0
"""What issue 15 requires: serving again within 1 s of the upstream reporting SERVING."""
ALLOWANCE_SECONDS = 0.25
"""Measurement slack, not reconnect time: the request loop's pause (20 ms) plus the time
the first successful request itself takes end to end (HTTP -> gateway -> gRPC, a few ms idle,
up to ~200 ms observed when the suites of several worktrees share the 2 cores)."""
LOOP_PAUSE_SECONDS = 0.02
EDGE_TOKEN = "edge-token-for-reconnect-tests-0123456789"
WSS = "wss://agent.example.com/stream"


@dataclass
class Probe:
    """One dependency edge: a request sent in a loop, and when it succeeded."""

    name: str
    send: Callable[[], Awaitable[bool]]
    successes: list[float] = field(default_factory=list)
    failures: int = 0

    async def attempt(self) -> bool:
        try:
            return await self.send()
        except (grpc.aio.AioRpcError, httpx.HTTPError):
            return False

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await self.attempt():
                self.successes.append(time.monotonic())
            else:
                self.failures += 1
            await asyncio.sleep(LOOP_PAUSE_SECONDS)

    def first_success_after(self, moment: float) -> float | None:
        return next((t for t in self.successes if t > moment), None)


class Processes:
    """``switchboard serve NAME`` subprocesses, restartable with the same environment."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.subprocess.Process] = {}
        self.envs: dict[str, dict[str, str]] = {}

    async def start(self, name: str, process: str, env: dict[str, str]) -> None:
        self.envs[name] = env
        self.running[name] = await asyncio.create_subprocess_exec(
            *SWITCHBOARD,
            "serve",
            process,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()
        await process.wait()

    async def stop_all(self) -> None:
        for name in list(self.running):
            await self.kill(name)


async def serving_at(target: str, timeout: float) -> float:
    """Poll health with fresh channels; the moment of the last answer that was not SERVING.

    The upstream turned SERVING after that moment, so timing from it never flatters.
    """
    deadline = time.monotonic() + timeout
    last_not_serving = time.monotonic()
    while time.monotonic() < deadline:
        if await grpc_serving(target, timeout=0.5):
            return last_not_serving
        last_not_serving = time.monotonic()
        await asyncio.sleep(0.01)
    raise AssertionError(f"{target} did not report SERVING within {timeout} s")


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_gateway_and_registry_serve_within_1s_of_upstream_serving_after_60s_outage(
    stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    unmapped, _ = factories.new_number()
    ports = {name: free_port() for name in ("config", "r1", "r2", "gateway")}
    common = {
        "SWITCHBOARD_DATA_DIR": str(workdir),
        "SWITCHBOARD_INTERNAL_TOKEN": INTERNAL_TOKEN,
        "SWITCHBOARD_EDGE_TOKEN": EDGE_TOKEN,
        "SWITCHBOARD_CONFIG_ADDRESS": f"127.0.0.1:{ports['config']}",
        "SWITCHBOARD_CONFIG_DATABASE_URL": stack.database_urls["config"],
        "SWITCHBOARD_REGISTRY_DATABASE_URL": stack.database_urls["registry"],
        "SWITCHBOARD_CALL_TARGET_CACHE_TTL_SECONDS": "0",
        "SWITCHBOARD_LOG_LEVEL": "WARNING",
    }
    processes = Processes()
    await processes.start(
        "config", "config", cli_env(**common, SWITCHBOARD_CONFIG_PORT=str(ports["config"]))
    )
    targets = {name: f"127.0.0.1:{ports[name]}" for name in ("config", "r1", "r2")}
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await serving_at(targets["config"], timeout=90)
        for name in ("r2", "r1"):
            await processes.start(
                name, "registry", cli_env(**common, SWITCHBOARD_REGISTRY_PORT=str(ports[name]))
            )
            await serving_at(targets[name], timeout=90)
        gateway_env = cli_env(
            **common,
            SWITCHBOARD_GATEWAY_PORT=str(ports["gateway"]),
            SWITCHBOARD_REGISTRY_ADDRESS=targets["r1"],
        )
        await processes.start("gateway", "gateway", gateway_env)
        base = f"http://127.0.0.1:{ports['gateway']}"

        async with (
            httpx.AsyncClient(base_url=base, timeout=2) as http,
            grpc.aio.insecure_channel(targets["r2"]) as r2_channel,
        ):
            routing = registry_pb2_grpc.CallRoutingServiceStub(r2_channel)

            async def gateway_to_config() -> bool:
                response = await http.get(
                    "/api/v1/identities/", headers={"X-API-Key": account.api_key}
                )
                return response.status_code == 200

            async def gateway_to_registry() -> bool:
                response = await http.post(
                    "/v1/calls:route",
                    headers={"Authorization": f"Bearer {EDGE_TOKEN}"},
                    json={
                        "inbound_number": unmapped,
                        "caller_number": "+14155550100",
                        "service": "exotel",
                    },
                )
                return response.status_code == 200

            async def registry_to_config() -> bool:
                response = await routing.RouteCall(
                    registry_pb2.RouteCallRequest(
                        inbound_number=mapping.number,
                        caller_number="+919900000001",
                        service="exotel",
                    ),
                    metadata=(("x-switchboard-edge-token", EDGE_TOKEN),),
                    timeout=2,
                )
                return bool(response.decision == registry_pb2.ROUTING_DECISION_ACCEPT)

            probes = {
                "gateway->config": Probe("gateway->config", gateway_to_config),
                "gateway->registry": Probe("gateway->registry", gateway_to_registry),
                "registry->config": Probe("registry->config", registry_to_config),
            }

            async def all_succeed() -> bool:
                return all([await probe.attempt() for probe in probes.values()])

            assert await eventually(all_succeed, timeout=90, interval=0.2)
            tasks = [asyncio.create_task(probe.run(stop)) for probe in probes.values()]

            killed_at = time.monotonic()
            await asyncio.gather(processes.kill("config"), processes.kill("r1"))
            await asyncio.sleep(OUTAGE_SECONDS)
            during = {
                name: probe.first_success_after(killed_at + 1) for name, probe in probes.items()
            }
            assert during == dict.fromkeys(probes), "a probe succeeded while its upstream was down"

            restarted: dict[str, float] = {}
            await processes.start("r1", "registry", processes.envs["r1"])
            restarted["gateway->registry"] = await serving_at(targets["r1"], timeout=90)
            await processes.start("config", "config", processes.envs["config"])
            restarted["gateway->config"] = restarted["registry->config"] = await serving_at(
                targets["config"], timeout=90
            )
            await asyncio.sleep(BOUND_SECONDS + ALLOWANCE_SECONDS + 1)
            stop.set()
            await asyncio.gather(*tasks)

        gaps = {}
        for name, probe in probes.items():
            first = probe.first_success_after(restarted[name])
            assert first is not None, f"{name}: no success after the upstream was SERVING"
            gaps[name] = first - restarted[name]
            assert probe.failures > 0  # the outage was real for this edge
        print(f"reconnect gaps after a {OUTAGE_SECONDS:.0f} s outage: {gaps}")
        for name, gap in gaps.items():
            assert gap <= BOUND_SECONDS + ALLOWANCE_SECONDS, (name, gaps)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await processes.stop_all()
