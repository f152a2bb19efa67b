"""Page sizes and keyset page tokens: round trip, and refusal of anything not issued."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidArgument
from services.registry.pagination import (
    Cursor,
    decode_page_token,
    effective_page_size,
    encode_page_token,
)

CURSOR = Cursor(
    datetime(2026, 3, 18, 11, 30, 0, 123456, tzinfo=UTC), "9c2ad915-7d8a-4949-b8df-5fd0da91b4e6"
)


def test_round_trip() -> None:
    token = encode_page_token(CURSOR, "q")
    assert decode_page_token(token, "q") == CURSOR
    assert decode_page_token("", "q") is None


def _forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _fields(token: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    )
    return decoded


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "e30",
        _forged([1, 2]),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "v": 2}),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "t": "2026-03-18T11:30:00"}),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "t": 5}),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "i": "not-a-uuid"}),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "i": 7}),
        _forged({**_fields(encode_page_token(CURSOR, "q")), "extra": 1}),
        encode_page_token(CURSOR, "another query"),
        "A" * 600,
    ],
)
def test_tokens_not_issued_for_this_query_are_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_page_token(token, "q")


def test_page_sizes() -> None:
    assert effective_page_size(0) == 50
    assert effective_page_size(7) == 7
    assert effective_page_size(1000) == 1000
    assert effective_page_size(1001) == 1000
    with pytest.raises(InvalidArgument):
        effective_page_size(-1)
