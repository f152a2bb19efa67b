"""One account owning one resource of every kind, and the credentials that must not reach it.

Shared by the REST and the gRPC auth matrices (tests/gateway/test_auth_matrix.py,
tests/services/test_auth_matrix_grpc.py).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Final

import httpx

from gateway.inkbox.business_hours import WEEKDAYS
from services.config import provisioning
from tests.services.registry.factories import fresh_number, strategy_body
from tests.support.inkbox_rest import create_identity, create_scoped_key, key_headers
from tests.support.stack import Stack

Headers = dict[str, str]
CREDENTIALS = ("none", "malformed", "revoked", "other_admin", "other_scoped")


@dataclass(frozen=True)
class World:
    """Our account's resources and the credentials the matrix tries."""

    admin: Headers
    identity_id: str
    handle: str
    second_identity_id: str
    api_key_id: str
    inbound_id: str
    phone_number: str
    rule_id: str
    strategy_id: str
    call_id: str
    credentials: dict[str, Headers]

    def metadata(self, credential: str) -> tuple[tuple[str, str], ...]:
        """``credential`` as gRPC metadata (the same headers, lower-cased)."""
        return tuple((name.lower(), value) for name, value in self.credentials[credential].items())

    def ours(self, credential: str) -> list[str]:
        """What ``credential`` must not read: all of ours, but the scoped key's own identity."""
        return [
            item
            for item in self.secrets()
            if not (credential == "other_scoped" and item == self.second_identity_id)
        ]

    def secrets(self) -> list[str]:
        """Ids that must never show up in an answer to a wrong credential."""
        return [
            self.identity_id,
            self.handle,
            self.second_identity_id,
            self.api_key_id,
            self.inbound_id,
            self.rule_id,
            self.strategy_id,
            self.call_id,
        ]


ALWAYS_OPEN: Final = {
    "schedule": {
        "time_zone": "Asia/Kolkata",
        "weekly": {day: [{"start": "00:00", "end": "24:00"}] for day in WEEKDAYS},
    },
    "outside_hours_action": {"action": "reject"},
}
"""Business hours of our first identity: open all week, so the world's calls still route."""


async def build_world(stack: Stack, http: httpx.AsyncClient) -> World:
    ours = await provisioning.create_account(stack.config_sessions, "Matrix: ours")
    theirs = await provisioning.create_account(stack.config_sessions, "Matrix: theirs")
    admin = key_headers(ours.api_key)
    first = await create_identity(http, admin)
    second = await create_identity(http, admin)
    other_scoped = await create_scoped_key(http, admin, second["id"])
    revoked_secret = await create_scoped_key(http, admin, first["id"])
    keys = (await http.get("/api/v1/api-keys", headers=admin)).json()
    revoked_id = next(
        k["id"] for k in _items(keys) if revoked_secret.startswith(k["display_prefix"])
    )
    assert (await http.delete(f"/api/v1/api-keys/{revoked_id}", headers=admin)).status_code == 200
    spare_secret = await create_scoped_key(http, admin, first["id"])
    keys = (await http.get("/api/v1/api-keys", headers=admin)).json()
    spare_id = _key_id(keys, spare_secret)
    action = await http.put(
        "/api/v1/phone/incoming-call-action",
        headers=admin,
        json={
            "agent_identity_id": first["id"],
            "incoming_call_action": "auto_accept",
            "client_websocket_url": "wss://agent.example.com/stream",
        },
    )
    assert action.status_code == 200, action.text
    hours = await http.put(
        f"/api/v1/identities/{first['agent_handle']}/business-hours",
        headers=admin,
        json=ALWAYS_OPEN,
    )
    assert hours.status_code == 200, hours.text
    number = fresh_number()
    bearer = {"Authorization": f"Bearer {ours.api_key}"}
    assigned = await http.post(
        "/inbound/assign",
        headers=bearer,
        json={
            "assistant_id": first["id"],
            "service": "exotel",
            "inbound_config": {"phone_number": number},
        },
    )
    assert assigned.status_code == 200, assigned.text
    inbound_id = assigned.json()["data"]["inbound_id"]
    rule = await http.post(
        f"/api/v1/phone/numbers/{inbound_id}/contact-rules",
        headers=admin,
        json={"action": "block", "match_target": "+14155550100"},
    )
    assert rule.status_code == 201, rule.text
    strategy = await http.post(
        "/inbound_context_strategy/create", headers=bearer, json=strategy_body()
    )
    assert strategy.status_code == 200, strategy.text
    routed = await http.post(
        "/v1/calls:route",
        headers=admin,
        json={"inbound_number": number, "caller_number": "+14155550123", "service": "exotel"},
    )
    assert routed.status_code == 200, routed.text
    return World(
        admin=admin,
        identity_id=first["id"],
        handle=first["agent_handle"],
        second_identity_id=second["id"],
        api_key_id=spare_id,
        inbound_id=inbound_id,
        phone_number=number,
        rule_id=rule.json()["id"],
        strategy_id=strategy.json()["data"]["strategy_id"],
        call_id=routed.json()["call_id"],
        credentials={
            "none": {},
            "malformed": {"X-API-Key": "sb_not-a-key", "Authorization": "Bearer x"},
            "revoked": key_headers(revoked_secret),
            "other_admin": key_headers(theirs.api_key),
            "other_scoped": key_headers(other_scoped),
        },
    )


def _key_id(page: Any, secret: str) -> str:
    key_id: str = next(k["id"] for k in _items(page) if secret.startswith(k["display_prefix"]))
    return key_id


def _items(page: Any) -> list[dict[str, Any]]:
    if isinstance(page, list):
        return page
    for key in ("items", "data", "api_keys"):
        if isinstance(page, dict) and isinstance(page.get(key), list):
            items: list[dict[str, Any]] = page[key]
            return items
    raise AssertionError(f"not a page: {page!r}")


async def snapshot(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """What our account owns (but the scoped key's own identity), read with its admin key."""
    bearer = {"Authorization": world.admin["X-API-Key"].join(("Bearer ", ""))}
    reads = {
        "identity": (f"/api/v1/identities/{world.handle}", world.admin),
        "action": (
            f"/api/v1/phone/incoming-call-action?agent_identity_id={world.identity_id}",
            world.admin,
        ),
        "keys": ("/api/v1/api-keys", world.admin),
        "signing": (f"/api/v1/identities/{world.handle}/signing-key", world.admin),
        "hours": (f"/api/v1/identities/{world.handle}/business-hours", world.admin),
        "numbers": ("/inbound/list", bearer),
        "rules": (f"/api/v1/phone/numbers/{world.inbound_id}/contact-rules", world.admin),
        "strategies": ("/inbound_context_strategy/list", bearer),
    }
    taken: dict[str, Any] = {}
    for name, (path, headers) in reads.items():
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, (name, response.text)
        taken[name] = response.json()
    for key in _items(taken["keys"]):
        key.pop("last_used_at", None)  # the revoked key's attempts may touch it
    return taken


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    """A unified diff of two snapshots, for assertion messages."""
    return "\n".join(difflib.unified_diff(_lines(before), _lines(after), lineterm=""))


def _lines(taken: dict[str, Any]) -> list[str]:
    return json.dumps(taken, indent=1, sort_keys=True).splitlines()
