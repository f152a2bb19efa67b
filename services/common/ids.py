"""Resource ids: every id is a UUID, accepted in any form ``uuid.UUID`` parses, kept canonical."""

from __future__ import annotations

import re
import uuid

from services.common.errors import InvalidArgument

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_uuid(value: str, field: str) -> str:
    """The canonical form of a UUID string; InvalidArgument naming ``field`` otherwise."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return value  # already canonical (the usual case), as str(uuid.UUID(value)) would be
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument.for_field(field, f"{field} must be a UUID") from None
