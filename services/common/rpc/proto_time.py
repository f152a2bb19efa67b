"""Converting datetimes and seconds to and from ``google.protobuf.Timestamp``/``Duration``."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import InvalidArgument

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION_MAX_SECONDS: Final = 315_576_000_000
"""The range of a valid Duration (about 10,000 years either way)."""


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


def to_duration(seconds: float) -> Duration:
    """A Duration of a number of seconds, rounded to the nanosecond.

    A value beyond Duration's range, infinity or NaN saturates at the range's end of its
    sign (NaN: the positive end), so it reaches the receiver's range check as out of range
    instead of failing here.
    """
    if math.isnan(seconds):
        seconds = _DURATION_MAX_SECONDS
    bounded = max(-_DURATION_MAX_SECONDS, min(_DURATION_MAX_SECONDS, seconds))
    duration = Duration()
    duration.FromNanoseconds(round(bounded * 1_000_000_000))
    return duration


def from_duration(duration: Duration) -> float:
    """The seconds of a Duration."""
    return duration.seconds + duration.nanos / 1_000_000_000
