"""``POST /v1/calls:route``: RouteCall over REST (JSON mirrors RouteCallRequest/Response)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.calls.convert import decision_json
from gateway.dialects import InkboxRoute
from gateway.messages import Text
from gateway.responses import FastJSONResponse
from gateway.rpc import call, upstreams
from services.common import request_context

router = APIRouter(route_class=InkboxRoute, tags=["calls"])


class RouteCallBody(BaseModel):
    """The call to route."""

    inbound_number: Text = Field(description="The dialed number, in any tolerated format.")
    caller_number: Text = Field(description="The caller's number, as received.")
    call_id: Text | None = Field(default=None, description="Call id; a UUID is generated if null.")
    service: Text = Field(description="Telephony provider, e.g. `exotel`.")


class CallerContextBody(BaseModel):
    """Result of the fail-open caller-context lookup."""

    status: (
        Literal[
            "not_configured",
            "ok",
            "timeout",
            "http_error",
            "invalid_response",
            "blocked_address",
            "error",
        ]
        | None
    )
    variables: dict[str, Any]
    error: str | None
    strategy_id: str | None


class CallerScreeningBody(BaseModel):
    """How the caller was screened against the dialed number's contact rules."""

    verdict: Literal["allow", "block"] | None
    contact_rule_id: str | None = Field(description="The rule that matched; null: none did.")
    filter_mode: Literal["blacklist", "whitelist"] | None
    caller_number_normalized: str | None


class RouteCallResult(BaseModel):
    """The routing decision (see ``RouteCallResponse`` in registry.proto)."""

    call_id: str
    decision: Literal["accept", "reject", "forward", "hosted_agent"]
    reject_reason: (
        Literal[
            "no_active_mapping",
            "no_assistant",
            "assistant_not_found",
            "no_call_action",
            "auto_reject",
            "webhook_rejected",
            "webhook_failed",
            "invalid_number",
            "caller_blocked",
        ]
        | None
    )
    edge_outcome: Literal["bridge", "forward", "temporarily_unavailable", "rejected"]
    client_websocket_url: str | None
    forwarding_target_type: Literal["phone", "sip"] | None
    forwarding_phone_number: str | None
    forwarding_sip_uri: str | None
    inbound_id: str | None
    assistant_id: str | None
    assistant_name: str | None
    action_source: (
        Literal[
            "auto_accept", "auto_reject", "forward", "hosted_agent", "webhook", "webhook_fallback"
        ]
        | None
    )
    caller_context: CallerContextBody | None
    reason_detail: str | None
    caller_screening: CallerScreeningBody | None = Field(
        default=None, description="Null when routing stopped before a mapping matched."
    )


@router.post(
    "/v1/calls:route",
    summary="Decide what happens to an inbound call",
    response_model=RouteCallResult,
    responses={
        401: {"description": "Missing or invalid credential"},
        403: {"description": "Identity-scoped API key"},
        422: {"description": "Malformed body, empty number or unsupported service"},
        503: {"description": "Switchboard cannot decide now: treat as temporarily unavailable"},
    },
)
async def route_call(body: RouteCallBody, request: Request) -> FastJSONResponse:
    """Route one call. Authenticate with the edge token or an admin key of the number's account
    (``Authorization: Bearer <token or key>`` or ``X-API-Key: <key>``); another account's number
    answers like an unmapped one. Every routing failure is a 200 ``reject`` decision."""
    message = registry_pb2.RouteCallRequest(
        inbound_number=body.inbound_number,
        caller_number=body.caller_number,
        service=body.service,
    )
    if body.call_id is not None:
        message.call_id = body.call_id
    stub = registry_pb2_grpc.CallRoutingServiceStub(upstreams(request).registry)
    response = await call(request, stub.RouteCall, message)
    request_context.annotate(call_id=response.call_id)
    return FastJSONResponse(decision_json(response))
