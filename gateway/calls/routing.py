"""``POST /v1/calls:route`` and ``POST /v1/calls:simulate``: RouteCall and SimulateCall over REST.

The JSON mirrors RouteCallRequest/Response and SimulateCallRequest/Response.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, Field
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.calls.convert import decision_json, simulation_json
from gateway.dialects import InkboxRoute
from gateway.openapi import Responses
from gateway.responses import FastJSONResponse
from gateway.rest_text import Text
from gateway.rpc import call, upstreams
from services.common.observability import request_context

router = APIRouter(route_class=InkboxRoute, tags=["calls"])

_ROUTING_ERRORS: Final[Responses] = {
    401: {"description": "Missing or invalid credential"},
    403: {"description": "Identity-scoped API key"},
    422: {"description": "Malformed body, empty number or unsupported service"},
    503: {"description": "Switchboard cannot decide now: treat as temporarily unavailable"},
}
"""The errors of routing and of simulating a call (same credentials, same body checks)."""


RejectReasonName = Literal[
    "no_active_mapping",
    "no_assistant",
    "assistant_not_found",
    "no_call_action",
    "auto_reject",
    "webhook_rejected",
    "webhook_failed",
    "invalid_number",
    "caller_blocked",
    "at_capacity",
    "outside_hours",
]
"""``RejectReason`` in registry.proto, lower-case without its prefix."""
EdgeOutcomeName = Literal["bridge", "forward", "temporarily_unavailable", "busy", "rejected"]
"""``EdgeOutcome`` in registry.proto, lower-case without its prefix."""


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
            "not_looked_up",
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


class CallLeaseBody(BaseModel):
    """The capacity slots a routed call holds (release or renew them by call id)."""

    call_id: str
    expires_at: str | None = Field(description="When the slots free themselves unless renewed.")
    slots: list[str] = Field(description="`<scope>#<slot>`, e.g. `identity:<uuid>#0`.")


class CallCapacityBody(BaseModel):
    """How capacity limits took part in the decision."""

    lease: CallLeaseBody | None = Field(
        description="The lease of a routed call; null for a refusal and in simulations."
    )
    full_scopes: list[str] = Field(
        description="`identity:<uuid>` / `mapping:<uuid>` that were full."
    )
    overflow_step: int = Field(description="1-based overflow step that took the call; 0: none.")
    slot_free: bool | None = Field(
        description="Simulations: whether a slot was free (no lease is taken); null otherwise."
    )


class BusinessHoursCheckBody(BaseModel):
    """Whether the call arrived within the assistant's business hours."""

    open: bool = Field(description="False: the outside-hours action decided.")
    time_zone: str = Field(description="The schedule's IANA time zone.")
    local_time: str = Field(description="The call's local time, RFC 3339 with its offset.")
    holiday: bool = Field(description="Whether the local date is one of the holidays.")


class RouteCallResult(BaseModel):
    """The routing decision (see ``RouteCallResponse`` in registry.proto)."""

    call_id: str
    decision: Literal["accept", "reject", "forward", "hosted_agent"]
    reject_reason: RejectReasonName | None
    edge_outcome: EdgeOutcomeName
    client_websocket_url: str | None
    forwarding_target_type: Literal["phone", "sip"] | None
    forwarding_phone_number: str | None
    forwarding_sip_uri: str | None
    inbound_id: str | None
    assistant_id: str | None
    assistant_name: str | None
    action_source: (
        Literal[
            "auto_accept",
            "auto_reject",
            "forward",
            "hosted_agent",
            "webhook",
            "webhook_fallback",
            "overflow",
            "outside_hours",
        ]
        | None
    )
    caller_context: CallerContextBody | None
    reason_detail: str | None
    caller_screening: CallerScreeningBody | None = Field(
        default=None, description="Null when routing stopped before a mapping matched."
    )
    decision_id: str = Field(description="The decision journal record's id.")
    call_context_token: str | None = Field(
        default=None,
        description="Signed call context of an accepted call (JWT, HS256, keyed by the "
        "identity's webhook signing key; see docs/call-context.md); null otherwise.",
    )
    sip_status: int | None = Field(
        default=None,
        description="The SIP status to send the carrier for a refusal (the account's "
        "carrier outcome for the reason, see `/api/v1/phone/carrier-outcomes`); null when "
        "routed.",
    )
    capacity: CallCapacityBody | None = Field(
        default=None,
        description="Null when neither the assistant nor the number has max_concurrent_calls.",
    )
    business_hours: BusinessHoursCheckBody | None = Field(
        default=None,
        description="The assistant's business-hours check; null when it has no business "
        "hours (always open) or routing stopped before the assistant was known.",
    )


