"""Domain errors to ``google.rpc.Status`` and back: the one codec, both directions.

:func:`to_status` is what a service sends (the error interceptor aborts with it);
:func:`from_status` and :func:`from_rpc_error` are what a caller gets back (the registry's
config client, the gateway, the tests), read with ``grpc_status.rpc_status.from_call``.
A round trip keeps the class, the message, the ``reason`` (``ErrorInfo``) and the field
violations (``BadRequest``). :data:`CODES` is the mapping table; the HTTP side of it is
``gateway/rpc.py``'s ``HTTP_STATUS`` with each dialect's overrides (``gateway/dialects.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import errors

ERROR_DOMAIN: Final = "switchboard.dev"
UNREACHABLE_MESSAGE: Final = "upstream service unavailable"
"""What a caller is told of a failure no Switchboard service described (no ``ErrorInfo``):
gRPC's own transport messages name internal addresses."""

CODES: Final[Mapping[type[errors.SwitchboardError], int]] = MappingProxyType(
    {
        errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
        errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
        errors.OutOfRange: code_pb2.OUT_OF_RANGE,
        errors.NotFound: code_pb2.NOT_FOUND,
        errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
        errors.Aborted: code_pb2.ABORTED,
        errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
        errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
        errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
        errors.Unavailable: code_pb2.UNAVAILABLE,
        errors.Cancelled: code_pb2.CANCELLED,
        errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
        errors.Unimplemented: code_pb2.UNIMPLEMENTED,
        errors.Internal: code_pb2.INTERNAL,
    }
)
"""Domain error class -> ``google.rpc.Code``; one class per code, so the table inverts."""

_CLASSES: Final[Mapping[int, type[errors.SwitchboardError]]] = MappingProxyType(
    {code: kind for kind, code in CODES.items()}
)
_TRANSPORT_CODES: Final = frozenset(
    {code_pb2.UNAVAILABLE, code_pb2.CANCELLED, code_pb2.DEADLINE_EXCEEDED}
)


def to_status(error: errors.SwitchboardError) -> status_pb2.Status:
    """``google.rpc.Status`` for ``error``: ErrorInfo always, BadRequest for bad input."""
    code = next(
        (value for kind, value in CODES.items() if isinstance(error, kind)), code_pb2.UNKNOWN
    )
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))]
    if isinstance(error, errors.InvalidArgument) and error.violations:
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    return status_pb2.Status(code=code, message=error.message, details=details)


def from_status(status: status_pb2.Status) -> errors.SwitchboardError:
    """The domain error ``status`` describes; a code without a class of its own (UNKNOWN,
    DATA_LOSS) is Internal. Without ``ErrorInfo`` the reason is the class's own, and an
    unreachable-service code gets :data:`UNREACHABLE_MESSAGE`."""
    kind = _CLASSES.get(status.code, errors.Internal)
    reason: str | None = None
    violations: list[errors.FieldViolation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason or None
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.extend(
                errors.FieldViolation(v.field, v.description) for v in bad_request.field_violations
            )
    message = status.message or code_pb2.Code.Name(status.code).lower()
    if reason is None and status.code in _TRANSPORT_CODES:
        message = UNREACHABLE_MESSAGE
    if kind is errors.InvalidArgument:
        return errors.InvalidArgument(message, violations=violations, reason=reason)
    return kind(message, reason=reason)


def from_rpc_error(error: grpc.aio.AioRpcError) -> errors.SwitchboardError:
    """The domain error of a failed call (its rich status, else its code and details)."""
    try:
        status = rpc_status.from_call(error)
    except (ValueError, DecodeError):  # details that do not parse or contradict the call
        status = None
    if status is None:
        code: grpc.StatusCode = error.code()
        status = status_pb2.Status(code=code.value[0], message=error.details() or "")
    return from_status(status)


def grpc_code(error: errors.SwitchboardError) -> grpc.StatusCode:
    """The ``grpc.StatusCode`` :func:`to_status` gives ``error``."""
    number = to_status(error).code
    return next(code for code in grpc.StatusCode if code.value[0] == number)


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
