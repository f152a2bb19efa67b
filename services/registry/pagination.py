"""Page sizes and opaque keyset page tokens of the registry's list RPCs.

Lists are ordered newest first on ``(created_at, id)``; a page token is the key
of the last row returned, so rows added while a client pages through appear
only ahead of its cursor and every older row is returned exactly once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_TOKEN_VERSION = 1
_MAX_TOKEN_LENGTH = 512

Item = TypeVar("Item")


@dataclass(frozen=True)
class Cursor:
    """The sort key of the last row of a page."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page of results and the token of the next one ("" on the last page)."""

    items: Sequence[Item]
    next_page_token: str


def effective_page_size(requested: int) -> int:
    """The server default for 0, at most :data:`MAX_PAGE_SIZE`; negative is INVALID_ARGUMENT."""
    if requested < 0:
        raise InvalidArgument.for_field("page_size", "page_size must not be negative")
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def encode_page_token(cursor: Cursor, query: str) -> str:
    """An opaque token resuming after ``cursor`` for the list described by ``query``."""
    payload = {
        "v": _TOKEN_VERSION,
        "q": _fingerprint(query),
        "t": cursor.created_at.isoformat(),
        "i": cursor.id,
    }
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_page_token(token: str, query: str) -> Cursor | None:
    """The cursor in ``token`` (None for ""); INVALID_ARGUMENT for anything we did not issue.

    ``query`` names the list and its filters: a token is refused on a list other
    than the one that issued it.
    """
    if not token:
        return None
    try:
        if len(token) > _MAX_TOKEN_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or set(payload) != {"v", "q", "t", "i"}:
            raise ValueError("unexpected fields")
        if payload["v"] != _TOKEN_VERSION or payload["q"] != _fingerprint(query):
            raise ValueError("issued for another list")
        created_at = datetime.fromisoformat(payload["t"])
        if created_at.tzinfo is None:
            raise ValueError("naive timestamp")
        row_id = str(uuid.UUID(payload["i"]))
        if row_id != payload["i"]:
            raise ValueError("non-canonical id")
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise InvalidArgument.for_field(
            "page_token", "page_token is invalid or belongs to a different query"
        ) from None
    return Cursor(created_at=created_at, id=row_id)


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]
