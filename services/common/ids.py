"""Resource ids: every id is a UUID, accepted in any form ``uuid.UUID`` parses, kept canonical."""

from __future__ import annotations

import uuid

from services.common.errors import InvalidArgument


def parse_uuid(value: str, field: str) -> str:
    """The canonical form of a UUID string; InvalidArgument naming ``field`` otherwise."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument.for_field(field, f"{field} must be a UUID") from None
