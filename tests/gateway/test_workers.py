"""``SWITCHBOARD_GATEWAY_WORKERS``: a real gateway parent and its worker processes on one port.

Each test starts ``switchboard serve gateway`` on port 0 against the suite's config and
registry, and reads the worker processes from ``/proc``: requests reach every worker (its
``worker``/``pid`` log fields), one ``/metrics`` scrape sums them, SIGTERM drains, the workers
never outlive the parent and a killed worker is replaced.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import DEFAULT_WORKERS_CAP, GatewaySettings, default_gateway_workers
from services.config.provisioning import CreatedAccount
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port, run_cli
from tests.support.serve_all import alive, live_children
from tests.support.stack import INTERNAL_TOKEN, Stack

METRICS_TOKEN = "metrics-token-for-worker-tests-0123456789"
DRAIN_SECONDS = 3.0
_BANNER = re.compile(r"HTTP listening on http://127\.0\.0\.1:(\d+)")
WHOAMI = "/api/whoami"
WHOAMI_ROUTE = "/api/whoami"
"""Its route template as logged and labelled (the Inkbox router mounts it under /api)."""

pytestmark = pytest.mark.timeout(180)


@dataclass
class Gateway:
    """A running ``switchboard serve gateway`` and its merged output."""

    process: asyncio.subprocess.Process
    output_path: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]

    def workers(self) -> dict[int, int]:
        """Live worker pids by worker number, read from /proc."""
        return workers_of(self.process.pid)


def workers_of(parent: int) -> dict[int, int]:
    """Worker pids by worker number (``python -m gateway.worker FD NUMBER PARENT``)."""
    return {
        int(argv[argv.index(b"gateway.worker") + 2]): pid
        for pid, argv in live_children(parent)
        if b"gateway.worker" in argv
    }


def _metrics_dir_of(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (value,) = [item for item in environ if item.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(value.split(b"=", 1)[1].decode())


def gateway_env(stack: Stack, workdir: Path, **variables: str) -> dict[str, str]:
    return cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_ADDRESS=stack.config_target,
        SWITCHBOARD_REGISTRY_ADDRESS=stack.registry_target,
        SWITCHBOARD_INTERNAL_TOKEN=INTERNAL_TOKEN,
        SWITCHBOARD_METRICS_TOKEN=METRICS_TOKEN,
        SWITCHBOARD_SHUTDOWN_DRAIN_SECONDS=str(DRAIN_SECONDS),
        **variables,
    )


@asynccontextmanager
async def gateway(stack: Stack, workdir: Path, workers: int = 2) -> AsyncIterator[Gateway]:
    """A gateway with ``workers`` workers, ready (its /readyz 200); killed on exit.

    Workers listen on port 0 (the banner names the port the parent bound); one process
    prints the configured port as it always did, so it gets a free one.
    """
    output_path = workdir / "gateway.out"
    port = "0" if workers > 1 else str(free_port())
    env = gateway_env(
        stack, workdir, SWITCHBOARD_GATEWAY_WORKERS=str(workers), SWITCHBOARD_GATEWAY_PORT=port
    )
    with output_path.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *SWITCHBOARD, "serve", "gateway", env=env, stdout=output, stderr=output
        )
    try:

        async def announced() -> bool:
            return _BANNER.search(output_path.read_text(errors="replace")) is not None

        assert await eventually(announced, timeout=60), output_path.read_text()
        match = _BANNER.search(output_path.read_text())
        assert match is not None
        running = Gateway(process, output_path, int(match[1]))
        assert running.port != 0

        async def ready() -> bool:
            return await _status(running.url, "/readyz") == 200

        assert await eventually(ready, timeout=60), running.output()
        yield running
    finally:
        if process.returncode is None:
            left = workers_of(process.pid)
            # SIGINT: stopped at once, and the parent removes its metrics directory.
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()
            for pid in left.values():
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


async def _status(url: str, path: str, **headers: str) -> int | None:
    """One request on a fresh connection (so the kernel picks the worker): its status."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        try:
            return (await http.get(path, headers=headers)).status_code
        except httpx.HTTPError:
            return None


async def _whoami(url: str, key: str, count: int) -> list[int | None]:
    """``count`` GET /api/whoami, 8 at a time, each on its own connection."""
    limit = asyncio.Semaphore(8)

    async def one() -> int | None:
        async with limit:
            return await _status(url, WHOAMI, **{"X-API-Key": key})

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _serving_pids(running: Gateway) -> set[int]:
    return {
        line["pid"]
        for line in running.log_lines()
        if line.get("message") == "request" and line.get("route") == WHOAMI_ROUTE
    }


async def _scrape(url: str) -> list[tuple[str, dict[str, str], float]]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(
        value
        for sample, found, value in samples
        if sample == name and set(labels.items()) <= set(found.items())
    )


