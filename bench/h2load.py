"""Load from ``h2load`` (nghttp2's C generator): gRPC over h2c and HTTP/1.1 alike.

One run keeps N requests in flight for a fixed time and logs every request
(start, status, duration) to a file; the point's statistics are computed from
that log, so the driver's own speed never caps a figure. gRPC is driven as what
it is on the wire: a POST of one length-prefixed message with the gRPC headers
on one HTTP/2 connection carrying N concurrent streams (like one grpc channel);
the gateway gets N HTTP/1.1 connections with one request each in flight.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report import PointResult, summarize

PACKAGE = "nghttp2-client"
"""The Debian package that ships ``h2load``."""
GRPC_HEADERS = (("content-type", "application/grpc"), ("te", "trailers"))
_FAILED = re.compile(r"requests: .*?(\d+) failed")


class H2loadError(RuntimeError):
    """h2load is missing and cannot be installed, or a run failed."""


def ensure_installed() -> str:
    """The path of ``h2load``, installing Debian's ``nghttp2-client`` with apt-get if missing."""
    found = shutil.which("h2load")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise H2loadError(f"h2load not found and no apt-get to install {PACKAGE}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-q", PACKAGE]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run([apt, "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise H2loadError(f"apt-get install {PACKAGE} failed:\n{done.stderr[-2000:]}")
    found = shutil.which("h2load")
    if not found:
        raise H2loadError(f"{PACKAGE} installed but h2load is not on PATH")
    return found


def grpc_frame(message: bytes) -> bytes:
    """One uncompressed gRPC length-prefixed message."""
    return b"\x00" + struct.pack(">I", len(message)) + message


@dataclass(frozen=True)
class Target:
    """What one h2load run requests, over and over."""

    name: str
    url: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes | None = None
    """POST this body (gRPC: a :func:`grpc_frame`); None is a GET."""
    http1: bool = False
    """HTTP/1.1, one connection per request in flight (the gateway); else one h2c connection."""
    expect: int = 200
    """The HTTP status of a correct answer (anything else counts as an error)."""
    cpu_seconds: Callable[[], float] | None = field(default=None, compare=False)
    """CPU time used so far by the process that serves this target (None: not measured)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def grpc(
        cls,
        name: str,
        address: str,
        method: str,
        message: bytes,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> Target:
        """A unary gRPC call: ``method`` is ``/package.Service/Method``."""
        return cls(
            name,
            f"http://{address}{method}",
            headers=(*GRPC_HEADERS, *metadata),
            body=grpc_frame(message),
        )


def argv(
    binary: str,
    target: Target,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    body_file: Path,
    log_file: Path,
) -> list[str]:
    """The h2load command line of one run."""
    args = [binary, f"--duration={_ms(duration_s)}", f"--warm-up-time={_ms(warmup_s)}"]
    if target.http1:
        args += ["--h1", f"--clients={concurrency}", "--max-concurrent-streams=1"]
    else:
        args += ["--clients=1", f"--max-concurrent-streams={concurrency}"]
    for name, value in target.headers:
        args += ["-H", f"{name}: {value}"]
    if target.body is not None:
        args += [f"--data={body_file}"]
    args += [f"--log-file={log_file}", target.url]
    return args


def run(
    binary: str,
    target: Target,
    *,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    workdir: Path,
) -> PointResult:
    """One timed run; statistics from its per-request log."""
    workdir.mkdir(parents=True, exist_ok=True)
    body_file, log_file = workdir / "h2load.body", workdir / "h2load.log"
    body_file.write_bytes(target.body or b"")
    log_file.unlink(missing_ok=True)
    command = argv(
        binary,
        target,
        concurrency=concurrency,
        warmup_s=warmup_s,
        duration_s=duration_s,
        body_file=body_file,
        log_file=log_file,
    )
    cpu_before = target.cpu_seconds() if target.cpu_seconds is not None else 0.0
    started = time.monotonic()
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=warmup_s + duration_s + 60, check=False
    )
    if finished.returncode != 0 or not log_file.exists():
        raise H2loadError(
            f"h2load failed ({finished.returncode}) on {target.name}:\n{finished.stderr[-2000:]}"
        )
    point = parse(log_file.read_text(), finished.stdout, duration_s, target.expect)
    if target.cpu_seconds is None:
        return point
    return with_server_cpu(point, target.cpu_seconds() - cpu_before, time.monotonic() - started)


def with_server_cpu(point: PointResult, cpu_s: float, wall_s: float) -> PointResult:
    """``point`` with its server's CPU per request: CPU over the run's requests at its rate."""
    served = point.throughput_rps * wall_s
    per_request = cpu_s / served * 1e6 if served > 0 else math.nan
    return dataclasses.replace(point, server_cpu_us=per_request)


def parse(log: str, summary: str, duration_s: float, expect: int = 200) -> PointResult:
    """A point from h2load's log (``start_us<TAB>status<TAB>duration_us`` lines) and summary.

    Requests answered with another status than ``expect`` are errors, and so are
    the requests h2load counts as failed without a status line. Not the warm-up's
    stragglers: h2load records a status only in the measured phase, so a request whose
    status line it read during the warm-up but whose end came after it is logged with
    status 0. Such a line started before any logged request ended (every logged request
    ends in the measured phase; the straggler's status came before it began), which no
    request of the measured phase did, so status-0 lines that started then are left out;
    any other status-0 line is an error.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    unstatused: list[int] = []
    first_end: int | None = None
    for line in log.splitlines():
        fields = line.split("\t")
        if len(fields) < 3:
            continue
        start_us, status, duration_us = int(fields[0]), int(fields[1]), int(fields[2])
        end_us = start_us + duration_us
        first_end = end_us if first_end is None else min(first_end, end_us)
        if status == expect:
            latencies.append(duration_us / 1e6)
        elif status == 0:
            unstatused.append(start_us)
        else:
            errors[f"HTTP {status}"] += 1
    measured = sum(1 for start_us in unstatused if first_end is None or start_us >= first_end)
    if measured:
        errors["HTTP 0"] += measured
    match = _FAILED.search(summary)
    if match:
        # h2load's "failed" includes its "errored" and "timeout"; some are not logged.
        unlogged = int(match.group(1)) - sum(errors.values())
        if unlogged > 0:
            errors["failed"] += unlogged
    return summarize(latencies, errors, duration_s)


def _ms(seconds: float) -> str:
    """h2load's duration syntax (it takes no fractional seconds)."""
    return f"{round(seconds * 1000)}ms"
