"""``python -m bench`` (``make bench``): options, signal handling and exit status."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench import service_time
from bench.run import REPO_ROOT, Settings, run

QUICK_SIZES = (1_000, 10_000)
QUICK_WARMUP_S = 0.3
QUICK_DURATION_S = 1.0
RPC_CONCURRENCY = (1, 16)
"""In-flight counts of the ConfigInternalService points."""
RPC_DURATION_MAX_S = 2.0
"""Their measured window: the points' duration, at most this."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run, and clean up on SIGTERM as on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1k/10k, 1 s per point")
    parser.add_argument("--small", type=int, default=1_000, help="mappings of the first size")
    parser.add_argument("--large", type=int, default=1_000_000, help="mappings of the second")
    parser.add_argument("--concurrency", default="1,16,64", help="requests in flight, comma list")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per point")
    parser.add_argument("--identities", type=int, default=1_000, help="agent identities")
    parser.add_argument(
        "--postgres", metavar="URL", help="also run on PostgreSQL (server URL; DBs are created)"
    )
    parser.add_argument(
        "--auth",
        choices=("edge", "admin"),
        default="edge",
        help="RouteCall credential: the edge token (SWITCHBOARD_EDGE_TOKEN) or the admin key",
    )
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench" / "results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, DBs)")
    parser.add_argument(
        "--service-time-calls",
        type=int,
        default=service_time.CALLS,
        help="warm in-process calls timed per internal RPC",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    duration_s = QUICK_DURATION_S if args.quick else args.duration
    settings = Settings(
        sizes=QUICK_SIZES if args.quick else (args.small, args.large),
        concurrency=tuple(int(value) for value in args.concurrency.split(",")),
        warmup_s=QUICK_WARMUP_S if args.quick else args.warmup,
        duration_s=duration_s,
        identities=args.identities,
        rpc_concurrency=RPC_CONCURRENCY,
        rpc_duration_s=min(duration_s, RPC_DURATION_MAX_S),
        service_time_calls=args.service_time_calls,
        postgres_url=args.postgres,
        auth=args.auth,
        output=args.output,
        keep=args.keep,
        seed=args.seed,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(settings)
    except KeyboardInterrupt:
        print("interrupted; processes stopped and temp files removed", file=sys.stderr)
        return 130


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
