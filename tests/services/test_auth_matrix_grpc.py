"""Every RPC x every wrong credential: the documented gRPC codes, nothing read or changed.

The gRPC half of the auth matrix (the REST half is tests/gateway/test_auth_matrix.py, whose
docstring says what the account and the credentials are). Each public RPC of every service
the two processes serve is called about our resources with each credential that must not
work; :data:`EXPECTED` names the code each gets, and an RPC without its row fails the test.
The internal RPCs (``ConfigInternalService``) are asked with no token, a wrong one and an
admin API key in its place: every one is UNAUTHENTICATED, the streaming one included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import (
    carrier_pb2,
    carrier_pb2_grpc,
    journal_pb2,
    journal_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
)

from services.common.auth import INTERNAL_TOKEN_HEADER
from tests.services.registry.factories import fresh_number
from tests.support import proto_modules
from tests.support.auth_world import CREDENTIALS, World, build_world, snapshot, snapshot_diff
from tests.support.routing_stack import RoutingStack
from tests.support.stack import Stack

Code: TypeAlias = grpc.StatusCode
OK, NOT_FOUND, DENIED = Code.OK, Code.NOT_FOUND, Code.PERMISSION_DENIED
ALREADY_EXISTS, FAILED = Code.ALREADY_EXISTS, Code.FAILED_PRECONDITION

REQUESTS: dict[str, Callable[[World], dict[str, Any]]] = {
    "ConfigService/GetIncomingCallAction": lambda w: {"agent_identity_id": w.identity_id},
    "ConfigService/UpdateIncomingCallAction": lambda w: {
        "incoming_call_action": {
            "agent_identity_id": w.identity_id,
            "incoming_call_action": "INCOMING_CALL_ACTION_TYPE_AUTO_REJECT",
        }
    },
    "ConfigService/CreateAgentIdentity": lambda w: {"agent_identity": {"agent_handle": w.handle}},
    "ConfigService/GetAgentIdentity": lambda w: {"agent_handle": w.handle},
    "ConfigService/ListAgentIdentities": lambda w: {},
    "ConfigService/UpdateAgentIdentity": lambda w: {
        "agent_handle": w.handle,
        "agent_identity": {"display_name": "Taken over"},
        "update_mask": "displayName",
    },
    "ConfigService/DeleteAgentIdentity": lambda w: {"agent_handle": w.handle},
    "ConfigService/CreateApiKey": lambda w: {
        "label": "stolen",
        "scoped_identity_id": w.identity_id,
    },
    "ConfigService/ListApiKeys": lambda w: {},
    "ConfigService/RevokeApiKey": lambda w: {"api_key_id": w.api_key_id},
    "ConfigService/GetCallerApiKey": lambda w: {},
    "ConfigService/GetAgentIdentitySigningKey": lambda w: {"agent_handle": w.handle},
    "ConfigService/RotateAgentIdentitySigningKey": lambda w: {"agent_handle": w.handle},
    "ConfigService/GetAgentIdentityBusinessHours": lambda w: {"agent_handle": w.handle},
    "ConfigService/UpdateAgentIdentityBusinessHours": lambda w: {
        "agent_handle": w.handle,
        "business_hours": {
            "schedule": {"time_zone": "UTC"},
            "outside_hours_action": {"action": "OUTSIDE_HOURS_ACTION_TYPE_REJECT"},
        },
    },
    "ConfigService/DeleteAgentIdentityBusinessHours": lambda w: {"agent_handle": w.handle},
    "ConfigService/GetOrganizationSigningKey": lambda w: {},
    "ConfigService/RotateOrganizationSigningKey": lambda w: {},
    "InboundNumberService/AssignInboundNumber": lambda w: {
        "assistant_id": w.identity_id,
        "service": "exotel",
        "inbound_config": {"phone_number": fresh_number()},
    },
    "InboundNumberService/UpdateInboundNumber": lambda w: {
        "inbound_id": w.inbound_id,
        "inbound_number": {"assistant_id": w.identity_id},
        "update_mask": "assistantId",
    },
    "InboundNumberService/DetachInboundNumber": lambda w: {"inbound_id": w.inbound_id},
    "InboundNumberService/DeleteInboundNumber": lambda w: {"inbound_id": w.inbound_id},
    "InboundNumberService/GetInboundNumber": lambda w: {"inbound_id": w.inbound_id},
    "InboundNumberService/ListInboundNumbers": lambda w: {},
    "InboundContextStrategyService/CreateInboundContextStrategy": lambda w: {
        "strategy_name": "CRM",
        "strategy_type": "webhook",
        "strategy_config": {"url": "https://crm.example.com/lookup"},
    },
    "InboundContextStrategyService/UpdateInboundContextStrategy": lambda w: {
        "inbound_context_strategy_id": w.strategy_id,
        "strategy": {"strategy_name": "Taken over"},
        "update_mask": "strategyName",
    },
    "InboundContextStrategyService/ListInboundContextStrategies": lambda w: {},
    "InboundContextStrategyService/GetInboundContextStrategy": lambda w: {
        "inbound_context_strategy_id": w.strategy_id
    },
    "InboundContextStrategyService/DeleteInboundContextStrategy": lambda w: {
        "inbound_context_strategy_id": w.strategy_id
    },
    "CallRoutingService/RouteCall": lambda w: {
        "inbound_number": w.phone_number,
        "caller_number": "+14155550123",
        "service": "exotel",
    },
    "CallRoutingService/ReleaseCall": lambda w: {"call_id": w.call_id},
    "CallRoutingService/RenewCall": lambda w: {"call_id": w.call_id},
    "CallRoutingService/SimulateCall": lambda w: {
        "call": {
            "inbound_number": w.phone_number,
            "caller_number": "+14155550123",
            "service": "exotel",
        }
    },
    "ContactRuleService/CreateContactRule": lambda w: {
        "inbound_id": w.inbound_id,
        "contact_rule": {"action": "CONTACT_RULE_ACTION_BLOCK", "match_target": "+14155550199"},
    },
    "ContactRuleService/GetContactRule": lambda w: {
        "inbound_id": w.inbound_id,
        "contact_rule_id": w.rule_id,
    },
    "ContactRuleService/ListContactRules": lambda w: {"inbound_id": w.inbound_id},
    "ContactRuleService/UpdateContactRule": lambda w: {
        "inbound_id": w.inbound_id,
        "contact_rule_id": w.rule_id,
        "contact_rule": {"action": "CONTACT_RULE_ACTION_ALLOW"},
        "update_mask": "action",
    },
    "ContactRuleService/DeleteContactRule": lambda w: {
        "inbound_id": w.inbound_id,
        "contact_rule_id": w.rule_id,
    },
    "CallDecisionService/GetCallDecision": lambda w: {"call_id": w.call_id},
    "CallDecisionService/ListCallDecisions": lambda w: {},
    "CarrierOutcomeService/GetCarrierOutcomes": lambda w: {},
    "CarrierOutcomeService/UpdateCarrierOutcomes": lambda w: {
        "overrides": [{"reason": "REJECT_REASON_AUTO_REJECT", "sip_status": 486}]
    },
}
"""What each RPC is asked: about our resources (a create names our handle or identity)."""

EXPECTED: dict[str, tuple[Code, Code]] = {
    "ConfigService/GetIncomingCallAction": (NOT_FOUND, DENIED),
    "ConfigService/UpdateIncomingCallAction": (NOT_FOUND, DENIED),
    "ConfigService/CreateAgentIdentity": (ALREADY_EXISTS, DENIED),
    "ConfigService/GetAgentIdentity": (NOT_FOUND, DENIED),
    "ConfigService/ListAgentIdentities": (OK, DENIED),
    "ConfigService/UpdateAgentIdentity": (NOT_FOUND, DENIED),
    "ConfigService/DeleteAgentIdentity": (NOT_FOUND, DENIED),
    "ConfigService/CreateApiKey": (NOT_FOUND, DENIED),
    "ConfigService/ListApiKeys": (OK, DENIED),
    "ConfigService/RevokeApiKey": (NOT_FOUND, DENIED),
    "ConfigService/GetCallerApiKey": (OK, OK),
    "ConfigService/GetAgentIdentitySigningKey": (NOT_FOUND, DENIED),
    "ConfigService/RotateAgentIdentitySigningKey": (NOT_FOUND, DENIED),
    "ConfigService/GetAgentIdentityBusinessHours": (NOT_FOUND, DENIED),
    "ConfigService/UpdateAgentIdentityBusinessHours": (NOT_FOUND, DENIED),
    "ConfigService/DeleteAgentIdentityBusinessHours": (NOT_FOUND, DENIED),
    "ConfigService/GetOrganizationSigningKey": (OK, OK),
    "ConfigService/RotateOrganizationSigningKey": (FAILED, OK),
    "InboundNumberService/AssignInboundNumber": (NOT_FOUND, NOT_FOUND),
    "InboundNumberService/UpdateInboundNumber": (NOT_FOUND, NOT_FOUND),
    "InboundNumberService/DetachInboundNumber": (NOT_FOUND, NOT_FOUND),
    "InboundNumberService/DeleteInboundNumber": (NOT_FOUND, NOT_FOUND),
    "InboundNumberService/GetInboundNumber": (NOT_FOUND, NOT_FOUND),
    "InboundNumberService/ListInboundNumbers": (OK, OK),
    "InboundContextStrategyService/CreateInboundContextStrategy": (OK, DENIED),
    "InboundContextStrategyService/UpdateInboundContextStrategy": (NOT_FOUND, DENIED),
    "InboundContextStrategyService/ListInboundContextStrategies": (OK, DENIED),
    "InboundContextStrategyService/GetInboundContextStrategy": (NOT_FOUND, DENIED),
    "InboundContextStrategyService/DeleteInboundContextStrategy": (NOT_FOUND, DENIED),
    "CallRoutingService/RouteCall": (OK, DENIED),
    "CallRoutingService/SimulateCall": (OK, DENIED),
    "CallRoutingService/ReleaseCall": (OK, DENIED),
    "CallRoutingService/RenewCall": (NOT_FOUND, DENIED),
    "ContactRuleService/CreateContactRule": (NOT_FOUND, NOT_FOUND),
    "ContactRuleService/GetContactRule": (NOT_FOUND, NOT_FOUND),
    "ContactRuleService/ListContactRules": (NOT_FOUND, NOT_FOUND),
    "ContactRuleService/UpdateContactRule": (NOT_FOUND, NOT_FOUND),
    "ContactRuleService/DeleteContactRule": (NOT_FOUND, DENIED),
    "CallDecisionService/GetCallDecision": (NOT_FOUND, DENIED),
    "CallDecisionService/ListCallDecisions": (OK, DENIED),
    "CarrierOutcomeService/GetCarrierOutcomes": (OK, DENIED),
    "CarrierOutcomeService/UpdateCarrierOutcomes": (OK, DENIED),
}
"""Per RPC: the code ``other_admin`` and ``other_scoped`` get (no credential, a malformed one
and a revoked one: UNAUTHENTICATED everywhere). The same answers as the REST routes these
RPCs serve (see EXPECTED there for why); an OK acted only on what the credential may see:
the other account's own data, the scoped key's own identity, a RouteCall that answers our
number exactly like an unmapped one."""

INTERNAL_REQUESTS: dict[str, Callable[[World], dict[str, Any]]] = {
    "Authenticate": lambda w: {"credential": w.credentials["other_admin"]["X-API-Key"]},
    "BatchGetAgentIdentities": lambda w: {"account_id": "x", "ids": [w.identity_id]},
    "ResolveCallTarget": lambda w: {"agent_identity_id": w.identity_id},
    "WatchChanges": lambda w: {},
}

_SERVICES = {
    "ConfigService": (config_pb2, config_pb2_grpc.ConfigServiceStub, "config"),
    "InboundNumberService": (registry_pb2, registry_pb2_grpc.InboundNumberServiceStub, "registry"),
    "InboundContextStrategyService": (
        registry_pb2,
        registry_pb2_grpc.InboundContextStrategyServiceStub,
        "registry",
    ),
    "CallRoutingService": (registry_pb2, registry_pb2_grpc.CallRoutingServiceStub, "registry"),
    "ContactRuleService": (registry_pb2, registry_pb2_grpc.ContactRuleServiceStub, "registry"),
    "CallDecisionService": (journal_pb2, journal_pb2_grpc.CallDecisionServiceStub, "registry"),
    "CarrierOutcomeService": (
        carrier_pb2,
        carrier_pb2_grpc.CarrierOutcomeServiceStub,
        "registry",
    ),
}


def _public_rpcs() -> set[str]:
    return {
        f"{service.name}/{method.name}"
        for service in proto_modules.services()
        if service.name != "ConfigInternalService"
        for method in service.methods
    }


def _request(rpc: str, world: World) -> Message:
    service_name, method_name = rpc.split("/")
    module = _SERVICES[service_name][0]
    method = module.DESCRIPTOR.services_by_name[service_name].methods_by_name[method_name]
    message_class = _message_class(module, method.input_type.name)
    return json_format.ParseDict(REQUESTS[rpc](world), message_class())


def _message_class(module: Any, name: str) -> type[Message]:
    found: type[Message] = getattr(module, name)
    return found


async def _call(
    channels: dict[str, grpc.aio.Channel], rpc: str, request: Message, metadata: Any
) -> tuple[Code, str]:
    service_name, method_name = rpc.split("/")
    _, stub_class, process = _SERVICES[service_name]
    method = getattr(stub_class(channels[process]), method_name)
    try:
        response = await method(request, metadata=metadata, timeout=30)
    except grpc.aio.AioRpcError as error:
        return error.code(), f"{error.details()}"
    return Code.OK, json_format.MessageToJson(response)


@pytest.mark.timeout(600)
async def test_every_rpc_refuses_every_wrong_credential(
    stack: Stack, routing: RoutingStack
) -> None:
    assert _public_rpcs() == set(REQUESTS) == set(EXPECTED), "an RPC lacks its row"
    world = await build_world(stack, routing.http)
    channels = {"config": stack.config_channel, "registry": routing.channel}
    before = await snapshot(routing.http, world)
    wrong: list[str] = []
    for rpc in sorted(REQUESTS):
        other_admin, other_scoped = EXPECTED[rpc]
        wanted = dict.fromkeys(("none", "malformed", "revoked"), Code.UNAUTHENTICATED)
        wanted |= {"other_admin": other_admin, "other_scoped": other_scoped}
        for credential in CREDENTIALS:
            request = _request(rpc, world)
            code, text = await _call(channels, rpc, request, world.metadata(credential))
            if code != wanted[credential]:
                wrong.append(f"{rpc} as {credential}: {code.name} {text}")
            asked = json_format.MessageToJson(request)
            leaked = [item for item in world.ours(credential) if item in text and item not in asked]
            if leaked:
                wrong.append(f"{rpc} as {credential} read {leaked}: {text}")
    assert not wrong, "\n".join(wrong)
    after = await snapshot(routing.http, world)
    assert after == before, "a wrong credential changed something:\n" + snapshot_diff(before, after)


@pytest.mark.timeout(120)
async def test_internal_rpcs_answer_only_the_internal_token(
    stack: Stack, routing: RoutingStack
) -> None:
    world = await build_world(stack, routing.http)
    stub = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    internal = config_pb2.DESCRIPTOR.services_by_name["ConfigInternalService"]
    assert {method.name for method in internal.methods} == set(INTERNAL_REQUESTS)
    credentials: dict[str, tuple[tuple[str, str], ...]] = {
        "none": (),
        "wrong token": ((INTERNAL_TOKEN_HEADER, "not-the-internal-token"),),
        "an admin API key": world.metadata("other_admin"),
    }
    for name, build in INTERNAL_REQUESTS.items():
        method = internal.methods_by_name[name]
        request = json_format.ParseDict(
            build(world), _message_class(config_pb2, method.input_type.name)()
        )
        for credential, metadata in credentials.items():
            call = getattr(stub, name)(request, metadata=metadata, timeout=10)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                if method.server_streaming:
                    async for _ in call:
                        pass
                else:
                    await call
            assert caught.value.code() == Code.UNAUTHENTICATED, (name, credential)
            assert world.identity_id not in (caught.value.details() or "")
