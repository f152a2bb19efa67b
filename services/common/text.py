"""The one rule for text the services store: valid Unicode without NUL (PostgreSQL refuses NUL)."""

from __future__ import annotations

from typing import Final

NUL: Final = "\x00"
UNSTORABLE_NUL: Final = "must not contain NUL (\\u0000) characters"
NOT_UNICODE: Final = "must be valid Unicode text"
STORABLE_TEXT_PATTERN: Final = "^[^\\u0000]*$"
"""The NUL rule as a JSON Schema (ECMA-262) pattern, for API documents."""


def unstorable_reason(value: str) -> str | None:
    """Why neither database could store ``value`` as text, or None when both can.

    PostgreSQL rejects NUL in ``text`` and ``jsonb`` (SQLite would store it), and lone
    surrogates are not encodable as UTF-8 at all.
    """
    if NUL in value:
        return UNSTORABLE_NUL
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return NOT_UNICODE
    return None
