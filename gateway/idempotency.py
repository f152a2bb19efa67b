"""The `Idempotency-Key` header of REST writes; routes pass it on as gRPC `request_id`."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Header

from gateway.openapi import Responses
from services.common.storage.idempotency import KEY_MAX_LENGTH, KEY_PATTERN

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        pattern=KEY_PATTERN,
        description="Makes this write safe to retry: a retry with the same key and the same "
        "body, within 24 h, gets the first response again (same status and body) and changes "
        "nothing; the same key with a different body is 422. Per account; a UUID is "
        "recommended.",
    ),
]
"""Declare as ``key: IdempotencyKey = None`` and send ``request_id=key or ""``."""

IDEMPOTENT_RESPONSES: Final[Responses] = {
    422: {
        "description": "Invalid input (unparseable body, a field failing validation, unstorable "
        "text), a malformed `Idempotency-Key`, or an `Idempotency-Key` already used for a "
        "different request"
    }
}
"""What a keyed route adds to its OpenAPI ``responses``."""
