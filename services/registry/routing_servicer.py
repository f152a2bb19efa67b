"""``CallRoutingService``: the routing decision RPC, protobuf in and out."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final

from google.protobuf import empty_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from switchboard.common.v1 import forwarding_pb2
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from services.common.errors import InvalidArgument, NotFound
from services.common.observability import metrics, request_context
from services.common.rpc.proto_time import from_duration, from_timestamp
from services.common.rpc.server import ServicerContext
from services.registry.capacity_leases import (
    MAX_CALL_ID_LENGTH,
    MAX_TTL,
    MIN_TTL,
    Lease,
)
from services.registry.contact_rule_values import WHITELIST
from services.registry.journal import DecisionJournal, PendingDecision
from services.registry.routing.caller_screening import CallerScreening
from services.registry.routing.capacity_stage import CapacityOutcome, CapacityStage
from services.registry.routing.context_lookup import CallerContextResult, ContextStatus
from services.registry.routing.decision import Router
from services.registry.routing.edge_auth import EdgeAuthenticator
from services.registry.routing.explain import SuppliedWebhookAnswer, Trace, simulation
from services.registry.routing.hours_stage import HoursVerdict
from services.registry.routing.outcome import (
    ActionSource,
    Decision,
    EdgeOutcome,
    RejectReason,
    Verdict,
)


def _values(wrapper: EnumTypeWrapper, prefix: str, domain: type[Enum]) -> dict[Enum, Any]:
    # Any: each table's annotation below names the generated enum type its values have.
    return {member: wrapper.Value(prefix + member.name) for member in domain}


_DECISIONS: Final[dict[Enum, registry_pb2.RoutingDecision]] = _values(
    registry_pb2.RoutingDecision, "ROUTING_DECISION_", Verdict
)
_REASONS: Final[dict[Enum, registry_pb2.RejectReason]] = _values(
    registry_pb2.RejectReason, "REJECT_REASON_", RejectReason
)
_OUTCOMES: Final[dict[Enum, registry_pb2.EdgeOutcome]] = _values(
    registry_pb2.EdgeOutcome, "EDGE_OUTCOME_", EdgeOutcome
)
_SOURCES: Final[dict[Enum, registry_pb2.ActionSource]] = _values(
    registry_pb2.ActionSource, "ACTION_SOURCE_", ActionSource
)
_STATUSES: Final[dict[Enum, registry_pb2.ContextLookupStatus]] = _values(
    registry_pb2.ContextLookupStatus, "CONTEXT_LOOKUP_STATUS_", ContextStatus
)
SIMULATED_YEARS: Final = (1900, 2200)
"""``SimulateCall.call_time`` bounds: any real call's moment, far from datetime's limits."""
_FORWARDING_TYPES: Final = {
    "phone": forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE,
    "sip": forwarding_pb2.FORWARDING_TARGET_TYPE_SIP,
}


class CallRoutingServicer(registry_pb2_grpc.CallRoutingServiceServicer):
    """``switchboard.registry.v1.CallRoutingService``: authenticates, routes, journals."""

    def __init__(
        self,
        router: Router,
        auth: EdgeAuthenticator,
        journal: DecisionJournal,
        replica: str,
        capacity: CapacityStage,
    ) -> None:
        self._router = router
        self._auth = auth
        self._journal = journal
        self._replica = replica
        self._capacity = capacity

    async def RouteCall(
        self, request: registry_pb2.RouteCallRequest, context: ServicerContext
    ) -> registry_pb2.RouteCallResponse:
        started = time.perf_counter()
        decided_at = time.time()
        caller = await self._auth.authenticate(context.invocation_metadata())
        decision = await self._router.route(
            caller,
            inbound_number=request.inbound_number,
            caller_number=request.caller_number,
            service=request.service,
            call_id=request.call_id if request.HasField("call_id") else None,
        )
        verdict, reason = metrics.label(decision.verdict), metrics.label(decision.reject_reason)
        outcome = metrics.label(decision.edge_outcome)
        metrics.labelled(metrics.ROUTING_DECISIONS, verdict, reason, outcome).inc()
        request_context.annotate(verdict=verdict, reject_reason=reason, edge_outcome=outcome)
        self._journal.record(
            PendingDecision(
                decision,
                request.inbound_number,
                request.caller_number,
                request.service,
                decided_at,
                time.perf_counter() - started,
                self._replica,
            )
        )
        return _to_proto(decision)

    async def SimulateCall(
        self, request: registry_pb2.SimulateCallRequest, context: ServicerContext
    ) -> registry_pb2.SimulateCallResponse:
        caller = await self._auth.authenticate(context.invocation_metadata())
        call = request.call
        trace = Trace()
        decision = await self._router.route(
            caller,
            inbound_number=call.inbound_number,
            caller_number=call.caller_number,
            service=call.service,
            call_id=call.call_id if call.HasField("call_id") else None,
            options=simulation(
                ask_webhook=request.ask_webhook,
                look_up_context=request.look_up_context,
                webhook_answer=(
                    _supplied_answer(request.webhook_answer)
                    if request.HasField("webhook_answer")
                    else None
                ),
                at=_simulated_time(request),
            ),
            trace=trace,
        )
        return registry_pb2.SimulateCallResponse(
            decision=_to_proto(decision),
            steps=[
                registry_pb2.ExplainStep(
                    stage=step.stage.value, outcome=step.outcome, detail=step.detail
                )
                for step in trace.steps
            ],
        )

    async def ReleaseCall(
        self, request: registry_pb2.ReleaseCallRequest, context: ServicerContext
    ) -> empty_pb2.Empty:
        caller = await self._auth.authenticate(context.invocation_metadata())
        _check_call_id(request.call_id)
        await self._capacity.leases.release(request.call_id, account_id=caller.account_id)
        return empty_pb2.Empty()

    async def RenewCall(
        self, request: registry_pb2.RenewCallRequest, context: ServicerContext
    ) -> registry_pb2.CallLease:
        caller = await self._auth.authenticate(context.invocation_metadata())
        _check_call_id(request.call_id)
        ttl = self._capacity.ttl
        if request.HasField("ttl"):
            # Checked as seconds first: a Duration beyond timedelta's range must be refused,
            # not overflow while converting.
            seconds = from_duration(request.ttl)
            if not MIN_TTL.total_seconds() <= seconds <= MAX_TTL.total_seconds():
                raise InvalidArgument.for_field("ttl", "ttl must be between 1 s and 24 h")
            ttl = timedelta(seconds=seconds)
        lease = await self._capacity.leases.renew(
            request.call_id, ttl, account_id=caller.account_id
        )
        if lease is None:
            raise NotFound(f"call {request.call_id} holds no capacity lease")
        return _lease_to_proto(lease)


def _check_call_id(call_id: str) -> None:
    if not 0 < len(call_id) <= MAX_CALL_ID_LENGTH:
        raise InvalidArgument.for_field(
            "call_id", f"call_id must be 1 to {MAX_CALL_ID_LENGTH} characters"
        )


def _lease_to_proto(lease: Lease) -> registry_pb2.CallLease:
    message = registry_pb2.CallLease(
        call_id=lease.call_id,
        slots=[f"{slot.scope_key}#{slot.slot}" for slot in lease.slots],
    )
    message.expire_time.FromDatetime(lease.expires_at)
    return message


def _fill_capacity(message: registry_pb2.CallCapacity, outcome: CapacityOutcome) -> None:
    message.SetInParent()
    if outcome.lease is not None:
        message.lease.CopyFrom(_lease_to_proto(outcome.lease))
    message.full_scopes.extend(outcome.full_scopes)
    message.overflow_step = outcome.overflow_step
    if outcome.slot_free is not None:
        message.slot_free = outcome.slot_free


_SIMULATED_BODIES: Final[dict[int, dict[str, str]]] = {
    registry_pb2.SimulatedWebhookAnswer.VERDICT_ANSWER: {"action": "answer"},
    registry_pb2.SimulatedWebhookAnswer.VERDICT_REJECT: {"action": "reject"},
}


def _supplied_answer(answer: registry_pb2.SimulatedWebhookAnswer) -> SuppliedWebhookAnswer:
    """The stand-in as the JSON body a webhook would answer with (read like a real answer)."""
    if answer.verdict == registry_pb2.SimulatedWebhookAnswer.VERDICT_FAILED:
        return SuppliedWebhookAnswer(body=None)
    body = _SIMULATED_BODIES.get(answer.verdict)
    if body is None:
        raise InvalidArgument.for_field(
            "webhook_answer.verdict", "webhook_answer.verdict must be ANSWER, REJECT or FAILED"
        )
    if answer.HasField("client_websocket_url"):
        body = {**body, "client_websocket_url": answer.client_websocket_url}
    return SuppliedWebhookAnswer(body=json.dumps(body).encode())


def _simulated_time(request: registry_pb2.SimulateCallRequest) -> datetime | None:
    """``call_time``, within the years a time zone can be read in; None when not set."""
    if not request.HasField("call_time"):
        return None
    at = from_timestamp(request.call_time, "call_time")
    first, last = SIMULATED_YEARS
    if not first <= at.year <= last:
        raise InvalidArgument.for_field(
            "call_time", f"call_time must be within the years {first}-{last}"
        )
    return at


def _to_proto(decision: Decision) -> registry_pb2.RouteCallResponse:
    response = registry_pb2.RouteCallResponse(
        call_id=decision.call_id,
        decision_id=decision.decision_id,
        decision=_DECISIONS[decision.verdict],
        edge_outcome=_OUTCOMES[decision.edge_outcome],
    )
    if decision.reject_reason is not None:
        response.reject_reason = _REASONS[decision.reject_reason]
    if decision.action_source is not None:
        response.action_source = _SOURCES[decision.action_source]
    if decision.client_websocket_url is not None:
        response.client_websocket_url = decision.client_websocket_url
    if decision.forwarding is not None:
        response.forwarding_target_type = _FORWARDING_TYPES[decision.forwarding.kind]
        if decision.forwarding.kind == "phone":
            response.forwarding_phone_number = decision.forwarding.destination
        else:
            response.forwarding_sip_uri = decision.forwarding.destination
    if decision.inbound_id is not None:
        response.inbound_id = decision.inbound_id
    if decision.assistant_id is not None:
        response.assistant_id = decision.assistant_id
    if decision.assistant_name is not None:
        response.assistant_name = decision.assistant_name
    if decision.reason_detail is not None:
        response.reason_detail = decision.reason_detail
    if decision.sip_status is not None:
        response.sip_status = decision.sip_status
    if decision.call_context_token is not None:
        response.call_context_token = decision.call_context_token
    if decision.caller_context is not None:
        _fill_context(response.caller_context, decision.caller_context)
    if decision.caller_screening is not None:
        _fill_screening(response.caller_screening, decision.caller_screening)
    if decision.capacity is not None:
        _fill_capacity(response.capacity, decision.capacity)
    if decision.business_hours is not None:
        _fill_hours(response.business_hours, decision.business_hours)
    return response


def _fill_hours(message: registry_pb2.BusinessHoursCheck, hours: HoursVerdict) -> None:
    message.open = hours.open
    message.time_zone = hours.time_zone
    message.local_time = hours.check.local_time.isoformat()
    message.holiday = hours.check.holiday


def _fill_context(message: registry_pb2.CallerContext, result: CallerContextResult) -> None:
    message.status = _STATUSES[result.status]
    if result.variables is not None:
        message.variables.update(result.variables)
    if result.error is not None:
        message.error = result.error
    if result.strategy_id is not None:
        message.inbound_context_strategy_id = result.strategy_id


def _fill_screening(message: registry_pb2.CallerScreening, screening: CallerScreening) -> None:
    message.verdict = (
        registry_pb2.CONTACT_RULE_ACTION_ALLOW
        if screening.allowed
        else registry_pb2.CONTACT_RULE_ACTION_BLOCK
    )
    message.filter_mode = (
        registry_pb2.CONTACT_FILTER_MODE_WHITELIST
        if screening.filter_mode == WHITELIST
        else registry_pb2.CONTACT_FILTER_MODE_BLACKLIST
    )
    if screening.rule_id is not None:
        message.contact_rule_id = screening.rule_id
    if screening.caller_number_normalized is not None:
        message.caller_number_normalized = screening.caller_number_normalized
