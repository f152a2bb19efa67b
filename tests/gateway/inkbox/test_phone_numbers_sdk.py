"""The Inkbox SDK's phone-number and contact-rule calls, driven against the gateway.

Every SDK call runs in a worker thread: the SDK is synchronous and the gateway serves
from this test's event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from inkbox import Inkbox
from inkbox.exceptions import DuplicateContactRuleError, InkboxAPIError
from inkbox.identities.types import IdentityPhoneNumberCreateOptions
from inkbox.phone.types import PhoneRuleAction

from tests.services.registry.factories import fresh_number
from tests.support.inkbox_rest import Headers, create_identity, create_scoped_key
from tests.support.stack import Stack

Result = TypeVar("Result")
WSS = "wss://agent.example.com/stream"
CALLER = "+919812345678"


async def sdk(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Run one blocking SDK call off the event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


def client(stack: Stack, headers: Headers) -> Inkbox:
    return Inkbox(api_key=headers["X-API-Key"], base_url=stack.gateway_url)


async def assign(stack: Stack, admin: Headers, identity_id: str, number: str | None = None) -> Any:
    """Map a number to the identity through the Vyom route; its data."""
    response = await stack.http.post(
        "/inbound/assign",
        headers={"Authorization": f"Bearer {admin['X-API-Key']}"},
        json={
            "assistant_id": identity_id,
            "service": "exotel",
            "inbound_config": {"phone_number": number or fresh_number()},
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def accepting_identity(stack: Stack, admin: Headers) -> Any:
    identity = await create_identity(stack.http, admin, display_name="Priya")
    response = await stack.http.put(
        "/api/v1/phone/incoming-call-action",
        headers=admin,
        json={
            "agent_identity_id": identity["id"],
            "incoming_call_action": "auto_accept",
            "client_websocket_url": WSS,
        },
    )
    assert response.status_code == 200, response.text
    return identity


async def status_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> InkboxAPIError:
    with pytest.raises(InkboxAPIError) as caught:
        await sdk(call, *args, **kwargs)
    return caught.value


async def test_an_assigned_number_is_an_sdk_phone_number(stack: Stack, admin: Headers) -> None:
    identity = await accepting_identity(stack, admin)
    mapping = await assign(stack, admin, identity["id"])
    inkbox = client(stack, admin)

    [listed] = [
        n for n in await sdk(inkbox.phone_numbers.list) if str(n.id) == mapping["inbound_id"]
    ]
    assert listed.number == "+" + mapping["phone_number_normalized"]
    assert listed.type == "local"
    assert listed.status == "active"
    assert listed.incoming_call_action == "auto_accept"
    assert listed.client_websocket_url == WSS
    assert str(listed.agent_identity_id) == identity["id"]
    assert listed.filter_mode == "blacklist"
    assert listed.country == "IN"
    got = await sdk(inkbox.phone_numbers.get, mapping["inbound_id"])
    assert got == listed

    # The identity summary nests the same number (get and list).
    detail = await sdk(inkbox.get_identity, identity["agent_handle"])
    assert detail.phone_number is not None
    assert str(detail.phone_number.id) == mapping["inbound_id"]
    assert detail.phone_number.incoming_call_action == "auto_accept"
    summaries = {str(s.id): s for s in await sdk(inkbox.list_identities)}
    nested = summaries[identity["id"]].phone_number
    assert nested is not None and nested.number == listed.number
    response = await stack.http.get(f"/api/v1/identities/{identity['agent_handle']}", headers=admin)
    assert set(response.json()["phone_number"]) >= {
        "id",
        "number",
        "type",
        "status",
        "incoming_call_action",
        "created_at",
        "updated_at",
    }


async def test_patch_repoints_the_same_mapping_the_vyom_routes_show(
    stack: Stack, admin: Headers
) -> None:
    first = await accepting_identity(stack, admin)
    second = await create_identity(stack.http, admin, display_name="Second")
    mapping = await assign(stack, admin, first["id"])
    response = await stack.http.patch(
        f"/api/v1/phone/numbers/{mapping['inbound_id']}",
        headers=admin,
        json={"agent_identity_id": second["id"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent_identity_id"] == second["id"]
    assert body["incoming_call_action"] == "auto_reject"  # the second identity has no action
    listing = await stack.http.get(
        "/inbound/list", headers={"Authorization": f"Bearer {admin['X-API-Key']}"}
    )
    [vyom] = [m for m in listing.json()["data"] if m["inbound_id"] == mapping["inbound_id"]]
    assert vyom["assistant_id"] == second["id"]
    assert vyom["assistant_name"] == "Second"


async def test_sdk_update_writes_the_identitys_call_action(stack: Stack, admin: Headers) -> None:
    identity = await accepting_identity(stack, admin)
    mapping = await assign(stack, admin, identity["id"])
    inkbox = client(stack, admin)
    forwarded = await sdk(
        inkbox.phone_numbers.update,
        mapping["inbound_id"],
        incoming_call_action="forward",
        forwarding_target_type="phone",
        forwarding_phone_number="+14155550100",
    )
    assert forwarded.incoming_call_action == "forward"
    assert forwarded.forwarding_phone_number == "+14155550100"
    action = await stack.http.get(
        f"/api/v1/phone/incoming-call-action?agent_identity_id={identity['id']}", headers=admin
    )
    assert action.json()["incoming_call_action"] == "forward"
    assert action.json()["client_websocket_url"] == WSS  # omitted: kept
    cleared = await sdk(
        inkbox.phone_numbers.update,
        mapping["inbound_id"],
        incoming_call_action="auto_accept",
        forwarding_target_type=None,
    )
    assert cleared.incoming_call_action == "auto_accept"
    assert cleared.forwarding_target_type is None
    assert cleared.forwarding_phone_number is None
    bad = await status_of(
        inkbox.phone_numbers.update, mapping["inbound_id"], incoming_call_action="forward"
    )
    assert bad.status_code == 422
    whitelisted = await sdk(
        inkbox.phone_numbers.update, mapping["inbound_id"], filter_mode="whitelist"
    )
    assert whitelisted.filter_mode == "whitelist"
    assert whitelisted.filter_mode_change_notice is not None
    assert whitelisted.filter_mode_change_notice.redundant_rule_action == "block"


async def test_release_and_provisioning(stack: Stack, admin: Headers) -> None:
    identity = await accepting_identity(stack, admin)
    number = fresh_number()
    mapping = await assign(stack, admin, identity["id"], number)
    inkbox = client(stack, admin)
    await sdk(inkbox.phone_numbers.release, mapping["inbound_id"])
    assert (await status_of(inkbox.phone_numbers.get, mapping["inbound_id"])).status_code == 404
    # The number is free again at once, and the identity's release route releases it too.
    again = await assign(stack, admin, identity["id"], number)
    await sdk(inkbox.identities.release_phone_number, identity["agent_handle"])
    assert (await status_of(inkbox.phone_numbers.get, again["inbound_id"])).status_code == 404
    missing = await status_of(inkbox.identities.release_phone_number, identity["agent_handle"])
    assert missing.status_code == 404
    refused = await status_of(inkbox.phone_numbers.provision, agent_handle=identity["agent_handle"])
    assert refused.status_code == 405
    assert "does not buy or provision" in str(refused.detail)
    # Nor does identity creation with the SDK's nested number provisioning (nothing created).
    handle = f"agent-{uuid.uuid4().hex[:12]}"
    nested = await status_of(
        inkbox.create_identity, handle, phone_number=IdentityPhoneNumberCreateOptions()
    )
    assert nested.status_code == 422
    assert "does not buy or provision" in str(nested.detail)
    gone = await stack.http.get(f"/api/v1/identities/{handle}", headers=admin)
    assert gone.status_code == 404
    for unknown in (str(uuid.uuid4()), "nope"):
        assert (await status_of(inkbox.phone_numbers.get, unknown)).status_code == 404


async def test_scoped_keys_see_only_their_identitys_numbers(stack: Stack, admin: Headers) -> None:
    mine = await accepting_identity(stack, admin)
    theirs = await accepting_identity(stack, admin)
    my_number = await assign(stack, admin, mine["id"])
    their_number = await assign(stack, admin, theirs["id"])
    scoped = client(stack, {"X-API-Key": await create_scoped_key(stack.http, admin, mine["id"])})
    assert [str(n.id) for n in await sdk(scoped.phone_numbers.list)] == [my_number["inbound_id"]]
    got = await sdk(scoped.phone_numbers.get, my_number["inbound_id"])
    assert got.incoming_call_action == "auto_accept"
    assert (
        await status_of(scoped.phone_numbers.get, their_number["inbound_id"])
    ).status_code == 404
    denied = await status_of(
        scoped.phone_numbers.update, my_number["inbound_id"], filter_mode="whitelist"
    )
    assert denied.status_code == 403
    updated = await sdk(
        scoped.phone_numbers.update, my_number["inbound_id"], incoming_call_action="auto_reject"
    )
    assert updated.incoming_call_action == "auto_reject"


async def test_contact_rules_through_the_sdk(stack: Stack, admin: Headers) -> None:
    identity = await accepting_identity(stack, admin)
    mapping = await assign(stack, admin, identity["id"])
    number_id = mapping["inbound_id"]
    inkbox = client(stack, admin)
    rules = inkbox.phone_contact_rules

    created = await sdk(rules.create, number_id, action="block", match_target="09812345678")
    assert str(created.phone_number_id) == number_id
    assert created.action == PhoneRuleAction.BLOCK
    assert created.match_target == CALLER
    assert created.direction == "both"
    assert created.status == "active"
    with pytest.raises(DuplicateContactRuleError) as duplicate:
        await sdk(rules.create, number_id, action="allow", match_target="919812345678")
    assert duplicate.value.existing_rule_id == created.id

    allowed = await sdk(
        rules.create, number_id, action="allow", match_target="+14155552671", direction="inbound"
    )
    assert [r.id for r in await sdk(rules.list, number_id)] == [allowed.id, created.id]
    assert [r.id for r in await sdk(rules.list, number_id, action="block")] == [created.id]
    assert [r.id for r in await sdk(rules.list, number_id, limit=1, offset=1)] == [created.id]
    assert await sdk(rules.get, number_id, created.id) == created
    everywhere = await sdk(rules.list_all, phone_number_id=number_id)
    assert {r.id for r in everywhere} == {created.id, allowed.id}

    # A rule covering both sides blocks any other rule for that caller, whatever its side.
    with pytest.raises(DuplicateContactRuleError) as overlapping:
        await sdk(
            rules.create, number_id, action="allow", match_target=CALLER, direction="outbound"
        )
    assert overlapping.value.existing_rule_id == created.id
    # apply_to changes one side: the rule keeps it with the new action, the other side is
    # kept, as it was, by a new rule.
    split = await sdk(rules.update, number_id, created.id, action="allow", apply_to="inbound")
    assert (split.id, split.action, split.direction) == (created.id, "allow", "inbound")
    [kept] = [r for r in await sdk(rules.list, number_id, direction="outbound")]
    assert (kept.action, kept.direction, kept.match_target) == ("block", "outbound", CALLER)
    with pytest.raises(DuplicateContactRuleError) as inbound_taken:
        await sdk(rules.create, number_id, action="block", match_target=CALLER, direction="inbound")
    assert inbound_taken.value.existing_rule_id == created.id
    widened = await status_of(rules.update, number_id, kept.id, direction="both")
    assert widened.status_code == 409
    not_covered = await status_of(
        rules.update, number_id, kept.id, action="allow", apply_to="inbound"
    )
    assert not_covered.status_code == 422
    same_side = await sdk(rules.update, number_id, kept.id, action="allow", apply_to="outbound")
    assert (same_side.id, same_side.action, same_side.direction) == (kept.id, "allow", "outbound")
    await sdk(rules.delete, number_id, kept.id)
    await sdk(rules.delete, number_id, created.id)
    assert (await status_of(rules.get, number_id, created.id)).status_code == 404
    bad = await status_of(rules.create, number_id, action="block", match_target="not a number")
    assert bad.status_code == 422


async def test_contact_rules_with_scoped_keys(stack: Stack, admin: Headers) -> None:
    mine = await accepting_identity(stack, admin)
    theirs = await accepting_identity(stack, admin)
    my_number = (await assign(stack, admin, mine["id"]))["inbound_id"]
    their_number = (await assign(stack, admin, theirs["id"]))["inbound_id"]
    scoped = client(stack, {"X-API-Key": await create_scoped_key(stack.http, admin, mine["id"])})
    rules = scoped.phone_contact_rules
    rule = await sdk(rules.create, my_number, action="block", match_target=CALLER)
    assert [r.id for r in await sdk(rules.list, my_number)] == [rule.id]
    updated = await sdk(rules.update, my_number, rule.id, action="allow")
    assert updated.action == "allow"
    hidden = await status_of(rules.create, their_number, action="block", match_target=CALLER)
    assert hidden.status_code == 404
    assert (await status_of(rules.list, their_number)).status_code == 404
    assert (await status_of(rules.delete, my_number, rule.id)).status_code == 403
    assert (await status_of(rules.list_all)).status_code == 403
    assert (await status_of(rules.list_all, phone_number_id=my_number)).status_code == 403


async def test_other_organizations_see_nothing(
    stack: Stack, admin: Headers, other_admin: Headers
) -> None:
    identity = await accepting_identity(stack, admin)
    number_id = (await assign(stack, admin, identity["id"]))["inbound_id"]
    rule = await sdk(
        client(stack, admin).phone_contact_rules.create,
        number_id,
        action="block",
        match_target=CALLER,
    )
    other = client(stack, other_admin)
    assert number_id not in {str(n.id) for n in await sdk(other.phone_numbers.list)}
    for call, args in (
        (other.phone_numbers.get, (number_id,)),
        (other.phone_numbers.release, (number_id,)),
        (other.phone_contact_rules.get, (number_id, rule.id)),
        (other.phone_contact_rules.delete, (number_id, rule.id)),
    ):
        assert (await status_of(call, *args)).status_code == 404
    assert rule.id not in {r.id for r in await sdk(other.phone_contact_rules.list_all)}


async def test_every_new_route_refuses_requests_without_a_key(stack: Stack) -> None:
    some = str(uuid.uuid4())
    rule = {"action": "block", "match_target": CALLER}
    for method, path, body in (
        ("GET", "/api/v1/phone/numbers", None),
        ("POST", "/api/v1/phone/numbers", {"agent_handle": "x"}),
        ("GET", f"/api/v1/phone/numbers/{some}", None),
        ("PATCH", f"/api/v1/phone/numbers/{some}", {"filter_mode": None}),
        ("DELETE", f"/api/v1/phone/numbers/{some}", None),
        ("DELETE", "/api/v1/identities/someone/phone_number", None),
        ("GET", "/api/v1/phone/contact-rules", None),
        ("GET", f"/api/v1/phone/numbers/{some}/contact-rules", None),
        ("POST", f"/api/v1/phone/numbers/{some}/contact-rules", rule),
        ("GET", f"/api/v1/phone/numbers/{some}/contact-rules/{some}", None),
        ("PATCH", f"/api/v1/phone/numbers/{some}/contact-rules/{some}", {}),
        ("PATCH", f"/api/v1/phone/numbers/{some}/contact-rules/{some}", {"apply_to": "inbound"}),
        ("DELETE", f"/api/v1/phone/numbers/{some}/contact-rules/{some}", None),
    ):
        for headers in ({}, {"X-API-Key": "sb_unknown"}):
            response = await stack.http.request(method, path, headers=headers, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert set(response.json()) == {"detail"}


async def test_contact_rule_create_accepts_an_idempotency_key(stack: Stack, admin: Headers) -> None:
    identity = await accepting_identity(stack, admin)
    number_id = (await assign(stack, admin, identity["id"]))["inbound_id"]
    path = f"/api/v1/phone/numbers/{number_id}/contact-rules"
    keyed = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    body = {"action": "block", "match_target": CALLER}
    first = await stack.http.post(path, headers=keyed, json=body)
    again = await stack.http.post(path, headers=keyed, json=body)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    reused = await stack.http.post(path, headers=keyed, json={**body, "action": "allow"})
    assert reused.status_code == 422
    unkeyed = await stack.http.post(path, headers=admin, json=body)
    assert unkeyed.status_code == 409
    assert unkeyed.json()["detail"]["existing_rule_id"] == first.json()["id"]
