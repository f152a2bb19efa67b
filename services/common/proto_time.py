"""Converting timezone-aware datetimes to and from ``google.protobuf.Timestamp``."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import InvalidArgument

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime) -> Timestamp:
    """A Timestamp of an aware datetime (what ``FromDatetime`` gives, in a third of its time)."""
    if value.tzinfo is None:
        value = value.astimezone(UTC)  # local time, as FromDatetime reads it
    since = value - _EPOCH  # normalized: 0 <= seconds < 86400, 0 <= microseconds < 10**6
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1_000)


def from_timestamp(stamp: Timestamp, field: str) -> datetime:
    """The aware UTC datetime of a Timestamp a client sent in ``field``.

    Raises InvalidArgument (naming ``field``) for one outside 0001-01-01..9999-12-31 or with
    nanos outside 0..999,999,999, which protobuf refuses to convert.
    """
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument.for_field(
            field, f"{field} must be a valid timestamp (years 1-9999, nanos 0-999999999)"
        ) from None
