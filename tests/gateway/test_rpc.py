"""Credential headers gRPC cannot carry as metadata: 401 in each dialect's shape, never 5xx."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack

BAD_CREDENTIALS = [
    {b"X-API-Key": b"\xe9-not-ascii"},
    {b"X-API-Key": b"key\twith-tab"},
    {b"X-API-Key": b"key\x7f"},
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
