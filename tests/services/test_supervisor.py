"""``switchboard serve all``: three real processes that start, stop and fail together."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.probe import grpc_serving
from tests.support.processes import eventually, free_port, run_cli
from tests.support.serve_all import alive, http_ready, instance_env, serve_all


def _database_variables(database_urls: dict[str, str]) -> dict[str, Any]:
    return {
        "SWITCHBOARD_CONFIG_DATABASE_URL": database_urls["config"],
        "SWITCHBOARD_REGISTRY_DATABASE_URL": database_urls["registry"],
    }


async def test_serve_all_starts_everything_and_stops_on_sigterm(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(workdir, **_database_variables(database_urls)) as running:
        assert await running.ready()
        assert await grpc_serving(running.target("config"))
        assert await grpc_serving(running.target("registry"))
        children = running.children()
        assert set(children) == {"config", "registry", "gateway"}

        running.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(running.process.wait(), timeout=60) == 0
        banner = running.stdout()
        assert f"127.0.0.1:{running.ports['gateway']}" in banner
        assert "accounts create" in banner
        for pid in children.values():
            assert not alive(pid)
        assert not await grpc_serving(running.target("config"), timeout=0.5)


async def test_serve_all_stops_everything_when_one_child_dies(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(workdir, **_database_variables(database_urls)) as running:
        assert await running.ready()
        children = running.children()
        os.kill(children["registry"], signal.SIGKILL)
        status = await asyncio.wait_for(running.process.wait(), timeout=60)
        assert status != 0
        for pid in children.values():
            assert not alive(pid)


def _stop_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.endswith(": stopped")]


async def test_ctrl_c_stops_cleanly_with_one_line_per_process(workdir: Path) -> None:
    async with serve_all(workdir) as running:
        assert await running.ready()
        children = running.children()
        # A terminal delivers Ctrl-C to its foreground group (here the supervisor's); a
        # child that also received it directly must not turn the second one into an abort.
        os.killpg(running.process.pid, signal.SIGINT)
        for pid in children.values():
            os.kill(pid, signal.SIGINT)
        running.process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(running.process.wait(), timeout=60) == 0
        stdout, stderr = running.stdout(), running.stderr()
    assert sorted(_stop_lines(stdout)) == [
        "switchboard config: stopped",
        "switchboard gateway: stopped",
        "switchboard registry: stopped",
    ]
    assert "draining" not in stdout  # Ctrl-C skips the drain delay
    assert "Traceback" not in stderr + stdout
    assert "ERROR" not in stderr
    for pid in children.values():
        assert not alive(pid)


async def test_sigterm_stops_gateway_then_registry_then_config(workdir: Path) -> None:
    async with serve_all(workdir, SWITCHBOARD_SHUTDOWN_DRAIN_SECONDS="2") as running:
        assert await running.ready()
        running.process.send_signal(signal.SIGTERM)
        samples: list[tuple[int, int, int]] = []
        while running.process.returncode is None:
            # Probed in dependency order, so a later probe never sees an earlier state.
            config = await _level_grpc(running.target("config"))
            registry = await _level_grpc(running.target("registry"))
            gateway = await _level_http(running.gateway_url)
            samples.append((gateway, registry, config))
            await asyncio.sleep(0.1)
        assert await running.process.wait() == 0
        stdout = running.stdout()
    # Each stops only once the one in front of it is gone...
    for gateway, registry, config in samples:
        assert registry == SERVING or gateway == GONE, samples
        assert config == SERVING or registry == GONE, samples
    # ...and each was seen draining (NOT_SERVING / 503 draining) while still answering.
    for index in range(3):
        assert any(sample[index] == DRAINING for sample in samples), samples
    assert _stop_lines(stdout) == [
        "switchboard gateway: stopped",
        "switchboard registry: stopped",
        "switchboard config: stopped",
    ]


SERVING, DRAINING, GONE = 0, 1, 2


async def _level_grpc(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.aio.AioRpcError:
            return GONE
    return SERVING if response.status == health_pb2.HealthCheckResponse.SERVING else DRAINING


async def _level_http(base_url: str) -> int:
    async with httpx.AsyncClient(timeout=1) as http:
        try:
            response = await http.get(f"{base_url}/readyz")
        except httpx.HTTPError:
            return GONE
    if response.status_code == 200:
        return SERVING
    return DRAINING if response.json().get("status") == "draining" else GONE


async def test_kill_9_of_the_supervisor_takes_the_children_down(workdir: Path) -> None:
    async with serve_all(workdir, SWITCHBOARD_SHUTDOWN_DRAIN_SECONDS="1") as running:
        assert await running.ready()
        children = running.children()
        assert set(children) == {"config", "registry", "gateway"}
        running.process.kill()
        await running.process.wait()

        async def all_gone() -> bool:
            return not any(alive(pid) for pid in children.values())

        assert await eventually(all_gone, timeout=60)
        for port in running.ports.values():
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", port))  # the ports are free again


async def test_a_second_instance_refuses_before_the_banner(workdir: Path) -> None:
    (workdir / "first").mkdir()
    (workdir / "second").mkdir()
    async with serve_all(workdir / "first") as first:
        assert await first.ready()
        # `make run` again: same settings, so every port is taken.
        status, stdout, stderr = await run_cli("serve", "all", env=first.env, timeout=60)
        assert await http_ready(first.gateway_url)
    assert status == 1
    assert stdout == ""
    assert stderr.strip() == (
        f"switchboard: port {first.ports['config']} (config) on 127.0.0.1 is already in use, "
        "probably by another Switchboard; stop it or set SWITCHBOARD_CONFIG_PORT to a free port"
    )


async def test_a_taken_gateway_port_is_named_with_its_setting(workdir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        env = instance_env(
            workdir, {"config": free_port(), "registry": free_port(), "gateway": taken}
        )
        status, stdout, stderr = await run_cli("serve", "all", env=env, timeout=60)
    assert status == 1
    assert stdout == ""
    assert f"port {taken} (gateway) on 127.0.0.1 is already in use" in stderr
    assert "set SWITCHBOARD_GATEWAY_PORT" in stderr
    assert "Traceback" not in stderr
    assert not (workdir / "config.db").exists()
