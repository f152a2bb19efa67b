"""RouteCall enforces the dialed number's contact rules: block, allow-list, normalization."""

from __future__ import annotations

from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config.provisioning import CreatedAccount
from tests.services.registry.factories import grpc_metadata
from tests.services.registry.routing import factories
from tests.support.https_receiver import Reply
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"
CALLER = "+919812345678"
CALLER_FORMS = ("+919812345678", "919812345678", "09812345678", "98123 45678", "+91 98123-45678")
"""One Indian mobile number as carriers and people write it: E.164, no "+", national, spaced."""


def _rules(routing: RoutingStack) -> registry_pb2_grpc.ContactRuleServiceStub:
    return registry_pb2_grpc.ContactRuleServiceStub(routing.stack.registry_channel)


async def _rule(
    routing: RoutingStack,
    account: CreatedAccount,
    inbound_id: str,
    target: str,
    action: pb.ContactRuleAction,
    **fields: Any,
) -> pb.ContactRule:
    rule: pb.ContactRule = await _rules(routing).CreateContactRule(
        pb.CreateContactRuleRequest(
            inbound_id=inbound_id,
            contact_rule=pb.ContactRule(action=action, match_target=target, **fields),
        ),
        metadata=grpc_metadata(account.api_key),
    )
    return rule


async def _whitelist(routing: RoutingStack, account: CreatedAccount, inbound_id: str) -> None:
    stub = registry_pb2_grpc.InboundNumberServiceStub(routing.stack.registry_channel)
    await stub.UpdateInboundNumber(
        pb.UpdateInboundNumberRequest(
            inbound_id=inbound_id,
            inbound_number=pb.InboundNumberLinks(filter_mode=pb.CONTACT_FILTER_MODE_WHITELIST),
            update_mask=FieldMask(paths=["filter_mode"]),
        ),
        metadata=grpc_metadata(account.api_key),
    )


async def _accepting(routing: RoutingStack, account: CreatedAccount) -> factories.Mapping:
    return await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )


def _assert_blocked(response: pb.RouteCallResponse, rule_id: str | None) -> None:
    assert response.decision == pb.ROUTING_DECISION_REJECT
    assert response.reject_reason == pb.REJECT_REASON_CALLER_BLOCKED
    # Decline (SIP 603): a global failure, so carriers do not retry the call elsewhere.
    assert response.edge_outcome == pb.EDGE_OUTCOME_REJECTED
    assert response.caller_screening.verdict == pb.CONTACT_RULE_ACTION_BLOCK
    if rule_id is None:
        assert not response.caller_screening.HasField("contact_rule_id")
    else:
        assert response.caller_screening.contact_rule_id == rule_id
        assert rule_id in response.reason_detail
    assert not response.HasField("client_websocket_url")


