"""The FastAPI application: routers, upstream channels and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import calls, health, inkbox, metrics, vyom
from gateway.allow import method_not_allowed
from gateway.calls.exotel import stream_url
from gateway.calls.routing import route_call
from gateway.dialects import InkboxPublicRoute, InkboxRoute
from gateway.docs_pages import mount_docs
from gateway.hot_path import HotRoute, HotRoutes, hot_route
from gateway.inkbox.call_actions import get_incoming_call_action
from gateway.limits import RequestLimits
from gateway.observe import RequestContextMiddleware
from gateway.openapi import document_security_schemes
from gateway.settings import GatewaySettings
from gateway.upstream import Upstreams

HOT_ROUTES: tuple[HotRoute, ...] = (
    hot_route("POST", "/v1/calls:route", InkboxRoute, route_call),
    hot_route("GET", "/exotel/{edge_token}/stream", InkboxPublicRoute, stream_url),
    hot_route("GET", "/api/v1/phone/incoming-call-action", InkboxRoute, get_incoming_call_action),
)
"""Routes whose well-formed requests skip FastAPI's router (``gateway/hot_path.py``): the
routing decision (directly and through the Exotel adapter) and the call action a carrier's
edge reads, where latency is the product's."""


def create_app(
    settings: GatewaySettings | None = None, *, hot_routes: tuple[HotRoute, ...] = HOT_ROUTES
) -> FastAPI:
    """Build the gateway app; channels open when it starts and close when it stops.

    ``hot_routes=()`` serves every request through FastAPI's router (the reference the
    hot path is tested against)."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.upstreams = Upstreams.connect(settings)
        try:
            yield
        finally:
            await app.state.upstreams.close()

    app = FastAPI(
        title="Switchboard",
        summary="Control plane for inbound calls to AI voice agents",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry instrumentation stays off: the gateway's metrics and
        # log lines are its own (gateway/observe.py, every line redacted), and FastAPI's
        # would log validation failures and exceptions outside that redaction once a global
        # provider exists; left on, it also asks for the providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    mount_docs(app)
    app.state.settings = settings
    # Innermost of ours: a hot request has its request id and passed the size limits.
    app.add_middleware(HotRoutes, routes=hot_routes)
    app.add_middleware(RequestLimits, settings=settings)
    # Outermost: a request refused by the limits still gets its request id and log line.
    app.add_middleware(RequestContextMiddleware)
    app.add_exception_handler(405, method_not_allowed)
    # Routes match in order and no two routers share a path: the call-routing hot path
    # (/v1/calls:route, the Exotel adapter) goes first so it is not matched against every
    # management route before its own.
    app.include_router(calls.router)
    app.include_router(health.router)
    app.include_router(inkbox.router)
    app.include_router(vyom.router)
    app.include_router(metrics.router)
    document_security_schemes(app)
    return app
