"""Calling the gRPC services from a route: credentials forwarded, failures made domain-like."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from fastapi import Request

from gateway.upstream import Upstreams
from services.common.auth import (
    API_KEY_HEADER,
    AUTHORIZATION_HEADER,
    EDGE_TOKEN_HEADER,
    MAX_CREDENTIAL_LENGTH,
)
from services.common.errors import InvalidArgument
from services.common.observability import request_context
from services.common.rpc.error_codec import from_rpc_error
from services.common.storage.idempotency import KEY_REUSED_REASON

Response = TypeVar("Response")

_FORWARDED_HEADERS = (API_KEY_HEADER, AUTHORIZATION_HEADER, EDGE_TOKEN_HEADER)

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    # The gateway never cancels its own calls: CANCELLED means the service was stopping.
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
"""Default HTTP status of each gRPC code; a dialect may override per reason."""

HTTP_STATUS_BY_REASON = {KEY_REUSED_REASON: 422}
"""Reasons whose HTTP status is the same in every dialect, whatever their gRPC code."""


@dataclass(frozen=True)
class UpstreamError(Exception):
    """A gRPC call failed; carries what a dialect needs to render it."""

    code: grpc.StatusCode
    message: str
    reason: str | None = None
    violations: tuple[tuple[str, str], ...] = field(default=())

    @property
    def http_status(self) -> int:
        """The HTTP status this code maps to by default."""
        if self.reason in HTTP_STATUS_BY_REASON:
            return HTTP_STATUS_BY_REASON[self.reason]
        return HTTP_STATUS.get(self.code, 502)


def upstreams(request: Request) -> Upstreams:
    """The app's channels to the services."""
    found: Upstreams = request.app.state.upstreams
    return found


def metadata_value(value: str, what: str) -> str:
    """``value`` if gRPC can send it as metadata (printable ASCII), else a 401 UpstreamError.

    HTTP headers and paths may carry other characters, or be longer than the services'
    metadata limit; no valid credential does either.
    """
    # ASCII and printable: " " to "~", what gRPC metadata values may hold.
    if len(value) > MAX_CREDENTIAL_LENGTH or not (value.isascii() and value.isprintable()):
        raise UpstreamError(grpc.StatusCode.UNAUTHENTICATED, f"malformed {what}")
    return value


def has_credential(request: Request) -> bool:
    """Whether the request carries any credential header the services accept."""
    return any(request.headers.get(name) for name in _FORWARDED_HEADERS)


def credential_metadata(request: Request) -> tuple[tuple[str, str], ...]:
    """The caller's credential headers, forwarded as gRPC metadata."""
    return tuple(
        (name, metadata_value(value, "API key"))
        for name in _FORWARDED_HEADERS
        if (value := request.headers.get(name))
    )


async def call(
    request: Request,
    method: Callable[..., Awaitable[Response]],
    message: Any,
    *,
    credentials: tuple[tuple[str, str], ...] | None = None,
) -> Response:
    """Invoke ``method`` with the caller's credentials (or ``credentials``), the request id and
    trace context, and what is left of the request's deadline.

    Raises :class:`UpstreamError` for any failed RPC.
    """
    if credentials is None:
        credentials = credential_metadata(request)
    try:
        return await method(
            message,
            metadata=(*credentials, *request_context.outgoing_metadata()),
            timeout=request_context.timeout_for(upstreams(request).timeout),
        )
    except grpc.aio.AioRpcError as error:
        raise upstream_error(error) from None


def upstream_error(error: grpc.aio.AioRpcError) -> UpstreamError:
    """The failed call's domain error (decoded by the error codec), with its gRPC code."""
    decoded = from_rpc_error(error)
    violations = decoded.violations if isinstance(decoded, InvalidArgument) else ()
    return UpstreamError(
        error.code(),
        decoded.message,
        decoded.reason,
        tuple((violation.field, violation.description) for violation in violations),
    )
