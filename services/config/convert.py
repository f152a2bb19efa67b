"""ORM rows of the config service to their protobuf messages."""

from __future__ import annotations

from switchboard.config.v1 import config_pb2

from services.common.proto_time import to_timestamp
from services.config.models import AgentIdentity, ApiKey, IncomingCallAction

ACTION_TYPES = {
    "auto_accept": config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_ACCEPT,
    "auto_reject": config_pb2.INCOMING_CALL_ACTION_TYPE_AUTO_REJECT,
    "webhook": config_pb2.INCOMING_CALL_ACTION_TYPE_WEBHOOK,
    "forward": config_pb2.INCOMING_CALL_ACTION_TYPE_FORWARD,
    "hosted_agent": config_pb2.INCOMING_CALL_ACTION_TYPE_HOSTED_AGENT,
}
"""Stored action name -> enum value (the REST name is the stored name)."""

FORWARDING_TARGET_TYPES = {
    "phone": config_pb2.FORWARDING_TARGET_TYPE_PHONE,
    "sip": config_pb2.FORWARDING_TARGET_TYPE_SIP,
}

FALLBACK_ACTIONS = {
    "accept": config_pb2.CALL_FALLBACK_ACTION_ACCEPT,
    "forward": config_pb2.CALL_FALLBACK_ACTION_FORWARD,
    "reject": config_pb2.CALL_FALLBACK_ACTION_REJECT,
}

API_KEY_STATUSES = {
    "active": config_pb2.API_KEY_STATUS_ACTIVE,
    "revoked": config_pb2.API_KEY_STATUS_REVOKED,
}

CREATOR_TYPES = {
    "human": config_pb2.CREATOR_TYPE_HUMAN,
    "agent": config_pb2.CREATOR_TYPE_AGENT,
}


def identity_to_proto(identity: AgentIdentity) -> config_pb2.AgentIdentity:
    """The AgentIdentity message of a row."""
    message = config_pb2.AgentIdentity(
        id=identity.id,
        organization_id=identity.account_id,
        agent_handle=identity.agent_handle,
        display_name=identity.display_name,
        create_time=to_timestamp(identity.created_at),
        update_time=to_timestamp(identity.updated_at),
    )
    if identity.description is not None:
        message.description = identity.description
    return message


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


def api_key_to_proto(key: ApiKey) -> config_pb2.ApiKey:
    """The ApiKey metadata message of a row (never the secret)."""
    message = config_pb2.ApiKey(
        id=key.id,
        organization_id=key.account_id,
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
    for name in ("last_used_at", "expires_at", "revoked_at"):
        value = getattr(key, name)
        if value is not None:
            getattr(message, name).CopyFrom(to_timestamp(value))
    return message
