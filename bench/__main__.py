"""``python -m bench`` (``make bench``): options, signal handling and exit status."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench import service_time
from bench.run import GROUPS, REPO_ROOT, Settings, run
from services.registry.settings import RegistrySettings

QUICK = {
    "sizes": (1_000, 10_000),
    "list_size": 10_000,
    "journal_records": 10_000,
    "warmup_s": 0.3,
    "duration_s": 1.0,
    "staleness_samples": 5,
    "idle_s": 3.0,
    "service_time_calls": 200,
}
"""``--quick``: small data, short runs (about 3 minutes); still 3 pairs per point."""
RPC_CONCURRENCY = (16,)
"""In-flight counts of the ConfigInternalService points."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run, and clean up on SIGTERM as on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1k/10k, 1 s per run")
    parser.add_argument("--small", type=int, default=1_000, help="mappings of the first size")
    parser.add_argument("--large", type=int, default=1_000_000, help="mappings of the second")
    parser.add_argument(
        "--list-size", type=int, default=100_000, help="mappings for the list and assign points"
    )
    parser.add_argument(
        "--journal-records",
        type=int,
        default=RegistrySettings.model_fields["journal_max_rows"].default,
        help="decisions in the journal before the points run (default: its row cap)",
    )
    parser.add_argument("--concurrency", default="1,16,64", help="requests in flight, comma list")
    parser.add_argument("--pairs", type=int, default=3, help="ABAB pairs per point (>= 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each run")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds measured per run")
    parser.add_argument("--identities", type=int, default=1_000, help="agent identities")
    parser.add_argument("--staleness-samples", type=int, default=20, help="call-action changes")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of the idle-CPU window")
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
    parser.add_argument("--chart", type=Path, default=REPO_ROOT / "bench" / "results.png")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, DBs)")
    parser.add_argument(
        "--service-time-calls",
        type=int,
        default=service_time.CALLS,
        help="warm in-process calls timed per internal RPC",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only",
        metavar="GROUP[,GROUP]",
        help=f"measure only these point groups: {', '.join(GROUPS)}",
    )
    args = parser.parse_args(argv)
    if args.pairs < 3:
        parser.error("--pairs must be at least 3")
    groups = frozenset(GROUPS)
    if args.only:
        groups = frozenset(name.strip() for name in args.only.split(",") if name.strip())
        unknown = sorted(groups - frozenset(GROUPS))
        if unknown or not groups:
            parser.error(
                f"--only: unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}"
            )
    values = {
        "sizes": (args.small, args.large),
        "list_size": args.list_size,
        "journal_records": args.journal_records,
        "concurrency": tuple(int(value) for value in args.concurrency.split(",")),
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "staleness_samples": args.staleness_samples,
        "idle_s": args.idle,
        "service_time_calls": args.service_time_calls,
    }
    if args.quick:
        values.update(QUICK)
    settings = Settings(
        **values,
        pairs=args.pairs,
        identities=args.identities,
        rpc_concurrency=RPC_CONCURRENCY,
        postgres_url=args.postgres,
        auth=args.auth,
        output=args.output,
        chart=args.chart,
        keep=args.keep,
        seed=args.seed,
        groups=groups,
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
