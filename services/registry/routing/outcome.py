"""What a routing decision is: verdict, reject reason, edge outcome, action source, the
answer to one call (:class:`Decision`) and what the pipeline learned on the way.

The pipeline that reaches a decision is :mod:`.decision`; the carrier table that turns a
refusal into an edge outcome and SIP status is :mod:`.carrier_outcomes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Final

from services.registry.call_target import Forwarding
from services.registry.routing import carrier_outcomes
from services.registry.routing.caller_screening import CallerScreening
from services.registry.routing.capacity_stage import CapacityOutcome
from services.registry.routing.carrier_outcomes import CarrierAnswer
from services.registry.routing.context_lookup import CallerContextResult
from services.registry.routing.hours_stage import HoursVerdict
from services.registry.routing.webhook import WebhookResult


class Verdict(Enum):
    """What to do with the call (``RoutingDecision``)."""

    ACCEPT = "accept"
    REJECT = "reject"
    FORWARD = "forward"
    HOSTED_AGENT = "hosted_agent"


class RejectReason(Enum):
    """Why a call is refused (``RejectReason``)."""

    NO_ACTIVE_MAPPING = "no_active_mapping"
    NO_ASSISTANT = "no_assistant"
    ASSISTANT_NOT_FOUND = "assistant_not_found"
    NO_CALL_ACTION = "no_call_action"
    AUTO_REJECT = "auto_reject"
    WEBHOOK_REJECTED = "webhook_rejected"
    WEBHOOK_FAILED = "webhook_failed"
    INVALID_NUMBER = "invalid_number"
    CALLER_BLOCKED = "caller_blocked"
    AT_CAPACITY = "at_capacity"
    OUTSIDE_HOURS = "outside_hours"


class EdgeOutcome(Enum):
    """What the telephony edge does (``EdgeOutcome``)."""

    BRIDGE = "bridge"
    FORWARD = "forward"
    TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
    BUSY = "busy"
    REJECTED = "rejected"


class ActionSource(Enum):
    """Which configuration produced the decision (``ActionSource``)."""

    AUTO_ACCEPT = "auto_accept"
    AUTO_REJECT = "auto_reject"
    FORWARD = "forward"
    HOSTED_AGENT = "hosted_agent"
    WEBHOOK = "webhook"
    WEBHOOK_FALLBACK = "webhook_fallback"
    OVERFLOW = "overflow"
    OUTSIDE_HOURS = "outside_hours"


_ROUTED_OUTCOMES: Final = MappingProxyType(
    {
        Verdict.ACCEPT: EdgeOutcome.BRIDGE,
        Verdict.HOSTED_AGENT: EdgeOutcome.BRIDGE,
        Verdict.FORWARD: EdgeOutcome.FORWARD,
    }
)


@dataclass(slots=True)
class DecisionFacts:
    """What the pipeline learned on the way to a decision (for the journal)."""

    normalized_number: str | None = None
    caller_normalized: str | None = None
    account_id: str | None = None
    action_version: datetime | None = None
    webhook: WebhookResult | None = None


@dataclass(slots=True)
class Decision:
    """The answer to one inbound call."""

    call_id: str
    verdict: Verdict
    decision_id: str = ""
    """Set by :meth:`Router.route`: the journal record's id."""
    reject_reason: RejectReason | None = None
    client_websocket_url: str | None = None
    forwarding: Forwarding | None = None
    inbound_id: str | None = None
    assistant_id: str | None = None
    assistant_name: str | None = None
    action_source: ActionSource | None = None
    caller_context: CallerContextResult | None = None
    reason_detail: str | None = None
    caller_screening: CallerScreening | None = None
    carrier: CarrierAnswer | None = None
    """What the carrier is told of a refusal: the account's override, else the default."""
    call_context_token: str | None = None
    """The signed call context of an accepted call (see call_context_token.py)."""
    capacity: CapacityOutcome | None = None
    """How capacity limits decided (None when none applied; see capacity_stage.py)."""
    business_hours: HoursVerdict | None = None
    """The assistant's business-hours check; None when it has none (always open)."""
    facts: DecisionFacts = field(default_factory=DecisionFacts)

    @property
    def carrier_answer(self) -> CarrierAnswer | None:
        """The refusal's edge outcome and SIP status; None for a routed call."""
        if self.reject_reason is None:
            return None
        return self.carrier or carrier_outcomes.DEFAULTS[self.reject_reason.value]

    @property
    def edge_outcome(self) -> EdgeOutcome:
        """The instruction for the telephony edge."""
        answer = self.carrier_answer
        if answer is not None:
            return EdgeOutcome(answer.edge_outcome)
        return _ROUTED_OUTCOMES[self.verdict]

    @property
    def sip_status(self) -> int | None:
        """The SIP status of a refusal (480, 486, 603, ...); None for a routed call."""
        answer = self.carrier_answer
        return None if answer is None else answer.sip_status
