"""Exotel Voicebot/Stream applet adapter: ``GET /exotel/{edge_token}/stream`` -> ``{"url"}``.

Exotel cannot send our headers, so the edge credential travels in the path: the applet is
configured with ``https://<gateway>/exotel/<SWITCHBOARD_EDGE_TOKEN>/stream``. The token is a
secret of the deployment (it appears only in Exotel's applet configuration); the registry
checks it exactly like the ``x-switchboard-edge-token`` header, and this module keeps it out
of the access log.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.calls.convert import decision_json
from gateway.dialects import InkboxPublicRoute
from gateway.rest_text import Text
from gateway.rpc import call, metadata_value, upstreams
from services.common.auth import EDGE_TOKEN_HEADER
from services.common.observability import request_context

SERVICE: Final = "exotel"
_TOKEN_IN_PATH: Final = re.compile(r"^/exotel/[^/?]+")

router = APIRouter(route_class=InkboxPublicRoute, tags=["calls"])


class StreamUrlResult(BaseModel):
    """An accepted call: where Exotel streams it."""

    url: str = Field(description="The agent's `wss://` URL.")


class _RedactEdgeToken(logging.Filter):
    """Replaces the path token in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _TOKEN_IN_PATH.sub("/exotel/****", args[2]), *args[3:])
        return True


logging.getLogger("uvicorn.access").addFilter(_RedactEdgeToken())


@router.get(
    "/exotel/{edge_token}/stream",
    summary="Dynamic stream URL for Exotel's Voicebot/Stream applet",
    responses={
        200: {"model": StreamUrlResult, "description": 'Accepted: `{"url": "wss://..."}`'},
        401: {"description": "Wrong edge token"},
        404: {"description": "Not routable or refused: `detail` has reason and edge_outcome"},
        409: {"description": "Forward / hosted agent: not expressible to the applet"},
        422: {"description": "CallTo or CallFrom missing"},
        503: {"description": "Switchboard cannot decide now"},
    },
)
async def stream_url(
    edge_token: str,
    request: Request,
    call_to: Annotated[Text, Query(alias="CallTo", min_length=1, max_length=64)],
    call_from: Annotated[Text, Query(alias="CallFrom", max_length=64)],
    call_sid: Annotated[Text | None, Query(alias="CallSid", max_length=128)] = None,
) -> JSONResponse:
    """Route the call Exotel is about to stream; other query parameters are ignored."""
    message = registry_pb2.RouteCallRequest(
        inbound_number=call_to, caller_number=call_from, service=SERVICE
    )
    if call_sid:
        message.call_id = call_sid
    stub = upstreams(request).registry_stub(registry_pb2_grpc.CallRoutingServiceStub)
    response = await call(
        request,
        stub.RouteCall,
        message,
        credentials=((EDGE_TOKEN_HEADER, metadata_value(edge_token, "edge token")),),
    )
    request_context.annotate(call_id=response.call_id)
    if response.decision == registry_pb2.ROUTING_DECISION_ACCEPT:
        return JSONResponse({"url": response.client_websocket_url})
    decision = decision_json(response)
    detail = {
        "message": _explain(decision),
        "call_id": decision["call_id"],
        "decision": decision["decision"],
        "reject_reason": decision["reject_reason"],
        "edge_outcome": decision["edge_outcome"],
        "sip_status": decision["sip_status"],
    }
    status = 404 if response.decision == registry_pb2.ROUTING_DECISION_REJECT else 409
    return JSONResponse({"detail": detail}, status_code=status)


def _explain(decision: dict[str, Any]) -> str:
    if decision["decision"] == "reject":
        return f"call not routed: {decision['reject_reason']}"
    return f"decision {decision['decision']} cannot be expressed as a stream URL"
