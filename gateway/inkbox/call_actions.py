"""``/api/v1/phone/incoming-call-action``: read and upsert an identity's incoming-call action."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2

from gateway.dialects import InkboxRoute
from gateway.inkbox.common import config_stub
from gateway.messages import enum_number, enum_text, optional
from gateway.responses import FastJSONResponse
from gateway.rest_text import Text
from gateway.rpc import call
from services.common.budgets import WEBHOOK_BUDGET

router = APIRouter(route_class=InkboxRoute, tags=["incoming calls"])

URL_MAX_LENGTH: Final = 2048
SIP_URI_MAX_LENGTH: Final = 2048
PHONE_MAX_LENGTH: Final = 32

Action = Literal["auto_accept", "auto_reject", "webhook", "forward", "hosted_agent"]
TargetType = Literal["phone", "sip"]
Url = Annotated[Text, Field(max_length=URL_MAX_LENGTH)]
Phone = Annotated[Text, Field(max_length=PHONE_MAX_LENGTH)]
SipUri = Annotated[Text, Field(max_length=SIP_URI_MAX_LENGTH)]

_SEED_PATHS: Final = ("incoming_call_action", "client_websocket_url", "incoming_call_webhook_url")
_THREE_STATE_PATHS: Final = {
    "forwarding_target_type": "forwarding_target_type",
    "forwarding_phone_number": "forwarding_phone_number",
    "forwarding_sip_uri": "forwarding_sip_uri",
    "webhook_timeout_seconds": "webhook_timeout",
    "webhook_fallback": "webhook_fallback",
    "secondary_webhook_url": "secondary_webhook_url",
    "call_context_in_url": "call_context_in_url",
}
"""Body keys that are kept when omitted, cleared by ``null`` -> their update_mask paths."""

_THREE_STATE = " Omitted: the stored value is kept; `null`: cleared; a value: set."


class WebhookFallback(BaseModel):
    """Switchboard extension: what to do when the incoming-call webhook fails."""

    action: Literal["accept", "forward", "reject"] = Field(
        description="`accept` (stream to this object's `client_websocket_url`, else the "
        "identity's), `forward` (to this object's destination) or `reject`."
    )
    client_websocket_url: Url | None = Field(default=None, description="`wss://` URL for accept.")
    forwarding_target_type: TargetType | None = Field(default=None, description="For forward.")
    forwarding_phone_number: Phone | None = Field(
        default=None, description="E.164 number, with `forwarding_target_type` `phone`."
    )
    forwarding_sip_uri: SipUri | None = Field(
        default=None, description="SIP URI, with `forwarding_target_type` `sip`."
    )


class IncomingCallActionBody(BaseModel):
    """PUT body: the Inkbox fields, plus Switchboard's optional extensions."""

    agent_identity_id: uuid.UUID | None = Field(
        default=None,
        description="The identity to configure. Required with an admin key (422 when "
        "omitted); identity-scoped keys use their own and cannot name another (403).",
    )
    incoming_call_action: Action = Field(description="What happens to an inbound call.")
    client_websocket_url: Url | None = Field(
        default=None,
        description="`wss://` URL the call is streamed to; required for `auto_accept`. "
        "Omitted or `null`: not set.",
    )
    incoming_call_webhook_url: Url | None = Field(
        default=None,
        description="`https://` endpoint asked about each call; required for `webhook`. "
        "Omitted or `null`: not set.",
    )
    forwarding_target_type: TargetType | None = Field(
        default=None,
        description="Destination kind for `forward`."
        + _THREE_STATE
        + " `null` with another action also clears both saved destinations.",
    )
    forwarding_phone_number: Phone | None = Field(
        default=None,
        description="Full E.164 number (e.g. `+14155552671`) with type `phone`." + _THREE_STATE,
    )
    forwarding_sip_uri: SipUri | None = Field(
        default=None,
        description="`sip:`/`sips:` URI on a public DNS host with type `sip`." + _THREE_STATE,
    )
    webhook_timeout_seconds: float | None = Field(
        default=None,
        ge=WEBHOOK_BUDGET.minimum,
        le=WEBHOOK_BUDGET.maximum,
        description="Switchboard extension: time budget of the incoming-call webhook, "
        f"{WEBHOOK_BUDGET.describe()} ({WEBHOOK_BUDGET.default:g} s when not set)." + _THREE_STATE,
    )
    webhook_fallback: WebhookFallback | None = Field(
        default=None,
        description="Switchboard extension: what to do when the webhook fails (the call is "
        "rejected when not set)." + _THREE_STATE,
    )
    secondary_webhook_url: Url | None = Field(
        default=None,
        description="Switchboard extension: a second `https://` webhook endpoint, asked when "
        "the primary is slower than its recent p95, fails, or its circuit is open (must "
        "differ from `incoming_call_webhook_url`)." + _THREE_STATE,
    )
    call_context_in_url: bool | None = Field(
        default=None,
        description="Switchboard extension: also append the signed call context token of an "
        "accepted call to the `wss://` URL (`sb_call_context`); needs the identity's signing "
        "key." + _THREE_STATE,
    )


