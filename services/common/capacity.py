"""Capacity settings shared by config (identities) and the registry (mappings, leases).

One rule for ``max_concurrent_calls`` wherever it is set: unset (None) means unlimited,
otherwise 1..:data:`MAX_CONCURRENT_CALLS` (each slot is a row of the registry's
``capacity_slots``, so the bound also bounds that table per scope). An identity's overflow
chain has at most :data:`MAX_OVERFLOW_STEPS` steps.
"""

from __future__ import annotations

from typing import Final

from services.common.errors import InvalidArgument

MAX_CONCURRENT_CALLS: Final = 10_000
MAX_OVERFLOW_STEPS: Final = 5


def check_max_concurrent_calls(
    value: int | None, field: str = "max_concurrent_calls"
) -> int | None:
    """``value`` if usable as a limit (None = unlimited); InvalidArgument otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not 1 <= value <= MAX_CONCURRENT_CALLS:
        raise InvalidArgument.for_field(
            field, f"{field} must be between 1 and {MAX_CONCURRENT_CALLS}, or null (unlimited)"
        )
    return value
