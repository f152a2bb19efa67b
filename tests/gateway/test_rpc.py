"""Credential headers gRPC cannot carry as metadata: 401 in each dialect's shape, never 5xx."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack

BAD_CREDENTIALS = [
    {b"X-API-Key": b"\xe9-not-ascii"},
    {b"X-API-Key": b"key\twith-tab"},
    {b"Authorization": b"Bearer \xff\xfe"},
]


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=repr)
async def test_unsendable_credentials_are_401(stack: Stack, headers: dict[bytes, bytes]) -> None:
    inkbox = await stack.http.get("/api/v1/identities", headers=headers)
    assert inkbox.status_code == 401, inkbox.text
    assert inkbox.json() == {"detail": "malformed API key"}

    vyom = await stack.http.get("/inbound/list", headers=headers)
    assert vyom.status_code == 401, vyom.text
    assert vyom.json() == {"success": False, "message": "malformed API key", "data": None}

    route = await stack.http.post(
        "/v1/calls:route",
        json={"inbound_number": "+919900000000", "caller_number": "1", "service": "exotel"},
        headers=headers,
    )
    assert route.status_code == 401, route.text
    assert route.json() == {"detail": "malformed API key"}


async def test_a_control_character_in_a_header_is_refused_by_the_http_parser(
    stack: Stack,
) -> None:
    """DEL is not a field-vchar (RFC 9110): httptools refuses the request before routing."""
    for path in ("/api/v1/identities", "/inbound/list"):
        response = await stack.http.get(path, headers={b"X-API-Key": b"key\x7f"})
        assert response.status_code == 400
        assert "Traceback" not in response.text and "key" not in response.text
