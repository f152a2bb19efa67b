"""The webhook's circuit breaker, secondary endpoint and hedging, through real RouteCalls.

A registry with a low failure threshold (2) and a short open time (0.5 s) routes to webhooks
served by the local HTTPS receiver, whose answers the tests change on the fly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import HttpsReceiver, Reply
from tests.support.routing_stack import EDGE_TOKEN, routing_registry_settings, running_registry
from tests.support.stack import Stack

FALLBACK = "wss://fallback.example.com/stream"
PRIMARY = "wss://primary.example.com/stream"
SECONDARY = "wss://secondary.example.com/stream"
EDGE = (("x-switchboard-edge-token", EDGE_TOKEN),)


@pytest.fixture
async def routes(
    stack: Stack, receiver: HttpsReceiver, tmp_path: Path
) -> AsyncIterator[registry_pb2_grpc.CallRoutingServiceStub]:
    settings = routing_registry_settings(
        stack,
        tmp_path,
        receiver.ca_file,
        call_target_cache_ttl_seconds=0,
        webhook_circuit_failures=2,
        webhook_circuit_open_seconds=0.5,
    )
    async with (
        running_registry(settings) as registry,
        grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
    ):
        yield registry_pb2_grpc.CallRoutingServiceStub(channel)


async def route(
    stub: registry_pb2_grpc.CallRoutingServiceStub, number: str
) -> tuple[pb.RouteCallResponse, float]:
    started = time.perf_counter()
    response: pb.RouteCallResponse = await stub.RouteCall(
        pb.RouteCallRequest(inbound_number=number, caller_number="+919900000001", service="exotel"),
        metadata=EDGE,
        timeout=30,
    )
    return response, time.perf_counter() - started


async def webhook_identity(
    stack: Stack, account: CreatedAccount, url: str, **fields: Any
) -> factories.Mapping:
    fields.setdefault("webhook_timeout_ms", 1000)
    return await factories.routed_identity(
        stack,
        account.account_id,
        "webhook",
        incoming_call_webhook_url=url,
        fallback_action="accept",
        fallback_client_websocket_url=FALLBACK,
        **fields,
    )


async def test_an_open_circuit_applies_the_fallback_at_once_and_a_probe_closes_it(
    stack: Stack,
    account: CreatedAccount,
    receiver: HttpsReceiver,
    routes: registry_pb2_grpc.CallRoutingServiceStub,
) -> None:
    # Failing by timeout: each of the first two calls waits out the 1 s budget.
    url = receiver.endpoint(Reply.json({"action": "answer"}, delay=3))
    mapping = await webhook_identity(stack, account, url)
    for _ in range(2):
        response, elapsed = await route(routes, mapping.number)
        assert response.action_source == pb.ACTION_SOURCE_WEBHOOK_FALLBACK
        assert elapsed >= 0.9
    assert len(receiver.received(url)) == 2

    short, elapsed = await route(routes, mapping.number)
    assert len(receiver.received(url)) == 2, "an open circuit sends nothing"
    assert (short.client_websocket_url, short.action_source) == (
        FALLBACK,
        pb.ACTION_SOURCE_WEBHOOK_FALLBACK,
    )
    assert "circuit is open" in short.reason_detail
    # Not waiting out the 1 s budget is the point (the figure itself is measured apart).
    assert elapsed < 0.5

    receiver.answer(url, Reply.json({"action": "answer", "client_websocket_url": PRIMARY}))
    await asyncio.sleep(0.6)
    probe, _ = await route(routes, mapping.number)
    assert (probe.client_websocket_url, probe.action_source) == (
        PRIMARY,
        pb.ACTION_SOURCE_WEBHOOK,
    )
    closed, _ = await route(routes, mapping.number)
    assert closed.client_websocket_url == PRIMARY
    assert len(receiver.received(url)) == 4


async def test_a_failed_probe_reopens_the_circuit(
    stack: Stack,
    account: CreatedAccount,
    receiver: HttpsReceiver,
    routes: registry_pb2_grpc.CallRoutingServiceStub,
) -> None:
    url = receiver.endpoint(Reply(status=500))
    mapping = await webhook_identity(stack, account, url)
    for _ in range(3):
        await route(routes, mapping.number)
    assert len(receiver.received(url)) == 2
    await asyncio.sleep(0.6)
    await route(routes, mapping.number)  # the probe, failing
    await route(routes, mapping.number)  # open again (for 1 s now): not sent
    assert len(receiver.received(url)) == 3


async def test_the_secondary_answers_when_the_primary_fails_or_its_circuit_is_open(
    stack: Stack,
    account: CreatedAccount,
    receiver: HttpsReceiver,
    routes: registry_pb2_grpc.CallRoutingServiceStub,
) -> None:
    primary = receiver.endpoint(Reply(status=503))
    secondary = receiver.endpoint(
        Reply.json({"action": "answer", "client_websocket_url": SECONDARY})
    )
    mapping = await webhook_identity(stack, account, primary, secondary_webhook_url=secondary)
    for _ in range(3):
        response, _ = await route(routes, mapping.number)
        assert (response.client_websocket_url, response.action_source) == (
            SECONDARY,
            pb.ACTION_SOURCE_WEBHOOK,
        )
        assert "secondary_webhook_url" in response.reason_detail
    # Two failures opened the primary's circuit: the third call went to the secondary only.
    assert len(receiver.received(primary)) == 2
    assert len(receiver.received(secondary)) == 3


async def test_a_slow_primary_is_hedged_after_its_recent_p95(
    stack: Stack,
    account: CreatedAccount,
    receiver: HttpsReceiver,
    routes: registry_pb2_grpc.CallRoutingServiceStub,
) -> None:
    primary = receiver.endpoint(Reply.json({"action": "answer", "client_websocket_url": PRIMARY}))
    secondary = receiver.endpoint(
        Reply.json({"action": "answer", "client_websocket_url": SECONDARY})
    )
    mapping = await webhook_identity(
        stack, account, primary, secondary_webhook_url=secondary, webhook_timeout_ms=5000
    )
    for _ in range(10):  # the primary's latency window learns it answers in milliseconds
        response, _ = await route(routes, mapping.number)
        assert response.client_websocket_url == PRIMARY
    assert receiver.received(secondary) == []

    receiver.answer(primary, Reply.json({"action": "answer", "client_websocket_url": PRIMARY}, 3))
    hedged, elapsed = await route(routes, mapping.number)
    assert hedged.client_websocket_url == SECONDARY
    assert len(receiver.received(secondary)) == 1
    # Hedged after the primary's p95 (tens of ms), not after its 3 s or half the budget.
    assert elapsed < 2.0


async def test_a_reject_is_an_answer_and_does_not_open_the_circuit(
    stack: Stack,
    account: CreatedAccount,
    receiver: HttpsReceiver,
    routes: registry_pb2_grpc.CallRoutingServiceStub,
) -> None:
    url = receiver.endpoint(Reply.json({"action": "reject"}))
    mapping = await webhook_identity(stack, account, url)
    for _ in range(4):
        response, _ = await route(routes, mapping.number)
        assert response.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
    assert len(receiver.received(url)) == 4
