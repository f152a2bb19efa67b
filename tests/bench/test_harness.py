"""The bench's load drivers (h2load against the in-process echo, the Python driver) and helpers."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import uuid
from pathlib import Path

import pytest
from switchboard.bench.v1 import echo_pb2

import bench.__main__ as bench_main
from bench import driver, echo_server, h2load
from bench.numbers import inbound_number, normalized_number
from bench.processes import read_cpu_seconds, read_status_kib, read_vm_hwm_kib
from bench.run import ECHO_METHOD, GROUPS, Settings, size_label
from services.common.phone import normalize_phone_number
from services.config import provisioning
from tests.support.stack import Stack


def test_numbers_are_valid_and_normalize_as_loaded() -> None:
    for index in (0, 999, 999_999):
        assert normalize_phone_number(inbound_number(index), "IN") == normalized_number(index)


def test_only_selects_known_point_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Settings] = []

    def run(settings: Settings) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr(bench_main, "run", run)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    assert bench_main.main(["--only", "journal, route"]) == 0
    assert seen[-1].groups == {"journal", "route"}
    assert bench_main.main([]) == 0
    assert seen[-1].groups == set(GROUPS)
    with pytest.raises(SystemExit):
        bench_main.main(["--only", "journal,nope"])
    assert len(seen) == 2


def test_size_labels() -> None:
    assert [size_label(n) for n in (1_000, 1_000_000, 10_000, 1_500)] == ["1k", "1M", "10k", "1500"]


def test_peak_rss_and_cpu_time_are_read_from_proc() -> None:
    assert read_vm_hwm_kib(Path(f"/proc/{os.getpid()}/status")) > 0
    assert read_status_kib(Path(f"/proc/{os.getpid()}/status"), "VmRSS") > 0
    assert read_cpu_seconds(Path(f"/proc/{os.getpid()}/stat")) > 0


def test_h2load_command_lines() -> None:
    grpc_target = h2load.Target.grpc("echo", "127.0.0.1:1", ECHO_METHOD, b"xy", (("k", "v"),))
    assert grpc_target.body == b"\x00\x00\x00\x00\x02xy"
    args = h2load.argv(
        "h2load",
        grpc_target,
        concurrency=16,
        warmup_s=0.3,
        duration_s=1.0,
        body_file=Path("b"),
        log_file=Path("l"),
    )
    assert args[:3] == ["h2load", "--duration=1000ms", "--warm-up-time=300ms"]
    assert "--clients=1" in args and "--max-concurrent-streams=16" in args
    assert "content-type: application/grpc" in args and "k: v" in args
    assert args[-1] == "http://127.0.0.1:1/switchboard.bench.v1.EchoService/Echo"
    http = h2load.Target("list", "http://127.0.0.1:1/inbound/list", http1=True)
    args = h2load.argv(
        "h2load",
        http,
        concurrency=4,
        warmup_s=0,
        duration_s=2,
        body_file=Path("b"),
        log_file=Path("l"),
    )
    assert "--h1" in args and "--clients=4" in args and "--max-concurrent-streams=1" in args
    assert not any(arg.startswith("--data") for arg in args)


def test_h2load_log_parsing_counts_other_statuses_and_unlogged_failures() -> None:
    log = "1\t200\t1000\n2\t200\t3000\n3\t503\t500\n4\t200\t2000\n"
    summary = "requests: 6 total, 6 started, 6 done, 3 succeeded, 3 failed, 2 errored, 0 timeout"
    point = h2load.parse(log, summary, duration_s=2.0)
    assert point.requests == 6
    assert point.error_codes == {"HTTP 503": 1, "failed": 2}
    assert point.throughput_rps == 1.5
    assert (point.p50_ms, point.max_ms) == (2.0, 3.0)


def test_h2load_log_parsing_leaves_out_requests_straddling_the_warm_up_end() -> None:
    # Line 1 read its status line in the warm-up and ended after it (logged with status 0):
    # it started (100) before the first logged request ended (1000 + 200). Line 4 started
    # after that, in the measured phase: a real missing status.
    log = "100\t0\t1500\n1000\t200\t200\n1100\t200\t3000\n5000\t0\t500\n"
    summary = "requests: 3 total, 3 started, 4 done, 4 succeeded, 0 failed, 0 errored"
    point = h2load.parse(log, summary, duration_s=2.0)
    assert point.requests == 3
    assert point.error_codes == {"HTTP 0": 1}
    assert point.max_ms == 3.0


async def test_h2load_drives_the_echo_over_grpc(tmp_path: Path) -> None:
    binary = h2load.ensure_installed()
    server = await echo_server.start("127.0.0.1", 0)
    try:
        target = h2load.Target.grpc(
            "echo",
            f"127.0.0.1:{server.port}",
            ECHO_METHOD,
            echo_pb2.EchoRequest(payload="+919100000000").SerializeToString(),
        )
        point = await asyncio.to_thread(
            h2load.run,
            binary,
            target,
            concurrency=4,
            warmup_s=0.1,
            duration_s=0.5,
            workdir=tmp_path,
        )
        assert point.errors == 0
        assert point.requests > 0
        assert point.p50_ms <= point.p99_ms <= point.max_ms
        # gRPC answers HTTP 200 even for its errors: an answer of another status than
        # the expected one is what counts as an error.
        unexpected = dataclasses.replace(target, expect=201)
        failing = await asyncio.to_thread(
            h2load.run,
            binary,
            unexpected,
            concurrency=2,
            warmup_s=0.0,
            duration_s=0.3,
            workdir=tmp_path,
        )
        assert failing.errors == failing.requests > 0
        assert failing.throughput_rps == 0
    finally:
        await server.stop(0)


async def test_python_driver_times_ok_calls_and_counts_errors() -> None:
    async def call(i: int) -> str | None:
        await asyncio.sleep(0)
        return None if i % 2 else "odd one out"

    point = await driver.measure([call] * 3, warmup_s=0.0, duration_s=0.2)
    assert point.requests > 0
    assert point.errors == point.error_codes["odd one out"] > 0
    assert point.errors <= point.requests


async def test_python_driver_keeps_one_request_of_each_call_in_flight() -> None:
    in_flight = [0, 0, 0]
    most = [0, 0, 0]
    seen: list[int] = []

    def slot(index: int) -> driver.Call:
        async def call(i: int) -> str | None:
            seen.append(i)
            in_flight[index] += 1
            most[index] = max(most[index], in_flight[index])
            await asyncio.sleep(0.001)
            in_flight[index] -= 1
            return None

        return call

    await driver.measure([slot(n) for n in range(3)], warmup_s=0.0, duration_s=0.1)
    assert most == [1, 1, 1]  # each (one client, one connection) never overlaps itself
    assert sorted(seen) == list(range(1, len(seen) + 1))  # request numbers: each used once


async def test_assign_driver_assigns_new_numbers_through_the_gateway(
    stack: Stack, account: provisioning.CreatedAccount
) -> None:
    created = await stack.http.post(
        "/api/v1/identities/",
        json={"agent_handle": f"bench-{uuid.uuid4().hex[:12]}"},
        headers={"X-API-Key": account.api_key},
    )
    assert created.status_code == 201, created.text
    first = random.randrange(6_000_000, 9_000_000)
    call = driver.assign_call(stack.http, account.api_key, created.json()["id"], first)
    assert await call(1) is None
    assert await call(2) is None
    assert await call(2) == "HTTP 409"  # the same number again: taken
    listed = await stack.http.get(
        "/inbound/list", headers={"authorization": f"Bearer {account.api_key}"}
    )
    numbers = {item["phone_number"] for item in listed.json()["data"]}
    assert {inbound_number(first + 1), inbound_number(first + 2)} <= numbers
