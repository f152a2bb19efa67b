"""Settings of the REST gateway process."""

from __future__ import annotations

from pydantic import Field, SecretStr

from services.common.settings import DEFAULT_GATEWAY_PORT, BaseServiceSettings


class GatewaySettings(BaseServiceSettings):
    """``SWITCHBOARD_GATEWAY_*`` and the shared ``SWITCHBOARD_*`` variables."""

    gateway_port: int = Field(default=DEFAULT_GATEWAY_PORT, ge=0, le=65535)
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
