"""Contact-rule values shared by their CRUD and by routing: names, defaults, the match key."""

from __future__ import annotations

from typing import Final

from services.common.errors import FieldViolation, InvalidArgument
from services.common.phone import InvalidPhoneNumber, normalize_caller_number

ACTIONS: Final = ("allow", "block")
MATCH_TYPES: Final = ("exact_number",)
DIRECTIONS: Final = ("inbound", "outbound", "both")
SIDES: Final = ("inbound", "outbound")
"""The two sides of the calls a rule can cover; ``both`` covers the two."""
STATUSES: Final = ("active", "paused")
FILTER_MODES: Final = ("blacklist", "whitelist")

DEFAULT_MATCH_TYPE: Final = "exact_number"
DEFAULT_DIRECTION: Final = "both"
DEFAULT_STATUS: Final = "active"
DEFAULT_FILTER_MODE: Final = "blacklist"

ACTIVE: Final = "active"
BOTH: Final = "both"
OUTBOUND: Final = "outbound"
ALLOW: Final = "allow"
BLOCK: Final = "block"
WHITELIST: Final = "whitelist"


def normalized_target(match_target: str, region: str) -> str:
    """The rule key of ``match_target``: E.164 digits without ``+`` (see the caller normalizer).

    Raises InvalidArgument for a number that cannot be normalized.
    """
    try:
        return normalize_caller_number(match_target, region)
    except InvalidPhoneNumber as error:
        raise InvalidArgument(
            f"Invalid match_target: {error.message}",
            violations=[FieldViolation("match_target", error.message)],
            reason="INVALID_PHONE_NUMBER",
        ) from None


def normalized_caller(caller_number: str, region: str) -> str | None:
    """The caller's rule key, or None when the caller ID cannot be normalized (withheld...)."""
    try:
        return normalize_caller_number(caller_number, region)
    except InvalidPhoneNumber:
        return None


def other_side(side: str) -> str:
    """``outbound`` for ``inbound`` and the reverse."""
    return SIDES[1 - SIDES.index(side)]


def checked_choice(field: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else InvalidArgument naming ``field``."""
    if value not in allowed:
        raise InvalidArgument.for_field(field, f"{field} must be one of: {', '.join(allowed)}")
    return value
