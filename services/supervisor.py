"""``switchboard serve all``: the three processes as children, stopped together."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from pydantic import SecretStr

from gateway.settings import GatewaySettings
from services.common.process.local_secrets import (
    EDGE_TOKEN_ENV,
    INTERNAL_TOKEN_ENV,
    edge_token,
    internal_token,
    is_configured,
    require_token_off_loopback,
)
from services.common.process.shutdown import STOP_SIGNALS, SUPERVISOR_PID_VARIABLE
from services.common.storage.db import describe_database
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings

PROCESSES = ("config", "registry", "gateway")
_POLL_SECONDS = 0.2
_KILL_MARGIN_SECONDS = 10.0
"""How long past its drain delay and grace a child may take before it is killed."""


def run_all() -> int:
    """Start config, registry and gateway; stop all (gateway first) on a signal or a death.

    Refuses to start (before the banner) when one of its ports (the three services', the two
    metrics ports) is taken. Children
    run in their own process group, so a terminal's Ctrl-C reaches only this supervisor,
    which stops them in order; they also stop when it dies (even by ``kill -9``). Returns
    the exit status of the first child that ended on its own (or 0 when asked to stop).
    """
    config, registry, gateway = ConfigSettings(), RegistrySettings(), GatewaySettings()
    # A configuration the run must refuse is named first, whatever else is wrong.
    require_token_off_loopback(config.bind_host, config.internal_token, "the config service binds")
    ports: list[tuple[str, int | None, str]] = [
        ("config", config.config_port, "SWITCHBOARD_CONFIG_PORT"),
        ("registry", registry.registry_port, "SWITCHBOARD_REGISTRY_PORT"),
        ("gateway", gateway.gateway_port, "SWITCHBOARD_GATEWAY_PORT"),
    ]
    if config.metrics_enabled:
        ports += [
            ("config metrics", config.config_metrics_port, "SWITCHBOARD_CONFIG_METRICS_PORT"),
            (
                "registry metrics",
                registry.registry_metrics_port,
                "SWITCHBOARD_REGISTRY_METRICS_PORT",
            ),
        ]
    taken = _taken_port(config.bind_host, ports)
    if taken is not None:
        print(f"switchboard: {taken}", file=sys.stderr, flush=True)
        return 1
    tokens = _run_tokens()

    stop_signal: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        stop_signal.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, record)
    env = {
        **os.environ,
        SUPERVISOR_PID_VARIABLE: str(os.getpid()),
        **{name: token.get_secret_value() for name, token in tokens.items()},
    }
    children = {
        name: subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", name], env=env, process_group=0
        )
        for name in PROCESSES
    }
    _print_banner(config, registry, gateway, tokens[EDGE_TOKEN_ENV])

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

    # Ctrl-C stops at once (in-flight work still finishes); SIGTERM/SIGHUP drain first.
    forwarded = signal.SIGINT if stop_signal and stop_signal[0] == signal.SIGINT else signal.SIGTERM
    _stop_all(children, forwarded, config.shutdown_drain_seconds + config.shutdown_grace_seconds)
    return status


def _stop_all(children: dict[str, subprocess.Popen[bytes]], signum: int, budget: float) -> None:
    # Reverse dependency order, each fully stopped before the next: the gateway's in-flight
    # requests still reach the registry, and the registry's still reach config.
    for name in reversed(PROCESSES):
        child = children[name]
        if child.poll() is None:
            child.send_signal(signum)
            try:
                child.wait(timeout=budget + _KILL_MARGIN_SECONDS)
            except subprocess.TimeoutExpired:
                print(f"switchboard: {name} did not stop in time; killed", file=sys.stderr)
                child.kill()
                child.wait()


def _taken_port(host: str, ports: Sequence[tuple[str, int | None, str]]) -> str | None:
    """A one-line refusal naming the first port already in use (and its setting), if any."""
    for name, port, setting in ports:
        if not port:
            continue
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # The servers set SO_REUSEADDR too: a port in TIME_WAIT is free, a listener is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    return f"cannot bind {name} to {host}:{port}: {error.strerror}"
                return (
                    f"port {port} ({name}) on {host} is already in use, probably by another "
                    f"Switchboard; stop it or set {setting} to a free port"
                )
    return None


def _run_tokens() -> dict[str, SecretStr]:
    """This run's internal and edge tokens: configured ones, else the data dir's generated ones.

    Every child gets both through its environment. (``run_all`` has already refused a
    non-loopback config listener without a configured internal token.)
    """
    config, registry = ConfigSettings(), RegistrySettings()
    return {
        INTERNAL_TOKEN_ENV: internal_token(config, config.internal_token),
        EDGE_TOKEN_ENV: edge_token(registry, registry.edge_token),
    }


def _print_banner(
    config: ConfigSettings, registry: RegistrySettings, gateway: GatewaySettings, edge: SecretStr
) -> None:
    host = config.bind_host
    # A configured edge token is the operator's secret; a generated one is this machine's.
    configured = is_configured(registry.edge_token)
    shown = "$SWITCHBOARD_EDGE_TOKEN" if configured else edge.get_secret_value()
    config_db = describe_database(config.database_url)
    registry_db = describe_database(registry.database_url)
    lines = [
        "Switchboard is starting:",
        f"  config   gRPC  {host}:{config.config_port}   db {config_db}",
        f"  registry gRPC  {host}:{registry.registry_port}   db {registry_db}",
        f"  gateway  HTTP  http://{host}:{gateway.gateway_port}  (docs: /docs, /openapi.json)",
        "Get an API key:  .venv/bin/switchboard accounts create --name 'My company'",
        f"Reflection:      grpcurl -plaintext {host}:{registry.registry_port} list",
        f"Exotel applet:   http://{host}:{gateway.gateway_port}/exotel/{shown}/stream",
        f"Process id {os.getpid()}; Ctrl-C stops all three.",
    ]
    print("\n".join(lines), flush=True)
