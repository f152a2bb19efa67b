"""``switchboard serve all``: the three processes as children, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from gateway.settings import GatewaySettings
from services.common.db import describe_database
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings

PROCESSES = ("config", "registry", "gateway")
_POLL_SECONDS = 0.2
_STOP_TIMEOUT_SECONDS = 15.0


def run_all() -> int:
    """Start config, registry and gateway; forward SIGINT/SIGTERM; stop all when one dies.

    Returns the exit status of the first child that ended on its own (or 0 when
    the supervisor was asked to stop).
    """
    children = {
        name: subprocess.Popen([sys.executable, "-m", "services.cli", "serve", name])
        for name in PROCESSES
    }
    stop_signal: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        stop_signal.append(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    _print_banner()

    status = 0
    while not stop_signal:
        ended = {name: child.poll() for name, child in children.items()}
        dead = {name: code for name, code in ended.items() if code is not None}
        if dead:
            name, code = next(iter(dead.items()))
            print(
                f"switchboard: {name} exited with status {code}; stopping the others",
                file=sys.stderr,
                flush=True,
            )
            status = code or 1
            break
        time.sleep(_POLL_SECONDS)

    _stop_all(children, stop_signal[0] if stop_signal else signal.SIGTERM)
    return status


def _stop_all(children: dict[str, subprocess.Popen[bytes]], signum: int) -> None:
    # Stop in reverse dependency order: gateway, then registry, then config.
    for name in reversed(PROCESSES):
        child = children[name]
        if child.poll() is None:
            child.send_signal(signum)
            try:
                child.wait(timeout=_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _print_banner() -> None:
    config, registry, gateway = ConfigSettings(), RegistrySettings(), GatewaySettings()
    host = config.bind_host
    config_db = describe_database(config.database_url)
    registry_db = describe_database(registry.database_url)
    lines = [
        "Switchboard is starting:",
        f"  config   gRPC  {host}:{config.config_port}   db {config_db}",
        f"  registry gRPC  {host}:{registry.registry_port}   db {registry_db}",
        f"  gateway  HTTP  http://{host}:{gateway.gateway_port}  (docs: /docs, /openapi.json)",
        "Get an API key:  .venv/bin/switchboard accounts create --name 'My company'",
        f"Reflection:      grpcurl -plaintext {host}:{registry.registry_port} list",
        f"Process id {os.getpid()}; Ctrl-C stops all three.",
    ]
    print("\n".join(lines), flush=True)
