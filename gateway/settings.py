"""Settings of the REST gateway process."""

from __future__ import annotations

import os
from typing import Final

from pydantic import Field, SecretStr

from services.common.settings import DEFAULT_GATEWAY_PORT, BaseServiceSettings

DEFAULT_WORKERS_CAP: Final = 32
"""The default worker count is the usable CPUs, but no more than this."""
MAX_WORKERS: Final = 256


def default_gateway_workers() -> int:
    """The CPUs this process may run on (its affinity mask), at most ``DEFAULT_WORKERS_CAP``."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity masks (macOS)
        usable = os.cpu_count() or 1
    return max(1, min(usable, DEFAULT_WORKERS_CAP))


class GatewaySettings(BaseServiceSettings):
    """``SWITCHBOARD_GATEWAY_*`` and the shared ``SWITCHBOARD_*`` variables."""

    gateway_port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
    gateway_workers: int = Field(
        default_factory=default_gateway_workers,
        ge=1,
        le=MAX_WORKERS,
        description=(
            "HTTP worker processes serving the gateway's one port; unset: the usable CPUs "
            f"(at most {DEFAULT_WORKERS_CAP}). 1 serves in the gateway process itself."
        ),
    )
    internal_token: SecretStr | None = Field(
        default=None, description="Accepted as the `/metrics` credential (see metrics_token)."
    )
    upstream_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Deadline of each gRPC call the gateway makes."
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        le=3 * 1024 * 1024,
        description="Largest request body (413 above); below the services' gRPC message limit.",
    )
    max_request_url_bytes: int = Field(
        default=8 * 1024, ge=1024, description="Longest request target, path + query (414 above)."
    )
    max_request_header_bytes: int = Field(
        default=16 * 1024,
        ge=4 * 1024,
        description="Largest total of header names and values (431 above).",
    )