async def test_requests_reach_every_worker_and_metrics_sum_them(
    stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    async with gateway(stack, workdir) as running:
        workers = running.workers()
        assert set(workers) == {1, 2}
        sent = 0
        # The kernel hands each new connection to one worker: keep sending until both served.
        while len(_serving_pids(running)) < 2 and sent < 400:
            statuses = await _whoami(running.url, account.api_key, 20)
            assert statuses == [200] * 20
            sent += 20
            await asyncio.sleep(0.05)  # the log lines follow the answers
        assert _serving_pids(running) == set(workers.values()), running.output()

        samples = await _scrape(running.url)
        labels = {"route": WHOAMI_ROUTE, "method": "GET"}
        assert _value(samples, "switchboard_http_requests_total", status="200", **labels) == sent
        assert _value(samples, "switchboard_http_request_duration_seconds_count", **labels) == sent
        # A live sum over the workers: the scrape itself is the one request in flight.
        assert _value(samples, "switchboard_http_requests_in_flight") == 1
        assert not any("pid" in found for _, found, _ in samples)

        lines = [line for line in running.log_lines() if line.get("route") == WHOAMI_ROUTE]
        assert {line["worker"] for line in lines} == {1, 2}
    assert running.output().count("HTTP listening on") == 1


async def test_a_killed_worker_is_replaced_and_its_counts_stay(
    stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    async with gateway(stack, workdir) as running:
        assert await _whoami(running.url, account.api_key, 10) == [200] * 10
        sent = 10
        await asyncio.sleep(0.2)  # each answered request is counted just after its answer
        before = running.workers()
        os.kill(before[1], signal.SIGKILL)

        async def replaced() -> bool:
            now = running.workers()
            return set(now) == {1, 2} and now[1] != before[1]

        assert await eventually(replaced, timeout=30), running.output()
        after = running.workers()
        assert after[2] == before[2]
        # The replacement serves: new connections reach it too.
        while after[1] not in _serving_pids(running) and sent < 400:
            assert await _whoami(running.url, account.api_key, 20) == [200] * 20
            sent += 20
            await asyncio.sleep(0.05)
        assert after[1] in _serving_pids(running), running.output()

        restarts = [
            line
            for line in running.log_lines()
            if line.get("message") == "gateway worker exited; restarting it"
        ]
        assert [(line["worker"], line["pid"], line["status"]) for line in restarts] == [
            (1, before[1], "SIGKILL")
        ]
        samples = await _scrape(running.url)
        labels = {"route": WHOAMI_ROUTE, "method": "GET", "status": "200"}
        # What the dead worker answered still counts; its in-flight gauge left the live sum.
        assert _value(samples, "switchboard_http_requests_total", **labels) == sent
        assert _value(samples, "switchboard_http_requests_in_flight") == 1


async def test_sigterm_drains_then_every_process_exits_cleanly(
    stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    async with gateway(stack, workdir) as running:
        workers = running.workers()
        running.process.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return await _status(running.url, "/readyz") == 503

        assert await eventually(draining, timeout=DRAIN_SECONDS)
        # Both workers drain: every fresh connection, whichever worker takes it, says so
        # and is still served.
        assert {await _status(running.url, "/readyz") for _ in range(10)} == {503}
        assert await _whoami(running.url, account.api_key, 10) == [200] * 10
        assert await asyncio.wait_for(running.process.wait(), timeout=60) == 0
        for pid in workers.values():
            assert not alive(pid)
        output = running.output()
    assert output.count(f"/readyz 503, draining for {DRAIN_SECONDS:g} s") == 1
    assert output.rstrip().endswith("switchboard gateway: stopped")
    assert output.count("switchboard gateway: stopped") == 1
    assert "Traceback" not in output


async def test_kill_9_of_the_parent_leaves_no_worker_and_frees_the_port(
    stack: Stack, workdir: Path
) -> None:
    async with gateway(stack, workdir) as running:
        workers = running.workers()
        assert len(workers) == 2
        metrics_dir = _metrics_dir_of(workers[1])
        assert metrics_dir.is_dir()
        running.process.kill()
        await running.process.wait()

        async def all_gone() -> bool:
            return not any(alive(pid) for pid in workers.values())

        assert await eventually(all_gone, timeout=10), running.output()
        # Nobody is left to remove the private metrics directory (a few small files).
        shutil.rmtree(metrics_dir)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", running.port))
        assert "Traceback" not in running.output()


async def test_one_worker_serves_in_the_gateway_process_itself(
    stack: Stack, account: CreatedAccount, workdir: Path
) -> None:
    async with gateway(stack, workdir, workers=1) as running:
        assert await _whoami(running.url, account.api_key, 3) == [200] * 3
        assert running.workers() == {}
        await asyncio.sleep(0.1)
        lines = [line for line in running.log_lines() if line.get("route") == WHOAMI_ROUTE]
        assert len(lines) == 3
        assert all("worker" not in line for line in lines)


@pytest.mark.parametrize("value", ["0", "-1", "x", "", "257"])
@pytest.mark.parametrize("command", ["gateway", "all"])
async def test_invalid_worker_counts_are_refused_before_the_banner(
    value: str, command: str, workdir: Path
) -> None:
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_GATEWAY_PORT="0",
        SWITCHBOARD_GATEWAY_WORKERS=value,
    )
    status, out, err = await run_cli("serve", command, env=env, timeout=60)
    assert status == 1
    assert "listening" not in out and "starting" not in out
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: SWITCHBOARD_GATEWAY_WORKERS: ")


def test_the_default_is_the_usable_cpus_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWITCHBOARD_GATEWAY_WORKERS", raising=False)
    expected = max(1, min(len(os.sched_getaffinity(0)), DEFAULT_WORKERS_CAP))
    assert default_gateway_workers() == expected
    assert GatewaySettings().gateway_workers == expected


def test_process_tests_pin_one_worker_unless_told() -> None:
    assert cli_env()["SWITCHBOARD_GATEWAY_WORKERS"] == "1"
    assert cli_env(SWITCHBOARD_GATEWAY_WORKERS="3")["SWITCHBOARD_GATEWAY_WORKERS"] == "3"


async def test_a_bad_event_loop_is_refused_once_by_the_parent(workdir: Path) -> None:
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_GATEWAY_PORT="0",
        SWITCHBOARD_GATEWAY_WORKERS="2",
        SWITCHBOARD_EVENT_LOOP="fastest",
    )
    status, out, err = await run_cli("serve", "gateway", env=env, timeout=60)
    assert (status, out) == (1, "")
    assert err.strip() == (
        "error: RuntimeError: SWITCHBOARD_EVENT_LOOP must be one of auto, uvloop, asyncio, "
        "not 'fastest'"
    )
