"""The three processes as real ``switchboard serve`` subprocesses, their output kept in files."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port, run_cli

PROCESSES = ("config", "registry", "gateway")


@dataclass
class LiveStack:
    """Running processes: ports, environment (for CLI commands), and where each one logs."""

    ports: dict[str, int]
    env: dict[str, str]
    outputs: dict[str, Path]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def registry_target(self) -> str:
        return f"127.0.0.1:{self.ports['registry']}"

    async def create_account(self, name: str) -> dict[str, str]:
        """``switchboard accounts create --json`` against this stack's config database."""
        status, out, err = await run_cli(
            "accounts", "create", "--name", name, "--json", env=self.env
        )
        assert status == 0, err
        created: dict[str, str] = json.loads(out)
        return created

    def output(self, process: str) -> str:
        """Everything ``process`` wrote to stdout and stderr so far."""
        return self.outputs[process].read_text(errors="replace")

    def log_lines(self, process: str) -> list[dict[str, Any]]:
        """The JSON log lines of ``process`` (other output, such as its banner, skipped)."""
        lines: list[dict[str, Any]] = []
        for line in self.output(process).splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    async def stop(self) -> None:
        """SIGTERM every process (gateway first) and wait for each."""
        for name in reversed(PROCESSES):
            process = self.processes.get(name)
            if process is not None and process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _gateway_ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=1) as http:
        try:
            return (await http.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


@contextlib.asynccontextmanager
async def live_stack(
    database_urls: dict[str, str], workdir: Path, **variables: str
) -> AsyncIterator[LiveStack]:
    """Start config, registry and gateway (each its own ``switchboard serve``) and wait until
    the gateway is ready; ``variables`` are extra ``SWITCHBOARD_*`` settings."""
    ports = {name: free_port() for name in (*PROCESSES, "config_metrics", "registry_metrics")}
    env = cli_env(
        SWITCHBOARD_CONFIG_METRICS_PORT=str(ports["config_metrics"]),
        SWITCHBOARD_REGISTRY_METRICS_PORT=str(ports["registry_metrics"]),
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_PORT=str(ports["config"]),
        SWITCHBOARD_REGISTRY_PORT=str(ports["registry"]),
        SWITCHBOARD_GATEWAY_PORT=str(ports["gateway"]),
        SWITCHBOARD_CONFIG_ADDRESS=f"127.0.0.1:{ports['config']}",
        SWITCHBOARD_REGISTRY_ADDRESS=f"127.0.0.1:{ports['registry']}",
        SWITCHBOARD_CONFIG_DATABASE_URL=database_urls["config"],
        SWITCHBOARD_REGISTRY_DATABASE_URL=database_urls["registry"],
        **variables,
    )
    stack = LiveStack(ports, env, {name: workdir / f"{name}.out" for name in PROCESSES})
    try:
        for name in PROCESSES:
            with stack.outputs[name].open("wb") as out:
                stack.processes[name] = await asyncio.create_subprocess_exec(
                    *SWITCHBOARD, "serve", name, env=env, stdout=out, stderr=out
                )
            if name != "gateway":
                target = f"127.0.0.1:{ports[name]}"
                assert await eventually(lambda t=target: grpc_serving(t), timeout=60), (  # type: ignore[misc]
                    stack.output(name)
                )
        assert await eventually(lambda: _gateway_ready(stack.gateway_url), timeout=60), (
            stack.output("gateway")
        )
        yield stack
    finally:
        await stack.stop()
