"""Server interceptor: each RPC's request context (id, trace, deadline) and its log line."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import grpc

from services.common.observability import logs, metrics, request_context
from services.common.rpc.handlers import Handler, UnaryHandlerInterceptor

_log = logging.getLogger("switchboard.rpc")
_QUIET_PREFIXES: Final = ("/grpc.health.v1.Health/",)
"""Health probes are logged at DEBUG only (load balancers poll them)."""


class RequestContextInterceptor(UnaryHandlerInterceptor):
    """Makes a :class:`~services.common.observability.request_context.RequestContext` current
    in each unary RPC and logs one JSON line when it ends (method, gRPC code, duration,
    request and call ids).

    The request id and ``traceparent`` come from the caller's metadata (generated when absent
    or invalid); the deadline is the caller's remaining time, so every call this RPC makes
    downstream is bounded by it.
    """

    def __init__(self) -> None:
        super().__init__(_in_context)


def _in_context(method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """``handler`` run in a request context, counted, timed and logged (built once per method)."""
    inner: Handler = handler.unary_unary
    level = logging.DEBUG if method.startswith(_QUIET_PREFIXES) else logging.INFO
    service, _, name = method.lstrip("/").partition("/")
    in_flight = metrics.labelled(metrics.RPC_IN_FLIGHT, service)
    duration = metrics.labelled(metrics.RPC_DURATION, service, name)

    async def in_context(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        token = request_context.activate(
            request_context.from_metadata(context.invocation_metadata(), context.time_remaining())
        )
        code = grpc.StatusCode.OK
        in_flight.inc()
        try:
            response = await inner(request, context)
            code = context.code() or grpc.StatusCode.OK
            return response
        except asyncio.CancelledError:
            remaining = context.time_remaining()
            expired = remaining is not None and remaining <= 0
            code = grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED
            raise
        except BaseException:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            in_flight.dec()
            elapsed = time.perf_counter() - started
            metrics.labelled(metrics.RPC_HANDLED, service, name, code.name).inc()
            duration.observe(elapsed)
            logs.event(
                _log,
                "rpc",
                level,
                rpc=method,
                code=code.name,
                duration_ms=round(elapsed * 1000, 3),
            )
            request_context.deactivate(token)

    return grpc.unary_unary_rpc_method_handler(
        in_context,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
