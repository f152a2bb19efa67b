"""The one place that maps domain exceptions to ``google.rpc.Status`` with rich details."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.common import errors
from services.common.grpc_requests import RejectedRequest, checked_deserializer

ERROR_DOMAIN = "switchboard.dev"

_log = logging.getLogger(__name__)

_CODES: dict[type[errors.SwitchboardError], int] = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
}


def to_rpc_status(error: errors.SwitchboardError) -> status_pb2.Status:
    """``google.rpc.Status`` for ``error``: ErrorInfo always, BadRequest for bad input."""
    code = next(
        (value for kind, value in _CODES.items() if isinstance(error, kind)), code_pb2.UNKNOWN
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


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns domain exceptions raised by unary handlers into rich gRPC statuses.

    Requests that do not parse, or carry text no database can store, are INVALID_ARGUMENT
    before the handler runs (:mod:`services.common.grpc_requests`).

    Anything unexpected becomes INTERNAL with a generic message; the traceback is
    logged here and never sent to the caller.
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner: Handler = handler.unary_unary
        method = handler_call_details.method

        async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                if isinstance(request, RejectedRequest):
                    raise request.error
                return await inner(request, context)
            except errors.SwitchboardError as error:
                await context.abort_with_status(rpc_status.to_status(to_rpc_status(error)))
            except (grpc.aio.AbortError, grpc.aio.UsageError):
                raise
            except Exception:
                _log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            # Malformed bytes and unstorable text never reach a handler (INVALID_ARGUMENT).
            request_deserializer=checked_deserializer(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )
