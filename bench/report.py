"""Latency statistics, paired ratios with their spread, goal verdicts, the table and the JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SPREAD_LIMIT = 0.20
"""A median ratio whose pairs spread wider than this fraction of it is flagged untrustworthy."""

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
    server_cpu_us: float = math.nan
    """CPU time (user + system) the serving process spent per OK request, in microseconds:
    its CPU over the whole run (warm-up included) over the requests at the measured rate.
    NaN when the target does not say which process serves it."""


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
class RatioSummary:
    """The median of per-pair ratios, their range and whether that range is too wide."""

    median: float
    minimum: float
    maximum: float
    spread: float
    """(maximum - minimum) / median."""
    wide: bool
    """spread > :data:`SPREAD_LIMIT`: the median is not to be trusted."""


def summarize_ratios(values: Sequence[float]) -> RatioSummary:
    """Median, range and spread of ratios (NaN ones are ignored; none at all is NaN and wide)."""
    known = sorted(value for value in values if not math.isnan(value))
    if not known:
        return RatioSummary(math.nan, math.nan, math.nan, math.nan, True)
    middle = len(known) // 2
    median = known[middle] if len(known) % 2 else (known[middle - 1] + known[middle]) / 2
    spread = (known[-1] - known[0]) / median if median else math.inf
    return RatioSummary(median, known[0], known[-1], spread, spread > SPREAD_LIMIT)


METRICS = ("rps", "p50", "p99", "cpu")
"""Compared figures: throughput, two latency percentiles, server CPU per request."""


def metric_value(point: PointResult, metric: str) -> float:
    """The named figure of a point."""
    return {
        "rps": point.throughput_rps,
        "p50": point.p50_ms,
        "p99": point.p99_ms,
        "cpu": point.server_cpu_us,
    }[metric]


def median_of(values: Sequence[float]) -> float:
    """The median of values (NaN when none)."""
    return summarize_ratios(values).median if values else math.nan


@dataclass
class Paired:
    """A target point measured in ABAB pairs with its baseline at the same concurrency."""

    key: str
    """What is compared (``route_large``, ``gateway_route``...), for goals and the chart."""
    target: str
    baseline: str
    concurrency: int
    pairs: list[tuple[PointResult, PointResult]] = field(default_factory=list)
    """(target, baseline) of each pair, in the order run."""

    @property
    def errors(self) -> int:
        """Failed requests over every run of both sides."""
        return sum(a.errors + b.errors for a, b in self.pairs)

    def ratio(self, metric: str) -> RatioSummary:
        """Target over baseline, pair by pair, summarized."""
        return summarize_ratios(
            [ratio(metric_value(a, metric), metric_value(b, metric)) for a, b in self.pairs]
        )

    def median(self, side: int, metric: str) -> float:
        """Median figure of one side (0 target, 1 baseline) over the pairs."""
        return median_of([metric_value(pair[side], metric) for pair in self.pairs])

    def as_json(self) -> dict[str, Any]:
        """Every run and the summarized ratios."""
        return {
            "key": self.key,
            "target": self.target,
            "baseline": self.baseline,
            "concurrency": self.concurrency,
            "errors": self.errors,
            **{f"{metric}_ratio": asdict(self.ratio(metric)) for metric in METRICS},
            "pairs": [{"target": asdict(a), "baseline": asdict(b)} for a, b in self.pairs],
        }


@dataclass(frozen=True)
class Staleness:
    """How long a call-action change took to reach a routing decision on every replica."""

    replicas: int
    samples_ms: Sequence[float]

    def as_json(self) -> dict[str, Any]:
        """Samples and percentiles."""
        ordered = sorted(self.samples_ms)
        return {
            "replicas": self.replicas,
            "samples": len(ordered),
            "p50_ms": percentile(ordered, 50),
            "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else math.nan,
            "samples_ms": list(self.samples_ms),
        }


@dataclass
class BackendReport:
    """Everything measured on one database backend."""

    backend: str
    paired: list[Paired] = field(default_factory=list)
    points: dict[str, dict[int, PointResult]] = field(default_factory=dict)
    """Python-driven points without a baseline (``assign``): name -> concurrency -> result."""
    staleness: Staleness | None = None
    idle_cpu_cores: dict[str, float] = field(default_factory=dict)
    """Process -> CPU used while idle (caches warm), in cores."""
    rss_mib: dict[str, dict[str, float]] = field(default_factory=dict)
    """Process -> {"rss": now, "peak": VmHWM}, MiB, at the end of the run."""
    service_time: dict[str, ServiceTime] = field(default_factory=dict)
    """Config internal RPC -> time inside its handler."""
    load_seconds: dict[str, float] = field(default_factory=dict)
    journal_records: dict[str, int] = field(default_factory=dict)
    """The journal-on registry's ``switchboard_journal_records_total`` by result, read after
    the journal points: a ratio bought by dropping records would not count."""
    notes: list[str] = field(default_factory=list)

    def find(self, key: str) -> list[Paired]:
        """The paired points of one comparison, by concurrency."""
        return sorted(
            (paired for paired in self.paired if paired.key == key),
            key=lambda paired: paired.concurrency,
        )

    def as_json(self) -> dict[str, Any]:
        """The JSON form of this backend."""
        return {
            "paired": [paired.as_json() for paired in self.paired],
            "points": {
                name: {str(c): asdict(point) for c, point in by.items()}
                for name, by in self.points.items()
            },
            "staleness": self.staleness.as_json() if self.staleness else None,
            "idle_cpu_cores": self.idle_cpu_cores,
            "rss_mib": self.rss_mib,
            "service_time_us": {rpc: asdict(value) for rpc, value in self.service_time.items()},
            "load_seconds": self.load_seconds,
            "journal_records": self.journal_records,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class RatioGoal:
    """A goal on the median ratio of one comparison, at every concurrency measured."""

    figure: str
    key: str
    metric: str
    at_least: bool
    threshold: float
    backend: str = "sqlite"

    @property
    def text(self) -> str:
        """``>= 0.70`` or ``<= 2.0``."""
        return f"{'>=' if self.at_least else '<='} {self.threshold}"

    def met(self, value: float) -> bool:
        """Whether a ratio meets the goal (NaN never does)."""
        if math.isnan(value):
            return False
        return value >= self.threshold if self.at_least else value <= self.threshold


RATIO_GOALS = (
    RatioGoal("RouteCall at the large size / echo, throughput", "route_large", "rps", True, 0.70),
    RatioGoal("RouteCall p99 / echo p99 (large size)", "route_large", "p99", False, 2.0),
    RatioGoal("RouteCall p99 / echo p99 (small size)", "route_small", "p99", False, 2.0),
    RatioGoal("RouteCall on PostgreSQL / echo", "route_large", "rps", True, 0.55, "postgresql"),
    RatioGoal("gateway /v1/calls:route / direct RouteCall", "gateway_route", "rps", True, 0.50),
    RatioGoal("gateway GET call action / direct gRPC", "gateway_call_action", "rps", True, 0.50),
    RatioGoal("deep list page / first page, p50 latency", "list_deep", "p50", False, 1.5),
    RatioGoal("RouteCall journal on / journal off (issue 11)", "journal", "rps", True, 0.90),
)
STALENESS_GOAL_MS = 100.0
"""A call-action change visible to routing on every replica, p99."""
IDLE_CPU_GOAL = 0.02
"""Registry CPU with every identity cached and no traffic, in cores."""
RSS_GOAL_MIB = 150.0
"""Resident memory of every process (MB in the issue; MiB here, the stricter reading)."""


@dataclass(frozen=True)
class GoalResult:
    """One row of the goals table."""

    figure: str
    backend: str
    goal: str
    measured: str
    verdict: str


def point_verdict(goal: RatioGoal, paired: Paired) -> str:
    """PASS/MISS/ERRORS of one concurrency, ``+WIDE`` when the spread is too wide to trust."""
    summary = paired.ratio(goal.metric)
    verdict_text = verdict(goal.met(summary.median), errors=paired.errors)
    return f"{verdict_text}+WIDE" if summary.wide else verdict_text


def evaluate(reports: Sequence[BackendReport]) -> list[GoalResult]:
    """Every goal of the issue against what was measured (goals not measured are said so)."""
    results: list[GoalResult] = []
    by_backend = {report.backend: report for report in reports}
    for goal in RATIO_GOALS:
        report = by_backend.get(goal.backend)
        points = report.find(goal.key) if report else []
        if not points:
            results.append(GoalResult(goal.figure, goal.backend, goal.text, "not measured", "-"))
            continue
        parts, verdicts = [], []
        for paired in points:
            summary = paired.ratio(goal.metric)
            verdicts.append(point_verdict(goal, paired))
            parts.append(
                f"x{paired.concurrency}: {_fmt(summary.median)} "
                f"[{_fmt(summary.minimum)}-{_fmt(summary.maximum)}] {verdicts[-1]}"
            )
        overall = PASS if all(v.startswith(PASS) for v in verdicts) else MISS
        results.append(GoalResult(goal.figure, goal.backend, goal.text, "; ".join(parts), overall))
    for report in reports:
        results.extend(_scalar_goals(report))
    return results


def _scalar_goals(report: BackendReport) -> list[GoalResult]:
    results = []
    if report.staleness is not None:
        stale = report.staleness.as_json()
        results.append(
            GoalResult(
                f"call-action change visible to routing, p99, {stale['replicas']} replicas",
                report.backend,
                f"<= {STALENESS_GOAL_MS:.0f} ms",
                f"p50 {_fmt(stale['p50_ms'], 1)} ms, p99 {_fmt(stale['p99_ms'], 1)} ms, "
                f"max {_fmt(stale['max_ms'], 1)} ms over {stale['samples']}",
                PASS if stale["p99_ms"] <= STALENESS_GOAL_MS else MISS,
            )
        )
    if report.journal_records:
        lost = report.journal_records.get("dropped", 0) + report.journal_records.get("failed", 0)
        results.append(
            GoalResult(
                "journal records dropped or failed, journal-on registry (issue 11)",
                report.backend,
                "0",
                ", ".join(f"{n} {v}" for n, v in sorted(report.journal_records.items())),
                PASS if lost == 0 else MISS,
            )
        )
    registry_idle = [v for name, v in report.idle_cpu_cores.items() if name.startswith("registry")]
    if registry_idle:
        results.append(
            GoalResult(
                "registry CPU, identities cached, no traffic",
                report.backend,
                f"<= {IDLE_CPU_GOAL} cores",
                ", ".join(f"{n} {v:.3f}" for n, v in report.idle_cpu_cores.items()),
                PASS if max(registry_idle) <= IDLE_CPU_GOAL else MISS,
            )
        )
    if report.rss_mib:
        peak = max(values["peak"] for values in report.rss_mib.values())
        results.append(
            GoalResult(
                "RSS per process (peak)",
                report.backend,
                f"< {RSS_GOAL_MIB:.0f} MiB",
                ", ".join(f"{n} {v['peak']:.0f}" for n, v in report.rss_mib.items()),
                PASS if peak < RSS_GOAL_MIB else MISS,
            )
        )
    return results


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` (NaN and infinity become null, as JSON has neither)."""
    path.write_text(json.dumps(_without_nan(document), indent=2, sort_keys=False) + "\n")


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(key): _without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(item) for item in value]
    return value


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _range(summary: RatioSummary) -> str:
    flag = " WIDE" if summary.wide else ""
    return f"{_fmt(summary.median)} [{_fmt(summary.minimum)}-{_fmt(summary.maximum)}]{flag}"