async def test_a_block_rule_rejects_the_caller_in_every_written_form(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await _accepting(routing, account)
    rule = await _rule(
        routing, account, mapping.inbound_id, "+919812345678", pb.CONTACT_RULE_ACTION_BLOCK
    )
    for caller in CALLER_FORMS:
        response = await routing.route(mapping.number, caller_number=caller)
        _assert_blocked(response, rule.id)
        assert response.inbound_id == mapping.inbound_id
        assert response.assistant_id == mapping.assistant_id
        assert response.caller_screening.caller_number_normalized == "919812345678"
        assert response.caller_screening.filter_mode == pb.CONTACT_FILTER_MODE_BLACKLIST
    other = await routing.route(mapping.number, caller_number="+919812345679")
    assert other.decision == pb.ROUTING_DECISION_ACCEPT
    assert other.caller_screening.verdict == pb.CONTACT_RULE_ACTION_ALLOW
    assert not other.caller_screening.HasField("contact_rule_id")


async def test_a_rule_written_without_plus_or_nationally_matches_e164_callers(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    for target in ("919812345678", "09812345678", "14155552671"):
        mapping = await _accepting(routing, account)
        rule = await _rule(
            routing, account, mapping.inbound_id, target, pb.CONTACT_RULE_ACTION_BLOCK
        )
        caller = "+14155552671" if target.startswith("1") else CALLER
        _assert_blocked(await routing.route(mapping.number, caller_number=caller), rule.id)
        # And the same caller without its "+" (how some carriers deliver caller IDs).
        bare = caller.removeprefix("+")
        _assert_blocked(await routing.route(mapping.number, caller_number=bare), rule.id)


async def test_a_whitelist_admits_only_allowed_callers(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await _accepting(routing, account)
    allowed = await _rule(
        routing, account, mapping.inbound_id, CALLER, pb.CONTACT_RULE_ACTION_ALLOW
    )
    await _whitelist(routing, account, mapping.inbound_id)

    for caller in CALLER_FORMS:
        response = await routing.route(mapping.number, caller_number=caller)
        assert response.decision == pb.ROUTING_DECISION_ACCEPT, caller
        assert response.caller_screening.verdict == pb.CONTACT_RULE_ACTION_ALLOW
        assert response.caller_screening.contact_rule_id == allowed.id
        assert response.caller_screening.filter_mode == pb.CONTACT_FILTER_MODE_WHITELIST
    for stranger in ("+919812345679", "", "anonymous", "+1"):
        response = await routing.route(mapping.number, caller_number=stranger)
        _assert_blocked(response, None)
        assert "allow-list" in response.reason_detail


async def test_paused_and_outbound_only_rules_are_not_enforced(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    paused = await _accepting(routing, account)
    await _rule(
        routing,
        account,
        paused.inbound_id,
        CALLER,
        pb.CONTACT_RULE_ACTION_BLOCK,
        status=pb.CONTACT_RULE_STATUS_PAUSED,
    )
    outbound = await _accepting(routing, account)
    await _rule(
        routing,
        account,
        outbound.inbound_id,
        CALLER,
        pb.CONTACT_RULE_ACTION_BLOCK,
        direction=pb.CONTACT_RULE_DIRECTION_OUTBOUND,
    )
    for mapping in (paused, outbound):
        response = await routing.route(mapping.number, caller_number=CALLER)
        assert response.decision == pb.ROUTING_DECISION_ACCEPT
        assert not response.caller_screening.HasField("contact_rule_id")


async def test_after_a_split_only_the_inbound_sides_rule_screens(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await _accepting(routing, account)
    rule = await _rule(routing, account, mapping.inbound_id, CALLER, pb.CONTACT_RULE_ACTION_BLOCK)
    _assert_blocked(await routing.route(mapping.number, caller_number=CALLER), rule.id)
    await _rules(routing).UpdateContactRule(
        pb.UpdateContactRuleRequest(
            inbound_id=mapping.inbound_id,
            contact_rule_id=rule.id,
            contact_rule=pb.ContactRule(action=pb.CONTACT_RULE_ACTION_ALLOW),
            update_mask=FieldMask(paths=["action"]),
            apply_to=pb.CONTACT_RULE_DIRECTION_INBOUND,
        ),
        metadata=grpc_metadata(account.api_key),
    )
    # The outbound side keeps a block rule of its own; inbound calls see the allow rule.
    allowed = await routing.route(mapping.number, caller_number=CALLER)
    assert allowed.decision == pb.ROUTING_DECISION_ACCEPT
    assert allowed.caller_screening.contact_rule_id == rule.id


async def test_rule_changes_apply_to_the_next_call(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await _accepting(routing, account)
    rule = await _rule(
        routing,
        account,
        mapping.inbound_id,
        CALLER,
        pb.CONTACT_RULE_ACTION_BLOCK,
        direction=pb.CONTACT_RULE_DIRECTION_INBOUND,
    )
    _assert_blocked(await routing.route(mapping.number, caller_number=CALLER), rule.id)
    metadata = grpc_metadata(account.api_key)
    await _rules(routing).UpdateContactRule(
        pb.UpdateContactRuleRequest(
            inbound_id=mapping.inbound_id,
            contact_rule_id=rule.id,
            contact_rule=pb.ContactRule(action=pb.CONTACT_RULE_ACTION_ALLOW),
            update_mask=FieldMask(paths=["action"]),
        ),
        metadata=metadata,
    )
    allowed = await routing.route(mapping.number, caller_number=CALLER)
    assert allowed.decision == pb.ROUTING_DECISION_ACCEPT
    assert allowed.caller_screening.contact_rule_id == rule.id
    await _rules(routing).DeleteContactRule(
        pb.DeleteContactRuleRequest(inbound_id=mapping.inbound_id, contact_rule_id=rule.id),
        metadata=metadata,
    )
    after = await routing.route(mapping.number, caller_number=CALLER)
    assert after.decision == pb.ROUTING_DECISION_ACCEPT
    assert not after.caller_screening.HasField("contact_rule_id")


async def test_blocked_callers_never_reach_the_webhook(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    url = routing.receiver.endpoint(Reply.json({"action": "answer", "client_websocket_url": WSS}))
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "webhook", incoming_call_webhook_url=url
    )
    rule = await _rule(routing, account, mapping.inbound_id, CALLER, pb.CONTACT_RULE_ACTION_BLOCK)
    _assert_blocked(await routing.route(mapping.number, caller_number=CALLER), rule.id)
    assert routing.receiver.received(url) == []
    # Another caller reaches the webhook as before.
    answered = await routing.route(mapping.number, caller_number="+919812345679")
    assert answered.decision == pb.ROUTING_DECISION_ACCEPT
    assert len(routing.receiver.received(url)) == 1


async def test_rest_route_shows_the_screening(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await _accepting(routing, account)
    rule = await _rule(routing, account, mapping.inbound_id, CALLER, pb.CONTACT_RULE_ACTION_BLOCK)
    response = await routing.http.post(
        "/v1/calls:route",
        headers={"x-switchboard-edge-token": routing.edge_token},
        json={
            "inbound_number": mapping.number,
            "caller_number": "09812345678",
            "service": "exotel",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "reject"
    assert body["reject_reason"] == "caller_blocked"
    assert body["edge_outcome"] == "rejected"
    assert body["caller_screening"] == {
        "verdict": "block",
        "contact_rule_id": rule.id,
        "filter_mode": "blacklist",
        "caller_number_normalized": "919812345678",
    }
