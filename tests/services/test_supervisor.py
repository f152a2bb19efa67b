"""``switchboard serve all``: three real processes that start, stop and fail together."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port


@dataclass
class ServeAll:
    process: asyncio.subprocess.Process
    ports: dict[str, int]

    def children(self) -> dict[str, int]:
        """Child pids by process name, read from /proc."""
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"serve" in cmdline:
                found[cmdline[cmdline.index(b"serve") + 1].decode()] = int(entry.name)
        return found


@asynccontextmanager
async def serve_all(database_urls: dict[str, str], workdir: Path) -> AsyncIterator[ServeAll]:
    ports = {name: free_port() for name in ("config", "registry", "gateway")}
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_PORT=str(ports["config"]),
        SWITCHBOARD_REGISTRY_PORT=str(ports["registry"]),
        SWITCHBOARD_GATEWAY_PORT=str(ports["gateway"]),
        SWITCHBOARD_CONFIG_ADDRESS=f"127.0.0.1:{ports['config']}",
        SWITCHBOARD_REGISTRY_ADDRESS=f"127.0.0.1:{ports['registry']}",
        SWITCHBOARD_CONFIG_DATABASE_URL=database_urls["config"],
        SWITCHBOARD_REGISTRY_DATABASE_URL=database_urls["registry"],
    )
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "serve",
        "all",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield ServeAll(process, ports)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _ready(port: int) -> bool:
    async with httpx.AsyncClient(timeout=1) as http:
        try:
            return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


async def test_serve_all_starts_everything_and_stops_on_sigterm(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(database_urls, workdir) as running:
        assert await eventually(lambda: _ready(running.ports["gateway"]), timeout=60)
        assert await grpc_serving(f"127.0.0.1:{running.ports['config']}")
        assert await grpc_serving(f"127.0.0.1:{running.ports['registry']}")
        children = running.children()
        assert set(children) == {"config", "registry", "gateway"}

        running.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(running.process.wait(), timeout=30) == 0
        banner = (await running.process.stdout.read()).decode() if running.process.stdout else ""
        assert f"127.0.0.1:{running.ports['gateway']}" in banner
        assert "accounts create" in banner
        for pid in children.values():
            assert not _alive(pid)
        assert not await grpc_serving(f"127.0.0.1:{running.ports['config']}", timeout=0.5)


async def test_serve_all_stops_everything_when_one_child_dies(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(database_urls, workdir) as running:
        assert await eventually(lambda: _ready(running.ports["gateway"]), timeout=60)
        children = running.children()
        os.kill(children["registry"], signal.SIGKILL)
        status = await asyncio.wait_for(running.process.wait(), timeout=30)
        assert status != 0
        for pid in children.values():
            assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie not yet reaped by a dead parent still answers kill(0).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
