"""The benchmark run: start the real processes, load data, drive each paired point, report.

Every comparison is a target point and its baseline run alternately (ABAB...,
``pairs`` pairs) at the same number of requests in flight, each run by h2load;
the report is the median of the per-pair ratios and their spread, so a machine
that gets busier or quieter during the run moves both sides of a pair alike.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
from google.protobuf import field_mask_pb2
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from switchboard.bench.v1 import echo_pb2
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from bench import driver, h2load, internal_rpcs, loader, service_time
from bench.chart import write_chart
from bench.numbers import CALLER_NUMBER, SERVICE, inbound_number
from bench.processes import (
    ECHO_SERVER,
    HTTP_LISTENING,
    SWITCHBOARD,
    ServerProcess,
    service_env,
    start_server,
)
from bench.report import (
    BackendReport,
    Paired,
    PointResult,
    Staleness,
    evaluate,
    goals_table,
    table,
    write_json,
)
from services.common.storage.db import asyncpg_dsn

REPO_ROOT = Path(__file__).resolve().parent.parent
EDGE_TOKEN_ENV = "SWITCHBOARD_EDGE_TOKEN"
ECHO_METHOD = "/switchboard.bench.v1.EchoService/Echo"
ROUTE_METHOD = "/switchboard.registry.v1.CallRoutingService/RouteCall"
GET_ACTION_METHOD = "/switchboard.config.v1.ConfigService/GetIncomingCallAction"
INTERNAL_METHOD = "/switchboard.config.v1.ConfigInternalService/{rpc}"
ASSIGN_FIRST = 5_000_000
"""Numbers assigned by the assign points start here (never loaded)."""
LIST_PAGE = 50
STALENESS_TIMEOUT_S = 15.0
GROUPS = (
    "rpc",
    "route",
    "journal",
    "gateway_route",
    "gateway_call_action",
    "staleness",
    "idle",
    "list",
    "assign",
    "route_large",
)
"""Point groups, in the order they run; ``--only`` picks some of them."""
READY_TIMEOUT_S = 180.0
"""A gateway can take this long to serve on a loaded machine."""


@dataclass(frozen=True)
class Settings:
    """What to measure and where to write it."""

    sizes: tuple[int, int]
    """Mappings for RouteCall's small and large points."""
    list_size: int
    """Mappings when the list (first vs deep page) and assign points run."""
    journal_records: int
    """Decisions already in the registry's journal before any point runs (its steady size:
    the default ``SWITCHBOARD_JOURNAL_MAX_ROWS``), loaded when the journal group runs."""
    concurrency: tuple[int, ...]
    pairs: int
    warmup_s: float
    duration_s: float
    identities: int
    rpc_concurrency: tuple[int, ...]
    """In-flight counts of the ConfigInternalService points."""
    staleness_samples: int
    idle_s: float
    service_time_calls: int
    postgres_url: str | None
    auth: str
    output: Path
    chart: Path
    keep: bool
    seed: int
    groups: frozenset[str] = frozenset(GROUPS)
    """The point groups to measure (``--only``); RSS is always reported."""


def size_label(size: int) -> str:
    """``1000`` -> ``1k``, ``1000000`` -> ``1M``."""
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def run(settings: Settings) -> int:
    """Measure every backend; write the JSON and the chart, print the tables and the goals."""
    binary = h2load.ensure_installed()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-bench-"))
    try:
        backends = ["sqlite", *(["postgresql"] if settings.postgres_url else [])]
        reports = [
            Backend(backend, settings, binary, workdir / backend).run() for backend in backends
        ]
    finally:
        if settings.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    goals = evaluate(reports)
    document = {
        "generated_at": started.isoformat().replace("+00:00", "Z"),
        "machine": _machine(load_before),
        "settings": _settings_json(settings),
        "goals": [asdict(goal) for goal in goals],
        "backends": {report.backend: report.as_json() for report in reports},
    }
    write_json(settings.output, document)
    write_chart(settings.chart, reports)
    print()
    for report in reports:
        print(table(report))
        print()
    print(goals_table(goals))
    print(f"load average before/after: {_loadavg(load_before)} / {_loadavg(os.getloadavg())}")
    print(f"wrote {settings.output} and {settings.chart}")
    return 0


