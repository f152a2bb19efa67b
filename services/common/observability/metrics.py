"""Every Prometheus metric of Switchboard, defined once (bounded labels only), and the pool watch.

Label values are always drawn from small fixed sets: route *templates*, gRPC method names,
status codes and the routing enums. A phone number, a key, a call id or a raw path is never
a label value.

A process started with ``PROMETHEUS_MULTIPROC_DIR`` set (a gateway worker; see
``gateway.workers``) records into files there, and :func:`exposition` sums every worker's:
gauges say how (``multiprocess_mode``), which a single process ignores.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Final, TypeVar

from prometheus_client import Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool

LATENCY_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Seconds; from sub-millisecond routing to the 10 s webhook budget."""

NONE: Final = "none"
"""Label value of an absent enum (e.g. ``reject_reason`` of an accepted call)."""

HTTP_REQUESTS = Counter(
    "switchboard_http_requests_total",
    "REST requests answered by the gateway.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer a REST request.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
MULTIPROCESS_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
"""Set before prometheus_client is imported (gateway workers): values go to files there."""

HTTP_IN_FLIGHT = Gauge(
    "switchboard_http_requests_in_flight",
    "REST requests being answered now.",
    multiprocess_mode="livesum",
)

RPC_HANDLED = Counter(
    "switchboard_rpc_handled_total",
    "gRPC requests handled, by service, method and status code.",
    ["service", "method", "code"],
)
RPC_DURATION = Histogram(
    "switchboard_rpc_duration_seconds",
    "Time to handle a gRPC request.",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
RPC_IN_FLIGHT = Gauge(
    "switchboard_rpc_in_flight",
    "gRPC requests being handled now.",
    ["service"],
    multiprocess_mode="livesum",
)

ROUTING_DECISIONS = Counter(
    "switchboard_routing_decisions_total",
    "Routing decisions, by verdict, reject reason and edge outcome.",
    ["verdict", "reject_reason", "edge_outcome"],
)
WEBHOOK_REQUESTS = Counter(
    "switchboard_webhook_requests_total",
    "Incoming-call webhook exchanges, by outcome (answer, reject, failed).",
    ["outcome"],
)
WEBHOOK_DURATION = Histogram(
    "switchboard_webhook_duration_seconds",
    "Time of an incoming-call webhook exchange.",
    buckets=LATENCY_BUCKETS,
)
CONTEXT_LOOKUPS = Counter(
    "switchboard_context_lookups_total",
    "Caller-context strategy lookups, by status.",
    ["status"],
)
CONTEXT_DURATION = Histogram(
    "switchboard_context_lookup_duration_seconds",
    "Time of a caller-context strategy lookup.",
    buckets=LATENCY_BUCKETS,
)
CALL_TARGET_CACHE_HITS = Counter(
    "switchboard_call_target_cache_hits_total", "Call targets served from the cache."
)
CALL_TARGET_CACHE_MISSES = Counter(
    "switchboard_call_target_cache_misses_total",
    "Call targets asked of the config service because none was cached.",
)
CALL_TARGET_CACHE_REFRESHES = Counter(
    "switchboard_call_target_cache_refreshes_total",
    "Background refreshes of call targets near the end of their life.",
)
JOURNAL_RECORDS = Counter(
    "switchboard_journal_records_total",
    "Decision-journal records, by result: written, dropped (queue full) or failed.",
    ["result"],
)
JOURNAL_PRUNED = Counter(
    "switchboard_journal_pruned_total", "Decision-journal records removed by retention."
)
CAPACITY_ACQUISITIONS = Counter(
    "switchboard_capacity_acquisitions_total",
    "Capacity lease requests, by result: acquired or at_capacity.",
    ["result"],
)
CAPACITY_RELEASES = Counter(
    "switchboard_capacity_releases_total",
    "Capacity lease releases, by result: released (slots freed) or not_held (a no-op).",
    ["result"],
)
WEBHOOK_CIRCUIT_TRANSITIONS = Counter(
    "switchboard_webhook_circuit_transitions_total",
    "Webhook circuit-breaker state changes of this replica, by from/to state.",
    ["from_state", "to_state"],
)
WEBHOOK_CIRCUIT_SHORT_CIRCUITS = Counter(
    "switchboard_webhook_circuit_short_circuits_total",
    "Webhook requests not sent because the endpoint's circuit was open (or probing).",
)
WEBHOOK_CIRCUITS_OPEN = Gauge(
    "switchboard_webhook_circuits_open",
    "Webhook endpoints whose circuit is open or half-open on this replica now.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITS = Counter(
    "switchboard_db_pool_waits_total",
    "Connection checkouts that had to wait: the pool was full and none was idle.",
    ["database"],
)


def exposition() -> bytes:
    """This process's metrics in the Prometheus text format; in multiprocess mode, the sum
    over every process recording into ``PROMETHEUS_MULTIPROC_DIR`` (live ones for gauges).

    The per-process collectors (``process_*``, ``python_*``) and the pool watch describe one
    process only, so they are left out of the sum.
    """
    if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


Metric = TypeVar("Metric", Counter, Gauge, Histogram)


@functools.lru_cache(maxsize=4096)
def labelled(metric: Metric, *values: str) -> Metric:
    """``metric.labels(*values)`` (values in the metric's label order), looked up once.

    The hot paths count every request: a cached child skips the label checks, the lock
    and the dict building ``labels()`` does on each call. Label sets are bounded, so is this.
    """
    return metric.labels(*values)


def label(value: Any) -> str:
    """An enum's value (or ``none``) as a label value."""
    if value is None:
        return NONE
    return str(getattr(value, "value", value))


class _PoolCollector(Collector):
    """Connections in use and idle of each watched SQLAlchemy pool, read at scrape time."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}

    def watch(self, database: str, pool: Pool) -> None:
        self._pools[database] = pool

    def collect(self) -> Any:
        in_use = GaugeMetricFamily(
            "switchboard_db_pool_connections_in_use",
            "Pooled database connections checked out now.",
            labels=["database"],
        )
        idle = GaugeMetricFamily(
            "switchboard_db_pool_connections_idle",
            "Pooled database connections open and idle now.",
            labels=["database"],
        )
        for database, pool in self._pools.items():
            in_use.add_metric([database], float(getattr(pool, "checkedout", lambda: 0)()))
            idle.add_metric([database], float(getattr(pool, "checkedin", lambda: 0)()))
        yield in_use
        yield idle


_POOLS = _PoolCollector()
REGISTRY.register(_POOLS)


def watch_pool(engine: AsyncEngine, database: str) -> None:
    """Export ``engine``'s pool gauges and count checkouts that had to wait for a connection."""
    pool = engine.sync_engine.pool
    _POOLS.watch(database, pool)
    size, checkedin, checkedout = (
        getattr(pool, name, None) for name in ("size", "checkedin", "checkedout")
    )
    if size is None or checkedin is None or checkedout is None:
        return  # not a queue pool: nothing to wait for
    overflow = getattr(pool, "_max_overflow", 0)
    if overflow < 0:
        return  # unbounded overflow never waits
    capacity = size() + overflow
    waits = DB_POOL_WAITS.labels(database=database)
    acquire = pool._do_get

    def counted() -> Any:
        # Full pool, nothing idle: this checkout waits for another to be returned.
        if checkedin() == 0 and checkedout() >= capacity:
            waits.inc()
        return acquire()

    pool._do_get = counted  # type: ignore[method-assign]
