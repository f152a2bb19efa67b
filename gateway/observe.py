"""ASGI middleware: each HTTP request's context (id echoed, trace) and its log line."""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.observability import logs, metrics, request_context

UNMATCHED_ROUTE: Final = "unmatched"
"""The route label of a request no route matched (never the raw path)."""

_log = logging.getLogger("switchboard.http")

_REQUEST_ID_HEADER = request_context.REQUEST_ID_HEADER.encode()
_TRACEPARENT_HEADER = request_context.TRACEPARENT_HEADER.encode()


class RequestContextMiddleware:
    """Takes ``X-Request-ID`` (generated when absent or unusable) and ``traceparent``, answers
    with ``X-Request-ID`` and logs one line when the request ends: method, route *template*
    (a path can carry a secret, such as the Exotel edge token, so it is never logged),
    status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id: str | None = None
        traceparent: str | None = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_HEADER:
                request_id = value.decode("latin-1")
            elif name == _TRACEPARENT_HEADER:
                traceparent = value.decode("latin-1")
        # An HTTP caller states no deadline: each gRPC call gets the gateway's own
        # ``upstream_timeout_seconds`` (see gateway.rpc.call), which the services propagate.
        context = request_context.begin(
            request_id=request_id, traceparent=traceparent, timeout=None
        )
        echoed = (_REQUEST_ID_HEADER, context.request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = request_context.activate(context)
        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self._app(scope, receive, send_with_id)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route, method = route_template(scope), scope["method"]
            metrics.labelled(metrics.HTTP_REQUESTS, route, method, str(status)).inc()
            metrics.labelled(metrics.HTTP_DURATION, route, method).observe(elapsed)
            logs.event(
                _log,
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
            )
            request_context.deactivate(token)


ROUTE_TEMPLATE_KEY: Final = "switchboard.route_template"
"""Where a route served outside FastAPI's router (``gateway/hot_path.py``) names its template."""
_EFFECTIVE_ROUTE: Final = "effective_route_context"
"""Where FastAPI (0.16x, pinned by the lock) keeps the matched route with its router prefixes."""


def route_template(scope: Scope) -> str:
    """The matched route's full path template (e.g. ``/api/v1/phone/incoming-call-action``).

    ``scope["route"].path`` alone is the path inside its router: FastAPI includes routers
    lazily, so the ``include_router`` prefixes (``/api/v1``, ``/api``) are only in its
    effective route context. tests/gateway/test_route_labels.py pins every documented route.
    """
    named = scope.get(ROUTE_TEMPLATE_KEY)
    if isinstance(named, str):
        return named
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        effective = fastapi_scope.get(_EFFECTIVE_ROUTE)
        template = getattr(effective, "path_format", None)
        if isinstance(template, str):
            return template
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE
