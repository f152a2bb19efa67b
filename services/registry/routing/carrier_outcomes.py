"""What the carrier is told for each reject reason: an edge outcome and a SIP status.

SIP (RFC 3261 section 21) tells a carrier how final a refusal is. A 4xx fails the call *at
this destination*: a carrier with another route or a hunt group may try it (480, 486). A
6xx is a *global* failure: no destination will take the call, so the carrier stops and
does not re-offer it anywhere (603 Decline, 600 Busy Everywhere, 607 Unwanted). A 5xx
(503) says this server failed and asks for failover. So 603 is kept for the reasons where
someone with the right to decide deliberately refused this call, and a retry elsewhere
would defeat that decision; every failure or temporary state gets a 4xx.

Defaults, and why (:data:`DEFAULTS`, :data:`WHY`):

=====================  =======================  ===  ======================================
reason                 edge outcome             SIP  why
=====================  =======================  ===  ======================================
invalid_number         temporarily_unavailable  480  we cannot read the dialed number: a
                                                     carrier fault, another route may work
no_active_mapping      temporarily_unavailable  480  not routable here now (a number being
                                                     set up); 4xx leaves failover possible
no_assistant           temporarily_unavailable  480  a configuration gap, usually brief
assistant_not_found    temporarily_unavailable  480  as above
no_call_action         temporarily_unavailable  480  as above
at_capacity            busy                     486  busy *here*: a hunt group may try its
                                                     next destination (600 would forbid)
outside_hours          temporarily_unavailable  480  closed now, open later: temporary
webhook_failed         temporarily_unavailable  480  nobody refused the call, the
                                                     customer's app failed: temporary
auto_reject            rejected                 603  the owner refuses every call
webhook_rejected       rejected                 603  the customer's app refused this call
caller_blocked         rejected                 603  the owner blocked this caller; a
                                                     retry elsewhere would defeat the block
=====================  =======================  ===  ======================================

An account may override any reason decided after its mapping is known (so not
``invalid_number`` and ``no_active_mapping``, which are decided before any account is),
choosing among the statuses of :data:`ALLOWED_SIP_STATUSES`, which never cross outcomes:
e.g. ``caller_blocked`` -> 480 to hide the block, 607 Unwanted for spam; ``at_capacity`` ->
503 to make the carrier fail over to a secondary platform.

Exotel (:func:`exotel_answer`): Exotel never receives a SIP status from Switchboard. Its
Voicebot/Stream applet asks the gateway's ``/exotel/{token}/stream`` for ``{"url"}`` and
streams on 200; on any other answer the applet fails and the call continues on the flow's
next applet (where the flow author plays "busy" or "closed"). Refusals stay 404 there, as
today, with ``edge_outcome`` and ``sip_status`` in the detail for Exotel's request log.
A Passthru applet placed before it branches on 200 (bridge: go on to the stream applet)
and 302 (any other outcome: the flow's refusal branch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from services.common.errors import FieldViolation, InvalidArgument

RefusalOutcome = Literal["temporarily_unavailable", "busy", "rejected"]
"""Edge outcomes of a refused call (routed calls are ``bridge`` or ``forward``)."""
EdgeOutcomeName = Literal["bridge", "forward", "temporarily_unavailable", "busy", "rejected"]

REFUSAL_OUTCOMES: Final[tuple[RefusalOutcome, ...]] = (
    "temporarily_unavailable",
    "busy",
    "rejected",
)

SIP_REASON_PHRASES: Final = MappingProxyType(
    {
        403: "Forbidden",
        404: "Not Found",
        410: "Gone",
        480: "Temporarily Unavailable",
        486: "Busy Here",
        503: "Service Unavailable",
        600: "Busy Everywhere",
        603: "Decline",
        607: "Unwanted",
    }
)

ALLOWED_SIP_STATUSES: Final[Mapping[RefusalOutcome, frozenset[int]]] = MappingProxyType(
    {
        # Not reachable here, now: 404/410 say the number is not (any more) in service,
        # 503 asks the carrier to fail over to another route.
        "temporarily_unavailable": frozenset({480, 404, 410, 503}),
        # Busy: here (another destination may be tried) or everywhere.
        "busy": frozenset({486, 600}),
        # Refused for good: declined, forbidden, or unwanted (RFC 8197, spam callers).
        "rejected": frozenset({603, 403, 607}),
    }
)


@dataclass(frozen=True, slots=True)
class CarrierAnswer:
    """What the edge answers the carrier; ``source`` says whose rule chose it."""

    edge_outcome: RefusalOutcome
    sip_status: int
    source: Literal["default", "account"] = "default"

    @property
    def sip_reason_phrase(self) -> str:
        """The status line's text, e.g. ``Busy Here``."""
        return SIP_REASON_PHRASES[self.sip_status]


DEFAULTS: Final[Mapping[str, CarrierAnswer]] = MappingProxyType(
    {
        "invalid_number": CarrierAnswer("temporarily_unavailable", 480),
        "no_active_mapping": CarrierAnswer("temporarily_unavailable", 480),
        "no_assistant": CarrierAnswer("temporarily_unavailable", 480),
        "assistant_not_found": CarrierAnswer("temporarily_unavailable", 480),
        "no_call_action": CarrierAnswer("temporarily_unavailable", 480),
        "at_capacity": CarrierAnswer("busy", 486),
        "outside_hours": CarrierAnswer("temporarily_unavailable", 480),
        "webhook_failed": CarrierAnswer("temporarily_unavailable", 480),
        "auto_reject": CarrierAnswer("rejected", 603),
        "webhook_rejected": CarrierAnswer("rejected", 603),
        "caller_blocked": CarrierAnswer("rejected", 603),
    }
)
"""Every reject reason's answer unless the account overrides it."""

