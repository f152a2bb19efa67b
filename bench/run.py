"""The benchmark run: start the real processes, load data, drive each point, report."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import grpc
from sqlalchemy.engine import make_url
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from bench import internal_rpcs, loader, service_time
from bench.numbers import CALLER_NUMBER, SERVICE, inbound_number
from bench.processes import (
    ECHO_SERVER,
    SWITCHBOARD,
    ServerProcess,
    service_env,
    start_server,
)
from bench.report import (
    P99_GOAL,
    SCALING_GOAL,
    THROUGHPUT_GOAL,
    BackendReport,
    PointResult,
    backend_json,
    table,
    write_json,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
EDGE_TOKEN_ENV = "SWITCHBOARD_EDGE_TOKEN"


@dataclass(frozen=True)
class Settings:
    """What to measure and where to write it."""

    sizes: tuple[int, int]
    concurrency: tuple[int, ...]
    warmup_s: float
    duration_s: float
    identities: int
    rpc_concurrency: tuple[int, ...]
    """In-flight counts of the ConfigInternalService points."""
    rpc_duration_s: float
    service_time_calls: int
    postgres_url: str | None
    auth: str
    output: Path
    keep: bool
    seed: int


def size_label(size: int) -> str:
    """``1000`` -> ``1k``, ``1000000`` -> ``1M``."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def run(settings: Settings) -> int:
    """Measure echo, then every backend; write the JSON and print the tables."""
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    small, large = (f"route@{size_label(size)}" for size in settings.sizes)
    try:
        echo, echo_cpu = _measure_echo(settings, workdir)
        backends = ["sqlite", *(["postgresql"] if settings.postgres_url else [])]
        reports = [_run_backend(backend, settings, workdir / backend) for backend in backends]
    finally:
        if settings.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    document = {
        "generated_at": started.isoformat().replace("+00:00", "Z"),
        "machine": _machine(load_before),
        "settings": _settings_json(settings),
        "goals": {
            "throughput_over_echo_min": THROUGHPUT_GOAL,
            "p99_over_echo_max": P99_GOAL,
            "p50_large_over_small_max": SCALING_GOAL,
        },
        "echo": {str(c): asdict(point) for c, point in echo.items()},
        "echo_cpu_cores": echo_cpu,
        "backends": {
            report.backend: backend_json(report, echo, small, large) for report in reports
        },
    }
    write_json(settings.output, document)
    for report in reports:
        report.cpu_cores = {"echo": echo_cpu, **report.cpu_cores}
    print()
    for report in reports:
        print(table(report, echo, small, large))
        print()
    print(f"load average before/after: {_loadavg(load_before)} / {_loadavg(os.getloadavg())}")
    print(f"wrote {settings.output}")
    return 0


def _measure_echo(
    settings: Settings, workdir: Path
) -> tuple[dict[int, PointResult], dict[int, dict[str, float]]]:
    echo = start_server("echo", ECHO_SERVER, service_env(), workdir / "echo.log", REPO_ROOT)
    points: dict[int, PointResult] = {}
    cpu: dict[int, dict[str, float]] = {}
    try:
        for concurrency in settings.concurrency:
            points[concurrency], cpu[concurrency] = _drive(
                "echo", echo.address, concurrency, settings, watched=(echo,)
            )
        return points, cpu
    finally:
        echo.stop()


