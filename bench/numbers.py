"""The benchmark's inbound numbers: mapping ``i`` is a fixed, valid Indian mobile number."""

from __future__ import annotations

SERVICE = "exotel"
"""Provider of every benchmark mapping and routed call."""
CALLER_NUMBER = "+14155550100"
_FIRST = 9_100_000_000
MAX_MAPPINGS = 10_000_000


def inbound_number(index: int) -> str:
    """The E.164 form of mapping ``index`` (``+919100000000`` onwards)."""
    if not 0 <= index < MAX_MAPPINGS:
        raise ValueError(f"mapping index out of range: {index}")
    return f"+91{_FIRST + index}"


def normalized_number(index: int) -> str:
    """``inbound_number(index)`` normalized (E.164 digits without ``+``)."""
    return inbound_number(index)[1:]
