"""``switchboard serve all`` as a real process tree, with its output captured to files."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_service_port

PROCESSES = ("config", "registry", "gateway")


@dataclass
class ServeAll:
    """A running ``serve all`` supervisor, its ports, environment and output files."""

    process: asyncio.subprocess.Process
    ports: dict[str, int]
    env: dict[str, str]
    stdout_path: Path
    stderr_path: Path

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def target(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def ready(self, timeout: float = 90) -> bool:
        """Wait until the gateway's /readyz is 200 (both services SERVING)."""
        return await eventually(lambda: http_ready(self.gateway_url), timeout=timeout, interval=0.2)

    def children(self) -> dict[str, int]:
        """Child pids by process name, read from /proc."""
        return children_of(self.process.pid)


def children_of(parent_pid: int) -> dict[str, int]:
    """``switchboard serve NAME`` processes whose parent is ``parent_pid``, by NAME."""
    return {
        argv[argv.index(b"serve") + 1].decode(): pid
        for pid, argv in live_children(parent_pid)
        if b"serve" in argv
    }


def live_children(parent_pid: int) -> list[tuple[int, list[bytes]]]:
    """(pid, argv) of every live process whose parent is ``parent_pid``, read from /proc."""
    found: list[tuple[int, list[bytes]]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == parent_pid and alive(int(entry.name)):
            found.append((int(entry.name), argv))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie not yet reaped does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def http_ready(base_url: str) -> bool:
    """Whether the gateway at ``base_url`` answers /readyz with 200."""
    async with httpx.AsyncClient(timeout=1) as http:
        try:
            return (await http.get(f"{base_url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


def instance_env(data_dir: Path, ports: Mapping[str, int], **variables: str) -> dict[str, str]:
    """A clean environment naming only the ports and the data dir (addresses follow the ports)."""
    return cli_env(
        SWITCHBOARD_DATA_DIR=str(data_dir),
        SWITCHBOARD_CONFIG_PORT=str(ports["config"]),
        SWITCHBOARD_REGISTRY_PORT=str(ports["registry"]),
        SWITCHBOARD_GATEWAY_PORT=str(ports["gateway"]),
        **variables,
    )


@asynccontextmanager
async def serve_all(
    workdir: Path, *, ports: Mapping[str, int] | None = None, **variables: str
) -> AsyncIterator[ServeAll]:
    """Start ``serve all`` with data under ``workdir/data``; killed (group) on exit."""
    chosen = dict(ports) if ports else {name: free_service_port() for name in PROCESSES}
    env = instance_env(workdir / "data", chosen, **variables)
    stdout_path, stderr_path = workdir / "serve-all.out", workdir / "serve-all.err"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *SWITCHBOARD,
            "serve",
            "all",
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    running = ServeAll(process, chosen, env, stdout_path, stderr_path)
    try:
        yield running
    finally:
        if process.returncode is None:
            children = running.children()
            process.kill()
            await process.wait()
            for pid in children.values():
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


@dataclass
class Served:
    """One ``switchboard serve NAME`` process and its merged output file."""

    name: str
    process: asyncio.subprocess.Process
    port: int
    output_path: Path

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    async def wait(self, timeout: float = 60) -> int:
        """Its exit status, waiting up to ``timeout`` seconds."""
        return await asyncio.wait_for(self.process.wait(), timeout=timeout)

    async def ready(self, timeout: float = 90) -> None:
        """Wait until it serves (gRPC health SERVING, or the gateway's /readyz 200)."""
        check = (lambda: http_ready(self.url)) if self.name == "gateway" else self._serving
        if not await eventually(check, timeout=timeout, interval=0.2):
            raise AssertionError(f"{self.name} did not become ready:\n{self.output()}")

    async def _serving(self) -> bool:
        return await grpc_serving(self.target, timeout=1)


@asynccontextmanager
async def serving(
    processes: Mapping[str, tuple[str, int]],
    workdir: Path,
    env: Mapping[str, str],
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
) -> AsyncIterator[dict[str, Served]]:
    """Start ``switchboard serve KIND`` for each ``label: (kind, port)`` at once; all ready.

    Unset addresses follow ``SWITCHBOARD_*_PORT`` in ``env``; each process gets its own
    port variable, plus ``extra_env[label]``. Killed on exit if still running.
    """
    started: dict[str, Served] = {}
    try:
        for label, (kind, port) in processes.items():
            own = {**env, **(extra_env or {}).get(label, {})}
            output_path = workdir / f"{label}.log"
            with output_path.open("wb") as output:
                process = await asyncio.create_subprocess_exec(
                    *SWITCHBOARD,
                    "serve",
                    kind,
                    env={**own, f"SWITCHBOARD_{kind.upper()}_PORT": str(port)},
                    stdout=output,
                    stderr=asyncio.subprocess.STDOUT,
                )
            started[label] = Served(kind, process, port, output_path)
        await asyncio.gather(*(served.ready() for served in started.values()))
        yield started
    finally:
        for served in started.values():
            if served.process.returncode is None:
                served.process.kill()
                await served.process.wait()
