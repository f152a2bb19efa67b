"""The gRPC services' metrics port: bearer token required, only GET /metrics, junk refused."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.common.observability.metrics_server import start_metrics_server

TOKEN = "metrics-token-for-tests-0123456789"


async def test_the_metrics_port_answers_only_the_token_holder() -> None:
    server = await start_metrics_server("127.0.0.1", 0, TOKEN)
    base = f"http://127.0.0.1:{server.port}"
    good = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            ok = await http.get(f"{base}/metrics", headers=good)
            assert ok.status_code == 200
            names = {family.name for family in text_string_to_metric_families(ok.text)}
            assert "switchboard_routing_decisions" in names
            assert (await http.get(f"{base}/metrics")).status_code == 401
            wrong = await http.get(f"{base}/metrics", headers={"Authorization": "Bearer x"})
            assert wrong.status_code == 401
            assert (await http.get(f"{base}/other", headers=good)).status_code == 404
            assert (await http.post(f"{base}/metrics", headers=good)).status_code == 404
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
        assert (await reader.read()).startswith(b"HTTP/1.1 400")
        writer.close()
    finally:
        await server.close()


async def test_without_a_token_every_scrape_is_refused() -> None:
    server = await start_metrics_server("127.0.0.1", 0, None)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(
                f"http://127.0.0.1:{server.port}/metrics",
                headers={"Authorization": "Bearer anything"},
            )
            assert response.status_code == 401
    finally:
        await server.close()
