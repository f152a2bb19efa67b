"""Settings shared by every process; each process extends :class:`BaseServiceSettings`."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.budgets import LONGEST_ROUTING_WAIT_SECONDS

DEFAULT_CONFIG_PORT = 50051
DEFAULT_REGISTRY_PORT = 50052
DEFAULT_GATEWAY_PORT = 8080
METRICS_PORT_OFFSET = 10
"""An unset metrics port is the service's port plus this (50051 -> 50061, 50052 -> 50062)."""

_CHECKOUT = Path(__file__).resolve().parents[2]
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def resolve_data_dir(configured: str | os.PathLike[str] | None = None) -> Path:
    """The absolute data directory every command and process uses.

    ``configured`` (``SWITCHBOARD_DATA_DIR``; relative paths are taken from the current
    directory) wins; otherwise the source checkout's ``var/`` (the directory holding
    ``pyproject.toml`` beside the ``services`` package), or ``$XDG_DATA_HOME/switchboard``
    (``~/.local/share/switchboard``) for an installed package — never a path that depends
    on the directory a command is run from.
    """
    if configured is not None and str(configured) != "":
        return Path(configured).expanduser().resolve()
    if (_CHECKOUT / "pyproject.toml").is_file():
        return _CHECKOUT / "var"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return (Path(data_home) / "switchboard").resolve()


def local_target(host: str, port: int) -> str:
    """The gRPC target that reaches a server bound to ``host:port`` from this machine."""
    if host in _WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def metrics_port_for(service_port: int) -> int:
    """The default metrics port of a service on ``service_port`` (0, ephemeral, stays 0)."""
    return service_port + METRICS_PORT_OFFSET if service_port else 0


CHANGE_HEARTBEAT_SECONDS = 5.0
"""A config change stream silent this long gets a heartbeat (registries notice a dead one)."""


def check_tls_settings(settings: BaseServiceSettings) -> None:
    """Refuse half-configured TLS (a certificate without its key, mTLS without a CA)."""
    pairs = (
        ("grpc_tls_cert_file", "grpc_tls_key_file"),
        ("grpc_tls_client_cert_file", "grpc_tls_client_key_file"),
    )
    for first, second in pairs:
        if (getattr(settings, first) is None) != (getattr(settings, second) is None):
            raise ValueError(f"SWITCHBOARD_{first.upper()} and _{second.upper()} go together")
    if settings.grpc_tls_require_client_cert and (
        settings.grpc_tls_ca_file is None or settings.grpc_tls_cert_file is None
    ):
        raise ValueError(
            "SWITCHBOARD_GRPC_TLS_REQUIRE_CLIENT_CERT needs SWITCHBOARD_GRPC_TLS_CERT_FILE, "
            "_KEY_FILE and SWITCHBOARD_GRPC_TLS_CA_FILE"
        )
    if settings.grpc_tls_client_cert_file is not None and settings.grpc_tls_ca_file is None:
        raise ValueError("SWITCHBOARD_GRPC_TLS_CLIENT_CERT_FILE needs SWITCHBOARD_GRPC_TLS_CA_FILE")