class Backend:
    """One backend's processes, data and points."""

    def __init__(self, backend: str, settings: Settings, binary: str, workdir: Path) -> None:
        self.settings = settings
        self.binary = binary
        self.workdir = workdir
        self.report = BackendReport(backend)
        self.runs = 0

    def run(self) -> BackendReport:
        """Start everything, measure the selected groups in order, stop everything."""
        self.workdir.mkdir(parents=True)
        settings, report = self.settings, self.report
        groups = settings.groups
        with ExitStack() as stack:
            urls = stack.enter_context(
                _databases(report.backend, self.workdir, settings.postgres_url)
            )
            processes = self._start(stack, urls)
            echo, config, registry, replica, gateway = processes[:5]
            account = asyncio.run(loader.seed_config(urls["config"], settings.identities))
            token = self.edge_token if settings.auth == "edge" else account.api_key
            small, large = settings.sizes
            loaded = self._load(urls["registry"], 0, small, account)
            if "journal" in groups and settings.journal_records:
                self._load_journal(urls["registry"], account)
            echo_target = served_by(
                h2load.Target.grpc(
                    "echo",
                    echo.address,
                    ECHO_METHOD,
                    echo_pb2.EchoRequest(payload=inbound_number(0)).SerializeToString(),
                ),
                echo,
            )
            if "rpc" in groups:
                fixture = internal_rpcs.Fixture(
                    account.account_id, account.api_key, account.identity_ids, self.internal_token
                )
                self._internal_rpcs(config, fixture, echo_target)
                report.service_time = asyncio.run(
                    service_time.measure(
                        urls["config"],
                        fixture,
                        calls=settings.service_time_calls,
                        seed=settings.seed,
                    )
                )
            route_small = self._route_target(registry, small, token)
            if "route" in groups:
                for c in settings.concurrency:
                    self._pairs("route_small", route_small, echo_target, c)
            if "journal" in groups:
                journal_off = self._route_target(processes[5], small, token, " journal off")
                for c in settings.concurrency:
                    self._pairs("journal", route_small, journal_off, c)
                report.journal_records = _journal_records(
                    self.registry_metrics_port, self.internal_token
                )
                _progress(f"journal records: {report.journal_records}")
            if "gateway_route" in groups:
                gateway_route = served_by(_gateway_route_target(gateway, small, token), gateway)
                for c in settings.concurrency:
                    self._pairs("gateway_route", gateway_route, route_small, c)
            if "gateway_call_action" in groups:
                self._call_action_points(config, gateway, account)
            if "staleness" in groups:
                report.staleness = asyncio.run(
                    _staleness(
                        (registry, replica), config, account, token, settings.staleness_samples
                    )
                )
                _progress(f"staleness: {report.staleness.as_json()}")
            if "idle" in groups:
                report.idle_cpu_cores = asyncio.run(
                    _idle_cpu(processes, (registry, replica), token, settings)
                )
                _progress(f"idle CPU: {report.idle_cpu_cores}")
            if groups & {"list", "assign"} and settings.list_size > loaded:
                loaded = self._load(urls["registry"], loaded, settings.list_size, account)
            if "list" in groups:
                self._list_points(registry, gateway, account)
            if "assign" in groups:
                self._assign_points(gateway, account)
            if "route_large" in groups:
                if large > loaded:
                    loaded = self._load(urls["registry"], loaded, large, account)
                route_large = self._route_target(registry, large, token)
                for c in settings.concurrency:
                    self._pairs("route_large", route_large, echo_target, c)
            report.rss_mib = {
                process.name: {"rss": process.rss_mib(), "peak": process.peak_rss_mib()}
                for process in processes
            }
            for name, pid in _gateway_workers(gateway):
                status = Path(f"/proc/{pid}/status")
                report.rss_mib[name] = {
                    "rss": _status_mib(status, "VmRSS"),
                    "peak": _status_mib(status, "VmHWM"),
                }
        return report

    def _call_action_points(
        self, config: ServerProcess, gateway: ServerProcess, account: loader.SeededAccount
    ) -> None:
        identity = account.identity_ids[0]
        direct_action = h2load.Target.grpc(
            "GetIncomingCallAction",
            config.address,
            GET_ACTION_METHOD,
            config_pb2.GetIncomingCallActionRequest(agent_identity_id=identity).SerializeToString(),
            metadata=(("x-api-key", account.api_key),),
        )
        _check_grpc(direct_action, lambda _: None)
        direct_action = served_by(direct_action, config)
        gateway_action = h2load.Target(
            "GET call action (gw)",
            f"{gateway.url}/api/v1/phone/incoming-call-action?agent_identity_id={identity}",
            headers=(("x-api-key", account.api_key),),
            http1=True,
            cpu_seconds=gateway.cpu_seconds,
        )
        _check_http(gateway_action)
        for c in self.settings.concurrency:
            self._pairs("gateway_call_action", gateway_action, direct_action, c)

    def _start(self, stack: ExitStack, urls: dict[str, str]) -> list[ServerProcess]:
        backend = self.report.backend
        self.edge_token = "sbedge_" + secrets.token_urlsafe(24)
        self.internal_token = secrets.token_urlsafe(24)
        common = {
            "SWITCHBOARD_DATA_DIR": str(self.workdir),
            "SWITCHBOARD_INTERNAL_TOKEN": self.internal_token,
        }

        def started(name: str, argv: Sequence[str], **env: str) -> ServerProcess:
            process = start_server(
                name, argv, service_env(**env), self.workdir / f"{name}.log", REPO_ROOT
            )
            stack.callback(process.stop)
            return process

        echo = started("echo", ECHO_SERVER)
        config = started(
            "config",
            (*SWITCHBOARD, "serve", "config"),
            **common,
            SWITCHBOARD_CONFIG_PORT="0",
            SWITCHBOARD_CONFIG_DATABASE_URL=urls["config"],
        )
        self.registry_metrics_port = _free_port()
        replicas = [
            started(
                name,
                (*SWITCHBOARD, "serve", "registry"),
                **common,
                SWITCHBOARD_REGISTRY_PORT="0",
                SWITCHBOARD_REGISTRY_METRICS_PORT=str(metrics_port),
                SWITCHBOARD_REGISTRY_DATABASE_URL=urls["registry"],
                SWITCHBOARD_CONFIG_ADDRESS=config.address,
                **{EDGE_TOKEN_ENV: self.edge_token},
            )
            for name, metrics_port in (
                ("registry", self.registry_metrics_port),
                ("registry-2", _free_port()),
            )
        ]
        if "journal" in self.settings.groups:
            # Same databases and config; only the journal differs (the journal group's baseline).
            replicas.append(
                started(
                    "registry-no-journal",
                    (*SWITCHBOARD, "serve", "registry"),
                    **common,
                    SWITCHBOARD_REGISTRY_PORT="0",
                    SWITCHBOARD_REGISTRY_DATABASE_URL=urls["registry"],
                    SWITCHBOARD_CONFIG_ADDRESS=config.address,
                    SWITCHBOARD_JOURNAL_ENABLED="false",
                    **{EDGE_TOKEN_ENV: self.edge_token},
                )
            )
        gateway = start_server(
            "gateway",
            (*SWITCHBOARD, "serve", "gateway"),
            service_env(
                **common,
                SWITCHBOARD_GATEWAY_PORT=str(_free_port()),
                SWITCHBOARD_CONFIG_ADDRESS=config.address,
                SWITCHBOARD_REGISTRY_ADDRESS=replicas[0].address,
            ),
            self.workdir / "gateway.log",
            REPO_ROOT,
            listening=HTTP_LISTENING,
        )
        stack.callback(gateway.stop)
        _wait_ready(gateway.url)
        _progress(
            f"{backend}: "
            + ", ".join(f"{p.name} pid {p.process.pid}" for p in (echo, config, *replicas, gateway))
        )
        return [echo, config, *replicas[:2], gateway, *replicas[2:]]

    def _load(self, database_url: str, start: int, stop: int, account: loader.SeededAccount) -> int:
        label = size_label(stop)
        self._timed_load(
            label, f"{stop} mappings", loader.load_mappings(database_url, start, stop, account)
        )
        return stop

    def _load_journal(self, database_url: str, account: loader.SeededAccount) -> None:
        records = self.settings.journal_records
        label = f"journal {size_label(records)}"
        self._timed_load(
            label, f"{label} records", loader.load_journal(database_url, records, account)
        )

    def _timed_load(self, label: str, what: str, load: Coroutine[Any, Any, None]) -> None:
        """Run ``load``, report its time as ``load_seconds[label]``, flush it to disk."""
        began = time.monotonic()
        asyncio.run(load)
        self.report.load_seconds[label] = time.monotonic() - began
        _progress(f"{self.report.backend}: {what} ({self.report.load_seconds[label]:.1f} s)")
        # Flush the load's dirty pages now, so kernel writeback of a freshly written
        # 1M-row database does not land in the middle of a measured point.
        os.sync()

    def _route_target(
        self, registry: ServerProcess, size: int, token: str, variant: str = ""
    ) -> h2load.Target:
        """RouteCall of the last number loaded (an auto-accepting identity), checked once."""
        target = h2load.Target.grpc(
            f"RouteCall@{size_label(size)}{variant}",
            registry.address,
            ROUTE_METHOD,
            _route_request(size - 1).SerializeToString(),
            metadata=(("authorization", f"Bearer {token}"),),
        )
        _check_grpc(target, _accepted)
        return served_by(target, registry)

    def _pairs(
        self, key: str, target: h2load.Target, baseline: h2load.Target, concurrency: int
    ) -> Paired:
        paired = Paired(key, target.name, baseline.name, concurrency)
        for _ in range(self.settings.pairs):
            paired.pairs.append(
                (self._h2load(target, concurrency), self._h2load(baseline, concurrency))
            )
        self.report.paired.append(paired)
        rps, p99 = paired.ratio("rps"), paired.ratio("p99")
        _progress(
            f"{target.name} / {baseline.name} x{concurrency}: rps {paired.median(0, 'rps'):.0f} / "
            f"{paired.median(1, 'rps'):.0f}, ratio {rps.median:.2f} [{rps.minimum:.2f}-"
            f"{rps.maximum:.2f}]{' WIDE' if rps.wide else ''}, p99 ratio {p99.median:.2f}"
            + _cpu_progress(paired)
            + (f", errors {paired.errors}" if paired.errors else "")
        )
        return paired

    def _h2load(self, target: h2load.Target, concurrency: int, duration: float = 0) -> PointResult:
        self.runs += 1
        return h2load.run(
            self.binary,
            target,
            concurrency=concurrency,
            warmup_s=self.settings.warmup_s,
            duration_s=duration or self.settings.duration_s,
            workdir=self.workdir / "h2load",
        )

    def _internal_rpcs(
        self, config: ServerProcess, fixture: internal_rpcs.Fixture, echo: h2load.Target
    ) -> None:
        for rpc in internal_rpcs.RPCS:
            request = internal_rpcs.requests(fixture, rpc, 1, self.settings.seed)[0]
            target = h2load.Target.grpc(
                rpc,
                config.address,
                INTERNAL_METHOD.format(rpc=rpc),
                request.SerializeToString(),
                metadata=fixture.metadata(),
            )
            response_type = {
                "Authenticate": config_pb2.Principal,
                "BatchGetAgentIdentities": config_pb2.BatchGetAgentIdentitiesResponse,
                "ResolveCallTarget": config_pb2.CallTarget,
            }[rpc]
            _check_grpc(target, functools.partial(_internal_answer, rpc, request, response_type))
            target = served_by(target, config)
            for c in self.settings.rpc_concurrency:
                self._pairs(f"rpc:{rpc}", target, echo, c)

    def _list_points(
        self, registry: ServerProcess, gateway: ServerProcess, account: loader.SeededAccount
    ) -> None:
        deep_token = _deep_page_token(registry, account.api_key, self.settings.list_size // 2)
        label = size_label(self.settings.list_size)
        headers = (("authorization", f"Bearer {account.api_key}"),)
        first = h2load.Target(
            f"list first page@{label}",
            f"{gateway.url}/inbound/list?page_size={LIST_PAGE}",
            headers=headers,
            http1=True,
        )
        deep = h2load.Target(
            f"list deep page@{label}",
            f"{gateway.url}/inbound/list?page_size={LIST_PAGE}&page_token={deep_token}",
            headers=headers,
            http1=True,
        )
        for target in (first, deep):
            _check_http(target)
        for c in self.settings.concurrency:
            self._pairs("list_deep", deep, first, c)

    def _assign_points(self, gateway: ServerProcess, account: loader.SeededAccount) -> None:
        points = self.report.points.setdefault(
            f"POST /inbound/assign@{size_label(self.settings.list_size)}", {}
        )
        first = ASSIGN_FIRST
        for c in self.settings.concurrency:
            point = asyncio.run(
                driver.measure_assign(
                    gateway.url,
                    account.api_key,
                    account.identity_ids[0],
                    first,
                    concurrency=c,
                    warmup_s=self.settings.warmup_s,
                    duration_s=self.settings.duration_s,
                )
            )
            first += point.requests + 100_000
            points[c] = point
            _progress(
                f"assign x{c}: {point.throughput_rps:.0f} rps, p50 {point.p50_ms:.2f} ms, "
                f"p99 {point.p99_ms:.2f} ms, errors {point.errors}"
            )


def _route_request(index: int) -> registry_pb2.RouteCallRequest:
    return registry_pb2.RouteCallRequest(
        inbound_number=inbound_number(index), caller_number=CALLER_NUMBER, service=SERVICE
    )


def _cpu_progress(paired: Paired) -> str:
    cpu = paired.ratio("cpu")
    if math.isnan(cpu.median):
        return ""
    return (
        f", CPU/request {paired.median(0, 'cpu'):.0f} / {paired.median(1, 'cpu'):.0f} us "
        f"(ratio {cpu.median:.2f} [{cpu.minimum:.2f}-{cpu.maximum:.2f}])"
    )


def served_by(target: h2load.Target, process: ServerProcess) -> h2load.Target:
    """``target``, its runs also measuring ``process``'s CPU per request."""
    return dataclasses.replace(target, cpu_seconds=process.cpu_seconds)


def _gateway_route_target(gateway: ServerProcess, size: int, token: str) -> h2load.Target:
    body = {
        "inbound_number": inbound_number(size - 1),
        "caller_number": CALLER_NUMBER,
        "service": SERVICE,
    }
    target = h2load.Target(
        f"POST /v1/calls:route@{size_label(size)}",
        f"{gateway.url}/v1/calls:route",
        headers=(("content-type", "application/json"), ("authorization", f"Bearer {token}")),
        body=json.dumps(body).encode(),
        http1=True,
    )
    answer = _check_http(target)
    if answer.get("decision") != "accept":
        raise RuntimeError(f"gateway route preflight: {answer}")
    return target


def _internal_answer(rpc: str, request: Any, response_type: Any, raw: bytes) -> str | None:
    return internal_rpcs.check(rpc, request, response_type.FromString(raw))


def _accepted(raw: bytes) -> str | None:
    response = registry_pb2.RouteCallResponse.FromString(raw)
    if response.decision == registry_pb2.ROUTING_DECISION_ACCEPT:
        return None
    return f"RouteCall {registry_pb2.RejectReason.Name(response.reject_reason)}"


def _check_grpc(target: h2load.Target, check: Callable[[bytes], str | None]) -> None:
    """One call of what h2load will repeat, answered right (h2load sees only HTTP 200)."""
    address = target.url.removeprefix("http://").split("/", 1)[0]
    method = "/" + target.url.removeprefix("http://").split("/", 1)[1]
    metadata = tuple(
        (name, value) for name, value in target.headers if name not in ("content-type", "te")
    )
    assert target.body is not None
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(method)
        try:
            raw = call(target.body[5:], metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            raise RuntimeError(f"{target.name} preflight: {error.code().name}") from None
    problem = check(raw)
    if problem:
        raise RuntimeError(f"{target.name} preflight: {problem}")


def _check_http(target: h2load.Target) -> dict[str, Any]:
    """One request of what h2load will repeat: it must answer 200 (JSON body returned)."""
    response = httpx.request(
        "POST" if target.body is not None else "GET",
        target.url,
        headers=dict(target.headers),
        content=target.body,
        timeout=10,
    )
    if response.status_code != target.expect:
        raise RuntimeError(f"{target.name} preflight: HTTP {response.status_code}")
    answer: dict[str, Any] = response.json()
    return answer


def _deep_page_token(registry: ServerProcess, api_key: str, depth: int) -> str:
    """The page token after ``depth`` mappings of the newest-first list."""
    token, seen = "", 0
    with grpc.insecure_channel(registry.address) as channel:
        stub = registry_pb2_grpc.InboundNumberServiceStub(channel)
        while seen < depth:
            page = stub.ListInboundNumbers(
                registry_pb2.ListInboundNumbersRequest(
                    page_size=min(1000, depth - seen), page_token=token
                ),
                metadata=(("authorization", f"Bearer {api_key}"),),
                timeout=30,
            )
            seen += len(page.inbound_numbers)
            token = page.next_page_token
            if not token:
                raise RuntimeError(f"only {seen} mappings listed, wanted {depth}")
    return token


async def _staleness(
    replicas: Sequence[ServerProcess],
    config: ServerProcess,
    account: loader.SeededAccount,
    token: str,
    samples: int,
) -> Staleness:
    """Change an identity's websocket URL; time until every replica routes with the new one."""
    identity = account.identity_ids[0]
    request = _route_request(0)  # mapping 0 belongs to identity 0
    routing_metadata = (("authorization", f"Bearer {token}"),)
    measured: list[float] = []
    channels = [grpc.aio.insecure_channel(replica.address) for replica in replicas]
    try:
        stubs = [registry_pb2_grpc.CallRoutingServiceStub(channel) for channel in channels]
        async with grpc.aio.insecure_channel(config.address) as config_channel:
            config_stub = config_pb2_grpc.ConfigServiceStub(config_channel)
            for stub in stubs:  # cache the target on every replica first
                await stub.RouteCall(request, metadata=routing_metadata, timeout=10)
            for sample in range(samples):
                url = f"wss://agents.example.com/bench/stale/{sample}"
                await config_stub.UpdateIncomingCallAction(
                    config_pb2.UpdateIncomingCallActionRequest(
                        incoming_call_action=config_pb2.IncomingCallAction(
                            agent_identity_id=identity, client_websocket_url=url
                        ),
                        update_mask=field_mask_pb2.FieldMask(paths=["client_websocket_url"]),
                    ),
                    metadata=(("x-api-key", account.api_key),),
                    timeout=10,
                )
                changed = time.perf_counter()
                pending = set(range(len(stubs)))
                while pending:
                    if time.perf_counter() - changed > STALENESS_TIMEOUT_S:
                        raise RuntimeError(f"change not routed within {STALENESS_TIMEOUT_S} s")
                    for index in sorted(pending):
                        answer = await stubs[index].RouteCall(
                            request, metadata=routing_metadata, timeout=10
                        )
                        if answer.client_websocket_url == url:
                            pending.discard(index)
                    if pending:
                        await asyncio.sleep(0.001)
                measured.append((time.perf_counter() - changed) * 1000)
    finally:
        for channel in channels:
            await channel.close()
    return Staleness(len(replicas), measured)


async def _idle_cpu(
    processes: Sequence[ServerProcess],
    replicas: Sequence[ServerProcess],
    token: str,
    settings: Settings,
) -> dict[str, float]:
    """CPU of every process over an idle window, after every identity was routed on every replica.

    Mapping ``i`` belongs to identity ``i % identities``: routing the first
    ``identities`` numbers caches every identity's call target.
    """
    count = min(settings.identities, settings.sizes[0])
    metadata = (("authorization", f"Bearer {token}"),)
    for replica in replicas:
        async with grpc.aio.insecure_channel(replica.address) as channel:
            stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
            for start in range(0, count, 64):
                await asyncio.gather(
                    *(
                        stub.RouteCall(_route_request(i), metadata=metadata, timeout=10)
                        for i in range(start, min(start + 64, count))
                    )
                )
    await asyncio.sleep(1.0)
    before = {process.name: process.cpu_seconds() for process in processes}
    began = time.monotonic()
    await asyncio.sleep(settings.idle_s)
    elapsed = time.monotonic() - began
    return {
        process.name: (process.cpu_seconds() - before[process.name]) / elapsed
        for process in processes
    }


def _gateway_workers(gateway: ServerProcess) -> list[tuple[str, int]]:
    return [(f"gateway worker {n}", pid) for n, pid in enumerate(gateway.children(), 1)]


def _status_mib(status: Path, field: str) -> float:
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _journal_records(metrics_port: int, token: str) -> dict[str, int]:
    """``switchboard_journal_records_total`` by result, from a registry's metrics port."""
    response = httpx.get(
        f"http://127.0.0.1:{metrics_port}/metrics",
        headers={"authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    counts = {"written": 0, "dropped": 0, "failed": 0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "switchboard_journal_records_total":
                counts[sample.labels["result"]] = int(sample.value)
    return counts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway at {url} not ready within {READY_TIMEOUT_S:.0f} s")


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
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
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
    values["chart"] = str(settings.chart)
    values["groups"] = [group for group in GROUPS if group in settings.groups]
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
