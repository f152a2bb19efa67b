"""RouteCallResponse to the REST JSON shape: snake_case fields, enums as lower-case strings."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from switchboard.registry.v1 import registry_pb2


def enum_name(wrapper: EnumTypeWrapper, prefix: str, value: int) -> str | None:
    """``ROUTING_DECISION_ACCEPT`` -> ``"accept"``; UNSPECIFIED (or unknown) -> None."""
    if value == 0:
        return None
    try:
        return str(wrapper.Name(value)).removeprefix(prefix).lower()
    except ValueError:
        return None


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def decision_json(response: registry_pb2.RouteCallResponse) -> dict[str, Any]:
    """The JSON body of a routing decision (every field present, null when unset)."""
    context: dict[str, Any] | None = None
    if response.HasField("caller_context"):
        caller = response.caller_context
        context = {
            "status": enum_name(
                registry_pb2.ContextLookupStatus, "CONTEXT_LOOKUP_STATUS_", caller.status
            ),
            "variables": json_format.MessageToDict(caller.variables),
            "error": _optional(caller, "error"),
            "strategy_id": _optional(caller, "strategy_id"),
        }
    return {
        "call_id": response.call_id,
        "decision": enum_name(registry_pb2.RoutingDecision, "ROUTING_DECISION_", response.decision),
        "reject_reason": enum_name(
            registry_pb2.RejectReason, "REJECT_REASON_", response.reject_reason
        ),
        "edge_outcome": enum_name(registry_pb2.EdgeOutcome, "EDGE_OUTCOME_", response.edge_outcome),
        "client_websocket_url": _optional(response, "client_websocket_url"),
        "forwarding_target_type": enum_name(
            registry_pb2.ForwardingTargetType,
            "FORWARDING_TARGET_TYPE_",
            response.forwarding_target_type,
        ),
        "forwarding_phone_number": _optional(response, "forwarding_phone_number"),
        "forwarding_sip_uri": _optional(response, "forwarding_sip_uri"),
        "inbound_id": _optional(response, "inbound_id"),
        "assistant_id": _optional(response, "assistant_id"),
        "assistant_name": _optional(response, "assistant_name"),
        "action_source": enum_name(
            registry_pb2.ActionSource, "ACTION_SOURCE_", response.action_source
        ),
        "caller_context": context,
        "reason_detail": _optional(response, "reason_detail"),
    }
