"""gRPC channels and listener credentials: optional (m)TLS, and reconnecting at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import grpc

from services.common.rpc.options import CLIENT_OPTIONS
from services.common.settings import BaseServiceSettings

RECONNECT_BACKOFF_MS: Final = 250
"""Longest pause between two connection attempts to a down upstream.

gRPC's default grows to 120 s, so after a long outage a dependent kept failing for up to
that long after the upstream was back. At 250 ms (jitter adds at most 20 %), a restarted
upstream is reconnected to within about 0.3 s of listening, which is before it reports
SERVING; the attempts cost one refused TCP connect each while it is down.
"""

CHANNEL_OPTIONS: Final[Sequence[tuple[str, int]]] = (
    *CLIENT_OPTIONS,
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
    # A restarted container may come back on a new address: re-resolve without the 30 s floor.
    ("grpc.dns_min_time_between_resolutions_ms", RECONNECT_BACKOFF_MS),
    # Whole pages (1000 items of up to ~40 KB of text each) come back in one message.
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
)
"""Options of every long-lived channel between Switchboard processes (keepalive agrees with
:data:`~services.common.rpc.options.SERVER_OPTIONS`)."""


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def server_credentials(settings: BaseServiceSettings) -> grpc.ServerCredentials | None:
    """TLS credentials of this process's gRPC listener; None when it serves plaintext."""
    if settings.grpc_tls_cert_file is None or settings.grpc_tls_key_file is None:
        return None
    pair = (settings.grpc_tls_key_file.read_bytes(), settings.grpc_tls_cert_file.read_bytes())
    require = settings.grpc_tls_require_client_cert
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=_read(settings.grpc_tls_ca_file) if require else None,
        require_client_auth=require,
    )


def channel_credentials(settings: BaseServiceSettings) -> grpc.ChannelCredentials | None:
    """TLS credentials for dialing upstreams; None (plaintext) unless a CA bundle is set."""
    if settings.grpc_tls_ca_file is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=settings.grpc_tls_ca_file.read_bytes(),
        private_key=_read(settings.grpc_tls_client_key_file),
        certificate_chain=_read(settings.grpc_tls_client_cert_file),
    )


def open_channel(
    target: str,
    settings: BaseServiceSettings,
    options: Sequence[tuple[str, int | str]] = CHANNEL_OPTIONS,
) -> grpc.aio.Channel:
    """A lazily connecting channel to ``target``, TLS when the settings say so.

    Open one per upstream per process and keep it: the channel reconnects by itself.
    """
    credentials = channel_credentials(settings)
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=list(options))
    return grpc.aio.secure_channel(target, credentials, options=list(options))
