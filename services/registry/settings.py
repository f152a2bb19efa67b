"""Settings of the registry service process."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import (
    DEFAULT_CONFIG_PORT,
    DEFAULT_REGISTRY_PORT,
    DatabaseServiceSettings,
)


class RegistrySettings(DatabaseServiceSettings):
    """``SWITCHBOARD_REGISTRY_*`` and the shared ``SWITCHBOARD_*`` variables."""

    registry_port: int = Field(default=DEFAULT_REGISTRY_PORT, ge=0, le=65535)
    registry_database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite under data_dir."
    )
    config_address: str = Field(
        default=f"127.0.0.1:{DEFAULT_CONFIG_PORT}", description="gRPC target of the config service."
    )
    config_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Deadline of each call to the config service."
    )
    auth_cache_ttl_seconds: float = Field(
        default=10.0,
        ge=0,
        le=30,
        description="How long an authenticated credential is trusted before asking config again.",
    )
    internal_token: str | None = Field(
        default=None, description="Sent as `x-switchboard-internal-token` to the config service."
    )

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite default."""
        return self.registry_database_url or self.sqlite_url("registry")
