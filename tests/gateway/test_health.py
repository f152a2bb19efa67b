"""The gateway's liveness and readiness routes."""

from __future__ import annotations

import httpx

from gateway.settings import GatewaySettings
from tests.support.stack import Stack, running_gateway


async def test_healthz_answers_while_process_runs(stack: Stack) -> None:
    response = await stack.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_both_services_serving(stack: Stack) -> None:
    response = await stack.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "services": {"config": "SERVING", "registry": "SERVING"},
    }


async def test_readyz_is_503_when_a_service_is_down(stack: Stack, workdir: object) -> None:
    settings = GatewaySettings(
        gateway_port=0, config_address=stack.config_target, registry_address="127.0.0.1:1"
    )
    async with running_gateway(settings) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/readyz")
        healthz = await http.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["services"]["config"] == "SERVING"
    assert body["services"]["registry"] == "UNAVAILABLE"
    assert healthz.status_code == 200


async def test_openapi_is_published(stack: Stack) -> None:
    response = await stack.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Switchboard"
    docs = await stack.http.get("/docs")
    assert docs.status_code == 200
