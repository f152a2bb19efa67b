"""The FastAPI application: routers, upstream channels and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import calls, health, inkbox, metrics, vyom
from gateway.allow import method_not_allowed
from gateway.docs_pages import mount_docs
from gateway.limits import RequestLimits
from gateway.observe import RequestContextMiddleware
from gateway.openapi import document_security_schemes
from gateway.settings import GatewaySettings
from gateway.upstream import Upstreams


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; channels open when it starts and close when it stops."""
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
    )
    mount_docs(app)
    app.state.settings = settings
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
