"""``/api/v1/identities/{agent_handle}/business-hours``: an identity's business hours and
outside-hours action (a Switchboard extension in Inkbox's style).

The rules (schedule shape, time zones, overlaps, what each outside-hours action needs) live
in the config service; this module only translates JSON to protobuf and back.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, get_args

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2

from gateway.dialects import InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.call_actions import Phone, SipUri, TargetType, Url
from gateway.inkbox.common import config_stub
from gateway.inkbox.identities import HandlePath
from gateway.messages import enum_number, enum_text, optional, timestamp
from gateway.rest_text import Text
from gateway.rpc import call

router = APIRouter(route_class=InkboxRoute, tags=["business hours"])

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
OutsideActionName = Literal["reject", "forward", "identity", "webhook"]
Clock = Annotated[Text, Field(max_length=8, description="`HH:MM`, local wall-clock time.")]
Day = Annotated[Text, Field(max_length=16)]
WEEKDAYS: Final[tuple[str, ...]] = get_args(Weekday)
_OUTSIDE_FIELDS: Final = (
    "forwarding_phone_number",
    "forwarding_sip_uri",
    "agent_identity_id",
    "incoming_call_webhook_url",
)


class OpenInterval(BaseModel):
    """Open from `start` to `end`; an `end` earlier than `start` crosses midnight."""

    start: Clock
    end: Clock = Field(description="`HH:MM` or `24:00`.")


class Schedule(BaseModel):
    """A weekly wall-clock schedule in an IANA time zone, with holidays."""

    time_zone: Annotated[Text, Field(max_length=64)] = Field(
        description="IANA zone name, e.g. `Asia/Kolkata`."
    )
    weekly: dict[Weekday, list[OpenInterval]] = Field(
        default_factory=dict,
        description="Open intervals per day (at most 8 a day, never overlapping); a day "
        "absent is closed.",
    )
    holidays: list[Day] = Field(
        default_factory=list, description="Local dates `YYYY-MM-DD` closed all day (at most 400)."
    )


class OutsideHoursAction(BaseModel):
    """What happens to a call outside business hours."""

    action: OutsideActionName = Field(
        description="`reject` (reject reason `outside_hours`, SIP 480 unless the account "
        "overrides it), `forward` (to this object's destination), `identity` (another "
        "identity's incoming-call action applies) or `webhook` (asked like an incoming-call "
        "webhook)."
    )
    forwarding_target_type: TargetType | None = Field(default=None, description="For forward.")
    forwarding_phone_number: Phone | None = Field(
        default=None, description="E.164 number, with `forwarding_target_type` `phone`."
    )
    forwarding_sip_uri: SipUri | None = Field(
        default=None, description="SIP URI, with `forwarding_target_type` `sip`."
    )
    agent_identity_id: Annotated[Text, Field(max_length=64)] | None = Field(
        default=None, description="Another identity of the account, for `identity`."
    )
    incoming_call_webhook_url: Url | None = Field(
        default=None, description="`https://` endpoint, for `webhook`."
    )


class BusinessHoursBody(BaseModel):
    """PUT body: the schedule and the outside-hours action (both replace the stored ones)."""

    schedule: Schedule
    outside_hours_action: OutsideHoursAction


class BusinessHoursObject(BusinessHoursBody):
    """An identity's business hours."""

    agent_identity_id: str
    created_at: str | None
    updated_at: str | None


@router.get(
    "/identities/{agent_handle}/business-hours",
    summary="Get business hours",
    response_model=BusinessHoursObject,
)
async def get_business_hours(request: Request, agent_handle: HandlePath) -> dict[str, Any]:
    """The identity's business hours (404 when it has none: it is always open). An
    identity-scoped key may read its own identity's."""
    found = await call(
        request,
        config_stub(request).GetAgentIdentityBusinessHours,
        config_pb2.GetAgentIdentityBusinessHoursRequest(agent_handle=agent_handle),
    )
    return business_hours_json(found)


@router.put(
    "/identities/{agent_handle}/business-hours",
    summary="Set business hours",
    response_model=BusinessHoursObject,
    responses=IDEMPOTENT_RESPONSES,
)
async def set_business_hours(
    request: Request,
    agent_handle: HandlePath,
    body: BusinessHoursBody,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Create or replace the identity's business hours. An unknown time zone, a malformed or
    overlapping interval, a bad holiday or an incomplete outside-hours action is 422 and
    nothing changes. An identity-scoped key may set its own identity's only, and may not
    send calls to another identity (403)."""
    message = config_pb2.UpdateAgentIdentityBusinessHoursRequest(
        agent_handle=agent_handle,
        business_hours=_business_hours_message(body),
        request_id=idempotency_key or "",
    )
    saved = await call(request, config_stub(request).UpdateAgentIdentityBusinessHours, message)
    return business_hours_json(saved)


@router.delete(
    "/identities/{agent_handle}/business-hours",
    status_code=204,
    summary="Remove business hours",
    response_class=Response,
)
async def delete_business_hours(request: Request, agent_handle: HandlePath) -> Response:
    """Remove the identity's business hours: it is open at all times again (404 when it
    had none)."""
    await call(
        request,
        config_stub(request).DeleteAgentIdentityBusinessHours,
        config_pb2.DeleteAgentIdentityBusinessHoursRequest(agent_handle=agent_handle),
    )
    return Response(status_code=204)


def _business_hours_message(body: BusinessHoursBody) -> config_pb2.BusinessHours:
    message = config_pb2.BusinessHours()
    schedule = message.schedule
    schedule.time_zone = body.schedule.time_zone
    for day, intervals in body.schedule.weekly.items():
        getattr(schedule.weekly, day).extend(
            config_pb2.OpenInterval(start=interval.start, end=interval.end)
            for interval in intervals
        )
    schedule.holidays.extend(body.schedule.holidays)
    given = body.outside_hours_action
    action = message.outside_hours_action
    action.action = enum_number(action, "action", given.action)
    if given.forwarding_target_type is not None:
        action.forwarding_target_type = enum_number(
            action, "forwarding_target_type", given.forwarding_target_type
        )
    for name in _OUTSIDE_FIELDS:
        value = getattr(given, name)
        if value is not None:
            setattr(action, name, value)
    return message


def business_hours_json(message: config_pb2.BusinessHours) -> dict[str, Any]:
    """The REST business-hours object."""
    schedule = message.schedule
    action = message.outside_hours_action
    return {
        "agent_identity_id": message.agent_identity_id,
        "schedule": {
            "time_zone": schedule.time_zone,
            "weekly": {
                day: [{"start": i.start, "end": i.end} for i in getattr(schedule.weekly, day)]
                for day in WEEKDAYS
                if getattr(schedule.weekly, day)
            },
            "holidays": list(schedule.holidays),
        },
        "outside_hours_action": {
            "action": enum_text(action, "action"),
            "forwarding_target_type": enum_text(action, "forwarding_target_type"),
            **{name: optional(action, name) for name in _OUTSIDE_FIELDS},
        },
        "created_at": timestamp(message, "create_time"),
        "updated_at": timestamp(message, "update_time"),
    }
