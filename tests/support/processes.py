"""Running the real ``switchboard`` command in subprocesses."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from services.common.settings import METRICS_PORT_OFFSET

SWITCHBOARD = (sys.executable, "-m", "services.cli")


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_service_port() -> int:
    """A free port whose metrics port (port + 10, the default) was free a moment ago too."""
    while True:
        port = free_port()
        if port + METRICS_PORT_OFFSET <= 65535 and _is_free(port + METRICS_PORT_OFFSET):
            return port


def cli_env(**variables: str) -> dict[str, str]:
    """The current environment with ``SWITCHBOARD_*`` cleared, plus ``variables``.

    The gateway serves in one process unless ``variables`` say otherwise: the suite starts
    many gateways at once on a small machine, and only tests/gateway/test_workers.py is
    about worker processes.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["SWITCHBOARD_GATEWAY_WORKERS"] = "1"
    env.update(variables)
    return env


async def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 60, cwd: Path | None = None
) -> tuple[int, str, str]:
    """Run ``switchboard ARGS`` (in ``cwd``) to completion: (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        *args,
        env=dict(env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def eventually(
    check: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.1
) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return False
