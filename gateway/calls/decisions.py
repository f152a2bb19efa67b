"""``GET /v1/calls/{call_id}/decision``, ``GET /v1/decisions``: the decision journal over REST."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from google.protobuf.duration_pb2 import Duration
from pydantic import BaseModel
from switchboard.registry.v1 import journal_pb2, journal_pb2_grpc

from gateway.calls.routing import RejectReasonName
from gateway.dialects import DialectError, InkboxRoute
from gateway.messages import enum_number, enum_text, optional, timestamp
from gateway.rest_text import Text
from gateway.rpc import call, upstreams
from services.common.storage.pagination import MAX_PAGE_SIZE, MAX_PAGE_TOKEN_LENGTH

router = APIRouter(route_class=InkboxRoute, tags=["calls"])

Verdict = Literal["accept", "reject", "forward", "hosted_agent"]
Reason = RejectReasonName
RFC3339_TIME = Query(
    max_length=64,
    description="An RFC 3339 time with its offset, e.g. 2026-12-01T14:02:00Z.",
    json_schema_extra={"format": "date-time"},
)
"""A time bound of the list, taken as text so that only RFC 3339 passes (a bare number
would otherwise be read as Unix seconds)."""


class CallDecisionRecord(BaseModel):
    """One journaled decision (see ``CallDecision`` in journal.proto)."""

    decision_id: str
    call_id: str
    decided_at: str
    inbound_number: str
    inbound_number_normalized: str | None
    caller_number: str
    caller_number_normalized: str | None
    service: str
    inbound_id: str | None
    assistant_id: str | None
    call_action_version: str | None
    action_source: str | None
    decision: str | None
    reject_reason: str | None
    edge_outcome: str | None
    sip_status: int | None
    reason_detail: str | None
    webhook_outcome: str | None
    webhook_latency_ms: float | None
    context_status: str | None
    context_latency_ms: float | None
    decision_latency_ms: float | None
    replica: str
    capacity: str | None = None


class CallDecisionPage(BaseModel):
    """A page of decisions, newest first."""

    decisions: list[CallDecisionRecord]
    next_page_token: str | None


def _ms(message: journal_pb2.CallDecision, name: str) -> float | None:
    if not message.HasField(name):
        return None
    duration: Duration = getattr(message, name)
    return float(duration.ToMicroseconds()) / 1000


def record_json(message: journal_pb2.CallDecision) -> dict[str, Any]:
    """The REST body of one journal record."""
    return {
        "decision_id": message.decision_id,
        "call_id": message.call_id,
        "decided_at": timestamp(message, "decide_time"),
        "inbound_number": message.inbound_number,
        "inbound_number_normalized": optional(message, "inbound_number_normalized"),
        "caller_number": message.caller_number,
        "caller_number_normalized": optional(message, "caller_number_normalized"),
        "service": message.service,
        "inbound_id": optional(message, "inbound_id"),
        "assistant_id": optional(message, "assistant_id"),
        "call_action_version": timestamp(message, "call_action_update_time"),
        "action_source": enum_text(message, "action_source"),
        "decision": enum_text(message, "decision"),
        "reject_reason": enum_text(message, "reject_reason"),
        "edge_outcome": enum_text(message, "edge_outcome"),
        "sip_status": optional(message, "sip_status"),
        "reason_detail": optional(message, "reason_detail"),
        "webhook_outcome": enum_text(message, "webhook_outcome"),
        "webhook_latency_ms": _ms(message, "webhook_latency"),
        "context_status": enum_text(message, "context_status"),
        "context_latency_ms": _ms(message, "context_latency"),
        "decision_latency_ms": _ms(message, "decision_latency"),
        "replica": message.replica,
        "capacity": optional(message, "capacity"),
    }


def _stub(request: Request) -> journal_pb2_grpc.CallDecisionServiceStub:
    return upstreams(request).registry_stub(journal_pb2_grpc.CallDecisionServiceStub)


@router.get(
    "/v1/calls/{call_id}/decision",
    summary="The journaled decision of a call",
    response_model=CallDecisionRecord,
    responses={404: {"description": "No decision recorded that the credential may see"}},
)
async def get_call_decision(call_id: Text, request: Request) -> dict[str, Any]:
    """The latest decision recorded for ``call_id``. The edge token sees every call, an admin
    key the calls to its account's numbers."""
    found = await call(
        request, _stub(request).GetCallDecision, journal_pb2.GetCallDecisionRequest(call_id=call_id)
    )
    return record_json(found)


@router.get(
    "/v1/decisions",
    summary="List journaled decisions",
    response_model=CallDecisionPage,
)
async def list_call_decisions(
    request: Request,
    inbound_number: Annotated[Text | None, Query(max_length=64)] = None,
    assistant_id: Annotated[Text | None, Query(max_length=64)] = None,
    decision: Verdict | None = None,
    reject_reason: Reason | None = None,
    start_time: Annotated[Text | None, RFC3339_TIME] = None,
    end_time: Annotated[Text | None, RFC3339_TIME] = None,
    page_size: Annotated[int, Query(ge=0, le=MAX_PAGE_SIZE)] = 0,
    page_token: Annotated[Text, Query(max_length=MAX_PAGE_TOKEN_LENGTH)] = "",
) -> dict[str, Any]:
    """Decisions newest first, filtered by dialed number, assistant, verdict, reject reason
    and time range (``start_time`` inclusive, ``end_time`` exclusive, RFC 3339)."""
    message = journal_pb2.ListCallDecisionsRequest(page_size=page_size, page_token=page_token)
    if inbound_number is not None:
        message.inbound_number = inbound_number
    if assistant_id is not None:
        message.assistant_id = assistant_id
    if decision is not None:
        message.decision = enum_number(message, "decision", decision)
    if reject_reason is not None:
        message.reject_reason = enum_number(message, "reject_reason", reject_reason)
    for name, value in (("start_time", start_time), ("end_time", end_time)):
        if value is not None:
            getattr(message, name).FromDatetime(_rfc3339(name, value))
    page = await call(request, _stub(request).ListCallDecisions, message)
    return {
        "decisions": [record_json(item) for item in page.call_decisions],
        "next_page_token": page.next_page_token or None,
    }


def _rfc3339(name: str, value: str) -> datetime:
    """``value`` as an aware datetime; 422 unless it is an RFC 3339 time with an offset."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise DialectError(
            422, f"{name} must be an RFC 3339 time, e.g. 2026-12-01T14:02:00Z"
        ) from None
    if "T" not in value.upper() or parsed.tzinfo is None:
        raise DialectError(422, f"{name} must be an RFC 3339 time with its offset (e.g. Z)")
    return parsed
