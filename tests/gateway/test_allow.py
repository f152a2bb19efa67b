"""A 405 names every documented method of the path in ``Allow``, not just one route's."""

from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/identities/some-handle", "DELETE, GET, PATCH"),
        ("/api/v1/phone/incoming-call-action", "GET, PUT"),
        ("/api/v1/api-keys", "GET, POST"),
        ("/inbound/list", "GET"),
    ],
)
async def test_405_lists_every_method_of_the_path(stack: Stack, path: str, allowed: str) -> None:
    response = await stack.http.request("OPTIONS", path, headers={"X-API-Key": "k"})
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json() == {"detail": "Method Not Allowed"}
