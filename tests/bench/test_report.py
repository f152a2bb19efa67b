"""Percentiles, summaries, paired ratios and their spread, goal verdicts, JSON, table, chart."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.chart import write_chart
from bench.h2load import with_server_cpu
from bench.report import (
    ERRORS,
    MISS,
    PASS,
    SPREAD_LIMIT,
    BackendReport,
    Paired,
    PointResult,
    ServiceTime,
    Staleness,
    evaluate,
    goals_table,
    percentile,
    summarize,
    summarize_ratios,
    summarize_service_time,
    table,
    write_json,
)


def point(rps: float, p50: float, p99: float, errors: int = 0) -> PointResult:
    return PointResult(
        requests=100 + errors,
        errors=errors,
        error_codes={"HTTP 503": errors} if errors else {},
        duration_s=1.0,
        throughput_rps=rps,
        p50_ms=p50,
        p95_ms=p99,
        p99_ms=p99,
        max_ms=p99,
    )


def paired(key: str, concurrency: int, *pairs: tuple[PointResult, PointResult]) -> Paired:
    return Paired(key, f"{key} target", f"{key} baseline", concurrency, list(pairs))


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 0)


def test_summarize_counts_errors_but_times_only_ok_requests() -> None:
    result = summarize([0.003, 0.001, 0.002, 0.004], {"HTTP 503": 6}, duration_s=2.0)
    assert (result.requests, result.errors, result.throughput_rps) == (10, 6, 2.0)
    assert result.p50_ms == pytest.approx(2.0)
    assert result.p99_ms == pytest.approx(4.0)
    empty = summarize([], {"failed": 3}, duration_s=1.0)
    assert empty.throughput_rps == 0 and math.isnan(empty.p99_ms)


def test_ratio_summary_is_the_median_with_its_spread() -> None:
    odd = summarize_ratios([0.8, 0.6, 0.7])
    assert (odd.median, odd.minimum, odd.maximum) == (0.7, 0.6, 0.8)
    assert odd.spread == pytest.approx(0.2 / 0.7)
    assert odd.wide is (odd.spread > SPREAD_LIMIT)
    even = summarize_ratios([1.0, 1.05, 0.95, 1.0])
    assert even.median == 1.0 and not even.wide
    assert summarize_ratios([math.nan]).wide


def test_paired_ratios_are_taken_pair_by_pair() -> None:
    drifting = paired(
        "route_large",
        16,
        (point(700, 2, 4), point(1000, 1, 2)),  # quiet machine
        (point(350, 4, 8), point(500, 2, 4)),  # busy: both sides slow down alike
        (point(720, 2, 4), point(1000, 1, 2)),
    )
    rps = drifting.ratio("rps")
    assert rps.median == pytest.approx(0.70) and not rps.wide
    assert drifting.ratio("p99").median == pytest.approx(2.0)
    assert drifting.median(0, "rps") == 700
    assert drifting.median(1, "rps") == 1000


def report_with_everything() -> BackendReport:
    report = BackendReport("sqlite")
    good = (point(800, 1.1, 3.0), point(1000, 1.0, 2.0))
    report.paired = [
        paired("route_large", 1, good, good, good),
        paired("route_large", 16, good, (point(100, 5, 9), point(1000, 1, 2)), good),
        paired("gateway_route", 16, *[(point(400, 1, 2, errors=1), point(1000, 1, 2))] * 3),
        paired("list_deep", 16, *[(point(90, 1.4, 2), point(100, 1.0, 2))] * 3),
        paired("journal", 16, *[(point(850, 1.1, 2), point(1000, 1.0, 2))] * 3),
    ]
    report.points["POST /inbound/assign@100k"] = {16: point(50, 10, 20)}
    report.staleness = Staleness(2, [3.0, 5.0, 250.0])
    report.idle_cpu_cores = {"config": 0.001, "registry": 0.01, "registry-2": 0.03}
    report.rss_mib = {"registry": {"rss": 90.0, "peak": 100.0}}
    report.service_time["Authenticate"] = ServiceTime(2000, 21.5, 60.25, 25.0, 200.0)
    report.load_seconds = {"1k": 0.1}
    return report


def test_goals_are_evaluated_from_the_medians() -> None:
    goals = {(goal.figure, goal.backend): goal for goal in evaluate([report_with_everything()])}
    throughput = goals["RouteCall at the large size / echo, throughput", "sqlite"]
    assert throughput.verdict == PASS
    assert "x16: 0.80 [0.10-0.80] PASS+WIDE" in throughput.measured
    assert goals["gateway /v1/calls:route / direct RouteCall", "sqlite"].measured.endswith(ERRORS)
    assert goals["deep list page / first page, p50 latency", "sqlite"].verdict == PASS
    journal = goals["RouteCall journal on / journal off (issue 11)", "sqlite"]
    assert journal.verdict == MISS and "x16: 0.85 [0.85-0.85] MISS" in journal.measured
    assert goals["RouteCall on PostgreSQL / echo", "postgresql"].measured == "not measured"
    stale = goals["call-action change visible to routing, p99, 2 replicas", "sqlite"]
    assert stale.verdict == MISS and "p99 250.0 ms" in stale.measured
    assert goals["registry CPU, identities cached, no traffic", "sqlite"].verdict == MISS
    assert goals["RSS per process (peak)", "sqlite"].verdict == PASS


def test_json_table_and_chart_carry_every_figure(tmp_path: Path) -> None:
    report = report_with_everything()
    path = tmp_path / "results.json"
    write_json(path, {"backends": {"sqlite": report.as_json()}})
    written = json.loads(path.read_text())["backends"]["sqlite"]
    first = written["paired"][0]
    assert first["rps_ratio"]["median"] == pytest.approx(0.8)
    assert len(first["pairs"]) == 3 and first["pairs"][0]["baseline"]["throughput_rps"] == 1000
    assert written["staleness"]["p99_ms"] == 250.0
    assert written["points"]["POST /inbound/assign@100k"]["16"]["throughput_rps"] == 50
    assert written["service_time_us"]["Authenticate"]["p99_us"] == 60.25
    text = table(report)
    assert "WIDE" in text and "errors=3" in text
    assert "RSS registry: 90 MiB now, peak 100 MiB" in text
    assert "p99 250.0 ms" in text
    goals = goals_table(evaluate([report]))
    assert "| RSS per process (peak) | sqlite | < 150 MiB | registry 100 | PASS |" in goals
    chart = tmp_path / "results.png"
    write_chart(chart, [report])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nan_and_infinity_become_null(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json(path, {"a": math.nan, "b": [math.inf, 1.0]})
    assert json.loads(path.read_text()) == {"a": None, "b": [None, 1.0]}


def test_service_time_summary_is_in_microseconds() -> None:
    spent = summarize_service_time([3_000, 1_000, 2_000, 4_000])
    assert spent == ServiceTime(calls=4, p50_us=2.0, p99_us=4.0, mean_us=2.5, max_us=4.0)


def test_server_cpu_is_per_request_and_paired_like_the_rest() -> None:
    # 2 s of CPU over a 4 s run at 1000 requests/s: 500 us per request.
    target = with_server_cpu(point(1000, 1.0, 2.0), cpu_s=2.0, wall_s=4.0)
    baseline = with_server_cpu(point(1000, 1.0, 2.0), cpu_s=1.0, wall_s=4.0)
    assert target.server_cpu_us == pytest.approx(500)
    assert math.isnan(with_server_cpu(point(0, 1.0, 2.0), cpu_s=1.0, wall_s=4.0).server_cpu_us)
    measured = Paired("k", "t", "b", 1, [(target, baseline)] * 3)
    assert measured.ratio("cpu").median == pytest.approx(2.0)
    unmeasured = Paired("k", "t", "b", 1, [(point(1, 1, 1), point(1, 1, 1))] * 3)
    assert math.isnan(unmeasured.ratio("cpu").median)
    assert "cpu_ratio" in measured.as_json()
