"""Business hours over REST: ``/api/v1/identities/{h}/business-hours`` GET/PUT/DELETE, 422 with
nothing changed on bad input, and a schedule set over REST deciding a routed call."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.inkbox_rest import Headers
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack

OFFICE: dict[str, Any] = {
    "schedule": {
        "time_zone": "Asia/Kolkata",
        "weekly": {
            day: [{"start": "09:00", "end": "18:00"}]
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        },
        "holidays": ["2026-12-25"],
    },
    "outside_hours_action": {"action": "reject"},
}


def hours_url(handle: str) -> str:
    return f"/api/v1/identities/{handle}/business-hours"


async def test_put_get_delete(stack: Stack, admin: Headers, identity: Any) -> None:
    url = hours_url(identity["agent_handle"])
    missing = await stack.http.get(url, headers=admin)
    assert missing.status_code == 404
    assert set(missing.json()) == {"detail"}

    saved = await stack.http.put(url, json=OFFICE, headers=admin)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["agent_identity_id"] == identity["id"]
    assert body["schedule"] == OFFICE["schedule"]
    assert body["outside_hours_action"] == {
        "action": "reject",
        "forwarding_target_type": None,
        "forwarding_phone_number": None,
        "forwarding_sip_uri": None,
        "agent_identity_id": None,
        "incoming_call_webhook_url": None,
    }
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    assert (await stack.http.get(url, headers=admin)).json() == body

    deleted = await stack.http.delete(url, headers=admin)
    assert deleted.status_code == 204
    assert (await stack.http.get(url, headers=admin)).status_code == 404
    assert (await stack.http.delete(url, headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"time_zone": "Asia/Bangalore"}, "unknown IANA time zone", id="bad-zone"),
        pytest.param(
            {
                "weekly": {
                    "monday": [
                        {"start": "09:00", "end": "13:00"},
                        {"start": "12:30", "end": "18:00"},
                    ]
                }
            },
            "overlaps",
            id="overlap",
        ),
    ],
)
async def test_bad_input_is_422_and_changes_nothing(
    stack: Stack, admin: Headers, identity: Any, change: dict[str, Any], words: str
) -> None:
    url = hours_url(identity["agent_handle"])
    before = (await stack.http.put(url, json=OFFICE, headers=admin)).json()
    bad = {**OFFICE, "schedule": {**OFFICE["schedule"], **change}}
    response = await stack.http.put(url, json=bad, headers=admin)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    assert (await stack.http.get(url, headers=admin)).json() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {**OFFICE, "schedule": {"time_zone": "UTC", "weekly": {"funday": []}}}, id="day"
        ),
        pytest.param({**OFFICE, "outside_hours_action": {"action": "voicemail"}}, id="action"),
        pytest.param({"schedule": OFFICE["schedule"]}, id="no-action"),
        pytest.param(
            {**OFFICE, "outside_hours_action": {"action": "forward"}}, id="forward-nowhere"
        ),
    ],
)
async def test_malformed_bodies_are_422(
    stack: Stack, admin: Headers, identity: Any, body: dict[str, Any]
) -> None:
    url = hours_url(identity["agent_handle"])
    response = await stack.http.put(url, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert (await stack.http.get(url, headers=admin)).status_code == 404


async def test_scoped_key_sets_its_own_identity_only(
    stack: Stack, admin: Headers, scoped: Headers, identity: Any, other_admin: Headers
) -> None:
    url = hours_url(identity["agent_handle"])
    assert (await stack.http.put(url, json=OFFICE, headers=scoped)).status_code == 200
    assert (await stack.http.get(url, headers=scoped)).status_code == 200
    assert (await stack.http.get(url, headers=other_admin)).status_code == 404


async def test_hours_set_over_rest_decide_a_routed_call(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    http, admin = routing.http, {"X-API-Key": account.api_key}
    created = await http.post(
        "/api/v1/identities/", json={"agent_handle": "bh-" + account.account_id[:8]}, headers=admin
    )
    assert created.status_code == 201, created.text
    identity = created.json()
    action = await http.put(
        "/api/v1/phone/incoming-call-action",
        json={
            "agent_identity_id": identity["id"],
            "incoming_call_action": "auto_accept",
            "client_websocket_url": "wss://agent.example.com/stream",
        },
        headers=admin,
    )
    assert action.status_code == 200, action.text
    night = {
        "action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+14155550100",
    }
    put = await http.put(
        hours_url(identity["agent_handle"]),
        json={**OFFICE, "outside_hours_action": night},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    mapping = await factories.map_number(routing.stack, account.account_id, identity["id"])
    call = {"inbound_number": mapping.number, "caller_number": "+919900000001", "service": "exotel"}

    async def simulate(call_time: str) -> Any:
        response = await http.post(
            "/v1/calls:simulate", json={**call, "call_time": call_time}, headers=admin
        )
        assert response.status_code == 200, response.text
        return response.json()["decision"]

    evening = await simulate("2026-12-07T21:00:00+05:30")
    assert evening["decision"] == "forward"
    assert evening["forwarding_phone_number"] == "+14155550100"
    assert evening["action_source"] == "outside_hours"
    assert evening["business_hours"]["local_time"] == "2026-12-07T21:00:00+05:30"
    morning = await simulate("2026-12-07T04:30:00Z")
    assert morning["decision"] == "accept"
    assert morning["business_hours"]["open"] is True

    assert (
        await http.delete(hours_url(identity["agent_handle"]), headers=admin)
    ).status_code == 204
    always = await simulate("2026-12-07T21:00:00+05:30")
    assert always["decision"] == "accept"
    assert always["business_hours"] is None


async def test_concurrent_puts_leave_one_of_them(
    stack: Stack, admin: Headers, identity: Any
) -> None:
    url = hours_url(identity["agent_handle"])
    zones = ["Asia/Kolkata", "Europe/Berlin", "America/New_York", "Asia/Tokyo"] * 3
    bodies = [{**OFFICE, "schedule": {**OFFICE["schedule"], "time_zone": zone}} for zone in zones]
    async with httpx.AsyncClient(base_url=str(stack.http.base_url), timeout=30) as second:
        clients = [stack.http, second]
        answers = await asyncio.gather(
            *(
                clients[index % 2].put(url, json=body, headers=admin)
                for index, body in enumerate(bodies)
            )
        )
    assert [answer.status_code for answer in answers] == [200] * len(bodies)
    final = (await stack.http.get(url, headers=admin)).json()
    assert final["schedule"]["time_zone"] in set(zones)
    assert final["created_at"] == min(answer.json()["created_at"] for answer in answers)
