"""Latency statistics, ratios to the echo ceiling, goal verdicts, the table and the JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

THROUGHPUT_GOAL = 0.70
"""Route throughput must be at least this fraction of the echo's."""
P99_GOAL = 2.0
"""Route p99 must be at most this multiple of the echo's."""
SCALING_GOAL = 1.2
"""p50 at the large size must be at most this multiple of p50 at the small size."""

PASS = "PASS"
MISS = "MISS"
ERRORS = "ERRORS"
"""Verdict of a point where RPCs failed: never reported as fast."""


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    if not 0 < pct <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {pct}")
    rank = math.ceil(pct / 100 * len(sorted_values))
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class PointResult:
    """One measured point: a target at one number of requests in flight."""

    requests: int
    errors: int
    error_codes: Mapping[str, int]
    duration_s: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def summarize(
    latencies_s: Sequence[float], error_codes: Mapping[str, int], duration_s: float
) -> PointResult:
    """Statistics of the OK requests' latencies; errors are counted, not timed.

    Throughput counts OK requests only, so failing RPCs can never look fast.
    """
    ordered = sorted(latencies_s)
    errors = sum(error_codes.values())
    ms = [value * 1000 for value in ordered]
    return PointResult(
        requests=len(ordered) + errors,
        errors=errors,
        error_codes=dict(error_codes),
        duration_s=duration_s,
        throughput_rps=len(ordered) / duration_s if duration_s > 0 else math.nan,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1] if ms else math.nan,
    )


@dataclass(frozen=True)
class ServiceTime:
    """Time inside one RPC handler (no transport), per call, in microseconds."""

    calls: int
    p50_us: float
    p99_us: float
    mean_us: float
    max_us: float


def summarize_service_time(durations_ns: Sequence[int]) -> ServiceTime:
    """p50/p99/mean/max of per-call handler durations given in nanoseconds."""
    us = sorted(value / 1000 for value in durations_ns)
    return ServiceTime(
        calls=len(us),
        p50_us=percentile(us, 50),
        p99_us=percentile(us, 99),
        mean_us=sum(us) / len(us) if us else math.nan,
        max_us=us[-1] if us else math.nan,
    )


def ratio(value: float, reference: float) -> float:
    """value / reference, NaN when either is missing or the reference is zero."""
    if math.isnan(value) or math.isnan(reference) or reference == 0:
        return math.nan
    return value / reference


def verdict(ok: bool, *, errors: int) -> str:
    """PASS/MISS, or ERRORS whenever an RPC failed."""
    if errors:
        return ERRORS
    return PASS if ok else MISS


@dataclass(frozen=True)
class Comparison:
    """A route point against the echo at the same concurrency."""

    throughput_ratio: float
    p99_ratio: float
    throughput_verdict: str
    p99_verdict: str


def compare(route: PointResult, echo: PointResult) -> Comparison:
    """Ratios to the echo and their verdicts against the goals."""
    throughput = ratio(route.throughput_rps, echo.throughput_rps)
    p99 = ratio(route.p99_ms, echo.p99_ms)
    errors = route.errors + echo.errors
    return Comparison(
        throughput_ratio=throughput,
        p99_ratio=p99,
        throughput_verdict=verdict(throughput >= THROUGHPUT_GOAL, errors=errors),
        p99_verdict=verdict(p99 <= P99_GOAL, errors=errors),
    )


@dataclass(frozen=True)
class Scaling:
    """p50 at the large size over p50 at the small size, at one concurrency."""

    p50_ratio: float
    verdict: str


def scaling(small: PointResult, large: PointResult) -> Scaling:
    """How p50 grows from the small to the large number of mappings."""
    value = ratio(large.p50_ms, small.p50_ms)
    return Scaling(value, verdict(value <= SCALING_GOAL, errors=small.errors + large.errors))


@dataclass
class BackendReport:
    """Everything measured on one database backend."""

    backend: str
    points: dict[str, dict[int, PointResult]] = field(default_factory=dict)
    """Target name (``route@1k``...) -> concurrency -> result."""
    rpc_points: dict[str, dict[int, PointResult]] = field(default_factory=dict)
    """Config internal RPC -> concurrency -> result (compared to the echo; no goal verdict)."""
    service_time: dict[str, ServiceTime] = field(default_factory=dict)
    """Config internal RPC -> time inside its handler."""
    load_seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, dict[str, float]] = field(default_factory=dict)
    """Size label -> process name -> VmHWM (MiB) after that size's points."""
    cpu_cores: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    """Target -> concurrency -> process name -> CPU used during the point, in cores."""
    notes: list[str] = field(default_factory=list)


