"""Column types and defaults shared by both services' ORM models."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new random UUID (version 4) in its canonical string form."""
    return _uuid_text(os.urandom(16).hex(), "4")


def new_time_ordered_id(at_seconds: float) -> str:
    """A UUIDv7 (RFC 9562) of the time ``at_seconds`` (Unix epoch), canonical string form.

    Its 48-bit millisecond timestamp leads, so ids of rows written in time order land at
    the end of their index instead of at a random page (append-only tables: the journal).
    """
    return _uuid_text(f"{int(at_seconds * 1000) & _MS_MASK:012x}{os.urandom(10).hex()}", "7")


def _uuid_text(digits: str, version: str) -> str:
    """32 hex ``digits`` as a canonical UUID string: the version's digit and the RFC 4122
    variant (``10`` in the top bits) stamped over the digits at their places.

    Built from the hex text rather than through ``uuid.UUID`` or integer arithmetic: ids are
    made on every routing decision (its call id and the journal's record id), and this is a
    third of the cost.
    """
    variant = _VARIANT_DIGITS[digits[16]]
    return (
        f"{digits[:8]}-{digits[8:12]}-{version}{digits[13:16]}-"
        f"{variant}{digits[17:20]}-{digits[20:]}"
    )


_MS_MASK = (1 << 48) - 1
_VARIANT_DIGITS = {digit: "89ab"[int(digit, 16) & 0b11] for digit in "0123456789abcdef"}
"""A random hex digit -> the digit with the variant bits ``10`` and its two low bits kept."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as timezone-aware UTC.

    SQLite keeps no offset, so values read back are re-labelled as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


UUID_LENGTH = 36


def UUIDString() -> String:
    """A UUID stored as its 36-character canonical string on every backend."""
    return String(UUID_LENGTH)
