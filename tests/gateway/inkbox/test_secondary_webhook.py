"""``secondary_webhook_url`` on the incoming-call action: set, kept, cleared, validated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.inkbox_rest import Headers
from tests.support.stack import Stack

ROUTE = "/api/v1/phone/incoming-call-action"
PRIMARY = "https://hooks.example.com/primary"
SECONDARY = "https://backup.example.net/calls"


def body(identity: Any, **fields: Any) -> dict[str, Any]:
    return {
        "agent_identity_id": identity["id"],
        "incoming_call_action": "webhook",
        "incoming_call_webhook_url": PRIMARY,
        **fields,
    }


async def test_set_kept_when_omitted_and_cleared_by_null(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    put = await stack.http.put(
        ROUTE, json=body(identity, secondary_webhook_url=SECONDARY), headers=admin
    )
    assert put.status_code == 200, put.text
    assert put.json()["secondary_webhook_url"] == SECONDARY
    kept = await stack.http.put(ROUTE, json=body(identity), headers=admin)
    assert kept.json()["secondary_webhook_url"] == SECONDARY
    read = await stack.http.get(ROUTE, params={"agent_identity_id": identity["id"]}, headers=admin)
    assert read.json()["secondary_webhook_url"] == SECONDARY
    cleared = await stack.http.put(
        ROUTE, json=body(identity, secondary_webhook_url=None), headers=admin
    )
    assert cleared.status_code == 200
    assert "secondary_webhook_url" not in cleared.json()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://backup.example.net/calls", "secondary_webhook_url"),
        (PRIMARY, "must differ from incoming_call_webhook_url"),
    ],
)
async def test_bad_urls_are_refused_and_change_nothing(
    stack: Stack, admin: Headers, identity: Any, url: str, message: str
) -> None:
    assert (await stack.http.put(ROUTE, json=body(identity), headers=admin)).status_code == 200
    before = await stack.http.get(
        ROUTE, params={"agent_identity_id": identity["id"]}, headers=admin
    )
    refused = await stack.http.put(
        ROUTE, json=body(identity, secondary_webhook_url=url), headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert message in refused.text
    after = await stack.http.get(ROUTE, params={"agent_identity_id": identity["id"]}, headers=admin)
    assert after.json() == before.json()
