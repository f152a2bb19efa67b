"""``/api/v1/webhooks/signing-secret`` over HTTP: status, creation, rotation; admin-only."""

from __future__ import annotations

import pytest

from tests.gateway.inkbox.conftest import Headers
from tests.support.stack import Stack

URL = "/api/v1/webhooks/signing-secret"
STATUS_KEYS = {"configured", "display_prefix", "created_at", "rotated_at"}


@pytest.mark.parametrize("rotate_path", [URL, f"{URL}:rotate"])
async def test_create_then_rotate(stack: Stack, admin: Headers, rotate_path: str) -> None:
    initial = await stack.http.get(URL, headers=admin)
    assert initial.json() == {
        "configured": False,
        "display_prefix": None,
        "created_at": None,
        "rotated_at": None,
    }
    created = await stack.http.post(rotate_path, headers=admin)
    assert created.status_code == 200, created.text
    first = created.json()
    assert set(first) == STATUS_KEYS | {"secret"}
    assert first["secret"].startswith("whsec_") and first["configured"]
    assert first["secret"].startswith(first["display_prefix"])
    assert first["rotated_at"] == first["created_at"]

    status = (await stack.http.get(URL, headers=admin)).json()
    assert status == {k: v for k, v in first.items() if k != "secret"}
    assert first["secret"] not in (await stack.http.get(URL, headers=admin)).text

    rotated = (await stack.http.post(rotate_path, headers=admin)).json()
    assert rotated["secret"] != first["secret"]
    assert rotated["created_at"] == first["created_at"]
    assert rotated["rotated_at"] >= first["rotated_at"]


async def test_admin_only_and_per_organization(
    stack: Stack, admin: Headers, other_admin: Headers, scoped: Headers
) -> None:
    assert (await stack.http.post(URL, headers=admin)).status_code == 200
    assert (await stack.http.get(URL, headers=other_admin)).json()["configured"] is False
    assert (await stack.http.get(URL, headers=scoped)).status_code == 403
    assert (await stack.http.post(URL, headers=scoped)).status_code == 403
    assert (await stack.http.get(URL)).status_code == 401
