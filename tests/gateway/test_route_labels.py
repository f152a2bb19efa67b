"""Every documented route is labelled (metrics, log lines) by its full path template.

The gateway's routers are included with prefixes (``/api/v1``, ``/api``); the label must be
the template a reader finds in the OpenAPI document, never the path inside its router and
never the raw path (which can carry a secret such as the Exotel edge token).
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from gateway.app import create_app

_PARAMETER = re.compile(r"\{[^}]+\}")


def labelled_routes() -> set[tuple[str, str]]:
    return {
        (sample.labels["route"], sample.labels["method"])
        for family in REGISTRY.collect()
        if family.name == "switchboard_http_requests"
        for sample in family.samples
        if sample.name == "switchboard_http_requests_total"
    }


def test_each_documented_route_is_labelled_by_its_full_template() -> None:
    app = create_app()
    document = app.openapi()
    expected: set[tuple[str, str]] = set()
    with TestClient(app, raise_server_exceptions=False) as client:
        for template, operations in document["paths"].items():
            path = _PARAMETER.sub("label-check", template)
            for method in operations:
                if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                    continue
                client.request(method.upper(), path)  # unauthenticated: any answer will do
                expected.add((template, method.upper()))
    assert any(template.startswith("/api/v1/") for template, _ in expected)
    assert ("/api/whoami", "GET") in expected
    missing = expected - labelled_routes()
    assert not missing, f"routes not labelled by their template: {sorted(missing)}"