@router.post(
    "/v1/calls:route",
    summary="Decide what happens to an inbound call",
    response_model=RouteCallResult,
    responses=_ROUTING_ERRORS,
)
async def route_call(body: RouteCallBody, request: Request) -> FastJSONResponse:
    """Route one call. Authenticate with the edge token or an admin key of the number's account
    (``Authorization: Bearer <token or key>`` or ``X-API-Key: <key>``); another account's number
    answers like an unmapped one. Every routing failure is a 200 ``reject`` decision."""
    stub = upstreams(request).registry_stub(registry_pb2_grpc.CallRoutingServiceStub)
    response = await call(request, stub.RouteCall, _route_request(body))
    request_context.annotate(call_id=response.call_id)
    return FastJSONResponse(decision_json(response))


def _route_request(body: RouteCallBody) -> registry_pb2.RouteCallRequest:
    message = registry_pb2.RouteCallRequest(
        inbound_number=body.inbound_number,
        caller_number=body.caller_number,
        service=body.service,
    )
    if body.call_id is not None:
        message.call_id = body.call_id
    return message


class SimulatedWebhookAnswerBody(BaseModel):
    """The webhook's answer to assume (nothing is sent to the webhook)."""

    verdict: Literal["answer", "reject", "failed"] = Field(
        description="`answer` bridges the call, `reject` refuses it, `failed` applies the "
        "identity's webhook fallback (as a timeout or an error would)."
    )
    client_websocket_url: Text | None = Field(
        default=None,
        description="The `wss://` URL an `answer` names; the action's own URL when null.",
    )


class SimulateCallBody(RouteCallBody):
    """The call to simulate and what the simulation may do."""

    ask_webhook: bool = Field(
        default=False,
        description="Send the real webhook request (ignored with `webhook_answer`). When false "
        "and no answer is supplied, the webhook counts as not answering.",
    )
    look_up_context: bool = Field(
        default=False, description="Ask the mapping's context strategy (else `not_looked_up`)."
    )
    webhook_answer: SimulatedWebhookAnswerBody | None = Field(
        default=None, description="The webhook's answer to assume instead of asking it."
    )
    call_time: AwareDatetime | None = Field(
        default=None,
        description="Simulate the call at this moment (RFC 3339 with an offset) instead of "
        "now: business hours are checked at it.",
    )


class ExplainStepResult(BaseModel):
    """One stage of the routing pipeline."""

    stage: Literal[
        "service",
        "normalize",
        "mapping",
        "caller_screening",
        "assistant",
        "business_hours",
        "call_action",
        "capacity",
        "webhook",
        "fallback",
        "caller_context",
        "call_context",
        "outcome",
    ]
    outcome: str = Field(description="What the stage came to, one lower-case word.")
    detail: str = Field(description="Why, for people (not for machine parsing).")


class SimulateCallResult(BaseModel):
    """The decision ``/v1/calls:route`` would return, and how it was reached."""

    decision: RouteCallResult
    steps: list[ExplainStepResult] = Field(description="In order; the last is `outcome`.")


_SIMULATED_VERDICTS = {
    "answer": registry_pb2.SimulatedWebhookAnswer.VERDICT_ANSWER,
    "reject": registry_pb2.SimulatedWebhookAnswer.VERDICT_REJECT,
    "failed": registry_pb2.SimulatedWebhookAnswer.VERDICT_FAILED,
}


@router.post(
    "/v1/calls:simulate",
    summary="Simulate and explain the decision for a call",
    response_model=SimulateCallResult,
    responses=_ROUTING_ERRORS,
)
async def simulate_call(body: SimulateCallBody, request: Request) -> FastJSONResponse:
    """Run the routing decision for a call that is not happening, with the same code and
    configuration as ``/v1/calls:route``, and explain each stage. Nothing is journaled, and no
    webhook or context-strategy request is sent unless ``ask_webhook`` / ``look_up_context``
    ask for it. Same credentials as ``/v1/calls:route``."""
    message = registry_pb2.SimulateCallRequest(
        call=_route_request(body),
        ask_webhook=body.ask_webhook,
        look_up_context=body.look_up_context,
    )
    if body.call_time is not None:
        message.call_time.FromDatetime(body.call_time)
    if body.webhook_answer is not None:
        message.webhook_answer.verdict = _SIMULATED_VERDICTS[body.webhook_answer.verdict]
        if body.webhook_answer.client_websocket_url is not None:
            message.webhook_answer.client_websocket_url = body.webhook_answer.client_websocket_url
    stub = upstreams(request).registry_stub(registry_pb2_grpc.CallRoutingServiceStub)
    response = await call(request, stub.SimulateCall, message)
    return FastJSONResponse(simulation_json(response))
