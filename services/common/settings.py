"""Settings shared by every process; each process extends :class:`BaseServiceSettings`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG_PORT = 50051
DEFAULT_REGISTRY_PORT = 50052
DEFAULT_GATEWAY_PORT = 8080


class BaseServiceSettings(BaseSettings):
    """Fields every Switchboard process reads from ``SWITCHBOARD_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    data_dir: Path = Field(default=Path("./var"), description="Where SQLite files live.")
    bind_host: str = Field(default="127.0.0.1", description="Address the servers bind to.")
    log_level: str = "INFO"
    allow_private_urls: bool = Field(
        default=False,
        description="Accept webhook/strategy URLs on private, loopback or link-local hosts.",
    )
    shutdown_grace_seconds: float = 5.0

    def sqlite_url(self, service: str) -> str:
        """The embedded default database URL for ``service``."""
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').as_posix()}"


class DatabaseServiceSettings(BaseServiceSettings):
    """Settings of a process that owns a database (config, registry)."""

    migrate_on_start: bool = Field(
        default=True, description="Apply Alembic migrations before reporting SERVING."
    )
