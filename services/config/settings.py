"""Settings of the config service process."""

from __future__ import annotations

from pydantic import Field, SecretStr

from services.common.settings import DatabaseServiceSettings


class ConfigSettings(DatabaseServiceSettings):
    """``SWITCHBOARD_CONFIG_*`` and the shared ``SWITCHBOARD_*`` variables."""

    config_database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite under data_dir."
    )
    internal_token: SecretStr | None = Field(
        default=None,
        description=(
            "Internal RPCs require `x-switchboard-internal-token` to match. Unset: `switchboard "
            "serve` uses the token generated in the data dir (loopback binds only)."
        ),
    )

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite default."""
        return self.config_database_url or self.sqlite_url("config")
