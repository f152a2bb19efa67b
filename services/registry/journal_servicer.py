"""``CallDecisionService``: the decision journal read back, protobuf in and out."""

from __future__ import annotations

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from switchboard.registry.v1 import journal_pb2, journal_pb2_grpc, registry_pb2

from services.common.rpc.proto_time import from_timestamp
from services.common.rpc.server import ServicerContext
from services.registry.journal_read import DecisionFilter, DecisionJournalReader
from services.registry.models import CallDecision
from services.registry.routing.edge_auth import EdgeAuthenticator

_ENUMS: dict[str, tuple[EnumTypeWrapper, str]] = {
    "verdict": (registry_pb2.RoutingDecision, "ROUTING_DECISION_"),
    "reject_reason": (registry_pb2.RejectReason, "REJECT_REASON_"),
    "edge_outcome": (registry_pb2.EdgeOutcome, "EDGE_OUTCOME_"),
    "action_source": (registry_pb2.ActionSource, "ACTION_SOURCE_"),
    "context_status": (registry_pb2.ContextLookupStatus, "CONTEXT_LOOKUP_STATUS_"),
    "webhook_status": (journal_pb2.WebhookOutcome, "WEBHOOK_OUTCOME_"),
}


class CallDecisionServicer(journal_pb2_grpc.CallDecisionServiceServicer):
    """``switchboard.registry.v1.CallDecisionService`` (edge token or an admin key)."""

    def __init__(self, reader: DecisionJournalReader, auth: EdgeAuthenticator) -> None:
        self._reader = reader
        self._auth = auth

    async def GetCallDecision(
        self, request: journal_pb2.GetCallDecisionRequest, context: ServicerContext
    ) -> journal_pb2.CallDecision:
        caller = await self._auth.authenticate(context.invocation_metadata())
        return decision_to_proto(await self._reader.get(caller, request.call_id))

    async def ListCallDecisions(
        self, request: journal_pb2.ListCallDecisionsRequest, context: ServicerContext
    ) -> journal_pb2.ListCallDecisionsResponse:
        caller = await self._auth.authenticate(context.invocation_metadata())
        wanted = DecisionFilter(
            inbound_number=(request.inbound_number if request.HasField("inbound_number") else None),
            assistant_id=request.assistant_id if request.HasField("assistant_id") else None,
            verdict=_text("verdict", request.decision),
            reject_reason=_text("reject_reason", request.reject_reason),
            start_time=(
                from_timestamp(request.start_time, "start_time")
                if request.HasField("start_time")
                else None
            ),
            end_time=(
                from_timestamp(request.end_time, "end_time")
                if request.HasField("end_time")
                else None
            ),
        )
        page = await self._reader.list(caller, wanted, request.page_size, request.page_token)
        return journal_pb2.ListCallDecisionsResponse(
            call_decisions=[decision_to_proto(row) for row in page.items],
            next_page_token=page.next_page_token,
        )


def _text(kind: str, number: int) -> str | None:
    """An enum filter's stored text; None for UNSPECIFIED (or a number we do not know)."""
    wrapper, prefix = _ENUMS[kind]
    if number == 0 or number not in wrapper.values():
        return None
    return str(wrapper.Name(number)).removeprefix(prefix).lower()


def _number(kind: str, text: str | None) -> int:
    if text is None:
        return 0
    wrapper, prefix = _ENUMS[kind]
    return int(wrapper.Value(prefix + text.upper()))


def decision_to_proto(row: CallDecision) -> journal_pb2.CallDecision:
    """The CallDecision message of a journal row."""
    message = journal_pb2.CallDecision(
        decision_id=row.id,
        call_id=row.call_id,
        inbound_number=row.dialed_number,
        caller_number=row.caller_number,
        service=row.service,
        replica=row.replica,
    )
    message.decide_time.FromDatetime(row.decided_at)
    message.decision = _number("verdict", row.verdict)  # type: ignore[assignment]
    message.reject_reason = _number("reject_reason", row.reject_reason)  # type: ignore[assignment]
    message.edge_outcome = _number("edge_outcome", row.edge_outcome)  # type: ignore[assignment]
    message.action_source = _number("action_source", row.action_source)  # type: ignore[assignment]
    message.context_status = _number("context_status", row.context_status)  # type: ignore[assignment]
    message.webhook_outcome = _number("webhook_status", row.webhook_status)  # type: ignore[assignment]
    for field, value in (
        ("inbound_number_normalized", row.dialed_normalized),
        ("caller_number_normalized", row.caller_normalized),
        ("inbound_id", row.inbound_id),
        ("assistant_id", row.assistant_id),
        ("reason_detail", row.reason_detail),
        ("sip_status", row.sip_status),
        ("capacity", row.capacity),
    ):
        if value is not None:
            setattr(message, field, value)
    if row.call_action_version is not None:
        message.call_action_update_time.FromDatetime(row.call_action_version)
    for field, ms in (
        ("webhook_latency", row.webhook_ms),
        ("context_latency", row.context_ms),
        ("decision_latency", row.decision_ms),
    ):
        if ms is not None:
            getattr(message, field).FromMicroseconds(round(ms * 1000))
    return message
