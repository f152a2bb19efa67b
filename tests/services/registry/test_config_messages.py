"""Config's CallTarget messages become routing's domain values; routing never sees protobuf."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.duration_pb2 import Duration
from switchboard.common.v1 import forwarding_pb2
from switchboard.config.v1 import config_pb2

from services.common.rpc.proto_time import to_timestamp
from services.registry import routing
from services.registry.call_target import (
    ActionKind,
    CallAction,
    CallTarget,
    FallbackKind,
    Forwarding,
    Identity,
    OutsideHoursAction,
    OutsideKind,
    WebhookFallback,
)
from services.registry.config_messages import call_target_from_proto, identity_from_proto

UPDATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def identity_message(**fields: Any) -> config_pb2.AgentIdentity:
    return config_pb2.AgentIdentity(id="i1", account_id="a1", agent_handle="sales", **fields)


def test_a_webhook_action_with_a_forwarding_fallback() -> None:
    message = config_pb2.CallTarget(
        agent_identity=identity_message(display_name="Sales"),
        incoming_call_action=config_pb2.IncomingCallAction(
            incoming_call_action=config_pb2.INCOMING_CALL_ACTION_TYPE_WEBHOOK,
            incoming_call_webhook_url="https://hooks.example.com/call",
            client_websocket_url="wss://agent.example.com/s",
            webhook_timeout=Duration(seconds=2, nanos=500_000_000),
            webhook_fallback=config_pb2.CallFallback(
                action=config_pb2.CALL_FALLBACK_ACTION_FORWARD,
                forwarding_target_type=forwarding_pb2.FORWARDING_TARGET_TYPE_SIP,
                forwarding_sip_uri="sip:desk@pbx.example.com",
            ),
            update_time=to_timestamp(UPDATED),
        ),
        webhook_signing_key="whsec_x",
    )
    assert call_target_from_proto(message) == CallTarget(
        identity=Identity("i1", "a1", "sales", "Sales"),
        action=CallAction(
            kind=ActionKind.WEBHOOK,
            client_websocket_url="wss://agent.example.com/s",
            webhook_url="https://hooks.example.com/call",
            webhook_timeout_seconds=2.5,
            fallback=WebhookFallback(
                kind=FallbackKind.FORWARD,
                forwarding=Forwarding("sip", "sip:desk@pbx.example.com"),
            ),
            updated_at=UPDATED,
        ),
        signing_key="whsec_x",
    )


def test_absent_and_unknown_values() -> None:
    bare = call_target_from_proto(config_pb2.CallTarget(agent_identity=identity_message()))
    assert bare == CallTarget(identity=Identity("i1", "a1", "sales"))
    assert bare.identity.assistant_name == "sales"  # a cleared display name shows the handle

    unknown = config_pb2.CallTarget(agent_identity=identity_message())
    unknown.incoming_call_action.incoming_call_action = 99  # type: ignore[assignment]
    # A forward whose destination does not match its target type names no destination.
    unknown.incoming_call_action.forwarding_target_type = (
        forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE
    )
    unknown.incoming_call_action.forwarding_sip_uri = "sip:desk@pbx.example.com"
    action = call_target_from_proto(unknown).action
    assert action == CallAction(kind=None)


def test_identity_names() -> None:
    named = identity_from_proto(identity_message(display_name="Sales"))
    assert (named.display_name, named.assistant_name) == ("Sales", "Sales")


def test_routing_modules_import_no_protobuf() -> None:
    package = Path(routing.__file__).parent
    imported = {
        (path.name, alias.name if isinstance(node, ast.Import) else node.module or "")
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert len({name for name, _ in imported}) > 5
    assert {
        (name, module) for name, module in imported if module.startswith("switchboard")
    } == set()


def test_business_hours_become_a_schedule_and_an_outside_hours_action() -> None:
    hours = config_pb2.BusinessHours(
        schedule=config_pb2.WeeklyHours(
            time_zone="Asia/Kolkata",
            weekly=config_pb2.WeeklySchedule(
                monday=[config_pb2.OpenInterval(start="09:00", end="18:00")]
            ),
            holidays=["2026-12-25"],
        ),
        outside_hours_action=config_pb2.OutsideHoursAction(
            action=config_pb2.OUTSIDE_HOURS_ACTION_TYPE_FORWARD,
            forwarding_target_type=forwarding_pb2.FORWARDING_TARGET_TYPE_PHONE,
            forwarding_phone_number="+14155550100",
        ),
    )
    target = call_target_from_proto(
        config_pb2.CallTarget(agent_identity=identity_message(), business_hours=hours)
    )
    assert target.business_hours is not None
    schedule = target.business_hours.schedule
    assert schedule is not None
    assert schedule.to_json() == {
        "time_zone": "Asia/Kolkata",
        "weekly": {"monday": [{"start": "09:00", "end": "18:00"}]},
        "holidays": ["2026-12-25"],
    }
    assert target.business_hours.outside == OutsideHoursAction(
        OutsideKind.FORWARD, forwarding=Forwarding("phone", "+14155550100")
    )
    assert call_target_from_proto(config_pb2.CallTarget()).business_hours is None


def test_a_schedule_that_no_longer_reads_is_none_and_an_unknown_action_kind_too() -> None:
    hours = config_pb2.BusinessHours(
        schedule=config_pb2.WeeklyHours(time_zone="Atlantis/Capital"),
        outside_hours_action=config_pb2.OutsideHoursAction(action=99),  # type: ignore[arg-type]
    )
    target = call_target_from_proto(
        config_pb2.CallTarget(agent_identity=identity_message(), business_hours=hours)
    )
    assert target.business_hours is not None
    assert target.business_hours.schedule is None
    assert target.business_hours.outside.kind is None