WHY: Final[Mapping[str, str]] = MappingProxyType(
    {
        "invalid_number": "the dialed number cannot be read: another route may work",
        "no_active_mapping": "not routable here now; a 4xx leaves carrier failover possible",
        "no_assistant": "a configuration gap, usually brief: not a final refusal",
        "assistant_not_found": "a configuration gap, usually brief: not a final refusal",
        "no_call_action": "a configuration gap, usually brief: not a final refusal",
        "at_capacity": "busy here: a hunt group may try its next destination",
        "outside_hours": "closed now, open later: a temporary state",
        "webhook_failed": "nobody refused the call, the customer's app failed: temporary",
        "auto_reject": "the owner refuses every call: final, carriers must not retry",
        "webhook_rejected": "the customer's app refused this call: final",
        "caller_blocked": "the owner blocked this caller: a retry elsewhere would defeat it",
    }
)
"""Why each default was chosen (for the explain trace and the docs)."""

NOT_OVERRIDABLE: Final = frozenset({"invalid_number", "no_active_mapping"})
"""Reasons decided before any account is known, so no account's override can apply."""

MAX_OVERRIDES: Final = len(DEFAULTS)


class CarrierPolicy:
    """The defaults with one account's overrides applied."""

    def __init__(self, overrides: Mapping[str, CarrierAnswer] | None = None) -> None:
        self._overrides = dict(overrides or {})

    def answer(self, reason: str) -> CarrierAnswer:
        """The answer for ``reason`` (a ``RejectReason`` value); KeyError for an unknown one."""
        return self._overrides.get(reason) or DEFAULTS[reason]


DEFAULT_POLICY: Final = CarrierPolicy()
"""For calls whose account is unknown or has no overrides."""


def parse_overrides(raw: Any, field: str = "sip_overrides") -> dict[str, CarrierAnswer]:
    """An account's overrides from ``{reason: {"sip_status": N, "edge_outcome"?: ...}}``.

    ``edge_outcome`` may be left out: the status alone names it (no status belongs to two
    outcomes). InvalidArgument names every bad field.
    """
    if not isinstance(raw, Mapping):
        raise InvalidArgument.for_field(field, f"{field} must be an object keyed by reason")
    violations: list[FieldViolation] = []
    overrides: dict[str, CarrierAnswer] = {}
    for reason, value in raw.items():
        reason_field = f"{field}.{str(reason)[:40]}"
        if reason not in DEFAULTS:
            known = ", ".join(sorted(set(DEFAULTS) - NOT_OVERRIDABLE))
            violations.append(FieldViolation(reason_field, f"unknown reason (one of: {known})"))
            continue
        if reason in NOT_OVERRIDABLE:
            violations.append(
                FieldViolation(reason_field, "decided before the account is known: not overridable")
            )
            continue
        answer = _override(value, reason_field, violations)
        if answer is not None:
            overrides[reason] = answer
    if violations:
        first = violations[0]
        raise InvalidArgument(f"{first.field}: {first.description}", violations=violations)
    return overrides


def _override(value: Any, field: str, violations: list[FieldViolation]) -> CarrierAnswer | None:
    if not isinstance(value, Mapping) or not set(value) <= {"sip_status", "edge_outcome"}:
        violations.append(
            FieldViolation(field, 'an override is {"sip_status": N, "edge_outcome"?: "..."}')
        )
        return None
    status = value.get("sip_status")
    if not isinstance(status, int) or isinstance(status, bool):
        violations.append(FieldViolation(f"{field}.sip_status", "sip_status must be an integer"))
        return None
    outcome = value.get("edge_outcome")
    if outcome is not None and outcome not in REFUSAL_OUTCOMES:
        violations.append(
            FieldViolation(
                f"{field}.edge_outcome",
                f"edge_outcome must be one of: {', '.join(REFUSAL_OUTCOMES)}",
            )
        )
        return None
    owner = next((name for name in REFUSAL_OUTCOMES if status in ALLOWED_SIP_STATUSES[name]), None)
    if owner is None or (outcome is not None and outcome != owner):
        allowed = _allowed_text(outcome)
        violations.append(
            FieldViolation(f"{field}.sip_status", f"{status} is not allowed; {allowed}")
        )
        return None
    return CarrierAnswer(owner, status, "account")


def _allowed_text(outcome: RefusalOutcome | None) -> str:
    outcomes = REFUSAL_OUTCOMES if outcome is None else (outcome,)
    return "; ".join(
        f"{name}: {', '.join(str(code) for code in sorted(ALLOWED_SIP_STATUSES[name]))}"
        for name in outcomes
    )


@dataclass(frozen=True, slots=True)
class ExotelAnswer:
    """How the Exotel adapter renders an outcome (Exotel takes no SIP status from us)."""

    stream_http_status: int
    """The ``/exotel/{token}/stream`` answer: 200 ``{"url"}`` streams; anything else fails
    the Voicebot/Stream applet, and Exotel moves on to the flow's next applet."""
    passthru_http_status: int
    """A Passthru applet's branch: 200 (bridge) or 302 (the flow's refusal branch)."""


_EXOTEL: Final[Mapping[str, ExotelAnswer]] = MappingProxyType(
    {
        "bridge": ExotelAnswer(200, 200),
        # The applet can only stream: a forward is for a Connect applet, so not here.
        "forward": ExotelAnswer(409, 302),
        "temporarily_unavailable": ExotelAnswer(404, 302),
        "busy": ExotelAnswer(404, 302),
        "rejected": ExotelAnswer(404, 302),
    }
)


def exotel_answer(edge_outcome: EdgeOutcomeName) -> ExotelAnswer:
    """What Exotel is answered for ``edge_outcome``."""
    return _EXOTEL[edge_outcome]
