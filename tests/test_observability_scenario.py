"""A full scenario over real processes: request ids cross all three, no secret is ever logged."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from tests.support.https_receiver import HttpsReceiver, Reply
from tests.support.live_stack import PROCESSES, LiveStack, live_stack

pytestmark = pytest.mark.slow

INTERNAL_TOKEN = "internal-" + secrets.token_hex(16)
EDGE_TOKEN = "edge-" + secrets.token_hex(16)
STRATEGY_HEADER_VALUE = "crm-credential-" + secrets.token_hex(12)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
async def running(
    database_urls: dict[str, str], tmp_path: Path, receiver: HttpsReceiver
) -> AsyncIterator[LiveStack]:
    async with live_stack(
        database_urls,
        tmp_path,
        SWITCHBOARD_INTERNAL_TOKEN=INTERNAL_TOKEN,
        SWITCHBOARD_EDGE_TOKEN=EDGE_TOKEN,
        SWITCHBOARD_ALLOW_PRIVATE_URLS="true",
        SWITCHBOARD_OUTBOUND_CA_FILE=str(receiver.ca_file),
        # Every request asks config, so each REST request below reaches all three processes.
        SWITCHBOARD_AUTH_CACHE_TTL_SECONDS="0",
        SWITCHBOARD_CALL_TARGET_CACHE_TTL_SECONDS="0",
        SWITCHBOARD_LOG_LEVEL="DEBUG",
    ) as stack:
        yield stack


async def test_request_ids_cross_every_process_and_no_secret_is_ever_logged(
    running: LiveStack, receiver: HttpsReceiver
) -> None:
    created = await running.create_account("Scenario")
    key = created["api_key"]
    admin = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=running.gateway_url, timeout=30) as http:
        identity = (
            await http.post("/api/v1/identities/", headers=admin, json={"agent_handle": "obs"})
        ).json()
        signing = await http.post("/api/v1/identities/obs/signing-key", headers=admin)
        signing_secret = signing.json()["signing_key"]
        webhook = receiver.endpoint(Reply.json({"action": "answer"}))
        action = await http.put(
            "/api/v1/phone/incoming-call-action",
            headers=admin,
            json={
                "agent_identity_id": identity["id"],
                "incoming_call_action": "webhook",
                "incoming_call_webhook_url": webhook,
                "client_websocket_url": "wss://agent.example.com/stream",
            },
        )
        assert action.status_code == 200, action.text
        lookup = receiver.endpoint(Reply.json({"tier": "gold"}))
        strategy = await http.post(
            "/inbound_context_strategy/create",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "strategy_name": "CRM",
                "strategy_type": "webhook",
                "strategy_config": {"url": lookup, "headers": {"X-Pass": STRATEGY_HEADER_VALUE}},
            },
        )
        assert strategy.status_code in (200, 201), strategy.text
        strategy_id = strategy.json()["data"]["strategy_id"]
        number = "+918044" + str(secrets.randbelow(10**6)).zfill(6)
        assigned = await http.post(
            "/inbound/assign",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "assistant_id": identity["id"],
                "inbound_context_strategy_id": strategy_id,
                "service": "exotel",
                "inbound_config": {"phone_number": number},
            },
        )
        assert assigned.status_code in (200, 201), assigned.text
        await http.get("/inbound_context_strategy/list", headers={"Authorization": f"Bearer {key}"})

        # One REST request, one id: gateway -> registry (RouteCall) -> config.
        routed = await http.post(
            "/v1/calls:route",
            headers={
                **admin,
                "X-Request-ID": "scenario-request-1",
                "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
            },
            json={"inbound_number": number, "caller_number": "+14155550100", "service": "exotel"},
        )
        assert routed.status_code == 200, routed.text
        assert routed.headers["x-request-id"] == "scenario-request-1"
        call_id = routed.json()["call_id"]
        assert routed.json()["decision"] == "accept"
        generated = await http.get("/inbound/list", headers={"Authorization": f"Bearer {key}"})
        assert len(generated.headers["x-request-id"]) == 32

        # The edge's ways in, and failures that echo credentials back if anything would.
        exotel = await http.get(
            f"/exotel/{EDGE_TOKEN}/stream", params={"CallTo": number, "CallFrom": "1"}
        )
        assert exotel.status_code == 200, exotel.text
        await http.post(
            "/v1/calls:route",
            headers={"Authorization": f"Bearer {EDGE_TOKEN}"},
            json={"inbound_number": number, "caller_number": "2", "service": "exotel"},
        )
        wrong = await http.get(f"/exotel/{EDGE_TOKEN}x/stream", params={"CallTo": number})
        assert wrong.status_code in (401, 422)
        revoked_like = await http.get("/inbound/list", headers={"X-API-Key": key + "x"})
        assert revoked_like.status_code == 401
        bodies = [identity, signing.json(), strategy.json(), routed.json(), exotel.json()]
    async with grpc.aio.insecure_channel(running.registry_target) as channel:
        stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
        await stub.RouteCall(
            pb.RouteCallRequest(inbound_number=number, caller_number="3", service="exotel"),
            metadata=(("x-switchboard-edge-token", EDGE_TOKEN), ("x-request-id", "grpc-1")),
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.RouteCall(
                pb.RouteCallRequest(inbound_number=number, caller_number="3", service="exotel"),
                metadata=(("x-switchboard-edge-token", INTERNAL_TOKEN),),
            )
    await running.stop()

    lines = {name: running.log_lines(name) for name in PROCESSES}
    for name in PROCESSES:
        tagged = [line for line in lines[name] if line.get("request_id") == "scenario-request-1"]
        assert tagged, f"{name} logged nothing for the request"
        assert all(line["trace_id"] == TRACE_ID for line in tagged)
    gateway_line = next(
        line
        for line in lines["gateway"]
        if line.get("request_id") == "scenario-request-1" and line["message"] == "request"
    )
    assert gateway_line["route"] == "/v1/calls:route"
    assert gateway_line["status"] == 200 and gateway_line["call_id"] == call_id
    registry_line = next(
        line
        for line in lines["registry"]
        if line.get("request_id") == "scenario-request-1"
        and line.get("rpc", "").endswith("RouteCall")
    )
    assert registry_line["call_id"] == call_id and registry_line["code"] == "OK"
    assert registry_line["verdict"] == "accept"
    assert {line.get("rpc", "").rsplit("/", 1)[-1] for line in lines["config"]} >= {
        "Authenticate",
        "ResolveCallTarget",
    }
    routing_lines = [
        line for line in lines["registry"] if line.get("rpc", "").endswith("RouteCall")
    ]
    decided = [line for line in routing_lines if line["code"] == "OK"]
    assert len(decided) == 4 and all("call_id" in line for line in decided)
    exotel_line = next(line for line in lines["gateway"] if "exotel" in line.get("route", ""))
    assert exotel_line["route"] == "/exotel/{edge_token}/stream"

    secrets_used = {
        "admin API key": key,
        "internal token": INTERNAL_TOKEN,
        "edge token": EDGE_TOKEN,
        "signing secret": signing_secret,
        "masked strategy header": STRATEGY_HEADER_VALUE,
    }
    for name in PROCESSES:
        output = running.output(name)
        for what, value in secrets_used.items():
            assert value not in output, f"the {what} appears in {name}'s output"
    # Error bodies and answers other than the one that mints a secret carry none either.
    for body in bodies[2:]:
        for what, value in secrets_used.items():
            assert value not in str(body), f"the {what} appears in an answer"
