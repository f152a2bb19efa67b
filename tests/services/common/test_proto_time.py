"""to_timestamp gives exactly what protobuf's own FromDatetime gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.errors import InvalidArgument
from services.common.rpc.proto_time import from_timestamp, to_timestamp


def reference(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def test_to_timestamp_matches_from_datetime() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    for value in (
        datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
        datetime(1900, 6, 1, 12, 0, 0, 1, tzinfo=india),
        datetime(2038, 1, 19, 8, 44, 7, 123_456, tzinfo=india),
        datetime(2024, 5, 1, 10, 0, 0),  # naive: local time, as FromDatetime after astimezone
    ):
        assert to_timestamp(value) == reference(value), value
        if value.tzinfo is not None:
            assert from_timestamp(to_timestamp(value), "t") == value


def test_an_out_of_range_timestamp_is_invalid_argument_naming_its_field() -> None:
    with pytest.raises(InvalidArgument) as raised:
        from_timestamp(Timestamp(seconds=0, nanos=-1), "start_time")
    assert "start_time" in raised.value.message
