"""RouteCall decisions without webhook: every branch of number -> mapping -> assistant -> action."""

from __future__ import annotations

import uuid

import grpc
import pytest
from switchboard.common.v1 import forwarding_pb2
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.routing_stack import RoutingStack

WSS = "wss://agent.example.com/stream"


async def test_auto_accept_bridges_to_the_configured_url(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "auto_accept",
        display_name="Priya",
        client_websocket_url=WSS,
    )
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.edge_outcome == pb.EDGE_OUTCOME_BRIDGE
    assert response.reject_reason == pb.REJECT_REASON_UNSPECIFIED
    assert response.client_websocket_url == WSS
    assert response.action_source == pb.ACTION_SOURCE_AUTO_ACCEPT
    assert response.inbound_id == mapping.inbound_id
    assert response.assistant_id == mapping.assistant_id
    assert response.assistant_name == "Priya"
    assert response.caller_context.status == pb.CONTEXT_LOOKUP_STATUS_NOT_CONFIGURED
    assert uuid.UUID(response.call_id)


async def test_call_id_is_kept_and_national_format_is_read_with_the_provider_region(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    national = "0" + mapping.normalized[2:5] + " " + mapping.normalized[5:]
    response = await routing.route(national, call_id="exotel-call-42")
    assert response.call_id == "exotel-call-42"
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.inbound_id == mapping.inbound_id


async def test_forward_to_phone_and_sip(routing: RoutingStack, account: CreatedAccount) -> None:
    phone = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="phone",
        forwarding_phone_number="+14155550100",
    )
    sip = await factories.routed_identity(
        routing.stack,
        account.account_id,
        "forward",
        forwarding_target_type="sip",
        forwarding_sip_uri="sip:desk@pbx.example.com",
    )
    by_phone = await routing.route(phone.number)
    assert by_phone.decision == pb.ROUTING_DECISION_FORWARD
    assert by_phone.edge_outcome == pb.EDGE_OUTCOME_FORWARD
    assert by_phone.forwarding_target_type == forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE
    assert by_phone.forwarding_phone_number == "+14155550100"
    assert not by_phone.HasField("forwarding_sip_uri")
    assert by_phone.action_source == pb.ACTION_SOURCE_FORWARD
    by_sip = await routing.route(sip.number)
    assert by_sip.forwarding_target_type == forwarding_pb2.FORWARDING_TARGET_TYPE_SIP
    assert by_sip.forwarding_sip_uri == "sip:desk@pbx.example.com"
    assert by_sip.inbound_id == sip.inbound_id


async def test_hosted_agent(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(routing.stack, account.account_id, "hosted_agent")
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_HOSTED_AGENT
    assert response.edge_outcome == pb.EDGE_OUTCOME_BRIDGE
    assert response.action_source == pb.ACTION_SOURCE_HOSTED_AGENT
    assert not response.HasField("client_websocket_url")
    assert response.assistant_id == mapping.assistant_id


async def test_auto_reject_is_declined(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(routing.stack, account.account_id, "auto_reject")
    response = await routing.route(mapping.number)
    assert response.decision == pb.ROUTING_DECISION_REJECT
    assert response.reject_reason == pb.REJECT_REASON_AUTO_REJECT
    assert response.edge_outcome == pb.EDGE_OUTCOME_REJECTED
    assert response.action_source == pb.ACTION_SOURCE_AUTO_REJECT
    assert response.assistant_id == mapping.assistant_id


async def test_invalid_number(routing: RoutingStack) -> None:
    response = await routing.route("12-not-a-number")
    assert response.decision == pb.ROUTING_DECISION_REJECT
    assert response.reject_reason == pb.REJECT_REASON_INVALID_NUMBER
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.reason_detail


async def test_unmapped_and_deleted_mappings(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    unmapped, _ = factories.new_number()
    response = await routing.route(unmapped)
    assert response.reject_reason == pb.REJECT_REASON_NO_ACTIVE_MAPPING
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert not response.HasField("inbound_id")

    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    await factories.deactivate(routing.stack, mapping.inbound_id)
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_NO_ACTIVE_MAPPING


async def test_detached_mapping(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.map_number(routing.stack, account.account_id, None)
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_NO_ASSISTANT
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.inbound_id == mapping.inbound_id
    assert not response.HasField("assistant_id")


async def test_deleted_assistant(routing: RoutingStack, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    assert mapping.assistant_id is not None
    await factories.delete_identity(routing.stack, mapping.assistant_id)
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_ASSISTANT_NOT_FOUND
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.assistant_id == mapping.assistant_id
    assert not response.HasField("assistant_name")


async def test_assistant_without_call_action(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    identity_id = await factories.create_identity(routing.stack, account.account_id, "Idle")
    mapping = await factories.map_number(routing.stack, account.account_id, identity_id)
    response = await routing.route(mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_NO_CALL_ACTION
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.assistant_name == "Idle"
    assert response.action_source == pb.ACTION_SOURCE_UNSPECIFIED


@pytest.mark.parametrize("service", ["", "twilio"])
async def test_unusable_service_is_invalid_argument(routing: RoutingStack, service: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await routing.route("+918044319240", service=service)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_empty_number_is_invalid_argument(routing: RoutingStack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await routing.route("")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
