"""Outbound URL safety: write-time URL checks and call-time address checks against SSRF."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Final, TypeAlias
from urllib.parse import urlsplit

MAX_URL_LENGTH: Final = 2048
WEBSOCKET_SCHEMES: Final = frozenset({"wss"})
"""Schemes of an agent's WebSocket URL (a call action's, or a webhook's answer)."""
WEBHOOK_SCHEMES: Final = frozenset({"https"})
"""Schemes of an incoming-call webhook URL."""
STRATEGY_SCHEMES: Final = frozenset({"http", "https"})
"""Schemes of a context strategy's lookup URL (Vyom allows both)."""

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

_BLOCKED_V4: Final = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")
_BLOCKED_V6: Final = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
    )
)
_NAT64_V6: Final = ipaddress.IPv6Network("64:ff9b::/96")

_METADATA_HOSTS: Final = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
        "metadata.platformequinix.com",
        "metadata.packet.net",
    }
)
_PRIVATE_SUFFIXES: Final = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "corp",
    "home",
    "lan",
    "home.arpa",
    "svc",
)

_FORBIDDEN_URL_CHARACTERS: Final = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_LABEL: Final = re.compile(r"[0-9]+|0x[0-9a-f]*")
_HOST_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_MAX_HOST_LENGTH: Final = 253


class UnsafeUrl(ValueError):
    """A URL or address the service refuses to call; ``message`` says why and is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_public_address(ip: IPAddress) -> bool:
    """Whether ``ip`` is a publicly routable unicast address.

    Not public: private, loopback, link-local, shared (100.64/10), reserved, documentation,
    benchmarking, multicast, broadcast and unspecified addresses, IPv6 outside 2000::/3 (so
    ULA, including fd00:ec2::254), and IPv6 forms that embed a non-public IPv4 address
    (IPv4-mapped, NAT64 64:ff9b::/96, 6to4). The answer does not depend on the Python version.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return not any(ip in network for network in _BLOCKED_V4)
    if ip.ipv4_mapped is not None:
        return is_public_address(ip.ipv4_mapped)
    if ip in _NAT64_V6:
        return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip not in _GLOBAL_UNICAST_V6 or any(ip in network for network in _BLOCKED_V6):
        return False
    return ip.sixtofour is None or is_public_address(ip.sixtofour)


def validate_outbound_url(url: str, *, schemes: frozenset[str], allow_private: bool) -> str:
    """Return ``url`` unchanged if the service may call it, else raise :class:`UnsafeUrl`.

    Always required: a string of at most :data:`MAX_URL_LENGTH` characters without whitespace,
    control characters or backslashes; a scheme in ``schemes``; a host; no credentials
    (``user:pass@``); a port, if given, in 1-65535; an IPv6 literal without a zone; and an
    IPv4 literal written exactly in ASCII dotted-decimal form (integer, octal, hex, shortened,
    full-width and trailing-dot forms such as ``2130706433`` or ``0x7f.1`` are rejected:
    clients disagree on what they mean). Non-ASCII names are checked in their IDNA form.

    Unless ``allow_private``, the host must also be public: IP literals must pass
    :func:`is_public_address`; names must have a dot, must not be ``localhost``, a cloud
    metadata name, or under a private-use suffix (``.localhost``, ``.local``, ``.internal``
    and similar). Names are not resolved here; see :func:`resolve_public_addresses`.
    """
    if not isinstance(url, str):
        raise UnsafeUrl("URL must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_URL_CHARACTERS.search(url):
        raise UnsafeUrl("URL must not contain whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"URL could not be parsed: {exc}") from exc

    allowed = sorted(scheme.lower() for scheme in schemes)
    if parts.scheme not in allowed:
        raise UnsafeUrl(f"URL scheme must be one of: {', '.join(allowed)}")
    if "@" in parts.netloc:
        raise UnsafeUrl("URL must not contain credentials")
    if port == 0:
        raise UnsafeUrl("URL port must be between 1 and 65535")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("URL has no host")

    if parts.netloc.startswith("["):
        address: IPAddress | None = _parse_ipv6_literal(host)
        name = ""
    else:
        name = _canonical_host_name(host)
        address = ipaddress.IPv4Address(name) if _is_ipv4_literal(name) else None

    if allow_private:
        return url
    if address is not None:
        if not is_public_address(address):
            raise UnsafeUrl(f"URL host {address} is not a public address")
    else:
        _check_public_name(name)
    return url


async def resolve_public_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, or raise :class:`UnsafeUrl` if any is not public.

    For the call-time check: DNS may have changed since the URL was validated. Connect only to
    the addresses returned. Resolution failures propagate as :class:`OSError`
    (:class:`socket.gaierror`).
    """
    loop = asyncio.get_running_loop()
    lookup_host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    infos = await loop.getaddrinfo(lookup_host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        text = str(sockaddr[0])
        try:
            address = ipaddress.ip_address(text)
        except ValueError as exc:
            raise UnsafeUrl(f"{host} resolved to an unrecognised address {text!r}") from exc
        if not is_public_address(address):
            raise UnsafeUrl(f"{host} resolves to {address}, which is not a public address")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise UnsafeUrl(f"{host} resolved to no addresses")
    return addresses


def _parse_ipv6_literal(host: str) -> ipaddress.IPv6Address:
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError as exc:
        raise UnsafeUrl(f"URL host [{host}] is not an IPv6 address") from exc
    if address.scope_id:
        raise UnsafeUrl("URL host must not have an IPv6 zone")
    return address


def _canonical_host_name(host: str) -> str:
    """The ASCII, lower-case form of ``host`` without a trailing dot, as clients would use it."""
    if "%" in host:
        raise UnsafeUrl("URL host must not be percent-encoded")
    try:
        name = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UnsafeUrl("URL host is not a valid host name") from exc
    name = name.removesuffix(".")
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        if name != host or not _is_ipv4_literal(name):
            raise UnsafeUrl("URL host looks numeric but is not a dotted-decimal IPv4 address")
        return name
    if len(name) > _MAX_HOST_LENGTH or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UnsafeUrl("URL host is not a valid host name")
    return name


def _is_ipv4_literal(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def _check_public_name(name: str) -> None:
    if name in _METADATA_HOSTS:
        raise UnsafeUrl(f"URL host {name} is a cloud metadata service")
    for suffix in _PRIVATE_SUFFIXES:
        if name == suffix or name.endswith("." + suffix):
            raise UnsafeUrl(f"URL host {name} is a private-use name")
    if "." not in name:
        raise UnsafeUrl(f"URL host {name} is not a public DNS name")