def table(report: BackendReport) -> str:
    """The human-readable table of one backend."""
    header = (
        f"{'target':<24} {'baseline':<20} {'c':>3} {'pairs':>5} {'rps':>7} {'base rps':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'rps ratio [range]':<24} {'p50 ratio [range]':<24} "
        f"{'p99 ratio [range]':<24} {'cpu/request ratio [range]':<24}"
    )
    lines = [f"== {report.backend} ==", header, "-" * len(header)]
    for paired in report.paired:
        line = (
            f"{paired.target:<24} {paired.baseline:<20} {paired.concurrency:>3} "
            f"{len(paired.pairs):>5} {_fmt(paired.median(0, 'rps'), 0):>7} "
            f"{_fmt(paired.median(1, 'rps'), 0):>8} {_fmt(paired.median(0, 'p50')):>7} "
            f"{_fmt(paired.median(0, 'p99')):>7} "
            + " ".join(f"{_range(paired.ratio(metric)):<24}" for metric in METRICS)
        )
        if paired.errors:
            line += f"  errors={paired.errors}"
        lines.append(line.rstrip())
    for name, by_concurrency in report.points.items():
        for concurrency, point in by_concurrency.items():
            line = (
                f"{name} at {concurrency} in flight: {_fmt(point.throughput_rps, 0)} rps, "
                f"p50 {_fmt(point.p50_ms)} ms, p99 {_fmt(point.p99_ms)} ms, "
                f"{point.requests} requests"
            )
            if point.errors:
                codes = ", ".join(f"{code}={n}" for code, n in sorted(point.error_codes.items()))
                line += f", errors [{codes}]"
            lines.append(line)
    if report.staleness is not None:
        stale = report.staleness.as_json()
        lines.append(
            f"call-action change -> routing on {stale['replicas']} replicas: "
            f"p50 {_fmt(stale['p50_ms'], 1)} ms, p99 {_fmt(stale['p99_ms'], 1)} ms, "
            f"max {_fmt(stale['max_ms'], 1)} ms ({stale['samples']} changes)"
        )
    if report.idle_cpu_cores:
        idle = ", ".join(f"{n} {v:.3f}" for n, v in report.idle_cpu_cores.items())
        lines.append(f"idle CPU cores (caches warm, no traffic): {idle}")
    for name, values in report.rss_mib.items():
        lines.append(f"RSS {name}: {values['rss']:.0f} MiB now, peak {values['peak']:.0f} MiB")
    for rpc, spent in report.service_time.items():
        lines.append(
            f"service time {rpc} (in-process, {spent.calls} warm calls): "
            f"p50 {_fmt(spent.p50_us, 1)} us, p99 {_fmt(spent.p99_us, 1)} us, "
            f"mean {_fmt(spent.mean_us, 1)} us"
        )
    for size, seconds in report.load_seconds.items():
        lines.append(f"load {size}: {seconds:.1f} s")
    if report.journal_records:
        counts = ", ".join(f"{n} {v}" for n, v in sorted(report.journal_records.items()))
        lines.append(f"journal records (journal-on registry): {counts}")
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def goals_table(results: Sequence[GoalResult]) -> str:
    """The goals of the issue, as measured (median ratio [range] per concurrency)."""
    lines = [
        "== goals ==",
        "| figure | backend | goal | measured | verdict |",
        "|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {r.figure} | {r.backend} | {r.goal} | {r.measured} | {r.verdict} |" for r in results
    )
    lines.append(
        f"WIDE: the pairs' ratios spread more than {SPREAD_LIMIT:.0%} of their median; "
        "that median is not to be trusted (rerun on a quieter machine)."
    )
    return "\n".join(lines)
