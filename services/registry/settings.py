"""Settings of the registry service process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, SecretStr

from services.common.settings import DatabaseServiceSettings


class RegistrySettings(DatabaseServiceSettings):
    """``SWITCHBOARD_REGISTRY_*`` and the shared ``SWITCHBOARD_*`` variables."""

    registry_database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite under data_dir."
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
    internal_token: SecretStr | None = Field(
        default=None,
        description=(
            "Sent as `x-switchboard-internal-token` to the config service. Unset: `switchboard "
            "serve` uses the token generated in the data dir."
        ),
    )
    edge_token: SecretStr | None = Field(
        default=None,
        description=(
            "Operator credential of the telephony edge (`SWITCHBOARD_EDGE_TOKEN`): lets RouteCall "
            "route any number. Unset: only admin API keys may route (their own numbers)."
        ),
    )
    outbound_ca_file: Path | None = Field(
        default=None,
        description="Extra PEM CA bundle trusted by outgoing webhook and strategy requests.",
    )
    outbound_max_response_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest webhook/strategy response body read."
    )
    outbound_max_connections: int = Field(
        default=100, ge=1, description="Connection pool size of the shared outgoing HTTP client."
    )
    call_target_cache_ttl_seconds: float = Field(
        default=5.0,
        ge=0,
        le=5,
        description=(
            "How long RouteCall reuses an identity's call action and signing key before "
            "asking config again (default 5 s, at most 5 s; 0 disables); bounds how stale a "
            "routing decision can be. Entries in use are refreshed in the background during "
            "the last quarter of their life."
        ),
    )

    call_target_cache_pushed_ttl_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description=(
            "How long call targets are reused while the config change stream is live (every "
            "change committed by the config process it streams from invalidates them at once); "
            "on loss of the stream the cache falls back to call_target_cache_ttl_seconds. "
            "Bounds changes config cannot announce (another config replica's, direct database "
            "edits); 0 keeps the short TTL always."
        ),
    )
    webhook_circuit_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Consecutive failures of a webhook endpoint that open its circuit (this "
        "replica then applies the identity's fallback at once instead of asking it).",
    )
    webhook_circuit_open_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long an open circuit waits before one probe request; each failed "
        "probe doubles it, up to 10x.",
    )
    call_context_ttl_seconds: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="Lifetime of the signed call context token minted for an accepted call.",
    )
    call_lease_seconds: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="Lifetime of a routed call's capacity lease unless renewed (RenewCall) or "
        "released (ReleaseCall); a crashed edge's slots free themselves after it.",
    )
    journal_enabled: bool = Field(
        default=True, description="Append every routing decision to the decision journal."
    )
    journal_queue_size: int = Field(
        default=10_000, ge=1, description="Decisions waiting to be written; beyond: dropped."
    )
    journal_batch_size: int = Field(default=500, ge=1, description="Rows per journal insert.")
    journal_flush_interval_seconds: float = Field(
        default=0.2, ge=0, le=10, description="How long a journal batch may gather."
    )
    journal_retention_days: float = Field(
        default=30.0, gt=0, description="Journal records older than this are pruned."
    )
    journal_max_rows: int = Field(
        default=1_000_000, ge=1, description="The journal keeps at most this many records."
    )
    journal_prune_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often each registry prunes the journal."
    )
    replica_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}",
        max_length=128,
        description="This registry's name in journal records (default host:pid).",
    )

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite default."""
        return self.registry_database_url or self.sqlite_url("registry")
