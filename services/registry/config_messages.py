"""Config's protobuf answers to the registry's domain values (``call_target.py``).

The only place the registry reads ``CallTarget``/``AgentIdentity`` fields and config's enum
constants; the config client applies it to every answer, so routing never sees protobuf.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Final

from google.protobuf import json_format
from switchboard.common.v1 import forwarding_pb2
from switchboard.config.v1 import config_pb2

from services.common.business_hours import BusinessHours, parse_business_hours
from services.common.errors import InvalidArgument
from services.registry.call_target import (
    ActionKind,
    CallAction,
    CallTarget,
    FallbackKind,
    Forwarding,
    Identity,
    IdentityHours,
    OutsideHoursAction,
    OutsideKind,
    OverflowKind,
    OverflowStep,
    WebhookFallback,
)

_log = logging.getLogger(__name__)
_ActionMessage = (
    config_pb2.IncomingCallAction | config_pb2.CallFallback | config_pb2.OutsideHoursAction
)

_ACTION_KINDS: Final = {
    config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT: ActionKind.AUTO_ACCEPT,
    config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_REJECT: ActionKind.AUTO_REJECT,
    config_pb2.INCOMING_CALL_ACTION_TYPE_WEBHOOK: ActionKind.WEBHOOK,
    config_pb2.INCOMING_CALL_ACTION_TYPE_FORWARD: ActionKind.FORWARD,
    config_pb2.INCOMING_CALL_ACTION_TYPE_HOSTED_AGENT: ActionKind.HOSTED_AGENT,
}
_OUTSIDE_KINDS: Final = {
    config_pb2.OUTSIDE_HOURS_ACTION_TYPE_REJECT: OutsideKind.REJECT,
    config_pb2.OUTSIDE_HOURS_ACTION_TYPE_FORWARD: OutsideKind.FORWARD,
    config_pb2.OUTSIDE_HOURS_ACTION_TYPE_IDENTITY: OutsideKind.IDENTITY,
    config_pb2.OUTSIDE_HOURS_ACTION_TYPE_WEBHOOK: OutsideKind.WEBHOOK,
}
_FALLBACK_KINDS: Final = {
    config_pb2.CALL_FALLBACK_ACTION_ACCEPT: FallbackKind.ACCEPT,
    config_pb2.CALL_FALLBACK_ACTION_FORWARD: FallbackKind.FORWARD,
    config_pb2.CALL_FALLBACK_ACTION_REJECT: FallbackKind.REJECT,
}


def identity_from_proto(message: config_pb2.AgentIdentity) -> Identity:
    """The identity of an ``AgentIdentity`` message."""
    return Identity(
        id=message.id,
        account_id=message.account_id,
        agent_handle=message.agent_handle,
        display_name=message.display_name if message.HasField("display_name") else None,
        max_concurrent_calls=(
            message.max_concurrent_calls if message.HasField("max_concurrent_calls") else None
        ),
        overflow_chain=tuple(
            step for step in map(_overflow_step, message.overflow_chain) if step is not None
        ),
    )


def _overflow_step(message: config_pb2.OverflowStep) -> OverflowStep | None:
    """One overflow step; None for a kind this registry does not know (a newer config)."""
    kind = message.WhichOneof("step")
    if kind == "agent_identity_id":
        return OverflowStep(OverflowKind.IDENTITY, message.agent_identity_id)
    if kind == "forwarding_phone_number":
        return OverflowStep(OverflowKind.FORWARD, message.forwarding_phone_number)
    if kind == "webhook_fallback":
        return OverflowStep(OverflowKind.WEBHOOK_FALLBACK)
    return None


def call_target_from_proto(message: config_pb2.CallTarget) -> CallTarget:
    """The call target of a ``ResolveCallTarget`` answer."""
    return CallTarget(
        identity=identity_from_proto(message.agent_identity),
        action=(
            _action(message.incoming_call_action)
            if message.HasField("incoming_call_action")
            else None
        ),
        signing_key=(
            message.webhook_signing_key if message.HasField("webhook_signing_key") else None
        ),
        business_hours=(
            _business_hours(message.business_hours) if message.HasField("business_hours") else None
        ),
    )


def _business_hours(message: config_pb2.BusinessHours) -> IdentityHours:
    action = message.outside_hours_action
    return IdentityHours(
        schedule=_schedule(message.schedule),
        outside=OutsideHoursAction(
            kind=_OUTSIDE_KINDS.get(action.action),
            forwarding=_forwarding(action),
            identity_id=_optional(action, "agent_identity_id"),
            webhook_url=_optional(action, "incoming_call_webhook_url"),
        ),
    )


def _schedule(message: config_pb2.WeeklyHours) -> BusinessHours | None:
    """The schedule, read by the rule config validated it with; None if it no longer reads."""
    raw = json_format.MessageToDict(message, preserving_proto_field_name=True)
    try:
        return parse_business_hours(raw, "schedule")
    except InvalidArgument as error:
        _log.warning("unreadable business hours ignored: %s", error.message)
        return None


def _action(message: config_pb2.IncomingCallAction) -> CallAction:
    return CallAction(
        kind=_ACTION_KINDS.get(message.incoming_call_action),
        client_websocket_url=_optional(message, "client_websocket_url"),
        webhook_url=_optional(message, "incoming_call_webhook_url"),
        secondary_webhook_url=_optional(message, "secondary_webhook_url"),
        forwarding=_forwarding(message),
        webhook_timeout_seconds=(
            message.webhook_timeout.ToMilliseconds() / 1000
            if message.HasField("webhook_timeout")
            else None
        ),
        fallback=(
            _fallback(message.webhook_fallback) if message.HasField("webhook_fallback") else None
        ),
        updated_at=(
            message.update_time.ToDatetime(tzinfo=UTC) if message.HasField("update_time") else None
        ),
        call_context_in_url=message.call_context_in_url,
    )


def _fallback(message: config_pb2.CallFallback) -> WebhookFallback:
    return WebhookFallback(
        kind=_FALLBACK_KINDS.get(message.action),
        client_websocket_url=_optional(message, "client_websocket_url"),
        forwarding=_forwarding(message),
    )


def _forwarding(
    message: config_pb2.IncomingCallAction
    | config_pb2.CallFallback
    | config_pb2.OutsideHoursAction,
) -> Forwarding | None:
    """The destination of the message's target type, if it names one."""
    kind = message.forwarding_target_type
    if kind == forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE and message.HasField(
        "forwarding_phone_number"
    ):
        return Forwarding("phone", message.forwarding_phone_number)
    if kind == forwarding_pb2.FORWARDING_TARGET_TYPE_SIP and message.HasField("forwarding_sip_uri"):
        return Forwarding("sip", message.forwarding_sip_uri)
    return None


def _optional(
    message: config_pb2.IncomingCallAction
    | config_pb2.CallFallback
    | config_pb2.OutsideHoursAction,
    name: str,
) -> str | None:
    value: str = getattr(message, name)
    return value if message.HasField(name) else None