def _run_backend(backend: str, settings: Settings, workdir: Path) -> BackendReport:
    workdir.mkdir(parents=True)
    report = BackendReport(backend)
    edge_token = "sbedge_" + secrets.token_urlsafe(24)
    with ExitStack() as stack:
        urls = stack.enter_context(_databases(backend, workdir, settings.postgres_url))
        common = {
            "SWITCHBOARD_DATA_DIR": str(workdir),
            "SWITCHBOARD_INTERNAL_TOKEN": secrets.token_urlsafe(24),
        }
        config = start_server(
            "config",
            (*SWITCHBOARD, "serve", "config"),
            service_env(
                **common,
                SWITCHBOARD_CONFIG_PORT="0",
                SWITCHBOARD_CONFIG_DATABASE_URL=urls["config"],
            ),
            workdir / "config.log",
            REPO_ROOT,
        )
        stack.callback(config.stop)
        registry = start_server(
            "registry",
            (*SWITCHBOARD, "serve", "registry"),
            service_env(
                **common,
                SWITCHBOARD_REGISTRY_PORT="0",
                SWITCHBOARD_REGISTRY_DATABASE_URL=urls["registry"],
                SWITCHBOARD_CONFIG_ADDRESS=config.address,
                **{EDGE_TOKEN_ENV: edge_token},
            ),
            workdir / "registry.log",
            REPO_ROOT,
        )
        stack.callback(registry.stop)
        _progress(
            f"{backend}: config pid {config.process.pid}, registry pid {registry.process.pid}"
        )
        account = asyncio.run(loader.seed_config(urls["config"], settings.identities))
        fixture = internal_rpcs.Fixture(
            account.account_id,
            account.api_key,
            account.identity_ids,
            common["SWITCHBOARD_INTERNAL_TOKEN"],
        )
        _measure_internal(report, config, fixture, urls["config"], settings, workdir)
        token = edge_token if settings.auth == "edge" else account.api_key
        loaded = 0
        for size in settings.sizes:
            label = size_label(size)
            began = time.monotonic()
            asyncio.run(loader.load_mappings(urls["registry"], loaded, size, account))
            report.load_seconds[label] = time.monotonic() - began
            _progress(f"{backend}: loaded {size} mappings in {report.load_seconds[label]:.1f} s")
            # Flush the load's dirty pages now, so kernel writeback of a freshly written
            # 1M-row database does not land in the middle of a measured point.
            os.sync()
            loaded = size
            report.notes.append(f"preflight at {label}: {_preflight(registry.address, token)}")
            _progress(report.notes[-1])
            target = f"route@{label}"
            report.points[target], report.cpu_cores[target] = {}, {}
            for concurrency in settings.concurrency:
                point, cores = _drive(
                    "route",
                    registry.address,
                    concurrency,
                    settings,
                    watched=(registry, config),
                    mappings=size,
                    token=token,
                )
                report.points[target][concurrency] = point
                report.cpu_cores[target][concurrency] = cores
            report.peak_rss_mib[label] = {
                process.name: process.peak_rss_mib() for process in (registry, config)
            }
    return report


def _measure_internal(
    report: BackendReport,
    config: ServerProcess,
    fixture: internal_rpcs.Fixture,
    database_url: str,
    settings: Settings,
    workdir: Path,
) -> None:
    """The ConfigInternalService RPCs over gRPC (driver process), then their service time.

    Service time is the servicer's handler awaited in this process, on the same
    database, with the config process idle.
    """
    path = workdir / "internal-rpcs.json"
    fixture.save(path)
    for rpc in internal_rpcs.RPCS:
        report.rpc_points[rpc], report.cpu_cores[rpc] = {}, {}
        for concurrency in settings.rpc_concurrency:
            point, cores = _drive(
                rpc,
                config.address,
                concurrency,
                settings,
                watched=(config,),
                duration_s=settings.rpc_duration_s,
                fixture=path,
            )
            report.rpc_points[rpc][concurrency] = point
            report.cpu_cores[rpc][concurrency] = cores
    report.service_time = asyncio.run(
        service_time.measure(
            database_url, fixture, calls=settings.service_time_calls, seed=settings.seed
        )
    )
    for rpc, spent in report.service_time.items():
        _progress(f"service time {rpc}: p50 {spent.p50_us:.1f} us, p99 {spent.p99_us:.1f} us")


