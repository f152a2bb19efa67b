"""``GET /metrics``: the gateway's Prometheus metrics, for the operator's metrics token only."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.dialects import DialectError, InkboxRoute
from services.common.observability.metrics import exposition
from services.common.observability.metrics_server import credential_matches

router = APIRouter(route_class=InkboxRoute, tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this gateway (summed over its worker processes)",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        },
        401: {"description": "Missing or wrong metrics token"},
        404: {"description": "Metrics are disabled (`SWITCHBOARD_METRICS_ENABLED=false`)"},
    },
)
async def metrics(request: Request) -> Response:
    """Send ``Authorization: Bearer <SWITCHBOARD_METRICS_TOKEN>`` (default: the internal
    token). Label values are route templates, methods, codes and routing enums only."""
    settings = request.app.state.settings
    if not settings.metrics_enabled:
        raise DialectError(404, "Not Found")
    if not credential_matches(request.headers.get("authorization"), settings.metrics_credential()):
        raise DialectError(401, "metrics need Authorization: Bearer <metrics token>")
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