def backend_json(
    report: BackendReport, echo: Mapping[int, PointResult], small: str, large: str
) -> dict[str, Any]:
    """The JSON form of one backend: points with ratios, scaling, RSS, load times."""
    targets: dict[str, Any] = {}
    for target, by_concurrency in report.points.items():
        targets[target] = {}
        for concurrency, point in by_concurrency.items():
            entry: dict[str, Any] = asdict(point)
            if concurrency in echo:
                entry.update(asdict(compare(point, echo[concurrency])))
            targets[target][str(concurrency)] = entry
    scales: dict[str, Any] = {}
    for concurrency in report.points.get(large, {}):
        if concurrency in report.points.get(small, {}):
            scales[str(concurrency)] = asdict(
                scaling(report.points[small][concurrency], report.points[large][concurrency])
            )
    rpcs: dict[str, Any] = {}
    for rpc, by_concurrency in report.rpc_points.items():
        rpcs[rpc] = {}
        for concurrency, point in by_concurrency.items():
            entry = asdict(point)
            if concurrency in echo:
                entry["throughput_ratio"] = ratio(
                    point.throughput_rps, echo[concurrency].throughput_rps
                )
                entry["p99_ratio"] = ratio(point.p99_ms, echo[concurrency].p99_ms)
            rpcs[rpc][str(concurrency)] = entry
    return {
        "targets": targets,
        "config_internal_rpcs": rpcs,
        "service_time_us": {rpc: asdict(value) for rpc, value in report.service_time.items()},
        f"p50_{large}_over_{small}": scales,
        "load_seconds": report.load_seconds,
        "peak_rss_mib": report.peak_rss_mib,
        "cpu_cores": report.cpu_cores,
        "notes": report.notes,
    }


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` (NaN becomes null, as JSON has no NaN)."""
    path.write_text(json.dumps(_without_nan(document), indent=2, sort_keys=False) + "\n")


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): _without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(item) for item in value]
    return value


_TARGET_WIDTH = 23
"""Wide enough for ``BatchGetAgentIdentities``."""


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def table(report: BackendReport, echo: Mapping[int, PointResult], small: str, large: str) -> str:
    """The human-readable table of one backend, echo rows first."""
    header = (
        f"{'target':<{_TARGET_WIDTH}} {'inflight':>8} {'requests':>9} {'errors':>6} {'rps':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'rps/echo':>8} {'':<6} "
        f"{'p99/echo':>8} {'':<6}"
    )
    lines = [f"== {report.backend} ==", header, "-" * len(header)]
    rows: list[tuple[str, Mapping[int, PointResult]]] = [
        ("echo", echo),
        *report.points.items(),
        *report.rpc_points.items(),
    ]
    for target, by_concurrency in rows:
        for concurrency, point in by_concurrency.items():
            line = (
                f"{target:<{_TARGET_WIDTH}} {concurrency:>8} {point.requests:>9} {point.errors:>6} "
                f"{_fmt(point.throughput_rps, 0):>8} {_fmt(point.p50_ms):>7} "
                f"{_fmt(point.p95_ms):>7} {_fmt(point.p99_ms):>7}"
            )
            if target != "echo" and concurrency in echo:
                c = compare(point, echo[concurrency])
                goal = target in report.points  # the goals are RouteCall's
                line += (
                    f" {_fmt(c.throughput_ratio):>8} {c.throughput_verdict if goal else '':<6}"
                    f" {_fmt(c.p99_ratio):>8} {c.p99_verdict if goal else '':<6}"
                )
            if point.errors:
                codes = ", ".join(f"{code}={n}" for code, n in sorted(point.error_codes.items()))
                line += f"  [{codes}]"
            lines.append(line.rstrip())
    for concurrency in report.points.get(large, {}):
        if concurrency in report.points.get(small, {}):
            s = scaling(report.points[small][concurrency], report.points[large][concurrency])
            lines.append(
                f"p50 {large}/{small} at {concurrency:>2} in flight: "
                f"{_fmt(s.p50_ratio)} (goal <= {SCALING_GOAL}) {s.verdict}"
            )
    for rpc, spent in report.service_time.items():
        lines.append(
            f"service time {rpc} (in-process, {spent.calls} warm calls): "
            f"p50 {_fmt(spent.p50_us, 1)} us, p99 {_fmt(spent.p99_us, 1)} us, "
            f"mean {_fmt(spent.mean_us, 1)} us"
        )
    for target, by_concurrency_cpu in report.cpu_cores.items():
        for concurrency, cores in by_concurrency_cpu.items():
            used = ", ".join(f"{name} {value:.2f}" for name, value in cores.items())
            lines.append(f"CPU cores used, {target} at {concurrency:>2} in flight: {used}")
    for size, processes in report.peak_rss_mib.items():
        rss = ", ".join(f"{name} {mib:.0f} MiB" for name, mib in processes.items())
        lines.append(f"peak RSS after {size}: {rss}")
    for size, seconds in report.load_seconds.items():
        lines.append(f"load {size}: {seconds:.1f} s")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)
