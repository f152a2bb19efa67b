"""Malformed input on every Vyom route: always the error envelope, never a 5xx."""

from __future__ import annotations

import uuid

import pytest

from tests.services.registry.factories import Tenant
from tests.support.stack import Stack

SOME_ID = str(uuid.uuid4())
BODY_ROUTES = [
    ("POST", "/inbound/assign"),
    ("PATCH", f"/inbound/update/{SOME_ID}"),
    ("POST", "/inbound_context_strategy/create"),
    ("PATCH", f"/inbound_context_strategy/update/{SOME_ID}"),
]
STRATEGY = (
    b'{"strategy_name": "n", "strategy_type": "webhook", '
    b'"strategy_config": {"url": "https://a.example.com", %s}}'
)
BODIES = [
    b"",
    b"not json",
    b"{",
    b"null",
    b"[]",
    b"[1, 2]",
    b'"text"',
    b"42",
    b"{}",
    b'{"assistant_id": null, "service": null, "inbound_config": null}',
    b'{"assistant_id": 1, "service": ["exotel"], "inbound_config": "x"}',
    b'{"assistant_id": "\\ud800", "service": "exotel", "inbound_config": {"phone_number": "1"}}',
    b'{"assistant_id": "a\\u0000b", "service": "exotel", "inbound_config": '
    b'{"phone_number": "\\u0000"}}',
    b'{"inbound_config": {"phone_number": {"nested": true}}, "service": "exotel", '
    b'"assistant_id": "x"}',
    b'{"strategy_name": "\\ud83d", "strategy_type": "webhook", "strategy_config": {"url": "x"}}',
    STRATEGY % b'"timeout_seconds": NaN',
    STRATEGY % b'"timeout_seconds": Infinity',
    STRATEGY % b'"headers": {"\\ud800": "v"}',
    STRATEGY % b'"headers": {"X": "\\u0000"}',
    STRATEGY % b'"headers": [1]',
    b'{"strategy_type": "webhook", "strategy_config": {"headers": {"X": 5}}}',
    b'{"strategy_name": "' + b"n" * 100_000 + b'"}',
    b'{"assistant_id": "'
    + b"9" * 100_000
    + b'", "service": "exotel", "inbound_config": {"phone_number": "1"}}',
    b"\xff\xfe\x00garbage",
    b'{"a": ' * 500 + b"1" + b"}" * 500,
]
PATH_IDS = ["x", "%00", "..%2F..", "a" * 5000, "%F0%9F%98%80", "%ED%A0%80"]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_malformed_bodies_get_the_error_envelope(
    stack: Stack, tenant: Tenant, method: str, path: str
) -> None:
    for body in BODIES:
        response = await stack.http.request(
            method,
            path,
            content=body,
            headers={**tenant.headers, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, (body[:80], response.text)
        envelope = response.json()
        assert envelope["success"] is False
        assert set(envelope) == {"success", "message", "data"}


async def test_odd_path_ids_and_queries_get_the_error_envelope(
    stack: Stack, tenant: Tenant
) -> None:
    for raw_id in PATH_IDS:
        for method, path in (
            ("POST", f"/inbound/detach/{raw_id}"),
            ("DELETE", f"/inbound/delete/{raw_id}"),
            ("GET", f"/inbound_context_strategy/details/{raw_id}"),
            ("DELETE", f"/inbound_context_strategy/delete/{raw_id}"),
        ):
            response = await stack.http.request(method, path, headers=tenant.headers)
            assert 400 <= response.status_code < 500, (path[:80], response.text)
    for query in (
        "?page_size=1&page_token=%00",
        "?page_size=1&page_token=" + "A" * 10_000,
        "?assistant_id=%ED%A0%80",
        "?page_size=1&page_token=eyJ2IjoxfQ",
    ):
        response = await stack.http.get(f"/inbound/list{query}", headers=tenant.headers)
        assert 400 <= response.status_code < 500, (query[:80], response.text)
        assert response.json()["success"] is False
    huge = await stack.http.get(
        "/inbound/list?page_size=99999999999999999999", headers=tenant.headers
    )
    assert huge.status_code == 200  # capped at the largest page, like the gRPC page_size
