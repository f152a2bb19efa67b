"""new_time_ordered_id: UUIDv7 strings that sort by their time and never repeat."""

from __future__ import annotations

import uuid

from services.common.ids import parse_uuid
from services.common.storage.orm import new_time_ordered_id


def test_ids_are_canonical_uuid7_carrying_their_millisecond() -> None:
    at = 1_796_578_776.4495
    value = new_time_ordered_id(at)
    parsed = uuid.UUID(value)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert parse_uuid(value, "id") == value
    assert int(parsed.hex[:12], 16) == 1_796_578_776_449


def test_ids_sort_by_time_and_are_unique_within_a_millisecond() -> None:
    times = [1_700_000_000 + step / 1000 for step in range(50)]
    ordered = [new_time_ordered_id(at) for at in times]
    assert ordered == sorted(ordered)
    same_ms = {new_time_ordered_id(1_700_000_000.0) for _ in range(10_000)}
    assert len(same_ms) == 10_000
