"""The PNG chart: paired ratios (median, min-max) and latency percentiles vs concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bench.report import RATIO_GOALS, BackendReport


def write_chart(path: Path, reports: Sequence[BackendReport]) -> None:
    """One row per backend: throughput ratios, latency ratios, p50/p99 of every target."""
    figure, axes = plt.subplots(len(reports), 3, figsize=(18, 5.2 * len(reports)), squeeze=False)
    for row, report in zip(axes, reports, strict=True):
        keys = list(dict.fromkeys(paired.key for paired in report.paired))
        for axis, metric, title in (
            (row[0], "rps", "throughput ratio (target / baseline)"),
            (row[1], "p99", "p99 latency ratio (target / baseline)"),
        ):
            for key in keys:
                points = report.find(key)
                xs = [paired.concurrency for paired in points]
                summaries = [paired.ratio(metric) for paired in points]
                medians = [summary.median for summary in summaries]
                low = [summary.median - summary.minimum for summary in summaries]
                high = [summary.maximum - summary.median for summary in summaries]
                axis.errorbar(xs, medians, yerr=[low, high], marker="o", capsize=4, label=key)
            for goal in RATIO_GOALS:
                if goal.metric == metric and goal.backend == report.backend and goal.key in keys:
                    axis.axhline(goal.threshold, linestyle="--", linewidth=0.8, color="grey")
                    axis.annotate(
                        f"goal {goal.key} {goal.text}",
                        (min(paired.concurrency for paired in report.paired), goal.threshold),
                        fontsize=7,
                        color="grey",
                    )
            axis.set_xscale("log", base=2)
            if metric == "p99":
                axis.set_yscale("log")
            axis.set_xlabel("requests in flight")
            axis.set_title(f"{report.backend}: {title}", fontsize=10)
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize=7)
        latency = row[2]
        targets: dict[str, dict[int, tuple[float, float]]] = {}
        for paired in report.paired:
            for side, name in ((0, paired.target), (1, paired.baseline)):
                targets.setdefault(name, {})[paired.concurrency] = (
                    paired.median(side, "p50"),
                    paired.median(side, "p99"),
                )
        for name, by_concurrency in targets.items():
            xs = sorted(by_concurrency)
            (line,) = latency.plot(
                xs, [by_concurrency[x][0] for x in xs], marker="o", label=f"{name} p50"
            )
            latency.plot(
                xs,
                [by_concurrency[x][1] for x in xs],
                marker="x",
                linestyle=":",
                color=line.get_color(),
                label=f"{name} p99",
            )
        latency.set_xscale("log", base=2)
        latency.set_yscale("log")
        latency.set_xlabel("requests in flight")
        latency.set_ylabel("ms (median over the runs)")
        latency.set_title(f"{report.backend}: latency percentiles", fontsize=10)
        latency.grid(True, alpha=0.3)
        latency.legend(fontsize=6, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
