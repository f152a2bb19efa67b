"""ORM rows and domain values of the config service to and from their protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from google.protobuf import empty_pb2, json_format
from google.protobuf.message import Message
from switchboard.common.v1 import forwarding_pb2
from switchboard.config.v1 import config_pb2

from services.common.errors import InvalidArgument
from services.common.rpc.proto_time import to_timestamp
from services.config import overflow
from services.config.business_hours import OutsideAction
from services.config.call_actions import FIELDS, FORWARDING_FIELDS, CallActionConfig, Fallback
from services.config.identities import CLEARED_DISPLAY_NAME, IdentityView
from services.config.models import (
    AgentIdentity,
    ApiKey,
    IdentityBusinessHours,
    IncomingCallAction,
)
from services.config.repository import IdentityRow
from services.config.signing_keys import NewSigningKey, SigningKeyStatus

ACTION_TYPES = {
    "auto_accept": config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT,
    "auto_reject": config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_REJECT,
    "webhook": config_pb2.INCOMING_CALL_ACTION_TYPE_WEBHOOK,
    "forward": config_pb2.INCOMING_CALL_ACTION_TYPE_FORWARD,
    "hosted_agent": config_pb2.INCOMING_CALL_ACTION_TYPE_HOSTED_AGENT,
}
"""Stored action name -> enum value (the REST name is the stored name)."""

FORWARDING_TARGET_TYPES = {
    "phone": forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE,
    "sip": forwarding_pb2.FORWARDING_TARGET_TYPE_SIP,
}

FALLBACK_ACTIONS = {
    "accept": config_pb2.CALL_FALLBACK_ACTION_ACCEPT,
    "forward": config_pb2.CALL_FALLBACK_ACTION_FORWARD,
    "reject": config_pb2.CALL_FALLBACK_ACTION_REJECT,
}

OUTSIDE_HOURS_ACTIONS = {
    "reject": config_pb2.OUTSIDE_HOURS_ACTION_TYPE_REJECT,
    "forward": config_pb2.OUTSIDE_HOURS_ACTION_TYPE_FORWARD,
    "identity": config_pb2.OUTSIDE_HOURS_ACTION_TYPE_IDENTITY,
    "webhook": config_pb2.OUTSIDE_HOURS_ACTION_TYPE_WEBHOOK,
}

API_KEY_STATUSES = {
    "active": config_pb2.API_KEY_STATUS_ACTIVE,
    "revoked": config_pb2.API_KEY_STATUS_REVOKED,
}

CREATOR_TYPES = {
    "human": config_pb2.CREATOR_TYPE_HUMAN,
    "agent": config_pb2.CREATOR_TYPE_AGENT,
}


def identity_to_proto(identity: AgentIdentity | IdentityRow) -> config_pb2.AgentIdentity:
    """The AgentIdentity message of a row (a cleared display name stays unset = null)."""
    message = config_pb2.AgentIdentity(
        id=identity.id,
        account_id=identity.account_id,
        agent_handle=identity.agent_handle,
        create_time=to_timestamp(identity.created_at),
        update_time=to_timestamp(identity.updated_at),
    )
    if identity.display_name != CLEARED_DISPLAY_NAME:
        message.display_name = identity.display_name
    if identity.description is not None:
        message.description = identity.description
    if identity.max_concurrent_calls is not None:
        message.max_concurrent_calls = identity.max_concurrent_calls
    for step in identity.overflow_chain or ():
        message.overflow_chain.append(_overflow_step_to_proto(step))
    return message


def _overflow_step_to_proto(step: overflow.Step) -> config_pb2.OverflowStep:
    if overflow.IDENTITY in step:
        return config_pb2.OverflowStep(agent_identity_id=step[overflow.IDENTITY])
    if overflow.FORWARD in step:
        return config_pb2.OverflowStep(forwarding_phone_number=step[overflow.FORWARD])
    return config_pb2.OverflowStep(webhook_fallback=empty_pb2.Empty())


def overflow_chain_from_proto(
    steps: Iterable[config_pb2.OverflowStep],
) -> list[overflow.Step]:
    """The stored form of a request's chain; a step with nothing set is an empty object
    (refused by the validation, which names its index)."""
    chain: list[overflow.Step] = []
    for step in steps:
        kind = step.WhichOneof("step")
        if kind == "webhook_fallback":
            chain.append({overflow.FALLBACK: True})
        elif kind is not None:
            chain.append({kind: getattr(step, kind)})
        else:
            chain.append({})
    return chain


def identity_view_to_proto(view: IdentityView) -> config_pb2.AgentIdentity:
    """The AgentIdentity message of a ConfigService answer, with its signing-key status."""
    message = identity_to_proto(view.identity)
    if view.signing_key_created_at is not None:
        message.signing_key_configured = True
        message.signing_key_create_time.CopyFrom(to_timestamp(view.signing_key_created_at))
    if view.business_hours is not None:
        message.business_hours.CopyFrom(business_hours_to_proto(view.business_hours))
    return message


def business_hours_to_proto(row: IdentityBusinessHours) -> config_pb2.BusinessHours:
    """The BusinessHours message of a row (times only when the row carries them)."""
    message = config_pb2.BusinessHours(agent_identity_id=row.agent_identity_id)
    json_format.ParseDict(row.schedule, message.schedule)
    outside = OutsideAction.from_json(row.outside_action)
    action = message.outside_hours_action
    action.action = OUTSIDE_HOURS_ACTIONS[outside.action or "reject"]
    if outside.forwarding_target_type is not None:
        action.forwarding_target_type = FORWARDING_TARGET_TYPES[outside.forwarding_target_type]
    for name in ("forwarding_phone_number", "forwarding_sip_uri", "agent_identity_id"):
        value = getattr(outside, name)
        if value is not None:
            setattr(action, name, value)
    if outside.incoming_call_webhook_url is not None:
        action.incoming_call_webhook_url = outside.incoming_call_webhook_url
    if row.created_at is not None:
        message.create_time.CopyFrom(to_timestamp(row.created_at))
    if row.updated_at is not None:
        message.update_time.CopyFrom(to_timestamp(row.updated_at))
    return message


def business_hours_update(
    request: config_pb2.UpdateAgentIdentityBusinessHoursRequest,
) -> tuple[dict[str, object], OutsideAction]:
    """The schedule (its JSON form, validated by the service) and outside-hours action sent."""
    given = request.business_hours
    schedule = json_format.MessageToDict(given.schedule, preserving_proto_field_name=True)
    message = given.outside_hours_action
    field = "business_hours.outside_hours_action"
    outside = OutsideAction(
        action=_enum_name(_OUTSIDE_NAMES, message.action, f"{field}.action"),
        forwarding_target_type=_enum_name(
            _TARGET_NAMES, message.forwarding_target_type, f"{field}.forwarding_target_type"
        ),
        forwarding_phone_number=_optional(message, "forwarding_phone_number"),
        forwarding_sip_uri=_optional(message, "forwarding_sip_uri"),
        agent_identity_id=_optional(message, "agent_identity_id"),
        incoming_call_webhook_url=_optional(message, "incoming_call_webhook_url"),
    )
    return schedule, outside


def call_action_to_proto(action: IncomingCallAction) -> config_pb2.IncomingCallAction:
    """The IncomingCallAction message of a row (unset optionals stay absent)."""
    message = config_pb2.IncomingCallAction(
        agent_identity_id=action.agent_identity_id,
        incoming_call_action=ACTION_TYPES[action.action],
        create_time=to_timestamp(action.created_at),
        update_time=to_timestamp(action.updated_at),
    )
    for name in (
        "client_websocket_url",
        "incoming_call_webhook_url",
        "forwarding_phone_number",
        "forwarding_sip_uri",
        "secondary_webhook_url",
        "call_context_in_url",
    ):
        value = getattr(action, name)
        if value is not None:
            setattr(message, name, value)
    if action.forwarding_target_type is not None:
        message.forwarding_target_type = FORWARDING_TARGET_TYPES[action.forwarding_target_type]
    if action.webhook_timeout_ms is not None:
        message.webhook_timeout.FromMilliseconds(action.webhook_timeout_ms)
    if action.fallback_action is not None:
        fallback = message.webhook_fallback
        fallback.action = FALLBACK_ACTIONS[action.fallback_action]
        if action.fallback_client_websocket_url is not None:
            fallback.client_websocket_url = action.fallback_client_websocket_url
        if action.fallback_forwarding_target_type is not None:
            fallback.forwarding_target_type = FORWARDING_TARGET_TYPES[
                action.fallback_forwarding_target_type
            ]
        if action.fallback_forwarding_phone_number is not None:
            fallback.forwarding_phone_number = action.fallback_forwarding_phone_number
        if action.fallback_forwarding_sip_uri is not None:
            fallback.forwarding_sip_uri = action.fallback_forwarding_sip_uri
    return message


_API_KEY_TIMES: Final = (
    ("last_used_at", "last_use_time"),
    ("expires_at", "expire_time"),
    ("revoked_at", "revoke_time"),
)
"""Optional timestamp columns of an API key row -> their ApiKey message fields."""


def api_key_to_proto(key: ApiKey) -> config_pb2.ApiKey:
    """The ApiKey metadata message of a row (never the secret)."""
    message = config_pb2.ApiKey(
        id=key.id,
        account_id=key.account_id,
        creator_type=CREATOR_TYPES.get(key.creator_type, config_pb2.CREATOR_TYPE_UNSPECIFIED),
        label=key.label,
        status=API_KEY_STATUSES[key.status],
        last4=key.last4,
        display_prefix=key.display_prefix,
        create_time=to_timestamp(key.created_at),
        update_time=to_timestamp(key.updated_at),
    )
    for name in ("created_by", "scoped_identity_id", "description"):
        value = getattr(key, name)
        if value is not None:
            setattr(message, name, value)
    for column, field in _API_KEY_TIMES:
        value = getattr(key, column)
        if value is not None:
            getattr(message, field).CopyFrom(to_timestamp(value))
    return message


def _names(values: Mapping[str, int]) -> dict[int, str]:
    return {number: name for name, number in values.items()}


_ACTION_NAMES: Final = _names(ACTION_TYPES)
_TARGET_NAMES: Final = _names(FORWARDING_TARGET_TYPES)
_FALLBACK_NAMES: Final = _names(FALLBACK_ACTIONS)
_OUTSIDE_NAMES: Final = _names(OUTSIDE_HOURS_ACTIONS)

_RENAMED_PATHS: Final = {"action": "incoming_call_action", "webhook_timeout_ms": "webhook_timeout"}
CALL_ACTION_PATHS: Final = {_RENAMED_PATHS.get(name, name): name for name in FIELDS}
"""``UpdateIncomingCallActionRequest.update_mask`` path -> CallActionConfig field."""
_IGNORED_PATHS: Final = frozenset({"agent_identity_id", "create_time", "update_time"})


def _optional(message: Message, name: str) -> str | None:
    return getattr(message, name) if message.HasField(name) else None


def _enum_name(names: Mapping[int, str], number: int, field: str) -> str | None:
    """The name of an enum value; None for UNSPECIFIED (0); unknown numbers are refused."""
    if number == 0:
        return None
    if number not in names:
        raise InvalidArgument.for_field(field, f"{field} has an unknown value {number}")
    return names[number]


def requested_identity_id(message: config_pb2.IncomingCallAction) -> str | None:
    """The ``agent_identity_id`` a request names, None when absent or empty."""
    return message.agent_identity_id or None


def call_action_update(
    request: config_pb2.UpdateIncomingCallActionRequest,
) -> tuple[CallActionConfig, frozenset[str]]:
    """The values an update carries and the fields it writes (see the proto's mask rules)."""
    message = request.incoming_call_action
    target_type = (
        _enum_name(_TARGET_NAMES, message.forwarding_target_type, "forwarding_target_type")
        if message.HasField("forwarding_target_type")
        else None
    )
    values = CallActionConfig(
        action=_enum_name(_ACTION_NAMES, message.incoming_call_action, "incoming_call_action"),
        client_websocket_url=_optional(message, "client_websocket_url"),
        incoming_call_webhook_url=_optional(message, "incoming_call_webhook_url"),
        forwarding_target_type=target_type,
        forwarding_phone_number=_optional(message, "forwarding_phone_number"),
        forwarding_sip_uri=_optional(message, "forwarding_sip_uri"),
        webhook_timeout_ms=(
            message.webhook_timeout.ToMilliseconds()
            if message.HasField("webhook_timeout")
            else None
        ),
        webhook_fallback=(
            _fallback(message.webhook_fallback) if message.HasField("webhook_fallback") else None
        ),
        secondary_webhook_url=_optional(message, "secondary_webhook_url"),
        call_context_in_url=(
            message.call_context_in_url if message.HasField("call_context_in_url") else None
        ),
    )
    if not request.update_mask.paths:
        fields = {name for name in FIELDS if name not in FORWARDING_FIELDS}
        fields.update(name for name in FORWARDING_FIELDS if message.HasField(name))
        return values, frozenset(fields)
    fields = set()
    for path in request.update_mask.paths:
        if path in _IGNORED_PATHS:
            continue
        if path not in CALL_ACTION_PATHS:
            raise InvalidArgument.for_field("update_mask", f"unknown update_mask path {path!r}")
        fields.add(CALL_ACTION_PATHS[path])
    return values, frozenset(fields)


def _fallback(message: config_pb2.CallFallback) -> Fallback:
    action = _enum_name(_FALLBACK_NAMES, message.action, "webhook_fallback.action")
    if action is None:
        raise InvalidArgument.for_field(
            "webhook_fallback.action", "webhook_fallback.action is required"
        )
    return Fallback(
        action=action,
        client_websocket_url=_optional(message, "client_websocket_url"),
        forwarding_target_type=_enum_name(
            _TARGET_NAMES, message.forwarding_target_type, "webhook_fallback.forwarding_target_type"
        ),
        forwarding_phone_number=_optional(message, "forwarding_phone_number"),
        forwarding_sip_uri=_optional(message, "forwarding_sip_uri"),
    )


def signing_key_status_to_proto(status: SigningKeyStatus) -> config_pb2.SigningKeyStatus:
    """The SigningKeyStatus message (never the key)."""
    message = config_pb2.SigningKeyStatus(configured=status.configured)
    if status.created_at is not None:
        message.create_time.CopyFrom(to_timestamp(status.created_at))
    return message


def signing_key_to_proto(key: NewSigningKey) -> config_pb2.SigningKey:
    """The SigningKey message of a new key (its only appearance)."""
    return config_pb2.SigningKey(
        signing_key=key.signing_key, create_time=to_timestamp(key.created_at)
    )
