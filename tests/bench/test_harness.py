"""The bench driver against the in-process echo server, and the small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from bench import driver, echo_server
from bench.numbers import inbound_number, normalized_number
from bench.processes import read_cpu_seconds, read_vm_hwm_kib
from bench.run import size_label
from services.common.phone import normalize_phone_number


def test_numbers_are_valid_and_normalize_as_loaded() -> None:
    for index in (0, 999, 999_999):
        assert normalize_phone_number(inbound_number(index), "IN") == normalized_number(index)


def test_size_labels() -> None:
    assert [size_label(n) for n in (1_000, 1_000_000, 10_000, 1_500)] == ["1k", "1M", "10k", "1500"]


def test_peak_rss_and_cpu_time_are_read_from_proc() -> None:
    assert read_vm_hwm_kib(Path(f"/proc/{os.getpid()}/status")) > 0
    assert read_cpu_seconds(Path(f"/proc/{os.getpid()}/stat")) > 0


async def test_driver_measures_echo_and_counts_errors() -> None:
    server = await echo_server.start("127.0.0.1", 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            ok = await driver.measure(
                driver.echo_call(channel, pool_size=10),
                concurrency=4,
                warmup_s=0.05,
                duration_s=0.3,
            )
            assert ok.errors == 0
            assert ok.requests > 0
            assert ok.p50_ms <= ok.p99_ms <= ok.max_ms

        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            # The echo server has no CallRoutingService: every call fails, none is timed.
            failing = await driver.measure(
                driver.route_call(channel, mappings=10, token="t", seed=1),
                concurrency=2,
                warmup_s=0.0,
                duration_s=0.2,
            )
            assert failing.errors == failing.requests > 0
            assert set(failing.error_codes) == {"UNIMPLEMENTED"}
            assert failing.throughput_rps == 0
    finally:
        await server.stop(0)
