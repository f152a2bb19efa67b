"""Routing responses to the REST JSON shape: snake_case fields, enums as lower-case strings."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from switchboard.registry.v1 import registry_pb2

from gateway.messages import enum_text, optional, timestamp


def decision_json(response: registry_pb2.RouteCallResponse) -> dict[str, Any]:
    """The JSON body of a routing decision (every field present, null when unset)."""
    context: dict[str, Any] | None = None
    if response.HasField("caller_context"):
        caller = response.caller_context
        context = {
            "status": enum_text(caller, "status"),
            "variables": json_format.MessageToDict(caller.variables),
            "error": optional(caller, "error"),
            "strategy_id": optional(caller, "inbound_context_strategy_id"),
        }
    screening: dict[str, Any] | None = None
    if response.HasField("caller_screening"):
        screened = response.caller_screening
        screening = {
            "verdict": enum_text(screened, "verdict"),
            "contact_rule_id": optional(screened, "contact_rule_id"),
            "filter_mode": enum_text(screened, "filter_mode"),
            "caller_number_normalized": optional(screened, "caller_number_normalized"),
        }
    capacity: dict[str, Any] | None = None
    if response.HasField("capacity"):
        held = response.capacity
        capacity = {
            "lease": lease_json(held.lease) if held.HasField("lease") else None,
            "full_scopes": list(held.full_scopes),
            "overflow_step": held.overflow_step,
            "slot_free": optional(held, "slot_free"),
        }
    hours: dict[str, Any] | None = None
    if response.HasField("business_hours"):
        checked = response.business_hours
        hours = {
            "open": checked.open,
            "time_zone": checked.time_zone,
            "local_time": checked.local_time,
            "holiday": checked.holiday,
        }
    return {
        "call_id": response.call_id,
        "decision": enum_text(response, "decision"),
        "reject_reason": enum_text(response, "reject_reason"),
        "edge_outcome": enum_text(response, "edge_outcome"),
        "client_websocket_url": optional(response, "client_websocket_url"),
        "forwarding_target_type": enum_text(response, "forwarding_target_type"),
        "forwarding_phone_number": optional(response, "forwarding_phone_number"),
        "forwarding_sip_uri": optional(response, "forwarding_sip_uri"),
        "inbound_id": optional(response, "inbound_id"),
        "assistant_id": optional(response, "assistant_id"),
        "assistant_name": optional(response, "assistant_name"),
        "action_source": enum_text(response, "action_source"),
        "caller_context": context,
        "reason_detail": optional(response, "reason_detail"),
        "caller_screening": screening,
        "sip_status": optional(response, "sip_status"),
        "decision_id": response.decision_id,
        "call_context_token": optional(response, "call_context_token"),
        "capacity": capacity,
        "business_hours": hours,
    }


def lease_json(lease: registry_pb2.CallLease) -> dict[str, Any]:
    """The REST body of a call's capacity lease."""
    return {
        "call_id": lease.call_id,
        "expires_at": timestamp(lease, "expire_time"),
        "slots": list(lease.slots),
    }


def simulation_json(response: registry_pb2.SimulateCallResponse) -> dict[str, Any]:
    """The JSON body of a simulation: the decision and its explain steps."""
    return {
        "decision": decision_json(response.decision),
        "steps": [
            {"stage": step.stage, "outcome": step.outcome, "detail": step.detail}
            for step in response.steps
        ],
    }
