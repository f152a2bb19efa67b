"""Ids named by callers, and the not-found errors of the registry's resources."""

from __future__ import annotations

from services.common.errors import InvalidArgument, NotFound
from services.common.ids import parse_uuid

ASSISTANT_NOT_FOUND = "Assistant not found"
MAPPING_NOT_FOUND = "Inbound number mapping not found"
STRATEGY_NOT_FOUND = "Inbound context strategy not found"


def assistant_not_found() -> NotFound:
    """The assistant does not exist or is not visible to the caller."""
    return NotFound(ASSISTANT_NOT_FOUND, reason="ASSISTANT_NOT_FOUND")


def mapping_not_found() -> NotFound:
    """The mapping does not exist, is deleted, or is not visible to the caller."""
    return NotFound(MAPPING_NOT_FOUND, reason="MAPPING_NOT_FOUND")


def strategy_not_found() -> NotFound:
    """The strategy does not exist or belongs to another account."""
    return NotFound(STRATEGY_NOT_FOUND, reason="STRATEGY_NOT_FOUND")


def referenced_id(value: str, not_found: NotFound) -> str:
    """The canonical form of an id naming a resource; ``not_found`` if it cannot name one."""
    try:
        return parse_uuid(value, "id")
    except InvalidArgument:
        raise not_found from None