class IncomingCallActionObject(BaseModel):
    """The incoming-call action object; the two extension keys appear only when set."""

    agent_identity_id: uuid.UUID
    incoming_call_action: Action
    client_websocket_url: str | None
    incoming_call_webhook_url: str | None
    forwarding_target_type: TargetType | None
    forwarding_phone_number: str | None
    forwarding_sip_uri: str | None
    webhook_timeout_seconds: float | None = Field(
        default=None, description="Extension; present only when set."
    )
    webhook_fallback: WebhookFallback | None = Field(
        default=None, description="Extension; present only when set."
    )
    secondary_webhook_url: str | None = Field(
        default=None, description="Extension; present only when set."
    )
    call_context_in_url: bool | None = Field(
        default=None, description="Extension; present only when set."
    )


@router.get(
    "/phone/incoming-call-action",
    summary="Get incoming call action",
    response_model=None,
    responses={200: {"model": IncomingCallActionObject}},
)
async def get_incoming_call_action(
    request: Request,
    agent_identity_id: Annotated[
        uuid.UUID | None,
        Query(description="Required with an admin key; identity-scoped keys use their own."),
    ] = None,
) -> FastJSONResponse:
    """Read the inbound-call configuration of an agent identity."""
    message = config_pb2.GetIncomingCallActionRequest()
    if agent_identity_id is not None:
        message.agent_identity_id = str(agent_identity_id)
    found = await call(request, config_stub(request).GetIncomingCallAction, message)
    return FastJSONResponse(call_action_json(found))


@router.put(
    "/phone/incoming-call-action",
    summary="Set incoming call action",
    response_model=None,
    responses={200: {"model": IncomingCallActionObject}},
)
async def put_incoming_call_action(
    request: Request, body: IncomingCallActionBody
) -> dict[str, Any]:
    """Upsert the inbound-call configuration of an agent identity.

    `client_websocket_url` and `incoming_call_webhook_url` are replaced by every PUT
    (omitted means `null`). The `forwarding_*` fields and the Switchboard extensions
    `webhook_timeout_seconds`, `webhook_fallback`, `secondary_webhook_url` and
    `call_context_in_url` are kept when omitted, cleared by `null` and set by a value;
    `forwarding_target_type: null` with an action other than `forward` also clears both
    saved destinations (the Inkbox SDK's contract for
    `forwarding_target_type=None`). The result must be valid as a whole: `auto_accept` needs
    a `wss://` `client_websocket_url`, `webhook` an `https://` `incoming_call_webhook_url`,
    `forward` exactly one destination (`phone` + E.164 number, or `sip` + SIP URI).
    """
    stub = config_stub(request)
    updated = await call(request, stub.UpdateIncomingCallAction, call_action_request(body))
    return call_action_json(updated)


