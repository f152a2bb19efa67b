"""Deadlines: each hop carries the caller's remaining time; 504 / 503 in each dialect's shape."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
from switchboard.registry.v1 import registry_pb2 as pb
from switchboard.registry.v1 import registry_pb2_grpc

from gateway.settings import GatewaySettings
from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.processes import free_port
from tests.support.routing_stack import EDGE_TOKEN, routing_registry_settings, running_registry
from tests.support.silent_grpc import SilentServer, silent_grpc_server
from tests.support.stack import Stack, running_gateway

GATEWAY_DEADLINE = 1.5
"""The gateway's deadline; config's own limit is far longer, so only the caller's can bind."""
CONFIG_LIMIT = 60.0
UNARY = frozenset({"Authenticate", "ListAgentIdentities", "ResolveCallTarget"})
SLACK = 8.0
CLOCK_SLACK = 0.05
"""gRPC reports time_remaining a few ms above the deadline it was sent with."""
"""Generous bound on how late an answer may come under a loaded machine (never a speed test)."""


@dataclass
class Deployment:
    """A registry and a gateway whose config service is at ``config_address``."""

    gateway: httpx.AsyncClient
    registry: registry_pb2_grpc.CallRoutingServiceStub


@contextlib.asynccontextmanager
async def deployed(stack: Stack, workdir: Path, config_address: str) -> AsyncIterator[Deployment]:
    settings = routing_registry_settings(
        stack, workdir, None, config_timeout_seconds=CONFIG_LIMIT, call_target_cache_ttl_seconds=0
    )
    settings.config_address = config_address
    async with running_registry(settings) as registry:
        gateway_settings = GatewaySettings(
            gateway_port=0,
            config_address=config_address,
            registry_address=f"127.0.0.1:{registry.port}",
            data_dir=workdir,
            upstream_timeout_seconds=GATEWAY_DEADLINE,
        )
        async with (
            running_gateway(gateway_settings) as url,
            httpx.AsyncClient(base_url=url, timeout=60) as http,
            grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
        ):
            yield Deployment(http, registry_pb2_grpc.CallRoutingServiceStub(channel))


@pytest.fixture
async def silent_config() -> AsyncIterator[SilentServer]:
    async with silent_grpc_server() as server:
        yield server


async def timed(request: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request  # type: ignore[misc]
    return response, time.monotonic() - started


async def test_a_silent_config_service_is_504_in_each_dialect_within_the_gateway_deadline(
    stack: Stack, account: CreatedAccount, tmp_path: Path, silent_config: SilentServer
) -> None:
    identity = await factories.create_identity(stack, account.account_id)
    mapping = await factories.map_number(stack, account.account_id, identity)
    async with deployed(stack, tmp_path, silent_config.target) as deployment:
        http = deployment.gateway
        # Vyom: gateway -> registry -> config (Authenticate) never answers.
        vyom, vyom_took = await timed(
            http.get(
                "/inbound/list",
                headers={"Authorization": f"Bearer {account.api_key}", "X-Request-ID": "vyom-1"},
            )
        )
        # Inkbox: gateway -> config never answers.
        inkbox, inkbox_took = await timed(
            http.get("/api/v1/identities/", headers={"X-API-Key": account.api_key})
        )
        # Routing: the edge token is checked locally, the call target is asked of config.
        route, route_took = await timed(
            http.post(
                "/v1/calls:route",
                headers={"Authorization": f"Bearer {EDGE_TOKEN}"},
                json={"inbound_number": mapping.number, "caller_number": "1", "service": "exotel"},
            )
        )
        exotel, exotel_took = await timed(
            http.get(
                f"/exotel/{EDGE_TOKEN}/stream", params={"CallTo": mapping.number, "CallFrom": "1"}
            )
        )
    assert vyom.status_code == 504, vyom.text
    assert vyom.json() == {
        "success": False,
        "message": "upstream service unavailable",
        "data": None,
    }
    for response in (inkbox, route, exotel):
        assert response.status_code == 504, response.text
        assert response.json() == {"detail": "upstream service unavailable"}
    for took in (vyom_took, inkbox_took, route_took, exotel_took):
        assert GATEWAY_DEADLINE * 0.9 <= took < GATEWAY_DEADLINE + SLACK
    # Every call config received carried (at most) what was left of the gateway's deadline,
    # not the registry's own 60 s limit, and the request id of the REST request.
    # Unary calls only: the registry's change stream (WatchChanges) also waits on config.
    unary = [held for held in silent_config.held if held.method.rsplit("/", 1)[-1] in UNARY]
    assert len(unary) == 4
    for held in unary:
        assert held.time_remaining is not None
        assert 0 < held.time_remaining <= GATEWAY_DEADLINE + CLOCK_SLACK
    by_method = {held.method.rsplit("/", 1)[-1]: held for held in unary}
    assert by_method["Authenticate"].metadata["x-request-id"] == "vyom-1"
    assert set(by_method) == {"Authenticate", "ListAgentIdentities", "ResolveCallTarget"}


async def test_a_grpc_callers_deadline_reaches_the_config_service(
    stack: Stack, account: CreatedAccount, tmp_path: Path, silent_config: SilentServer
) -> None:
    identity = await factories.create_identity(stack, account.account_id)
    mapping = await factories.map_number(stack, account.account_id, identity)
    async with deployed(stack, tmp_path, silent_config.target) as deployment:
        started = time.monotonic()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await deployment.registry.RouteCall(
                pb.RouteCallRequest(
                    inbound_number=mapping.number, caller_number="1", service="exotel"
                ),
                metadata=(("x-switchboard-edge-token", EDGE_TOKEN),),
                timeout=1.0,
            )
        took = time.monotonic() - started
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert took < 1.0 + SLACK
    (held,) = [h for h in silent_config.held if h.method.rsplit("/", 1)[-1] in UNARY]
    assert held.method.endswith("/ResolveCallTarget")
    assert held.time_remaining is not None and 0 < held.time_remaining <= 1.0 + CLOCK_SLACK


async def test_an_unreachable_config_service_is_503_in_each_dialect(
    stack: Stack, account: CreatedAccount, tmp_path: Path
) -> None:
    identity = await factories.create_identity(stack, account.account_id)
    mapping = await factories.map_number(stack, account.account_id, identity)
    async with deployed(stack, tmp_path, f"127.0.0.1:{free_port()}") as deployment:
        http = deployment.gateway
        vyom = await http.get("/inbound/list", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
        inkbox = await http.get("/api/v1/identities/", headers={"X-API-Key": account.api_key})
        route = await http.post(
            "/v1/calls:route",
            headers={"Authorization": f"Bearer {EDGE_TOKEN}"},
            json={"inbound_number": mapping.number, "caller_number": "1", "service": "exotel"},
        )
    assert vyom.status_code == 503, vyom.text
    assert vyom.json()["success"] is False and vyom.json()["data"] is None
    for response in (inkbox, route):
        assert response.status_code == 503, response.text
        assert isinstance(response.json()["detail"], str)
