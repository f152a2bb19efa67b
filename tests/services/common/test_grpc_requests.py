"""Malformed, unstorable or oversized gRPC requests: INVALID_ARGUMENT / RESOURCE_EXHAUSTED only."""

from __future__ import annotations

import grpc
import pytest
from switchboard.config.v1 import config_pb2, config_pb2_grpc
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from services.common.rpc.requests import MALFORMED_REQUEST, text_violations
from services.common.settings import DatabaseServiceSettings
from services.common.text import UNSTORABLE_NUL
from services.config.provisioning import CreatedAccount
from tests.support.rpc_errors import decoded
from tests.support.stack import Stack

LIMITS = DatabaseServiceSettings()
MALFORMED = [
    b"\xff\xff\xff\xff",  # truncated varint
    b"\x0a\x05ab",  # length-delimited field longer than the message
    b"\x0a\x02\xff\xfe",  # invalid UTF-8 in a string field
    b"\x07",  # wire type 7 does not exist
]
METHODS = [
    ("config", "/switchboard.config.v1.ConfigService/CreateAgentIdentity"),
    ("config", "/switchboard.config.v1.ConfigInternalService/ResolveCallTarget"),
    ("registry", "/switchboard.registry.v1.InboundNumberService/AssignInboundNumber"),
    ("registry", "/switchboard.registry.v1.CallRoutingService/RouteCall"),
]


def channel(stack: Stack, service: str) -> grpc.aio.Channel:
    return stack.config_channel if service == "config" else stack.registry_channel


@pytest.mark.parametrize(("service", "method"), METHODS)
async def test_malformed_protobuf_is_invalid_argument_without_internals(
    stack: Stack, account: CreatedAccount, service: str, method: str
) -> None:
    call = channel(stack, service).unary_unary(method)
    for payload in MALFORMED:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(payload, metadata=(("x-api-key", account.api_key),))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value
        assert raised.value.details() == MALFORMED_REQUEST
        assert decoded(raised.value).reason == "MALFORMED_REQUEST"


async def test_nul_in_config_text_is_invalid_argument_and_stores_nothing(
    stack: Stack, account: CreatedAccount
) -> None:
    stub = config_pb2_grpc.ConfigServiceStub(stack.config_channel)
    admin = (("x-api-key", account.api_key),)
    for identity in (
        config_pb2.AgentIdentity(agent_handle="nul-grpc", display_name="a\x00b"),
        config_pb2.AgentIdentity(agent_handle="nul-grpc", description="\x00"),
        config_pb2.AgentIdentity(agent_handle="nul\x00grpc"),
    ):
        request = config_pb2.CreateAgentIdentityRequest(agent_identity=identity)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.CreateAgentIdentity(request, metadata=admin)
        error = decoded(raised.value)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert error.reason == "UNSTORABLE_TEXT"
        assert error.violations[0][0].startswith("agent_identity.")
    label = config_pb2.CreateApiKeyRequest(label="\x00")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateApiKey(label, metadata=admin)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    listed = await stub.ListAgentIdentities(config_pb2.ListAgentIdentitiesRequest(), metadata=admin)
    assert list(listed.agent_identities) == []


async def test_nul_in_a_registry_map_value_is_invalid_argument(
    stack: Stack, account: CreatedAccount
) -> None:
    stub = registry_pb2_grpc.InboundContextStrategyServiceStub(stack.registry_channel)
    request = registry_pb2.CreateInboundContextStrategyRequest(
        strategy_name="crm",
        strategy_type="webhook",
        strategy_config=registry_pb2.StrategyConfig(
            url="https://crm.example.com/lookup", headers={"X-Token": "se\x00cret"}
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateInboundContextStrategy(request, metadata=(("x-api-key", account.api_key),))
    error = decoded(raised.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.violations == (("strategy_config.headers['X-Token']", UNSTORABLE_NUL),)
    assert "se\x00cret" not in error.message


def test_text_violations_walks_nested_repeated_and_map_fields() -> None:
    message = registry_pb2.ListInboundNumbersResponse(
        inbound_numbers=[
            registry_pb2.InboundNumber(phone_number="ok"),
            registry_pb2.InboundNumber(inbound_config=registry_pb2.InboundConfig(type="\x00")),
        ]
    )
    assert [v.field for v in text_violations(message)] == ["inbound_numbers[1].inbound_config.type"]
    clean = registry_pb2.StrategyConfig(url="https://x.example.com", headers={"a": "b"})
    assert list(text_violations(clean)) == []


@pytest.mark.parametrize("service", ["config", "registry"])
async def test_oversized_messages_and_metadata_are_resource_exhausted(
    stack: Stack, account: CreatedAccount, service: str
) -> None:
    method = dict(METHODS)[service]
    call = channel(stack, service).unary_unary(method)
    huge = config_pb2.AgentIdentity(description="d" * (LIMITS.grpc_max_message_bytes + 1))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(huge.SerializeToString(), metadata=(("x-api-key", account.api_key),))
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    padding = (("x-padding", "p" * (LIMITS.grpc_max_metadata_bytes + 1)),)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(b"", metadata=(("x-api-key", account.api_key), *padding))
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
