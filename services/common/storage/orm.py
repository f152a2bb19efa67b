"""Column types and defaults shared by both services' ORM models."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new random UUID in its canonical string form."""
    return str(uuid.uuid4())


def new_time_ordered_id(at_seconds: float) -> str:
    """A UUIDv7 (RFC 9562) of the time ``at_seconds`` (Unix epoch), canonical string form.

    Its 48-bit millisecond timestamp leads, so ids of rows written in time order land at
    the end of their index instead of at a random page (append-only tables: the journal).
    """
    random_bits = int.from_bytes(os.urandom(10))
    value = (
        (int(at_seconds * 1000) & _MS_MASK) << 80
        | 0x7 << 76  # version
        | (random_bits >> 64 & 0xFFF) << 64  # rand_a
        | 0b10 << 62  # variant
        | random_bits & _RAND_B_MASK
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


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
