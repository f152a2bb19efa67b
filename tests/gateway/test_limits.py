"""Oversized requests: 413 (body), 414 (URL), 431 (headers) in the dialect, never a reset."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway.settings import GatewaySettings
from tests.support.stack import Stack

LIMITS = GatewaySettings()
INKBOX_PATH = "/api/v1/identities/"
VYOM_PATH = "/inbound/assign"
GET_PATHS = [INKBOX_PATH, "/inbound/list"]


async def raw_request(stack: Stack, head: bytes, body: bytes = b"") -> tuple[int, Any]:
    """Send bytes over a fresh TCP connection; the status and JSON body of the answer.

    httpx refuses URLs over 64 KB, so the oversized requests are written by hand.
    """
    url = urlsplit(stack.gateway_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=60)
    finally:
        writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload)


def request_head(method: str, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: gateway", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_dialect(path: str, body: Any, message_part: str) -> None:
    if path.startswith("/inbound"):
        assert body["success"] is False
        assert set(body) == {"success", "message", "data"}
        assert message_part in body["message"]
    else:
        assert set(body) == {"detail"}
        assert message_part in body["detail"]


@pytest.mark.parametrize("path", GET_PATHS)
async def test_a_200_kb_url_is_414(stack: Stack, path: str) -> None:
    target = f"{path}?padding={'a' * 200_000}"
    status, body = await raw_request(stack, request_head("GET", target, {"X-API-Key": "k"}))
    assert status == 414
    assert_dialect(path, body, "URL exceeds")


async def test_an_unknown_long_path_is_414_too(stack: Stack) -> None:
    status, body = await raw_request(stack, request_head("GET", "/" + "x" * 20_000, {}))
    assert status == 414
    assert set(body) == {"detail"}


@pytest.mark.parametrize("path", GET_PATHS)
async def test_oversized_headers_are_431(stack: Stack, path: str) -> None:
    headers = {"X-API-Key": "k", "X-Padding": "p" * (LIMITS.max_request_header_bytes + 1)}
    status, body = await raw_request(stack, request_head("GET", path, headers))
    assert status == 431
    assert_dialect(path, body, "headers exceed")


@pytest.mark.parametrize("path", GET_PATHS)
async def test_headers_beyond_the_http_parsers_own_bound_are_431(stack: Stack, path: str) -> None:
    """Past ~80 KB the parser itself gives up, before the app: still 431 in the dialect."""
    headers = {"X-API-Key": "k", "X-Padding": "p" * 200_000}
    status, body = await raw_request(stack, request_head("GET", path, headers))
    assert status == 431
    assert_dialect(path, body, "headers exceed")


async def test_a_head_that_is_not_http_is_a_json_400(stack: Stack) -> None:
    status, body = await raw_request(stack, b"GET /api/v1/identities/ HTTP/1.1\r\nHost x\r\n\r\n")
    assert status == 400
    assert body == {"detail": "invalid HTTP request"}


@pytest.mark.parametrize("path", [INKBOX_PATH, VYOM_PATH])
async def test_an_oversized_body_is_413_whatever_its_credential(stack: Stack, path: str) -> None:
    payload = json.dumps({"agent_handle": "a" * (LIMITS.max_request_body_bytes + 1)}).encode()
    for headers in ({}, {"X-API-Key": "x"}, {"Authorization": "Bearer x"}):
        response = await stack.http.post(
            path, content=payload, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, response.text
        assert_dialect(path, response.json(), "body exceeds")


async def test_an_oversized_chunked_body_is_413(stack: Stack) -> None:
    chunk = b"a" * 65536

    async def chunks() -> Any:
        for _ in range(LIMITS.max_request_body_bytes // len(chunk) + 2):
            yield chunk

    response = await stack.http.post(
        VYOM_PATH, content=chunks(), headers={"Authorization": "Bearer x"}
    )
    assert response.status_code == 413
    assert_dialect(VYOM_PATH, response.json(), "body exceeds")


async def test_a_ten_megabyte_body_gets_its_answer(stack: Stack) -> None:
    response = await stack.http.post(
        INKBOX_PATH, content=b"{" * 10_000_000, headers={"X-API-Key": "x"}
    )
    assert response.status_code == 413


async def test_a_chunked_body_within_the_limit_is_served(stack: Stack, account: Any) -> None:
    async def chunks() -> Any:
        yield b'{"agent_handle": '
        yield b'"chunked-body-ok"}'

    response = await stack.http.post(
        INKBOX_PATH,
        content=chunks(),
        headers={"X-API-Key": account.api_key, "Content-Type": "application/json"},
    )
    assert response.status_code in (201, 409), response.text


async def test_an_overlong_credential_is_401_not_429(stack: Stack) -> None:
    for headers in ({"X-API-Key": "k" * 12_000}, {"Authorization": "Bearer " + "k" * 12_000}):
        response = await stack.http.get(INKBOX_PATH, headers=headers)
        assert response.status_code == 401, response.text
        vyom = await stack.http.get("/inbound/list", headers=headers)
        assert vyom.status_code == 401, vyom.text