def call_action_request(body: IncomingCallActionBody) -> config_pb2.UpdateIncomingCallActionRequest:
    """The gRPC upsert of a PUT body, with a mask expressing keep/clear/set."""
    action = config_pb2.IncomingCallAction()
    action.incoming_call_action = enum_number(
        action, "incoming_call_action", body.incoming_call_action
    )
    if body.agent_identity_id is not None:
        action.agent_identity_id = str(body.agent_identity_id)
    _set_destination(action, body.forwarding_target_type, body)
    for name in ("client_websocket_url", "incoming_call_webhook_url", "secondary_webhook_url"):
        if (value := getattr(body, name)) is not None:
            setattr(action, name, value)
    if body.call_context_in_url is not None:
        action.call_context_in_url = body.call_context_in_url
    if body.webhook_timeout_seconds is not None:
        action.webhook_timeout.FromMilliseconds(round(body.webhook_timeout_seconds * 1000))
    fallback = body.webhook_fallback
    if fallback is not None:
        action.webhook_fallback.action = enum_number(
            action.webhook_fallback, "action", fallback.action
        )
        if fallback.client_websocket_url is not None:
            action.webhook_fallback.client_websocket_url = fallback.client_websocket_url
        _set_destination(action.webhook_fallback, fallback.forwarding_target_type, fallback)
    given = set(body.model_fields_set)
    if _clears_forwarding(body):
        # The SDK's contract: `forwarding_target_type: null` while leaving `forward` clears
        # both saved destinations too (unless the body names them itself).
        given |= {"forwarding_phone_number", "forwarding_sip_uri"}
    paths = [*_SEED_PATHS]
    paths += [path for key, path in _THREE_STATE_PATHS.items() if key in given]
    request = config_pb2.UpdateIncomingCallActionRequest(incoming_call_action=action)
    request.update_mask.paths.extend(paths)
    return request


def _clears_forwarding(body: IncomingCallActionBody) -> bool:
    return (
        "forwarding_target_type" in body.model_fields_set
        and body.forwarding_target_type is None
        and body.incoming_call_action != "forward"
    )


def _set_destination(
    message: config_pb2.IncomingCallAction | config_pb2.CallFallback,
    target_type: str | None,
    values: IncomingCallActionBody | WebhookFallback,
) -> None:
    if target_type is not None:
        message.forwarding_target_type = enum_number(message, "forwarding_target_type", target_type)
    if values.forwarding_phone_number is not None:
        message.forwarding_phone_number = values.forwarding_phone_number
    if values.forwarding_sip_uri is not None:
        message.forwarding_sip_uri = values.forwarding_sip_uri


def call_action_json(message: config_pb2.IncomingCallAction) -> dict[str, Any]:
    """The Inkbox incoming-call action object (extension keys only when set)."""
    body: dict[str, Any] = {
        "agent_identity_id": message.agent_identity_id,
        "incoming_call_action": enum_text(message, "incoming_call_action"),
        "client_websocket_url": optional(message, "client_websocket_url"),
        "incoming_call_webhook_url": optional(message, "incoming_call_webhook_url"),
        **_destination_json(message),
    }
    if message.HasField("webhook_timeout"):
        milliseconds = message.webhook_timeout.ToMilliseconds()
        body["webhook_timeout_seconds"] = (
            milliseconds // 1000 if milliseconds % 1000 == 0 else milliseconds / 1000
        )
    if message.HasField("webhook_fallback"):
        fallback = message.webhook_fallback
        body["webhook_fallback"] = {
            "action": enum_text(fallback, "action"),
            "client_websocket_url": optional(fallback, "client_websocket_url"),
            **_destination_json(fallback),
        }
    if message.HasField("secondary_webhook_url"):
        body["secondary_webhook_url"] = message.secondary_webhook_url
    if message.HasField("call_context_in_url"):
        body["call_context_in_url"] = message.call_context_in_url
    return body


def _destination_json(
    message: config_pb2.IncomingCallAction | config_pb2.CallFallback,
) -> dict[str, Any]:
    return {
        "forwarding_target_type": enum_text(message, "forwarding_target_type"),
        "forwarding_phone_number": optional(message, "forwarding_phone_number"),
        "forwarding_sip_uri": optional(message, "forwarding_sip_uri"),
    }
