"""The shared outgoing client's call-time address checks, redirects and limits."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.urls import UnsafeUrl, is_public_address
from services.registry.call_target import ActionKind, CallAction, Identity
from services.registry.routing import webhook
from services.registry.routing.outbound_http import (
    MAX_REDIRECTS,
    OutboundBlocked,
    OutboundError,
    OutboundHttp,
    OutboundTooLarge,
)
from services.registry.routing.webhook import WebhookVerdict
from tests.support.https_receiver import HttpsReceiver, Reply

SCHEMES = frozenset({"https"})
_FAKE_DNS = {"public.test": "127.0.0.1", "rebind.test": "127.0.0.1"}


async def pretend_dns(host: str, port: int) -> list[str]:
    """``public.test`` counts as public; every other answer must pass the real check."""
    address = _FAKE_DNS.get(host, host)
    if host != "public.test" and not is_public_address(ipaddress.ip_address(address)):
        raise UnsafeUrl(f"{host} resolves to {address}, which is not a public address")
    return [address]


def client(ca_file: Path, **options: object) -> OutboundHttp:
    options.setdefault("allow_private", False)
    options.setdefault("max_response_bytes", 64 * 1024)
    return OutboundHttp(ca_file=ca_file, **options)  # type: ignore[arg-type]


@pytest.fixture
async def guarded(receiver: HttpsReceiver) -> AsyncIterator[OutboundHttp]:
    http = client(receiver.ca_file, resolver=pretend_dns)
    yield http
    await http.close()


async def test_private_addresses_are_refused_with_the_default_resolver(
    receiver: HttpsReceiver,
) -> None:
    url = receiver.endpoint(Reply.json({}))
    http = client(receiver.ca_file)
    try:
        for target in (url, url.replace("127.0.0.1", "localhost")):
            with pytest.raises(OutboundBlocked):
                await http.post_json(target, b"{}", headers={}, budget=2, schemes=SCHEMES)
    finally:
        await http.close()
    assert receiver.received(url) == []


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect_time(
    receiver: HttpsReceiver, guarded: OutboundHttp
) -> None:
    url = receiver.endpoint(Reply.json({}))
    with pytest.raises(OutboundBlocked):
        await guarded.post_json(
            url.replace("127.0.0.1", "rebind.test"), b"{}", headers={}, budget=2, schemes=SCHEMES
        )
    assert receiver.received(url) == []


async def test_the_checked_host_is_reached_with_its_name_for_tls(
    receiver: HttpsReceiver, guarded: OutboundHttp
) -> None:
    url = receiver.endpoint(Reply.json({"ok": True}))
    response = await guarded.post_json(
        url.replace("127.0.0.1", "public.test"), b"{}", headers={}, budget=2, schemes=SCHEMES
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {"ok": True}
    [request] = receiver.received(url)
    assert request.headers["host"] == f"public.test:{receiver.port}"


@pytest.mark.parametrize("private_host", ["127.0.0.1", "localhost", "rebind.test"])
async def test_redirect_from_a_public_host_to_a_private_address_is_refused(
    receiver: HttpsReceiver, guarded: OutboundHttp, private_host: str
) -> None:
    private = receiver.endpoint(Reply.json({"action": "answer"}))
    start = receiver.endpoint(Reply.redirect(private.replace("127.0.0.1", private_host)))
    with pytest.raises(OutboundBlocked):
        await guarded.post_json(
            start.replace("127.0.0.1", "public.test"),
            b"{}",
            headers={},
            budget=2,
            schemes=SCHEMES,
        )
    assert len(receiver.received(start)) == 1
    assert receiver.received(private) == []


async def test_webhook_redirected_to_a_private_address_fails(
    receiver: HttpsReceiver, guarded: OutboundHttp
) -> None:
    private = receiver.endpoint(Reply.json({"action": "answer"}))
    start = receiver.endpoint(Reply.redirect(private))
    url = start.replace("127.0.0.1", "public.test")
    action = CallAction(
        ActionKind.WEBHOOK,
        webhook_url=url,
        client_websocket_url="wss://agent.example.com/s",
    )
    result = await webhook.ask(
        guarded,
        url,
        call_id="c",
        local_number="+918044319240",
        remote_number="+919900000001",
        identity=Identity(id="i", account_id="a", agent_handle="h", display_name="d"),
        action=action,
        secret=None,
    )
    assert result.verdict is WebhookVerdict.FAILED
    assert result.detail is not None and "refused" in result.detail
    assert receiver.received(private) == []


async def test_redirect_chains_are_bounded(receiver: HttpsReceiver) -> None:
    http = client(receiver.ca_file, allow_private=True)
    url = receiver.endpoint(Reply.json({}))
    for _ in range(MAX_REDIRECTS + 1):
        url = receiver.endpoint(Reply.redirect(url))
    try:
        with pytest.raises(OutboundError, match="redirects"):
            await http.post_json(url, b"{}", headers={}, budget=5, schemes=SCHEMES)
    finally:
        await http.close()


async def test_response_bodies_are_capped(receiver: HttpsReceiver) -> None:
    http = client(receiver.ca_file, allow_private=True, max_response_bytes=1024)
    try:
        small = receiver.endpoint(Reply(body=b"x" * 1024))
        assert (await http.post_json(small, b"{}", headers={}, budget=5, schemes=SCHEMES)).content
        big = receiver.endpoint(Reply(body=b"x" * 1025))
        with pytest.raises(OutboundTooLarge):
            await http.post_json(big, b"{}", headers={}, budget=5, schemes=SCHEMES)
    finally:
        await http.close()


async def test_untrusted_certificates_are_refused(receiver: HttpsReceiver) -> None:
    http = OutboundHttp(allow_private=True, max_response_bytes=1024)
    try:
        with pytest.raises(OutboundError):
            await http.post_json(
                receiver.endpoint(Reply.json({})), b"{}", headers={}, budget=5, schemes=SCHEMES
            )
    finally:
        await http.close()
