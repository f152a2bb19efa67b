"""Page sizes and opaque page tokens of the config service's list RPCs (AIP-158)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Protocol

from services.common.errors import InvalidArgument
from services.config.repository import PageCursor

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000


class Listed(Protocol):
    """A row listed newest first."""

    @property
    def id(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


def page_size(requested: int) -> int:
    """The effective page size: default for 0, capped at the maximum, negative refused."""
    if requested < 0:
        raise InvalidArgument.for_field("page_size", "page_size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def decode_token(token: str) -> PageCursor | None:
    """The cursor in ``token``; None for the first page."""
    if not token:
        return None
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(created_at), str(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidArgument.for_field("page_token", "page_token is invalid") from None


def next_token(rows: Sequence[Listed], size: int) -> str:
    """The token continuing after ``rows``; empty when fewer than ``size`` rows came back."""
    if len(rows) < size:
        return ""
    last = rows[-1]
    cursor = json.dumps([last.created_at.isoformat(), last.id])
    return base64.urlsafe_b64encode(cursor.encode()).decode()
