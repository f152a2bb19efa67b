"""Explain and simulate: what a routing run may touch, and the trace of how it decided.

A real call and a simulation run the same :class:`~services.registry.routing.decision.Router`
code. :class:`RunOptions` says what a run may do beyond reading configuration (ask the
customer's webhook, look up the caller's context, or use a supplied webhook answer instead);
a :class:`Trace` collects one :class:`Step` per stage of the pipeline. Real calls run with
:data:`REAL_CALL` and :data:`NO_TRACE`, whose ``add`` does nothing, so the hot path pays one
no-op call per stage; details that take more than formatting a string are built only when
``trace.enabled``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Final

from services.registry.call_target import CallAction, FallbackKind
from services.registry.routing.caller_screening import CallerScreening
from services.registry.routing.context_lookup import CallerContextResult, ContextStatus
from services.registry.routing.edge_auth import RoutingCaller
from services.registry.routing.webhook import WebhookResult, WebhookVerdict

if TYPE_CHECKING:
    from services.registry.routing.outcome import Decision


class Stage(Enum):
    """The pipeline's stages, in the order a call meets them."""

    SERVICE = "service"
    NORMALIZE = "normalize"
    MAPPING = "mapping"
    CALLER_SCREENING = "caller_screening"
    ASSISTANT = "assistant"
    BUSINESS_HOURS = "business_hours"
    CALL_ACTION = "call_action"
    CAPACITY = "capacity"
    WEBHOOK = "webhook"
    FALLBACK = "fallback"
    CALLER_CONTEXT = "caller_context"
    CALL_CONTEXT = "call_context"
    OUTCOME = "outcome"


@dataclass(frozen=True, slots=True)
class Step:
    """One stage's result: ``outcome`` is a short machine-readable word, ``detail`` says why."""

    stage: Stage
    outcome: str
    detail: str


@dataclass(slots=True)
class Trace:
    """The steps of one run, in order."""

    steps: list[Step] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        """Whether steps are kept (False for :data:`NO_TRACE`)."""
        return True

    def add(self, stage: Stage, outcome: str, detail: str = "") -> None:
        """Record what ``stage`` came to."""
        self.steps.append(Step(stage, outcome, detail))


class _NoTrace(Trace):
    """The trace of a real call: keeps nothing."""

    @property
    def enabled(self) -> bool:
        return False

    def add(self, stage: Stage, outcome: str, detail: str = "") -> None:
        return None


NO_TRACE: Final[Trace] = _NoTrace()


@dataclass(frozen=True, slots=True)
class SuppliedWebhookAnswer:
    """A stand-in for the customer's webhook: ``body`` is the JSON it would have answered with,
    read exactly as a real answer is; None means it did not answer (timeout, error)."""

    body: bytes | None


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a routing run may do besides reading configuration.

    ``webhook_answer``, when set, stands in for the customer's webhook (nothing is sent);
    otherwise the webhook is asked only when ``ask_webhook``. A webhook that is not asked is
    treated as one that did not answer, so the decision shows the identity's configured
    fallback. The context strategy is looked up only when ``look_up_context``.
    """

    simulated: bool = False
    ask_webhook: bool = True
    look_up_context: bool = True
    webhook_answer: SuppliedWebhookAnswer | None = None
    at: datetime | None = None
    """The moment the call is simulated at (business hours are checked at it); None: now."""


REAL_CALL: Final = RunOptions()
"""A live call: the webhook and the context strategy are asked, the decision is journaled."""


def simulation(
    *,
    ask_webhook: bool = False,
    look_up_context: bool = False,
    webhook_answer: SuppliedWebhookAnswer | None = None,
    at: datetime | None = None,
) -> RunOptions:
    """The options of a dry run: no outgoing request unless asked, nothing journaled."""
    return RunOptions(
        simulated=True,
        ask_webhook=ask_webhook,
        look_up_context=look_up_context,
        webhook_answer=webhook_answer,
        at=at,
    )


# What each stage says, as (outcome, detail). Only traced runs call these.


def no_mapping_detail(normalized: str, caller: RoutingCaller) -> str:
    """Why no mapping matched: none is active for the number (within the caller's account)."""
    if caller.account_id is None:
        return f"no active mapping for {normalized}"
    return f"no active mapping for {normalized} in this account"


def screening_step(screening: CallerScreening) -> tuple[str, str]:
    """The caller screening's verdict and the rule (or filter mode) that produced it."""
    return ("allow" if screening.allowed else "block"), screening.detail


def action_step(action: CallAction, version: datetime | None) -> tuple[str, str]:
    """The identity's incoming-call action and the version (last update) that was used."""
    kind = action.kind.value if action.kind is not None else "unknown"
    if version is None:
        return kind, "the identity's incoming-call action"
    return kind, f"the identity's incoming-call action, updated {version.isoformat()}"


def webhook_step(answer: WebhookResult) -> tuple[str, str]:
    """What the webhook exchange came to (supplied, asked, or not asked)."""
    if answer.verdict is WebhookVerdict.ANSWER:
        by = " by secondary_webhook_url" if answer.endpoint == "secondary" else ""
        return answer.verdict.value, f"answered{by} with {answer.url}"
    return answer.verdict.value, answer.detail or ""


def fallback_step(kind: FallbackKind | None) -> tuple[str, str]:
    """The identity's ``webhook_fallback``, applied because the webhook did not answer."""
    name = kind.value if kind is not None else "unspecified"
    return name, "the identity's webhook_fallback"


def context_step(result: CallerContextResult) -> tuple[str, str]:
    """The caller-context lookup's status and what it returned or why it failed."""
    if result.status is ContextStatus.OK:
        names = ", ".join(sorted(result.variables or {}))
        return result.status.value, f"variables: {names}" if names else "no variables"
    if result.status is ContextStatus.NOT_LOOKED_UP:
        return result.status.value, f"strategy {result.strategy_id} not asked (simulation)"
    return result.status.value, result.error or ""


def outcome_detail(decision: Decision) -> str:
    """The edge outcome and, for a reject, its reason."""
    text = f"edge outcome {decision.edge_outcome.value}"
    answer = decision.carrier_answer
    if decision.reject_reason is not None and answer is not None:
        text += f", reject reason {decision.reject_reason.value}"
        whose = "the account's override" if answer.source == "account" else "default"
        text += f", SIP {answer.sip_status} {answer.sip_reason_phrase} ({whose})"
    return text
