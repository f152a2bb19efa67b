"""ORM models of the registry service's database."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.storage.idempotency import idempotency_table
from services.common.storage.orm import UTCDateTime, UUIDString, new_id, utcnow

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""Alembic scripts that build this schema."""


class Base(DeclarativeBase):
    """Declarative base of the registry service's tables."""


class InboundContextStrategy(Base):
    """A caller-context lookup run before the assistant's prompt is rendered."""

    __tablename__ = "inbound_context_strategies"
    __table_args__ = (Index("ix_strategies_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(UUIDString())
    name: Mapped[str] = mapped_column(String(200))
    strategy_type: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class InboundNumber(Base):
    """A mapping from an inbound number to an assistant (agent identity of the config service).

    At most one *active* row per normalized number, system-wide: a partial unique
    index enforces it, so concurrent assigns race in the database, not in Python.
    """

    __tablename__ = "inbound_numbers"
    __table_args__ = (
        Index(
            "uq_inbound_numbers_active_normalized",
            "phone_number_normalized",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_inbound_numbers_account_list", "account_id", "active", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(UUIDString())
    phone_number: Mapped[str] = mapped_column(String(64))
    phone_number_normalized: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(32))
    inbound_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    assistant_id: Mapped[str | None] = mapped_column(UUIDString(), default=None, index=True)
    inbound_context_strategy_id: Mapped[str | None] = mapped_column(
        UUIDString(),
        ForeignKey("inbound_context_strategies.id", ondelete="SET NULL"),
        default=None,
        index=True,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    filter_mode: Mapped[str] = mapped_column(
        String(16), default="blacklist", server_default="blacklist"
    )
    """``blacklist`` lets every caller through but those blocked by a rule; ``whitelist`` only
    those allowed by one."""
    max_concurrent_calls: Mapped[int | None] = mapped_column(Integer, default=None)
    """Calls to the number routed at once (capacity_leases.py); None = unlimited."""


COVERS_INBOUND = text("direction IN ('inbound', 'both')")
"""The rules that screen inbound calls (also routing's join condition, to use the index)."""
COVERS_OUTBOUND = text("direction IN ('outbound', 'both')")


class ContactRule(Base):
    """A caller allow/block rule of one mapping, on the caller's normalized number.

    A rule covers one side of the calls (``inbound``, ``outbound``) or ``both``. At most one
    rule covers each side of each (mapping, number): one partial unique index per side, the
    inbound one also making routing's join a point read.
    """

    __tablename__ = "contact_rules"
    __table_args__ = (
        Index(
            "uq_contact_rules_inbound_side",
            "inbound_id",
            "match_target_normalized",
            unique=True,
            sqlite_where=COVERS_INBOUND,
            postgresql_where=COVERS_INBOUND,
        ),
        Index(
            "uq_contact_rules_outbound_side",
            "inbound_id",
            "match_target_normalized",
            unique=True,
            sqlite_where=COVERS_OUTBOUND,
            postgresql_where=COVERS_OUTBOUND,
        ),
        Index("ix_contact_rules_account_created", "account_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(UUIDString())
    inbound_id: Mapped[str] = mapped_column(
        UUIDString(), ForeignKey("inbound_numbers.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(16))
    match_type: Mapped[str] = mapped_column(String(32))
    match_target_normalized: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


IDEMPOTENCY_KEYS = idempotency_table(Base.metadata)
"""Stored responses of idempotent writes (see services.common.storage.idempotency)."""


class CallDecision(Base):
    """One routing decision, appended by the decision journal and never updated.

    ``account_id`` is the account of the matched mapping (None when no mapping matched:
    such records are visible to the edge token only). A call's records are found through
    ``call_key`` (:func:`call_lookup_key`), not an index on ``call_id`` itself, or among the
    few records whose ``call_key`` is still NULL.
    """

    __tablename__ = "call_decisions"
    __table_args__ = (
        Index("ix_call_decisions_account_time", "account_id", "decided_at", "id"),
        Index("ix_call_decisions_time", "decided_at", "id"),
        Index("ix_call_decisions_call_key", "call_key"),
    )

    id: Mapped[str] = mapped_column(UUIDString(), primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(String(256))
    call_key: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """:func:`call_lookup_key` of ``call_id``. NULL (readers include such rows) while the key
    waits in ``pending_call_key`` (SQLite: the most recent few thousand records), and on rows
    a replica of an older version wrote during a rolling upgrade."""
    pending_call_key: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """``call_key`` before it is indexed: on SQLite the journal's writer stores the key here and
    moves thousands into the index at once (``DeferredIndex`` in
    :mod:`services.common.storage.bulk_insert`); always NULL on PostgreSQL."""
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    account_id: Mapped[str | None] = mapped_column(UUIDString(), default=None)
    dialed_number: Mapped[str] = mapped_column(String(256))
    dialed_normalized: Mapped[str | None] = mapped_column(String(20), default=None)
    caller_number: Mapped[str] = mapped_column(String(256))
    caller_normalized: Mapped[str | None] = mapped_column(String(20), default=None)
    service: Mapped[str] = mapped_column(String(32))
    inbound_id: Mapped[str | None] = mapped_column(UUIDString(), default=None)
    assistant_id: Mapped[str | None] = mapped_column(UUIDString(), default=None)
    call_action_version: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    action_source: Mapped[str | None] = mapped_column(String(32), default=None)
    verdict: Mapped[str] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    edge_outcome: Mapped[str] = mapped_column(String(32))
    sip_status: Mapped[int | None] = mapped_column(Integer, default=None)
    reason_detail: Mapped[str | None] = mapped_column(String(1024), default=None)
    webhook_status: Mapped[str | None] = mapped_column(String(32), default=None)
    webhook_ms: Mapped[float | None] = mapped_column(Float, default=None)
    context_status: Mapped[str | None] = mapped_column(String(32), default=None)
    context_ms: Mapped[float | None] = mapped_column(Float, default=None)
    decision_ms: Mapped[float] = mapped_column(Float)
    replica: Mapped[str] = mapped_column(String(128))
    capacity: Mapped[str | None] = mapped_column(String(512), default=None)
    """How capacity decided (routing/capacity_stage.py): lease slots, full scopes, the
    overflow step; None when no limit applied."""


def call_lookup_key(call_id: str) -> int:
    """The indexed stand-in of a journal record's ``call_id``: a signed 64-bit BLAKE2b hash.

    Stored in every record, so it must never change. Why not index ``call_id`` itself: call
    ids are random, so each new record lands on a random page of that index, and once the
    index outgrows the writer's batch nearly every record dirties a page of its own. Eight
    bytes per entry instead of up to 256 characters keep that index a fraction of the size
    (more of it cached, fewer pages per batch). Lookups also compare ``call_id``, so a
    collision costs one extra row read, never a wrong answer.
    """
    digest = hashlib.blake2b(call_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class CarrierOverrides(Base):
    """An account's overrides of what carriers are told per reject reason.

    ``overrides`` maps a reject reason to ``{"sip_status": N, "edge_outcome": "..."}``
    (validated by ``services.registry.routing.carrier_outcomes.parse_overrides``); reasons
    absent keep the defaults.
    """

    __tablename__ = "carrier_overrides"

    account_id: Mapped[str] = mapped_column(UUIDString(), primary_key=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CapacitySlot(Base):
    """One of a capacity scope's call slots (services/registry/capacity_leases.py).

    A scope (an identity's or a mapping's ``max_concurrent_calls``) owns rows 0..limit-1,
    created when first needed and never per call. A slot is held while ``expires_at`` is in
    the future and free otherwise: a released slot is set to :data:`FREE_SLOT_EXPIRY`, an
    unreleased one frees itself when its lease expires, with no sweeper.
    """

    __tablename__ = "capacity_slots"
    __table_args__ = (
        Index("ix_capacity_slots_free", "scope_key", "expires_at", "slot"),
        Index("ix_capacity_slots_call", "call_id"),
    )

    scope_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    call_id: Mapped[str | None] = mapped_column(String(256), default=None)
    account_id: Mapped[str | None] = mapped_column(UUIDString(), default=None)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
