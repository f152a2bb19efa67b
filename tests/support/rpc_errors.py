"""Failed gRPC calls decoded for assertions, with the services' own error codec."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import grpc
import pytest

from services.common.errors import InvalidArgument
from services.common.rpc.error_codec import from_rpc_error


@dataclass(frozen=True)
class RpcFailure:
    """What a caller learns of a failed call: code, message, reason, field violations."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: tuple[tuple[str, str], ...]


def decoded(error: grpc.aio.AioRpcError) -> RpcFailure:
    """``error`` as the error codec decodes it."""
    domain = from_rpc_error(error)
    violations = domain.violations if isinstance(domain, InvalidArgument) else ()
    return RpcFailure(
        error.code(),
        domain.message,
        domain.reason,
        tuple((violation.field, violation.description) for violation in violations),
    )


async def rpc_error(pending: Awaitable[object]) -> RpcFailure:
    """The decoded error of a call that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await pending
    return decoded(raised.value)
