"""Percentiles, summaries, ratios, verdicts and the output of bench/report.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.report import (
    ERRORS,
    MISS,
    PASS,
    BackendReport,
    PointResult,
    ServiceTime,
    backend_json,
    compare,
    percentile,
    scaling,
    summarize,
    summarize_service_time,
    table,
    write_json,
)


def point(rps: float, p50: float, p99: float, errors: int = 0) -> PointResult:
    return PointResult(
        requests=100 + errors,
        errors=errors,
        error_codes={"UNAVAILABLE": errors} if errors else {},
        duration_s=1.0,
        throughput_rps=rps,
        p50_ms=p50,
        p95_ms=p99,
        p99_ms=p99,
        max_ms=p99,
    )


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_summarize_counts_errors_but_times_only_ok_requests() -> None:
    result = summarize([0.003, 0.001, 0.002, 0.004], {"UNIMPLEMENTED": 6}, duration_s=2.0)
    assert result.requests == 10
    assert result.errors == 6
    assert result.throughput_rps == 2.0
    assert result.p50_ms == pytest.approx(2.0)
    assert result.p99_ms == pytest.approx(4.0)
    assert result.max_ms == pytest.approx(4.0)


def test_all_failing_point_has_no_latency_and_no_throughput() -> None:
    result = summarize([], {"UNIMPLEMENTED": 1000}, duration_s=1.0)
    assert result.throughput_rps == 0
    assert math.isnan(result.p99_ms)
    comparison = compare(result, point(1000, 1, 2))
    assert comparison.throughput_verdict == ERRORS
    assert comparison.p99_verdict == ERRORS


def test_compare_against_the_goals() -> None:
    echo = point(rps=1000, p50=1.0, p99=4.0)
    good = compare(point(rps=700, p50=1.2, p99=8.0), echo)
    assert (good.throughput_ratio, good.p99_ratio) == (0.7, 2.0)
    assert (good.throughput_verdict, good.p99_verdict) == (PASS, PASS)
    slow = compare(point(rps=699, p50=1.2, p99=8.1), echo)
    assert (slow.throughput_verdict, slow.p99_verdict) == (MISS, MISS)
    failing = compare(point(rps=5000, p50=0.1, p99=0.2, errors=1), echo)
    assert (failing.throughput_verdict, failing.p99_verdict) == (ERRORS, ERRORS)


def test_scaling_of_p50_between_sizes() -> None:
    assert scaling(point(1, p50=2.0, p99=3), point(1, p50=2.4, p99=3)).verdict == PASS
    grown = scaling(point(1, p50=2.0, p99=3), point(1, p50=2.5, p99=3))
    assert grown.p50_ratio == 1.25
    assert grown.verdict == MISS
    assert scaling(point(1, 2.0, 3), point(1, 2.0, 3, errors=2)).verdict == ERRORS


def test_json_and_table_carry_every_figure(tmp_path: Path) -> None:
    echo = {1: point(1000, 1.0, 2.0), 16: point(3000, 5.0, 8.0)}
    report = BackendReport("sqlite")
    report.points["route@1k"] = {1: point(800, 1.1, 3.0), 16: point(900, 15.0, 30.0)}
    report.points["route@1M"] = {1: point(790, 1.2, 3.1), 16: summarize([], {"INTERNAL": 3}, 1.0)}
    report.peak_rss_mib = {"1k": {"registry": 80.0, "config": 70.0}}
    report.load_seconds = {"1k": 0.1}
    path = tmp_path / "results.json"
    write_json(path, {"backends": {"sqlite": backend_json(report, echo, "route@1k", "route@1M")}})
    written = json.loads(path.read_text())["backends"]["sqlite"]
    one = written["targets"]["route@1k"]["1"]
    assert one["throughput_ratio"] == pytest.approx(0.8)
    assert one["p99_ratio"] == pytest.approx(1.5)
    assert (one["throughput_verdict"], one["p99_verdict"]) == (PASS, PASS)
    assert written["targets"]["route@1M"]["16"]["p99_ms"] is None  # NaN is not JSON
    assert written["targets"]["route@1M"]["16"]["throughput_verdict"] == ERRORS
    assert written["p50_route@1M_over_route@1k"]["1"]["verdict"] == PASS
    assert written["p50_route@1M_over_route@1k"]["16"]["verdict"] == ERRORS
    text = table(report, echo, "route@1k", "route@1M")
    assert "echo" in text
    assert "INTERNAL=3" in text
    assert "registry 80 MiB" in text
    assert MISS in text  # route@1k at 16: 0.30 of the echo's throughput


def test_service_time_summary_is_in_microseconds() -> None:
    spent = summarize_service_time([3_000, 1_000, 2_000, 4_000])
    assert spent == ServiceTime(calls=4, p50_us=2.0, p99_us=4.0, mean_us=2.5, max_us=4.0)


def test_internal_rpcs_are_compared_to_the_echo_without_route_verdicts(tmp_path: Path) -> None:
    echo = {1: point(1000, 1.0, 2.0)}
    report = BackendReport("postgresql")
    report.rpc_points["Authenticate"] = {1: point(500, 1.5, 3.0), 16: point(900, 9.0, 12.0)}
    report.service_time["Authenticate"] = ServiceTime(2000, 21.5, 60.25, 25.0, 200.0)
    path = tmp_path / "results.json"
    write_json(path, backend_json(report, echo, "route@1k", "route@1M"))
    written = json.loads(path.read_text())
    one = written["config_internal_rpcs"]["Authenticate"]["1"]
    assert (one["throughput_ratio"], one["p99_ratio"]) == (0.5, 1.5)
    assert "throughput_verdict" not in one
    assert "throughput_ratio" not in written["config_internal_rpcs"]["Authenticate"]["16"]
    assert written["service_time_us"]["Authenticate"]["p99_us"] == 60.25
    text = table(report, echo, "route@1k", "route@1M")
    row = next(line for line in text.splitlines() if line.startswith("Authenticate"))
    assert "0.50" in row and MISS not in row
    assert "service time Authenticate (in-process, 2000 warm calls): p50 21.5 us" in text
