"""The metrics port of a gRPC service: ``GET /metrics`` (Prometheus text), bearer-token guarded."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from dataclasses import dataclass
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

_log = logging.getLogger(__name__)
_MAX_HEAD_BYTES: Final = 16 * 1024
_READ_TIMEOUT_SECONDS: Final = 5.0


def credential_matches(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <token>`` (constant-time compare)."""
    if not token or not authorization:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


@dataclass
class MetricsServer:
    """A listening metrics endpoint; :meth:`close` on shutdown."""

    server: asyncio.Server
    port: int

    async def close(self) -> None:
        """Stop listening and wait for open exchanges to finish."""
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), timeout=1)


async def start_metrics_server(host: str, port: int, token: str | None) -> MetricsServer:
    """Serve ``GET /metrics`` on ``host:port`` (0: ephemeral) to ``Authorization: Bearer token``.

    With no token configured every scrape is refused (401): metrics are never open.
    """

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(
                reader.readuntil(b"\r\n\r\n"), timeout=_READ_TIMEOUT_SECONDS
            )
            status, body, content_type = _answer(head[:_MAX_HEAD_BYTES], token)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            status, body, content_type = 400, b"bad request\n", "text/plain"
        try:
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(exchange, host, port, limit=_MAX_HEAD_BYTES)
    bound = int(server.sockets[0].getsockname()[1])
    return MetricsServer(server, bound)


_REASONS: Final = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}


def _answer(head: bytes, token: str | None) -> tuple[int, bytes, str]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return 400, b"bad request\n", "text/plain"
    method, target, _version = parts
    authorization: str | None = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "authorization":
            authorization = value.strip()
    if not credential_matches(authorization, token):
        return 401, b"metrics need Authorization: Bearer <metrics token>\n", "text/plain"
    if method != "GET" or target.split("?", 1)[0] != "/metrics":
        return 404, b"not found\n", "text/plain"
    return 200, generate_latest(), CONTENT_TYPE_LATEST


async def start_if_enabled(
    *, enabled: bool, host: str, port: int, token: str | None, process: str
) -> MetricsServer | None:
    """The process's metrics server, or None when disabled or its port is taken (logged)."""
    if not enabled:
        return None
    try:
        return await start_metrics_server(host, port, token)
    except OSError as error:
        _log.error("%s metrics port %s:%d unavailable: %s", process, host, port, error.strerror)
        return None
