"""New ids: UUIDv4 (new_id) and UUIDv7 (new_time_ordered_id) strings, canonical, never repeating;
v7 ids sort by their time."""

from __future__ import annotations

import uuid

from services.common.ids import parse_uuid
from services.common.storage.orm import new_id, new_time_ordered_id


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


def test_new_ids_are_canonical_random_uuid4() -> None:
    made = [new_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)
    for value in made:
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == value
    # The variant digit keeps its two random bits: all four forms occur.
    assert {value[19] for value in made} == set("89ab")


def test_time_ordered_ids_keep_every_random_bit_random() -> None:
    made = [uuid.UUID(new_time_ordered_id(1_700_000_000.0)).int for _ in range(2_000)]
    timestamp, version, variant = 0xFFFF_FFFF_FFFF << 80, 0xF << 76, 0b11 << 62
    random_bits = ((1 << 128) - 1) & ~(timestamp | version | variant)
    seen_set = seen_clear = 0
    for value in made:
        seen_set |= value & random_bits
        seen_clear |= ~value & random_bits
    assert random_bits.bit_count() == 74
    assert seen_set == seen_clear == random_bits  # each of the 74 bits was 0 and 1 somewhere
