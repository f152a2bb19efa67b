"""Metrics of real processes move with a scenario: scraped, parsed, compared with what was sent."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.https_receiver import HttpsReceiver, Reply
from tests.support.live_stack import LiveStack, live_stack

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-" + secrets.token_hex(16)
EDGE_TOKEN = "edge-" + secrets.token_hex(16)
ROUTED = 5
UNMAPPED = 3
LISTED = 4

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def running(
    database_urls: dict[str, str], tmp_path: Path, receiver: HttpsReceiver
) -> AsyncIterator[LiveStack]:
    async with live_stack(
        database_urls,
        tmp_path,
        SWITCHBOARD_METRICS_TOKEN=METRICS_TOKEN,
        SWITCHBOARD_INTERNAL_TOKEN="internal-" + secrets.token_hex(16),
        SWITCHBOARD_EDGE_TOKEN=EDGE_TOKEN,
        SWITCHBOARD_ALLOW_PRIVATE_URLS="true",
        SWITCHBOARD_OUTBOUND_CA_FILE=str(receiver.ca_file),
        SWITCHBOARD_CALL_TARGET_CACHE_TTL_SECONDS="0",
    ) as stack:
        yield stack


async def scrape(http: httpx.AsyncClient, url: str) -> Samples:
    response = await http.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over every sample whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_metrics_count_what_was_sent_with_bounded_labels(
    running: LiveStack, receiver: HttpsReceiver
) -> None:
    created = await running.create_account("Metrics")
    key = created["api_key"]
    bearer = {"Authorization": f"Bearer {key}"}
    edge = {"Authorization": f"Bearer {EDGE_TOKEN}"}
    urls = {
        "gateway": f"{running.gateway_url}/metrics",
        "registry": f"http://127.0.0.1:{running.ports['registry_metrics']}/metrics",
        "config": f"http://127.0.0.1:{running.ports['config_metrics']}/metrics",
    }
    async with httpx.AsyncClient(base_url=running.gateway_url, timeout=30) as http:
        for url in urls.values():
            assert (await http.get(url)).status_code == 401
            wrong = await http.get(url, headers={"Authorization": f"Bearer {key}"})
            assert wrong.status_code == 401
        identity = (
            await http.post(
                "/api/v1/identities/",
                headers={"X-API-Key": key},
                json={"agent_handle": "metrics-agent"},
            )
        ).json()
        await http.put(
            "/api/v1/phone/incoming-call-action",
            headers={"X-API-Key": key},
            json={
                "agent_identity_id": identity["id"],
                "incoming_call_action": "webhook",
                "incoming_call_webhook_url": receiver.endpoint(Reply.json({"action": "answer"})),
                "client_websocket_url": "wss://agent.example.com/stream",
            },
        )
        strategy = await http.post(
            "/inbound_context_strategy/create",
            headers=bearer,
            json={
                "strategy_name": "CRM",
                "strategy_type": "webhook",
                "strategy_config": {"url": receiver.endpoint(Reply(status=500))},
            },
        )
        number = "+918044" + str(secrets.randbelow(10**6)).zfill(6)
        assigned = await http.post(
            "/inbound/assign",
            headers=bearer,
            json={
                "assistant_id": identity["id"],
                "inbound_context_strategy_id": strategy.json()["data"]["strategy_id"],
                "service": "exotel",
                "inbound_config": {"phone_number": number},
            },
        )
        assert assigned.status_code in (200, 201), assigned.text
        before = {name: await scrape(http, url) for name, url in urls.items()}

        for index in range(ROUTED):
            routed = await http.post(
                "/v1/calls:route",
                headers=edge,
                json={"inbound_number": number, "caller_number": f"{index}", "service": "exotel"},
            )
            assert routed.json()["decision"] == "accept", routed.text
        for _ in range(UNMAPPED):
            unmapped = await http.post(
                "/v1/calls:route",
                headers=edge,
                json={"inbound_number": "+918000000000", "caller_number": "1", "service": "exotel"},
            )
            assert unmapped.json()["reject_reason"] == "no_active_mapping"
        for _ in range(LISTED):
            assert (await http.get("/inbound/list", headers=bearer)).status_code == 200
        after = {name: await scrape(http, url) for name, url in urls.items()}

    def delta(process: str, name: str, **labels: str) -> float:
        return value(after[process], name, **labels) - value(before[process], name, **labels)

    route = {"route": "/v1/calls:route", "method": "POST"}
    assert delta("gateway", "switchboard_http_requests_total", status="200", **route) == (
        ROUTED + UNMAPPED
    )
    assert delta("gateway", "switchboard_http_request_duration_seconds_count", **route) == (
        ROUTED + UNMAPPED
    )
    assert delta("gateway", "switchboard_http_requests_total", route="/inbound/list") == LISTED
    assert value(after["gateway"], "switchboard_http_requests_in_flight") == 1  # this scrape

    calls = {"service": "switchboard.registry.v1.CallRoutingService", "method": "RouteCall"}
    assert delta("registry", "switchboard_rpc_handled_total", code="OK", **calls) == (
        ROUTED + UNMAPPED
    )
    assert delta("registry", "switchboard_rpc_duration_seconds_count", **calls) == (
        ROUTED + UNMAPPED
    )
    decisions = "switchboard_routing_decisions_total"
    assert delta("registry", decisions, verdict="accept", edge_outcome="bridge") == ROUTED
    assert (
        delta(
            "registry",
            decisions,
            verdict="reject",
            reject_reason="no_active_mapping",
            edge_outcome="temporarily_unavailable",
        )
        == UNMAPPED
    )
    assert delta("registry", "switchboard_webhook_requests_total", outcome="answer") == ROUTED
    assert delta("registry", "switchboard_webhook_duration_seconds_count") == ROUTED
    assert delta("registry", "switchboard_context_lookups_total", status="http_error") == ROUTED
    assert delta("registry", "switchboard_context_lookup_duration_seconds_count") == ROUTED
    assert delta("registry", "switchboard_call_target_cache_misses_total") == ROUTED
    assert (
        value(after["registry"], "switchboard_db_pool_connections_in_use", database="registry") >= 0
    )
    resolved = {"service": "switchboard.config.v1.ConfigInternalService"}
    assert (
        delta("config", "switchboard_rpc_handled_total", method="ResolveCallTarget", **resolved)
        == ROUTED
    )

    # Bounded label sets: no number, key or token ever becomes a label value.
    forbidden = (number, number.lstrip("+"), key, EDGE_TOKEN, METRICS_TOKEN, identity["id"])
    for samples in after.values():
        for _name, labels in samples:
            for _label, label_value in labels:
                assert not any(secret in label_value for secret in forbidden), label_value
