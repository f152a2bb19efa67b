"""Every REST route x every wrong credential: the documented 401/403/404, nothing read or changed.

One account ("ours") owns one resource of every kind: two agent identities (the second holds
the scoped key that must not reach the first's resources), a spare API key, a number mapped to
the first identity with a contact rule, a context strategy and a journaled call. Each route is
then asked, about those resources, with each credential that must not work:

- ``none``: no credential at all;
- ``malformed``: something in the credential headers that is not a Switchboard key;
- ``revoked``: a key of ours that has been revoked;
- ``other_admin``: another account's admin key (our resources must look absent: 404);
- ``other_scoped``: our own key scoped to our second identity, used on the first.

The table :data:`EXPECTED` says what each answers; routes it does not name fail the test, so
a new route cannot ship without its row. After the matrix, a snapshot of everything the
account owns (read with its admin key) must equal the one taken before it: nothing changed.
Answers to the other account are also searched for our resources' ids: nothing read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.services.registry.factories import fresh_number, strategy_body
from tests.support.auth_world import CREDENTIALS, World, build_world, snapshot, snapshot_diff
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack


@dataclass(frozen=True)
class Case:
    """How to ask one route about our resources."""

    path: Callable[[World], str]
    body: Callable[[World], Any] | None = None


def _route_body(world: World) -> dict[str, Any]:
    return {
        "inbound_number": world.phone_number,
        "caller_number": "+14155550123",
        "service": "exotel",
    }


CASES: dict[str, Case] = {
    "GET /api/v1/phone/incoming-call-action": Case(
        lambda w: f"/api/v1/phone/incoming-call-action?agent_identity_id={w.identity_id}"
    ),
    "PUT /api/v1/phone/incoming-call-action": Case(
        lambda w: "/api/v1/phone/incoming-call-action",
        lambda w: {"agent_identity_id": w.identity_id, "incoming_call_action": "auto_reject"},
    ),
    "POST /api/v1/identities/": Case(
        lambda w: "/api/v1/identities/", lambda w: {"agent_handle": w.handle}
    ),
    "GET /api/v1/identities/": Case(lambda w: "/api/v1/identities/"),
    "GET /api/v1/identities/{agent_handle}": Case(lambda w: f"/api/v1/identities/{w.handle}"),
    "PATCH /api/v1/identities/{agent_handle}": Case(
        lambda w: f"/api/v1/identities/{w.handle}", lambda w: {"display_name": "Taken over"}
    ),
    "DELETE /api/v1/identities/{agent_handle}": Case(lambda w: f"/api/v1/identities/{w.handle}"),
    "POST /api/v1/api-keys": Case(
        lambda w: "/api/v1/api-keys",
        lambda w: {"label": "stolen", "scoped_identity_id": w.identity_id},
    ),
    "GET /api/v1/api-keys": Case(lambda w: "/api/v1/api-keys"),
    "DELETE /api/v1/api-keys/{api_key_id}": Case(lambda w: f"/api/v1/api-keys/{w.api_key_id}"),
    "GET /api/v1/identities/{agent_handle}/signing-key": Case(
        lambda w: f"/api/v1/identities/{w.handle}/signing-key"
    ),
    "POST /api/v1/identities/{agent_handle}/signing-key": Case(
        lambda w: f"/api/v1/identities/{w.handle}/signing-key"
    ),
    "GET /api/v1/identities/{agent_handle}/business-hours": Case(
        lambda w: f"/api/v1/identities/{w.handle}/business-hours"
    ),
    "PUT /api/v1/identities/{agent_handle}/business-hours": Case(
        lambda w: f"/api/v1/identities/{w.handle}/business-hours",
        lambda w: {
            "schedule": {"time_zone": "UTC", "weekly": {}},
            "outside_hours_action": {"action": "reject"},
        },
    ),
    "DELETE /api/v1/identities/{agent_handle}/business-hours": Case(
        lambda w: f"/api/v1/identities/{w.handle}/business-hours"
    ),
    "GET /api/v1/signing-keys": Case(lambda w: "/api/v1/signing-keys"),
    "POST /api/v1/signing-keys": Case(lambda w: "/api/v1/signing-keys"),
    "GET /api/v1/webhooks/signing-secret": Case(lambda w: "/api/v1/webhooks/signing-secret"),
    "POST /api/v1/webhooks/signing-secret": Case(lambda w: "/api/v1/webhooks/signing-secret"),
    "GET /api/v1/phone/numbers": Case(lambda w: "/api/v1/phone/numbers"),
    "POST /api/v1/phone/numbers": Case(
        lambda w: "/api/v1/phone/numbers", lambda w: {"type": "local"}
    ),
    "GET /api/v1/phone/numbers/{phone_number_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}"
    ),
    "PATCH /api/v1/phone/numbers/{phone_number_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}",
        lambda w: {"incoming_call_action": "auto_reject"},
    ),
    "DELETE /api/v1/phone/numbers/{phone_number_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}"
    ),
    "DELETE /api/v1/identities/{agent_handle}/phone_number": Case(
        lambda w: f"/api/v1/identities/{w.handle}/phone_number"
    ),
    "GET /api/v1/phone/numbers/{phone_number_id}/contact-rules": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}/contact-rules"
    ),
    "POST /api/v1/phone/numbers/{phone_number_id}/contact-rules": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}/contact-rules",
        lambda w: {"action": "block", "match_target": "+14155550199"},
    ),
    "GET /api/v1/phone/contact-rules": Case(lambda w: "/api/v1/phone/contact-rules"),
    "GET /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}/contact-rules/{w.rule_id}"
    ),
    "PATCH /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}/contact-rules/{w.rule_id}",
        lambda w: {"action": "allow"},
    ),
    "DELETE /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": Case(
        lambda w: f"/api/v1/phone/numbers/{w.inbound_id}/contact-rules/{w.rule_id}"
    ),
    "GET /api/whoami": Case(lambda w: "/api/whoami"),
    "POST /inbound/assign": Case(
        lambda w: "/inbound/assign",
        lambda w: {
            "assistant_id": w.identity_id,
            "service": "exotel",
            "inbound_config": {"phone_number": fresh_number()},
        },
    ),
    "PATCH /inbound/update/{inbound_id}": Case(
        lambda w: f"/inbound/update/{w.inbound_id}", lambda w: {"assistant_id": w.identity_id}
    ),
    "POST /inbound/detach/{inbound_id}": Case(lambda w: f"/inbound/detach/{w.inbound_id}"),
    "DELETE /inbound/delete/{inbound_id}": Case(lambda w: f"/inbound/delete/{w.inbound_id}"),
    "GET /inbound/list": Case(lambda w: "/inbound/list"),
    "POST /inbound_context_strategy/create": Case(
        lambda w: "/inbound_context_strategy/create", lambda w: strategy_body()
    ),
    "PATCH /inbound_context_strategy/update/{strategy_id}": Case(
        lambda w: f"/inbound_context_strategy/update/{w.strategy_id}",
        lambda w: {"strategy_name": "Taken over"},
    ),
    "GET /inbound_context_strategy/list": Case(lambda w: "/inbound_context_strategy/list"),
    "GET /inbound_context_strategy/details/{strategy_id}": Case(
        lambda w: f"/inbound_context_strategy/details/{w.strategy_id}"
    ),
    "DELETE /inbound_context_strategy/delete/{strategy_id}": Case(
        lambda w: f"/inbound_context_strategy/delete/{w.strategy_id}"
    ),
    "POST /v1/calls:route": Case(lambda w: "/v1/calls:route", _route_body),
    "POST /v1/calls:simulate": Case(lambda w: "/v1/calls:simulate", _route_body),
    "GET /v1/calls/{call_id}/decision": Case(lambda w: f"/v1/calls/{w.call_id}/decision"),
    "POST /v1/calls/{call_id}:release": Case(
        lambda w: f"/v1/calls/{w.call_id}:release", lambda w: {}
    ),
    "POST /v1/calls/{call_id}:renew": Case(lambda w: f"/v1/calls/{w.call_id}:renew", lambda w: {}),
    "GET /v1/decisions": Case(lambda w: "/v1/decisions"),
    "GET /api/v1/phone/carrier-outcomes": Case(lambda w: "/api/v1/phone/carrier-outcomes"),
    "PUT /api/v1/phone/carrier-outcomes": Case(
        lambda w: "/api/v1/phone/carrier-outcomes",
        lambda w: {"overrides": {"auto_reject": {"sip_status": 486}}},
    ),
}

EXPECTED: dict[str, tuple[int, int]] = {
    "DELETE /api/v1/api-keys/{api_key_id}": (404, 403),
    "DELETE /api/v1/identities/{agent_handle}": (404, 403),
    "DELETE /api/v1/identities/{agent_handle}/phone_number": (404, 403),
    "DELETE /api/v1/phone/numbers/{phone_number_id}": (404, 404),
    "DELETE /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": (404, 403),
    "DELETE /inbound/delete/{inbound_id}": (404, 404),
    "DELETE /inbound_context_strategy/delete/{strategy_id}": (404, 403),
    "GET /api/v1/api-keys": (200, 403),
    "GET /api/v1/identities/": (200, 403),
    "GET /api/v1/identities/{agent_handle}": (404, 403),
    "GET /api/v1/identities/{agent_handle}/signing-key": (404, 403),
    "GET /api/v1/identities/{agent_handle}/business-hours": (404, 403),
    "PUT /api/v1/identities/{agent_handle}/business-hours": (404, 403),
    "DELETE /api/v1/identities/{agent_handle}/business-hours": (404, 403),
    "GET /api/v1/phone/contact-rules": (200, 403),
    "GET /api/v1/phone/incoming-call-action": (404, 403),
    "GET /api/v1/phone/numbers": (200, 200),
    "GET /api/v1/phone/numbers/{phone_number_id}": (404, 404),
    "GET /api/v1/phone/numbers/{phone_number_id}/contact-rules": (404, 404),
    "GET /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": (404, 404),
    "GET /api/v1/signing-keys": (200, 200),
    "GET /api/v1/webhooks/signing-secret": (410, 410),
    "GET /api/whoami": (200, 200),
    "GET /inbound/list": (200, 200),
    "GET /inbound_context_strategy/details/{strategy_id}": (404, 403),
    "GET /inbound_context_strategy/list": (200, 403),
    "GET /v1/calls/{call_id}/decision": (404, 403),
    "GET /v1/decisions": (200, 403),
    "PATCH /api/v1/identities/{agent_handle}": (404, 403),
    "PATCH /api/v1/phone/numbers/{phone_number_id}": (404, 404),
    "PATCH /api/v1/phone/numbers/{phone_number_id}/contact-rules/{rule_id}": (404, 404),
    "PATCH /inbound/update/{inbound_id}": (404, 404),
    "PATCH /inbound_context_strategy/update/{strategy_id}": (404, 403),
    "POST /api/v1/api-keys": (404, 403),
    "POST /api/v1/identities/": (409, 403),
    "POST /api/v1/identities/{agent_handle}/signing-key": (404, 403),
    "POST /api/v1/phone/numbers": (405, 405),
    "POST /api/v1/phone/numbers/{phone_number_id}/contact-rules": (404, 404),
    "POST /api/v1/signing-keys": (409, 200),
    "POST /api/v1/webhooks/signing-secret": (410, 410),
    "POST /inbound/assign": (404, 404),
    "POST /inbound/detach/{inbound_id}": (404, 404),
    "POST /inbound_context_strategy/create": (200, 403),
    "POST /v1/calls:route": (200, 403),
    "POST /v1/calls:simulate": (200, 403),
    # Release is idempotent and scoped to the caller's account: nothing of ours is freed.
    "POST /v1/calls/{call_id}:release": (204, 403),
    "POST /v1/calls/{call_id}:renew": (404, 403),
    "PUT /api/v1/phone/incoming-call-action": (404, 403),
    "GET /api/v1/phone/carrier-outcomes": (200, 403),
    "PUT /api/v1/phone/carrier-outcomes": (200, 403),
}
"""Per route: the answer to ``other_admin`` and to ``other_scoped``; ``none``, ``malformed``
and ``revoked`` are 401 everywhere. Where a wrong credential gets a 2xx, it acted on what it
may see (the other account's own data, the scoped key's own identity: whoami, the org-level
signing-key aliases, the lists filtered to its identity) and the answer is searched for our
resources. The 404s of a scoped key on numbers, their contact rules and mappings: a scoped key
sees only its identity's numbers, so another identity's are absent to it; 403 is the seed's
answer where the route names an identity (call action, identity routes) or is admin-only
(API keys, strategies, the journal). ``POST /api/v1/identities/`` with our handle is 409 for
anyone: handles are unique system-wide (related-contracts). 405 and 410: the documented
answers of provisioning and of the retired account-level secret, whoever asks."""

PUBLIC = {"GET /healthz", "GET /readyz"}
"""Routes that answer anyone (health for load balancers)."""
OPERATOR = {"GET /exotel/{edge_token}/stream", "GET /metrics"}
"""Routes whose credential is the operator's, not an account's (tested in their own modules:
the edge token in tests/gateway/calls, the metrics token in tests/gateway/test_metrics*)."""


async def _ask(
    http: httpx.AsyncClient, world: World, route: str, credential: str
) -> httpx.Response:
    method = route.split(" ", 1)[0]
    case = CASES[route]
    body = case.body(world) if case.body is not None else None
    return await http.request(
        method, case.path(world), headers=world.credentials[credential], json=body
    )


@pytest.mark.timeout(600)
async def test_every_route_refuses_every_wrong_credential(
    stack: Stack, routing: RoutingStack
) -> None:
    http = routing.http
    document = (await http.get("/openapi.json")).json()
    routes = {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert routes - PUBLIC - OPERATOR == set(CASES) == set(EXPECTED), "a route lacks its row"
    world = await build_world(stack, http)
    before = await snapshot(http, world)
    wrong: list[str] = []
    for route in sorted(CASES):
        other_admin, other_scoped = EXPECTED[route]
        wanted = {"none": 401, "malformed": 401, "revoked": 401}
        wanted |= {"other_admin": other_admin, "other_scoped": other_scoped}
        for credential in CREDENTIALS:
            response = await _ask(http, world, route, credential)
            if response.status_code != wanted[credential]:
                wrong.append(f"{route} as {credential}: {response.status_code} {response.text}")
            asked = str(response.request.url) + response.request.content.decode()
            leaked = [
                item
                for item in world.ours(credential)
                if item in response.text and item not in asked
            ]
            if leaked:
                wrong.append(f"{route} as {credential} read {leaked}: {response.text}")
    assert not wrong, "\n".join(wrong)
    after = await snapshot(http, world)
    assert after == before, "a wrong credential changed something:\n" + snapshot_diff(before, after)
