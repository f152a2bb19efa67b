"""Converting timezone-aware datetimes to and from ``google.protobuf.Timestamp``."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def to_timestamp(value: datetime) -> Timestamp:
    """A Timestamp of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    """The aware UTC datetime of a Timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)