def _drive(
    kind: str,
    address: str,
    concurrency: int,
    settings: Settings,
    *,
    watched: Sequence[ServerProcess],
    mappings: int = 1,
    token: str = "",
    duration_s: float | None = None,
    fixture: Path | None = None,
) -> tuple[PointResult, dict[str, float]]:
    """Run one point in a separate driver process (``duration_s``: default the settings').

    Also returns the CPU (in cores) each ``watched`` server used meanwhile.
    """
    duration_s = settings.duration_s if duration_s is None else duration_s
    argv = [
        sys.executable,
        "-m",
        "bench.driver",
        f"--kind={kind}",
        f"--target={address}",
        f"--concurrency={concurrency}",
        f"--warmup={settings.warmup_s}",
        f"--duration={duration_s}",
        f"--mappings={mappings}",
        f"--token={token}",
        f"--seed={settings.seed + concurrency}",
        *([f"--fixture={fixture}"] if fixture else []),
    ]
    cpu_before = [process.cpu_seconds() for process in watched]
    began = time.monotonic()
    finished = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=settings.warmup_s + duration_s + 120,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"driver failed ({finished.returncode}):\n{finished.stderr[-3000:]}")
    elapsed = time.monotonic() - began
    cores = {
        process.name: (process.cpu_seconds() - before) / elapsed
        for process, before in zip(watched, cpu_before, strict=True)
    }
    point = PointResult(**json.loads(finished.stdout))
    _progress(
        f"{kind:<5} {mappings if kind == 'route' else '':>8} x{concurrency:<3} "
        f"{point.throughput_rps:8.0f} rps  p50 {point.p50_ms:6.2f}  p99 {point.p99_ms:6.2f} ms"
        f"  errors {point.errors}  cpu "
        + " ".join(f"{name} {value:.2f}" for name, value in cores.items())
    )
    return point, cores


def _preflight(address: str, token: str) -> str:
    """One RouteCall for mapping 0, described (decision, or the RPC error)."""
    with grpc.insecure_channel(address) as channel:
        stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
        request = registry_pb2.RouteCallRequest(
            inbound_number=inbound_number(0), caller_number=CALLER_NUMBER, service=SERVICE
        )
        try:
            response = stub.RouteCall(
                request, metadata=(("authorization", f"Bearer {token}"),), timeout=10
            )
        except grpc.RpcError as error:
            return f"RouteCall failed: {error.code().name} {error.details()}"
    decision = registry_pb2.RoutingDecision.Name(response.decision)
    if response.decision == registry_pb2.ROUTING_DECISION_ACCEPT:
        return f"RouteCall OK: {decision} {response.client_websocket_url}"
    return f"RouteCall {decision} {registry_pb2.RejectReason.Name(response.reject_reason)}"


@contextmanager
def _databases(backend: str, workdir: Path, postgres_url: str | None) -> Iterator[dict[str, str]]:
    """Fresh databases per service: SQLite files in ``workdir``, or new PostgreSQL ones."""
    if backend == "sqlite":
        yield {
            service: f"sqlite+aiosqlite:///{(workdir / f'{service}.db').as_posix()}"
            for service in ("config", "registry")
        }
        return
    assert postgres_url is not None
    base = make_url(postgres_url).set(drivername="postgresql+asyncpg")
    run_id = uuid.uuid4().hex[:8]
    names = {service: f"sbbench_{run_id}_{service}" for service in ("config", "registry")}
    asyncio.run(_postgres_admin(postgres_url, [f'CREATE DATABASE "{n}"' for n in names.values()]))
    try:
        yield {
            service: base.set(database=name).render_as_string(hide_password=False)
            for service, name in names.items()
        }
    finally:
        asyncio.run(
            _postgres_admin(
                postgres_url,
                [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names.values()],
            )
        )


async def _postgres_admin(url: str, statements: Sequence[str]) -> None:
    connection = await asyncpg.connect(loader.asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "sqlite": sqlite3.sqlite_version,
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_mib": _memory_mib(),
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
    }


def _settings_json(settings: Settings) -> dict[str, Any]:
    values = asdict(settings)
    values["output"] = str(settings.output)
    values["postgres_url"] = (
        make_url(settings.postgres_url).render_as_string(hide_password=True)
        if settings.postgres_url
        else None
    )
    return values


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _loadavg(values: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
