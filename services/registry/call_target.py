"""What routing knows of an agent identity: call action, signing key, business hours; no protobuf.

The registry's config client (``config_client.py``) builds these from config's
``CallTarget``/``AgentIdentity`` messages; routing, the webhook and the caches use only them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from services.common.business_hours import BusinessHours


class ActionKind(Enum):
    """The identity's incoming-call action (``IncomingCallActionType``)."""

    AUTO_ACCEPT = "auto_accept"
    AUTO_REJECT = "auto_reject"
    WEBHOOK = "webhook"
    FORWARD = "forward"
    HOSTED_AGENT = "hosted_agent"


class FallbackKind(Enum):
    """What a failed webhook falls back to (``CallFallbackAction``)."""

    ACCEPT = "accept"
    FORWARD = "forward"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Forwarding:
    """A forwarding destination: ``kind`` is ``phone`` or ``sip``."""

    kind: str
    destination: str


class OverflowKind(Enum):
    """What an overflow step does (``OverflowStep``'s oneof)."""

    IDENTITY = "agent_identity_id"
    FORWARD = "forwarding_phone_number"
    WEBHOOK_FALLBACK = "webhook_fallback"


@dataclass(frozen=True, slots=True)
class OverflowStep:
    """One step of an overflow chain: ``value`` is the identity id or the phone number."""

    kind: OverflowKind
    value: str | None = None

    def describe(self) -> str:
        """The step for people and the journal, e.g. ``forwarding_phone_number=+1415...``."""
        return self.kind.value if self.value is None else f"{self.kind.value}={self.value}"


@dataclass(frozen=True, slots=True)
class Identity:
    """An agent identity (the registry's "assistant").

    ``max_concurrent_calls`` None means unlimited; ``overflow_chain`` is what a call beyond
    it tries, in order (routing/capacity_stage.py).
    """

    id: str
    account_id: str
    agent_handle: str
    display_name: str | None = None
    max_concurrent_calls: int | None = None
    overflow_chain: tuple[OverflowStep, ...] = ()

    @property
    def assistant_name(self) -> str:
        """Its ``assistant_name``: the display name, or the handle once that is cleared."""
        return self.display_name if self.display_name is not None else self.agent_handle


@dataclass(frozen=True, slots=True)
class WebhookFallback:
    """The configured answer when the webhook fails.

    ``forwarding`` is set only when the fallback names a destination of its target type.
    """

    kind: FallbackKind | None
    client_websocket_url: str | None = None
    forwarding: Forwarding | None = None


@dataclass(frozen=True, slots=True)
class CallAction:
    """An identity's incoming-call action.

    ``kind`` is None for an action type this registry does not know (a newer config
    service); ``forwarding`` is set only when the action names a destination of its target
    type; ``webhook_timeout_seconds`` None means the default budget.
    """

    kind: ActionKind | None
    client_websocket_url: str | None = None
    webhook_url: str | None = None
    secondary_webhook_url: str | None = None
    """Asked when the primary is slow, failing or short-circuited (see webhook_endpoints)."""
    forwarding: Forwarding | None = None
    webhook_timeout_seconds: float | None = None
    fallback: WebhookFallback | None = None
    updated_at: datetime | None = None
    call_context_in_url: bool = False
    """Append the signed call context to the ``wss://`` URL handed out."""


class OutsideKind(Enum):
    """What happens to a call outside business hours (``OutsideHoursActionType``)."""

    REJECT = "reject"
    FORWARD = "forward"
    IDENTITY = "identity"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class OutsideHoursAction:
    """The outside-hours action; ``kind`` None for one this registry does not know (rejects)."""

    kind: OutsideKind | None
    forwarding: Forwarding | None = None
    identity_id: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityHours:
    """An identity's business hours.

    ``schedule`` is None when the stored schedule no longer reads (a time zone a tzdata
    update dropped): routing then treats the identity as open rather than refuse calls.
    """

    schedule: BusinessHours | None
    outside: OutsideHoursAction


@dataclass(frozen=True, slots=True)
class CallTarget:
    """Everything routing needs of one identity; ``action`` None when none is configured,
    ``business_hours`` None when it has none (always open)."""

    identity: Identity
    action: CallAction | None = None
    signing_key: str | None = None
    business_hours: IdentityHours | None = None
