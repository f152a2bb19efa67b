"""The gateway's per-channel stubs are made once, and enum texts are rendered from a table."""

from __future__ import annotations

from typing import cast

import grpc
from switchboard.config.v1 import config_pb2_grpc
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.messages import enum_number, enum_text
from gateway.upstream import Upstreams


async def test_each_stub_is_made_once_per_channel() -> None:
    upstreams = Upstreams(
        config=grpc.aio.insecure_channel("127.0.0.1:1"),
        registry=grpc.aio.insecure_channel("127.0.0.1:2"),
        timeout=1.0,
    )
    try:
        routing = upstreams.registry_stub(registry_pb2_grpc.CallRoutingServiceStub)
        assert upstreams.registry_stub(registry_pb2_grpc.CallRoutingServiceStub) is routing
        numbers = upstreams.registry_stub(registry_pb2_grpc.InboundNumberServiceStub)
        assert isinstance(numbers, registry_pb2_grpc.InboundNumberServiceStub)
        config = upstreams.config_stub(config_pb2_grpc.ConfigServiceStub)
        assert upstreams.config_stub(config_pb2_grpc.ConfigServiceStub) is config
    finally:
        await upstreams.close()


def test_enum_text_round_trips_every_value_and_ignores_unknown_numbers() -> None:
    response = registry_pb2.RouteCallResponse()
    for value in registry_pb2.RejectReason.DESCRIPTOR.values[1:]:
        response.reject_reason = cast(registry_pb2.RejectReason, value.number)
        text = enum_text(response, "reject_reason")
        assert text == value.name.removeprefix("REJECT_REASON_").lower()
        assert enum_number(response, "reject_reason", text) == value.number
    response.reject_reason = registry_pb2.REJECT_REASON_UNSPECIFIED
    assert enum_text(response, "reject_reason") is None
    response.reject_reason = cast(registry_pb2.RejectReason, 999)  # a newer registry's
    assert enum_text(response, "reject_reason") is None
