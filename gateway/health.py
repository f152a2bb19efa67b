"""Liveness and readiness routes of the gateway."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The gateway process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Both gRPC services are reachable and SERVING",
    responses={503: {"description": "A service is unreachable or not SERVING (same body)"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when config and registry both answer SERVING, 503 otherwise (and while draining)."""
    if getattr(request.app.state, "draining", False):
        # Stopping (SIGTERM's drain delay): requests are still served, but a load balancer
        # polling readiness must send new ones elsewhere.
        return JSONResponse({"status": "draining", "services": {}}, status_code=503)
    services = await request.app.state.upstreams.health()
    ready = all(status == "SERVING" for status in services.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "services": services},
        status_code=200 if ready else 503,
    )
