"""The registry's one outgoing HTTP client: pooled, SSRF-guarded at connect time, size-capped.

Every webhook and context-strategy request goes through :class:`OutboundHttp`:

* one ``httpx.AsyncClient`` per process (connection pooling), created at start-up and
  closed when the server stops;
* the host of every connection is resolved and checked when the connection is opened
  (not only when the URL was saved), and the socket goes to an address that passed the
  check, while TLS SNI, certificate verification and ``Host`` keep the original name, so
  a DNS answer that changes between check and connect cannot bypass it;
* redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each hop re-validated;
  the caller's headers (a strategy's configured credentials, a webhook's signature) go only
  to the configured URL's origin (scheme, host, port): from the first hop that leaves it,
  none of them is sent again (httpx alone drops only ``Authorization``);
* no cookie is ever kept: the client is shared by every account, so a cookie one site
  sets must not ride along on another account's request to it;
* the response body is streamed and abandoned past ``max_response_bytes``;
* the whole exchange (connect, redirects, slow-drip bodies) runs under one time budget.

Nothing here logs URLs' query strings, headers or bodies.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any, Final

import certifi
import httpcore
import httpx

from services.common.urls import UnsafeUrl, resolve_public_addresses, validate_outbound_url

MAX_REDIRECTS: Final = 3
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_PROTOCOL_HEADERS: Final = frozenset(
    {"host", "content-type", "content-length", "transfer-encoding"}
)
"""Headers httpx itself sets for each hop; the caller's other headers are its credentials."""

AddressResolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> addresses to connect to``; raises :class:`UnsafeUrl` to refuse the host."""


class OutboundError(Exception):
    """An outgoing request failed; ``message`` is safe to return to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutboundTimeout(OutboundError):
    """The exchange did not finish within its budget."""


class OutboundBlocked(OutboundError):
    """A URL or address (first hop or a redirect) was refused as unsafe; nothing was sent there."""


class OutboundTooLarge(OutboundError):
    """The response body exceeded the size cap."""


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    """The final (non-redirect) response: status and the complete, capped body."""

    status_code: int
    content: bytes


async def _unchecked(host: str, port: int) -> list[str]:
    return [host]


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the scheme's default port filled in."""
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


class _NoCookies(CookieJar):
    """A cookie jar that never stores anything."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the resolver approved."""

    def __init__(self, resolve: AddressResolver) -> None:
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure or httpcore.ConnectError(f"could not connect to {host}")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class OutboundHttp:
    """The shared outgoing client (see the module docstring for the guarantees)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        max_response_bytes: int,
        max_connections: int = 100,
        ca_file: Path | None = None,
        resolver: AddressResolver | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._max_bytes = max_response_bytes
        if resolver is None:
            resolver = _unchecked if allow_private else resolve_public_addresses
        context = _ssl_context(ca_file)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False, limits=limits)
        # httpx has no public hook for the network backend; swap in a pool using ours.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(resolver),
        )
        self._client = httpx.AsyncClient(
            transport=transport, trust_env=False, follow_redirects=False, cookies=_NoCookies()
        )

    @property
    def allow_private(self) -> bool:
        """Whether private, loopback and link-local hosts may be contacted."""
        return self._allow_private

    async def close(self) -> None:
        """Close pooled connections (on server stop)."""
        await self._client.aclose()

    async def post_json(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str],
        budget: float,
        schemes: frozenset[str],
    ) -> OutboundResponse:
        """POST ``body`` (JSON) to ``url`` within ``budget`` seconds, following safe redirects.

        Raises :class:`OutboundTimeout`, :class:`OutboundBlocked`, :class:`OutboundTooLarge`
        or :class:`OutboundError` (connection, TLS, protocol or too many redirects).
        """
        try:
            async with asyncio.timeout(budget):
                return await self._exchange(url, body, headers, budget, schemes)
        except TimeoutError:
            raise OutboundTimeout(f"no complete answer within {budget:g} s") from None
        except UnsafeUrl as error:
            raise OutboundBlocked(f"refused unsafe address: {error.message}") from None
        except httpx.TimeoutException:
            raise OutboundTimeout(f"no complete answer within {budget:g} s") from None
        except httpx.HTTPError as error:
            raise OutboundError(f"request failed: {type(error).__name__}") from None
        except OSError as error:
            raise OutboundError(f"request failed: {type(error).__name__}") from None

    async def _exchange(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        budget: float,
        schemes: frozenset[str],
    ) -> OutboundResponse:
        request = self._client.build_request(
            "POST",
            url,
            content=body,
            headers={**headers, "content-type": "application/json"},
            timeout=httpx.Timeout(budget),
        )
        home = origin(request.url)
        left_home = False
        for _hop in range(MAX_REDIRECTS + 1):
            validate_outbound_url(
                str(request.url), schemes=schemes, allow_private=self._allow_private
            )
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code in _REDIRECT_STATUSES and response.next_request:
                    request = response.next_request
                    left_home = left_home or origin(request.url) != home
                    if left_home:
                        for name in headers:
                            if name.lower() not in _PROTOCOL_HEADERS:
                                request.headers.pop(name, None)
                    continue
                return OutboundResponse(response.status_code, await self._read_capped(response))
            finally:
                await response.aclose()
        raise OutboundError(f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise OutboundTooLarge(f"response body larger than {self._max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise OutboundTooLarge(f"response body larger than {self._max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
