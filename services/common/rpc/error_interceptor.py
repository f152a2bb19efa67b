"""The server interceptor that answers domain exceptions with their rich ``google.rpc.Status``."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from grpc_status import rpc_status

from services.common import errors
from services.common.rpc.error_codec import to_status
from services.common.rpc.handlers import Handler, UnaryHandlerInterceptor
from services.common.rpc.requests import RejectedRequest, checked_deserializer

_log = logging.getLogger(__name__)


class DomainErrorInterceptor(UnaryHandlerInterceptor):
    """Turns domain exceptions raised by unary handlers into rich gRPC statuses.

    Requests that do not parse, or carry text no database can store, are INVALID_ARGUMENT
    before the handler runs (:mod:`services.common.rpc.requests`).

    Anything unexpected becomes INTERNAL with a generic message; the traceback is
    logged here and never sent to the caller.
    """

    def __init__(self) -> None:
        super().__init__(_guarded)


def _guarded(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """``handler`` with domain errors mapped and anything else hidden (built once per method)."""
    inner: Handler = handler.unary_unary

    async def guarded(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            if isinstance(request, RejectedRequest):
                raise request.error
            return await inner(request, context)
        except errors.SwitchboardError as error:
            await context.abort_with_status(rpc_status.to_status(to_status(error)))
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
