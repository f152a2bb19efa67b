"""Channel and server options both sides of every internal gRPC hop share (keepalive agrees)."""

from __future__ import annotations

from typing import Final

KEEPALIVE_TIME_MS: Final = 30_000
"""A client pings an idle connection this often, so a dead peer is noticed within a minute."""
KEEPALIVE_TIMEOUT_MS: Final = 10_000
"""How long a ping may go unanswered before the connection is dropped (both sides)."""
MIN_PING_INTERVAL_MS: Final = KEEPALIVE_TIME_MS // 2
"""The most frequent ping a server accepts: half the client's interval, so it never strikes."""

CLIENT_OPTIONS: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.enable_retries", 1),
)
"""Options of every channel a Switchboard process opens to another."""

SERVER_OPTIONS: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", MIN_PING_INTERVAL_MS),
    ("grpc.http2.min_ping_interval_without_data_ms", MIN_PING_INTERVAL_MS),
    ("grpc.http2.max_ping_strikes", 2),
)
"""Options of every Switchboard gRPC server: accepts the pings :data:`CLIENT_OPTIONS` sends."""
