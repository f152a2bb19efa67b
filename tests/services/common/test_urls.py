"""Tests for outbound URL safety checks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import pytest

from services.common.urls import (
    MAX_URL_LENGTH,
    UnsafeUrl,
    is_public_address,
    resolve_public_addresses,
    validate_outbound_url,
)

HTTPS = frozenset({"https"})
WSS = frozenset({"wss"})
HTTP_OR_HTTPS = frozenset({"http", "https"})


def check(url: str, schemes: frozenset[str] = HTTPS, *, allow_private: bool = False) -> str:
    return validate_outbound_url(url, schemes=schemes, allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "schemes"),
    [
        ("https://example.com/hook", HTTPS),
        ("https://hooks.example.com:8443/a/b?c=d#e", HTTPS),
        ("HTTPS://Example.COM/Path", HTTPS),
        ("https://example.com./hook", HTTPS),
        ("https://my_host.example.com/", HTTPS),
        ("wss://agent.example.com/media?call=1", WSS),
        ("http://example.com/context", HTTP_OR_HTTPS),
        ("https://example.com/context", HTTP_OR_HTTPS),
        ("https://93.184.216.34/hook", HTTPS),
        ("https://8.8.8.8:443/", HTTPS),
        ("https://[2606:2800:220:1:248:1893:25c8:1946]/hook", HTTPS),
        ("https://[::ffff:93.184.216.34]/", HTTPS),
        ("https://bücher.example/", HTTPS),
        ("https://xn--bcher-kva.example/", HTTPS),
        ("https://example.com/caf%C3%A9", HTTPS),
        ("https://localhost.example.com/", HTTPS),
        ("https://metadata.example.com/", HTTPS),
    ],
)
def test_public_urls_are_returned_unchanged(url: str, schemes: frozenset[str]) -> None:
    assert check(url, schemes) == url


@pytest.mark.parametrize(
    ("url", "schemes"),
    [
        ("http://example.com/", HTTPS),
        ("wss://example.com/", HTTPS),
        ("https://example.com/", WSS),
        ("ws://example.com/", WSS),
        ("ftp://example.com/", HTTP_OR_HTTPS),
        ("file:///etc/passwd", HTTP_OR_HTTPS),
        ("gopher://example.com/", HTTP_OR_HTTPS),
        ("javascript:alert(1)", HTTP_OR_HTTPS),
        ("example.com/hook", HTTPS),
        ("//example.com/hook", HTTPS),
    ],
)
def test_scheme_must_be_allowed(url: str, schemes: frozenset[str]) -> None:
    with pytest.raises(UnsafeUrl, match="scheme"):
        check(url, schemes)
    with pytest.raises(UnsafeUrl, match="scheme"):
        check(url, schemes, allow_private=True)


def test_allowed_schemes_are_case_insensitive() -> None:
    assert check("https://example.com/", frozenset({"HTTPS"})) == "https://example.com/"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("", id="empty"),
        pytest.param("https://", id="no-host"),
        pytest.param("https:///path", id="empty-authority"),
        pytest.param("https:example.com", id="no-slashes"),
        pytest.param("https://:443/", id="port-only"),
        pytest.param("https://user:pass@example.com/", id="credentials"),
        pytest.param("https://user@example.com/", id="username"),
        pytest.param("https://@example.com/", id="empty-userinfo"),
        pytest.param("https://example.com@127.0.0.1/", id="userinfo-disguise"),
        pytest.param("https://example.com\\@127.0.0.1/", id="backslash"),
        pytest.param("https://example.com/a b", id="space"),
        pytest.param(" https://example.com/", id="leading-space"),
        pytest.param("https://example.com/\r\nHost: x", id="crlf"),
        pytest.param("https://exa\tmple.com/", id="tab"),
        pytest.param("https://example.com:0/", id="port-zero"),
        pytest.param("https://example.com:65536/", id="port-too-big"),
        pytest.param("https://example.com:http/", id="port-not-numeric"),
        pytest.param("https://[::1/", id="unclosed-bracket"),
        pytest.param("https://[example.com]/", id="bracketed-name"),
        pytest.param("https://[fe80::1%25eth0]/", id="ipv6-zone"),
        pytest.param("https://exa%6dple.com/", id="percent-encoded-host"),
        pytest.param("https://exa..mple.com/", id="empty-label"),
        pytest.param("https://-example.com/", id="leading-hyphen"),
        pytest.param("https://" + "a" * 64 + ".com/", id="label-too-long"),
        pytest.param("https://example.com/" + "a" * MAX_URL_LENGTH, id="too-long"),
    ],
)
def test_malformed_urls_are_rejected_even_when_private_hosts_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check(url, allow_private=True)


def test_url_of_exactly_the_maximum_length_is_accepted() -> None:
    url = "https://example.com/"
    url += "a" * (MAX_URL_LENGTH - len(url))
    assert check(url) == url


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "metadata",
        "metadata.google.internal",
        "metadata.google.internal.",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "printer.local",
        "db.localdomain",
        "router.home.arpa",
        "kubernetes.default.svc",
        "intranet",
        "redis",
        "ｌｏｃａｌｈｏｓｔ",  # noqa: RUF001
    ],
)
def test_private_and_metadata_names_are_rejected(host: str) -> None:
    url = f"https://{host}/hook"
    with pytest.raises(UnsafeUrl, match="host"):
        check(url)
    assert check(url, allow_private=True) == url


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("127.255.255.254", id="loopback-range"),
        pytest.param("10.0.0.1", id="rfc1918-10"),
        pytest.param("172.16.0.1", id="rfc1918-172"),
        pytest.param("172.31.255.255", id="rfc1918-172-top"),
        pytest.param("192.168.1.1", id="rfc1918-192"),
        pytest.param("169.254.169.254", id="aws-metadata"),
        pytest.param("169.254.0.1", id="link-local"),
        pytest.param("100.64.0.1", id="shared-cgnat"),
        pytest.param("100.100.100.200", id="alibaba-metadata"),
        pytest.param("192.0.0.192", id="oracle-metadata"),
        pytest.param("0.0.0.0", id="unspecified"),
        pytest.param("0.1.2.3", id="this-network"),
        pytest.param("224.0.0.1", id="multicast"),
        pytest.param("239.255.255.250", id="multicast-ssdp"),
        pytest.param("240.0.0.1", id="reserved"),
        pytest.param("255.255.255.255", id="broadcast"),
        pytest.param("192.0.2.1", id="documentation"),
        pytest.param("198.18.0.1", id="benchmarking"),
        pytest.param("[::1]", id="v6-loopback"),
        pytest.param("[::]", id="v6-unspecified"),
        pytest.param("[fe80::1]", id="v6-link-local"),
        pytest.param("[fc00::1]", id="v6-ula"),
        pytest.param("[fd00:ec2::254]", id="aws-metadata-v6"),
        pytest.param("[fec0::1]", id="v6-site-local"),
        pytest.param("[ff02::1]", id="v6-multicast"),
        pytest.param("[2001:db8::1]", id="v6-documentation"),
        pytest.param("[::ffff:127.0.0.1]", id="v4-mapped-loopback"),
        pytest.param("[::ffff:7f00:1]", id="v4-mapped-loopback-hex"),
        pytest.param("[::ffff:169.254.169.254]", id="v4-mapped-metadata"),
        pytest.param("[::ffff:10.0.0.1]", id="v4-mapped-private"),
        pytest.param("[::127.0.0.1]", id="v4-compatible"),
        pytest.param("[64:ff9b::7f00:1]", id="nat64-loopback"),
        pytest.param("[2002:7f00:1::1]", id="6to4-loopback"),
        pytest.param("[2002:a9fe:a9fe::1]", id="6to4-metadata"),
        pytest.param("[2001:0:4136:e378:8000:63bf:3fff:fdd2]", id="teredo"),
        pytest.param("[::ffff:127.0.0.1]:8080", id="v4-mapped-with-port"),
        pytest.param("127.0.0.1:443", id="loopback-with-port"),
    ],
)
def test_non_public_ip_literals_are_rejected(host: str) -> None:
    url = f"https://{host}/hook"
    with pytest.raises(UnsafeUrl, match="not a public address"):
        check(url)
    assert check(url, allow_private=True) == url


@pytest.mark.parametrize(
    "host",
    [
        "2130706433",
        "0x7f000001",
        "017700000001",
        "0x7f.1",
        "127.1",
        "127.0.1",
        "0177.0.0.1",
        "0127.0.0.1",
        "127.000.000.001",
        "0x7f.0x0.0x0.0x1",
        "0xa9.0xfe.0xa9.0xfe",
        "3232235777",
        "1.2.3.4.5",
        "example.123",
        "example.0x1",
        "256.0.0.1",
        "１２７.０.０.１",  # noqa: RUF001
        "127。0。0。1",
        "127.0.0.1.",
        "93.184.216.34.",
        "0",
        "0x",
    ],
)
def test_non_canonical_numeric_hosts_are_rejected(host: str) -> None:
    url = f"https://{host}/hook"
    with pytest.raises(UnsafeUrl):
        check(url)
    with pytest.raises(UnsafeUrl):
        check(url, allow_private=True)


def test_private_addresses_pass_when_allowed() -> None:
    for url in (
        "http://localhost:8080/hook",
        "http://127.0.0.1:8080/hook",
        "http://[::1]:8080/hook",
        "http://10.1.2.3/hook",
    ):
        assert validate_outbound_url(url, schemes=HTTP_OR_HTTPS, allow_private=True) == url


def test_unsafe_url_is_a_value_error_with_a_message() -> None:
    with pytest.raises(UnsafeUrl) as caught:
        check("https://127.0.0.1/")
    assert isinstance(caught.value, ValueError)
    assert caught.value.message == str(caught.value)
    assert "127.0.0.1" in caught.value.message


def test_non_string_url_is_rejected() -> None:
    bad: Any = b"https://example.com/"
    with pytest.raises(UnsafeUrl, match="string"):
        check(bad)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("100.63.255.255", True),
        ("100.128.0.0", True),
        ("172.15.255.255", True),
        ("172.32.0.0", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("2001:4860:4860::8888", True),
        ("::ffff:93.184.216.34", True),
        ("64:ff9b::808:808", True),
        ("2002:5db8:d822::1", True),
        ("127.0.0.1", False),
        ("100.64.0.0", False),
        ("100.127.255.255", False),
        ("169.254.169.254", False),
        ("fd00:ec2::254", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("64:ff9b:1::1", False),
        ("100::1", False),
        ("3fff::1", False),
        ("::ffff:100.64.0.1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


async def test_resolving_localhost_is_refused() -> None:
    with pytest.raises(UnsafeUrl, match="not a public address"):
        await resolve_public_addresses("localhost", 443)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "::1", "2130706433", "169.254.169.254"])
async def test_resolving_private_literals_is_refused(host: str) -> None:
    with pytest.raises(UnsafeUrl):
        await resolve_public_addresses(host, 443)


async def test_resolving_a_public_literal_returns_it() -> None:
    assert await resolve_public_addresses("93.184.216.34", 443) == ["93.184.216.34"]


async def test_resolving_a_bracketed_public_v6_literal_returns_it() -> None:
    address = "2606:2800:220:1:248:1893:25c8:1946"
    assert await resolve_public_addresses(f"[{address}]", 443) == [address]


def fake_getaddrinfo(
    monkeypatch: pytest.MonkeyPatch, addresses: Sequence[str]
) -> list[tuple[str, int]]:
    calls: list[tuple[str, int]] = []

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        calls.append((host, port))
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
            for address in addresses
        ]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    return calls


async def test_a_name_resolving_to_public_addresses_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = fake_getaddrinfo(
        monkeypatch, ["93.184.216.34", "93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    )
    result = await resolve_public_addresses("hooks.example.com", 8443)
    assert result == ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    assert calls == [("hooks.example.com", 8443)]


@pytest.mark.parametrize(
    "addresses",
    [
        ["93.184.216.34", "10.0.0.1"],
        ["169.254.169.254"],
        ["93.184.216.34", "::ffff:127.0.0.1"],
        ["fd00:ec2::254"],
    ],
)
async def test_a_name_with_any_non_public_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, addresses: list[str]
) -> None:
    fake_getaddrinfo(monkeypatch, addresses)
    with pytest.raises(UnsafeUrl, match=r"rebind\.example\.com"):
        await resolve_public_addresses("rebind.example.com", 443)


async def test_a_name_resolving_to_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_getaddrinfo(monkeypatch, [])
    with pytest.raises(UnsafeUrl, match="no addresses"):
        await resolve_public_addresses("empty.example.com", 443)


async def test_resolution_failure_propagates_as_os_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(host: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(OSError):
        await resolve_public_addresses("missing.example.com", 443)
