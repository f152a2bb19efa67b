"""Server interceptors' wrapped method handlers, built once per method instead of once per RPC."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
"""A unary-unary method's behaviour, as interceptors wrap it."""


class WrappedHandlers:
    """``wrap(method, handler)`` per method, reused while the inner handler stays the same.

    grpc calls ``intercept_service`` for every RPC; the wrapping (closures, metric children,
    the handler tuple) depends only on the method, so it is done on a method's first call.
    Only registered methods get here (unknown ones have no handler), so this stays small.
    """

    def __init__(self, wrap: Callable[[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler]) -> None:
        self._wrap = wrap
        self._by_method: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def get(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """The wrapped form of ``handler`` (the inner handler of ``method``)."""
        cached = self._by_method.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        self._by_method[method] = (handler, wrapped)
        return wrapped


class UnaryHandlerInterceptor(grpc.aio.ServerInterceptor):
    """A server interceptor that runs every unary-unary handler wrapped by ``wrap``.

    Streaming handlers pass through unchanged; the wrapping is built once per method
    (:class:`WrappedHandlers`).
    """

    def __init__(self, wrap: Callable[[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler]) -> None:
        self._handlers = WrappedHandlers(wrap)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return self._handlers.get(handler_call_details.method, handler)
