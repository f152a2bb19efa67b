"""ORM models of the config service's database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.storage.idempotency import idempotency_table
from services.common.storage.orm import UTCDateTime, UUIDString, new_id, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""Alembic scripts that build this schema."""


class Base(DeclarativeBase):
    """Declarative base of the config service's tables."""


class Account(Base):
    """A tenant (organization); every other row belongs to one."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key; only the SHA-256 of its secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(32))
    last4: Mapped[str] = mapped_column(String(4))
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    scoped_identity_id: Mapped[str | None] = mapped_column(
        UUIDString(), ForeignKey("agent_identities.id", ondelete="CASCADE"), default=None
    )
    created_by: Mapped[str | None] = mapped_column(String(200), default=None)
    creator_type: Mapped[str] = mapped_column(String(16), default="human")
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AgentIdentity(Base):
    """An agent identity (a Vyom "assistant"); its handle is unique system-wide."""

    __tablename__ = "agent_identities"
    __table_args__ = (Index("ix_agent_identities_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("accounts.id", ondelete="CASCADE")
    )
    agent_handle: Mapped[str] = mapped_column(String(64), unique=True)
    # "" means cleared (the API shows null): the column stays NOT NULL because relaxing it
    # would rebuild this table on SQLite, and its cascading children would be emptied.
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    max_concurrent_calls: Mapped[int | None] = mapped_column(Integer, default=None)
    # Steps as {"agent_identity_id": ...} | {"forwarding_phone_number": ...} |
    # {"webhook_fallback": true} (services/config/overflow.py); None = no chain.
    overflow_chain: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)


class IncomingCallAction(Base):
    """How inbound calls to one identity are handled (at most one row per identity)."""

    __tablename__ = "incoming_call_actions"

    agent_identity_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("agent_identities.id", ondelete="CASCADE"), primary_key=True
    )
    action: Mapped[str] = mapped_column(String(32))
    client_websocket_url: Mapped[str | None] = mapped_column(Text, default=None)
    incoming_call_webhook_url: Mapped[str | None] = mapped_column(Text, default=None)
    forwarding_target_type: Mapped[str | None] = mapped_column(String(8), default=None)
    forwarding_phone_number: Mapped[str | None] = mapped_column(String(32), default=None)
    forwarding_sip_uri: Mapped[str | None] = mapped_column(Text, default=None)
    webhook_timeout_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    fallback_action: Mapped[str | None] = mapped_column(String(16), default=None)
    fallback_client_websocket_url: Mapped[str | None] = mapped_column(Text, default=None)
    fallback_forwarding_target_type: Mapped[str | None] = mapped_column(String(8), default=None)
    fallback_forwarding_phone_number: Mapped[str | None] = mapped_column(String(32), default=None)
    fallback_forwarding_sip_uri: Mapped[str | None] = mapped_column(Text, default=None)
    secondary_webhook_url: Mapped[str | None] = mapped_column(Text, default=None)
    call_context_in_url: Mapped[bool | None] = mapped_column(Boolean, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IdentitySigningKey(Base):
    """An identity's webhook signing key (kept in clear: it is needed to sign requests)."""

    __tablename__ = "identity_signing_keys"

    agent_identity_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("agent_identities.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    """When the key was created or last rotated (the Inkbox ``created_at``)."""


class IdentityBusinessHours(Base):
    """An identity's business hours and outside-hours action (none: always open).

    ``schedule`` is the JSON form of ``services.common.business_hours`` and
    ``outside_action`` that of ``services.config.business_hours.OutsideAction``, both
    validated on every write.
    """

    __tablename__ = "identity_business_hours"

    agent_identity_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("agent_identities.id", ondelete="CASCADE"), primary_key=True
    )
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    outside_action: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)
"""Stored responses of idempotent writes (see services.common.storage.idempotency)."""
