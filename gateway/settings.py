"""Settings of the REST gateway process."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import DEFAULT_GATEWAY_PORT, BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    """``SWITCHBOARD_GATEWAY_*`` and the shared ``SWITCHBOARD_*`` variables."""

    gateway_port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
    upstream_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Deadline of each gRPC call the gateway makes."
    )