class BaseServiceSettings(BaseSettings):
    """Fields every Switchboard process reads from ``SWITCHBOARD_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="SWITCHBOARD_", extra="ignore")

    data_dir: Path = Field(
        default_factory=resolve_data_dir,
        description="Where SQLite files live (always absolute; see resolve_data_dir).",
    )
    bind_host: str = Field(default="127.0.0.1", description="Address the servers bind to.")
    config_port: int = Field(default=DEFAULT_CONFIG_PORT, ge=0, le=65535)
    registry_port: int = Field(default=DEFAULT_REGISTRY_PORT, ge=0, le=65535)
    config_metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Config's Prometheus metrics port; unset: SWITCHBOARD_CONFIG_PORT + 10.",
    )
    registry_metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Registry's Prometheus metrics port; unset: SWITCHBOARD_REGISTRY_PORT + 10.",
    )
    config_address: str = Field(
        default="",
        description="gRPC target of the config service; unset: this host's config port.",
    )
    registry_address: str = Field(
        default="",
        description="gRPC target of the registry service; unset: this host's registry port.",
    )
    log_level: str = "INFO"
    allow_private_urls: bool = Field(
        default=False,
        description="Accept webhook/strategy URLs on private, loopback or link-local hosts.",
    )
    shutdown_drain_seconds: float = Field(
        default=5.0,
        ge=0,
        description=(
            "On SIGTERM, how long health reports NOT_SERVING (gRPC Check/Watch, gateway "
            "/readyz) while every request, new ones included, is still served."
        ),
    )
    shutdown_grace_seconds: float = Field(
        default=LONGEST_ROUTING_WAIT_SECONDS + 10.0,
        ge=0,
        description=(
            "After the drain delay, how long in-flight requests may finish; the default "
            "covers the longest webhook/strategy wait plus the config calls around it."
        ),
    )
    grpc_tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate chain of this process's gRPC listener (TLS)."
    )
    grpc_tls_key_file: Path | None = Field(
        default=None, description="PEM private key of grpc_tls_cert_file."
    )
    grpc_tls_ca_file: Path | None = Field(
        default=None,
        description=(
            "PEM CA bundle. Set: this process dials its upstreams with TLS and verifies them "
            "against it (and, with grpc_tls_require_client_cert, verifies client certificates)."
        ),
    )
    grpc_tls_client_cert_file: Path | None = Field(
        default=None, description="PEM client certificate chain presented to upstreams (mTLS)."
    )
    grpc_tls_client_key_file: Path | None = Field(
        default=None, description="PEM private key of grpc_tls_client_cert_file."
    )
    grpc_tls_require_client_cert: bool = Field(
        default=False,
        description="The gRPC listener refuses clients without a certificate from the CA.",
    )

    @model_validator(mode="after")
    def _tls_files_come_in_pairs(self) -> BaseServiceSettings:
        check_tls_settings(self)
        return self

    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics (gateway `/metrics`, service ports)."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer credential of every metrics endpoint; unset: the internal token. With "
            "neither, scrapes are refused."
        ),
    )

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return resolve_data_dir(value)

    @model_validator(mode="after")
    def _addresses_follow_ports(self) -> BaseServiceSettings:
        # An unset address or metrics port follows the port settings, so an instance moved
        # to other ports never dials, nor collides with, another instance's services.
        if not self.config_address:
            self.config_address = local_target(self.bind_host, self.config_port)
        if not self.registry_address:
            self.registry_address = local_target(self.bind_host, self.registry_port)
        if self.config_metrics_port is None:
            self.config_metrics_port = metrics_port_for(self.config_port)
        if self.registry_metrics_port is None:
            self.registry_metrics_port = metrics_port_for(self.registry_port)
        return self

    def data_file(self, name: str) -> Path:
        """The path of ``name`` in the data dir (every data-dir file is resolved here)."""
        return self.data_dir / name

    def secret_values(self) -> list[str]:
        """Every secret setting's value (masked in this process's log lines)."""
        return [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]

    def metrics_credential(self) -> str | None:
        """What a scrape must send as ``Authorization: Bearer``: metrics or internal token."""
        for value in (self.metrics_token, getattr(self, "internal_token", None)):
            if isinstance(value, SecretStr) and value.get_secret_value():
                return value.get_secret_value()
        return None

    def sqlite_url(self, service: str) -> str:
        """The embedded default database URL for ``service``."""
        return f"sqlite+aiosqlite:///{self.data_file(f'{service}.db').as_posix()}"


class DatabaseServiceSettings(BaseServiceSettings):
    """Settings of a process that owns a database (config, registry)."""

    migrate_on_start: bool = Field(
        default=True, description="Apply Alembic migrations before reporting SERVING."
    )
    idempotency_retention_hours: float = Field(
        default=24.0,
        ge=24.0,
        le=24.0 * 365,
        description="How long idempotency keys (request_id / Idempotency-Key) are honoured "
        "before they are pruned; at least 24 h.",
    )
    grpc_max_message_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest request message the gRPC server accepts (RESOURCE_EXHAUSTED above).",
    )
    grpc_max_metadata_bytes: int = Field(
        default=16 * 1024,
        ge=8 * 1024,
        description="Largest request metadata (headers) the gRPC server accepts.",
    )
