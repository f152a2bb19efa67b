"""Business hours over gRPC: set, read (also on the identity), remove; every bad input is
INVALID_ARGUMENT naming its field with nothing changed; scoped keys act on their own identity."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from tests.support.config_grpc import Metadata, create_identity
from tests.support.rpc_errors import rpc_error

Stub = config_pb2_grpc.ConfigServiceStub
REJECT = config_pb2.OUTSIDE_HOURS_ACTION_TYPE_REJECT


def hours(
    schedule: dict[str, Any] | None = None, outside: dict[str, Any] | None = None
) -> config_pb2.BusinessHours:
    message = config_pb2.BusinessHours()
    json_format.ParseDict(
        schedule
        or {
            "time_zone": "Asia/Kolkata",
            "weekly": {"monday": [{"start": "09:00", "end": "18:00"}]},
            "holidays": ["2026-12-25"],
        },
        message.schedule,
    )
    json_format.ParseDict(
        {"action": "OUTSIDE_HOURS_ACTION_TYPE_REJECT"} if outside is None else outside,
        message.outside_hours_action,
    )
    return message


async def put(
    stub: Stub, metadata: Metadata, handle: str, message: config_pb2.BusinessHours
) -> config_pb2.BusinessHours:
    request = config_pb2.UpdateAgentIdentityBusinessHoursRequest(
        agent_handle=handle, business_hours=message
    )
    saved: config_pb2.BusinessHours = await stub.UpdateAgentIdentityBusinessHours(
        request, metadata=metadata
    )
    return saved


async def get(stub: Stub, metadata: Metadata, handle: str) -> config_pb2.BusinessHours:
    request = config_pb2.GetAgentIdentityBusinessHoursRequest(agent_handle=handle)
    found: config_pb2.BusinessHours = await stub.GetAgentIdentityBusinessHours(
        request, metadata=metadata
    )
    return found


async def test_set_read_and_remove(
    stub: Stub, admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    handle = identity.agent_handle
    missing = await rpc_error(get(stub, admin, handle))
    assert missing.code is grpc.StatusCode.NOT_FOUND

    saved = await put(stub, admin, "@" + handle, hours())
    assert saved.agent_identity_id == identity.id
    assert saved.schedule.time_zone == "Asia/Kolkata"
    assert [(i.start, i.end) for i in saved.schedule.weekly.monday] == [("09:00", "18:00")]
    assert list(saved.schedule.holidays) == ["2026-12-25"]
    assert saved.outside_hours_action.action == REJECT
    assert saved.HasField("create_time") and saved.HasField("update_time")
    assert await get(stub, admin, handle) == saved

    shown = await stub.GetAgentIdentity(
        config_pb2.GetAgentIdentityRequest(agent_handle=handle), metadata=admin
    )
    assert shown.business_hours == saved
    listed = await stub.ListAgentIdentities(config_pb2.ListAgentIdentitiesRequest(), metadata=admin)
    [mine] = [i for i in listed.agent_identities if i.id == identity.id]
    assert mine.business_hours == saved

    forward = hours(
        outside={
            "action": "OUTSIDE_HOURS_ACTION_TYPE_FORWARD",
            "forwarding_target_type": "FORWARDING_TARGET_TYPE_SIP",
            "forwarding_sip_uri": "sip:night@pbx.example.com",
        }
    )
    replaced = await put(stub, admin, handle, forward)
    assert replaced.outside_hours_action.forwarding_sip_uri == "sip:night@pbx.example.com"
    assert replaced.create_time == saved.create_time

    delete = config_pb2.DeleteAgentIdentityBusinessHoursRequest(agent_handle=handle)
    await stub.DeleteAgentIdentityBusinessHours(delete, metadata=admin)
    assert (await rpc_error(get(stub, admin, handle))).code is grpc.StatusCode.NOT_FOUND
    again = await rpc_error(stub.DeleteAgentIdentityBusinessHours(delete, metadata=admin))
    assert again.code is grpc.StatusCode.NOT_FOUND
    shown = await stub.GetAgentIdentity(
        config_pb2.GetAgentIdentityRequest(agent_handle=handle), metadata=admin
    )
    assert not shown.HasField("business_hours")


BAD_SCHEDULES = [
    pytest.param(
        {"time_zone": "Mars/Olympus_Mons"}, "business_hours.schedule.time_zone", id="bad-zone"
    ),
    pytest.param({"time_zone": ""}, "business_hours.schedule.time_zone", id="no-zone"),
    pytest.param(
        {
            "time_zone": "Asia/Kolkata",
            "weekly": {
                "monday": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]
            },
        },
        "business_hours.schedule.weekly.monday[1]",
        id="overlap",
    ),
    pytest.param(
        {
            "time_zone": "Asia/Kolkata",
            "weekly": {
                "sunday": [{"start": "22:00", "end": "02:00"}],
                "monday": [{"start": "01:00", "end": "05:00"}],
            },
        },
        "business_hours.schedule.weekly.monday[0]",
        id="overlap-across-midnight",
    ),
    pytest.param(
        {"time_zone": "UTC", "weekly": {"friday": [{"start": "9:00", "end": "18:00"}]}},
        "business_hours.schedule.weekly.friday[0].start",
        id="bad-time",
    ),
    pytest.param(
        {"time_zone": "UTC", "holidays": ["2026-02-30"]},
        "business_hours.schedule.holidays[0]",
        id="bad-holiday",
    ),
]


@pytest.mark.parametrize(("schedule", "field"), BAD_SCHEDULES)
async def test_a_bad_schedule_is_invalid_and_changes_nothing(
    stub: Stub,
    admin: Metadata,
    identity: config_pb2.AgentIdentity,
    schedule: dict[str, Any],
    field: str,
) -> None:
    before = await put(stub, admin, identity.agent_handle, hours())
    error = await rpc_error(put(stub, admin, identity.agent_handle, hours(schedule)))
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in [name for name, _ in error.violations], error.violations
    assert await get(stub, admin, identity.agent_handle) == before


@pytest.mark.parametrize(
    ("outside", "field"),
    [
        pytest.param({}, "action", id="no-action"),
        pytest.param(
            {"action": "OUTSIDE_HOURS_ACTION_TYPE_FORWARD"},
            "forwarding_target_type",
            id="forward-without-destination",
        ),
        pytest.param(
            {
                "action": "OUTSIDE_HOURS_ACTION_TYPE_FORWARD",
                "forwarding_target_type": "FORWARDING_TARGET_TYPE_PHONE",
                "forwarding_phone_number": "12345",
            },
            "forwarding_phone_number",
            id="forward-bad-number",
        ),
        pytest.param(
            {"action": "OUTSIDE_HOURS_ACTION_TYPE_IDENTITY"},
            "agent_identity_id",
            id="identity-without-id",
        ),
        pytest.param(
            {"action": "OUTSIDE_HOURS_ACTION_TYPE_IDENTITY", "agent_identity_id": "not-a-uuid"},
            "agent_identity_id",
            id="identity-not-a-uuid",
        ),
        pytest.param(
            {
                "action": "OUTSIDE_HOURS_ACTION_TYPE_IDENTITY",
                "agent_identity_id": str(uuid.uuid4()),
            },
            "agent_identity_id",
            id="identity-unknown",
        ),
        pytest.param(
            {"action": "OUTSIDE_HOURS_ACTION_TYPE_WEBHOOK"},
            "incoming_call_webhook_url",
            id="webhook-without-url",
        ),
        pytest.param(
            {
                "action": "OUTSIDE_HOURS_ACTION_TYPE_WEBHOOK",
                "incoming_call_webhook_url": "http://example.com/hook",
            },
            "incoming_call_webhook_url",
            id="webhook-not-https",
        ),
        pytest.param(
            {
                "action": "OUTSIDE_HOURS_ACTION_TYPE_REJECT",
                "incoming_call_webhook_url": "https://example.com/hook",
            },
            "incoming_call_webhook_url",
            id="reject-with-a-url",
        ),
    ],
)
async def test_a_bad_outside_hours_action_is_invalid_and_changes_nothing(
    stub: Stub,
    admin: Metadata,
    identity: config_pb2.AgentIdentity,
    outside: dict[str, Any],
    field: str,
) -> None:
    error = await rpc_error(put(stub, admin, identity.agent_handle, hours(outside=outside)))
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    [(name, _)] = error.violations
    assert name == f"business_hours.outside_hours_action.{field}"
    missing = await rpc_error(get(stub, admin, identity.agent_handle))
    assert missing.code is grpc.StatusCode.NOT_FOUND


async def test_outside_hours_identity_must_be_another_of_the_account(
    stub: Stub, admin: Metadata, other_admin: Metadata, identity: config_pb2.AgentIdentity
) -> None:
    night = await create_identity(stub, admin)
    foreign = await create_identity(stub, other_admin)
    for target, ok in ((identity.id, False), (foreign.id, False), (night.id, True)):
        message = hours(
            outside={"action": "OUTSIDE_HOURS_ACTION_TYPE_IDENTITY", "agent_identity_id": target}
        )
        if ok:
            saved = await put(stub, admin, identity.agent_handle, message)
            assert saved.outside_hours_action.agent_identity_id == night.id
        else:
            error = await rpc_error(put(stub, admin, identity.agent_handle, message))
            assert error.code is grpc.StatusCode.INVALID_ARGUMENT


async def test_scoped_keys_act_on_their_own_identity_only(
    stub: Stub,
    admin: Metadata,
    scoped: Metadata,
    other_admin: Metadata,
    identity: config_pb2.AgentIdentity,
) -> None:
    saved = await put(stub, scoped, identity.agent_handle, hours())
    assert await get(stub, scoped, identity.agent_handle) == saved
    other = await create_identity(stub, admin)
    for pending in (
        get(stub, scoped, other.agent_handle),
        put(stub, scoped, other.agent_handle, hours()),
        put(
            stub,
            scoped,
            identity.agent_handle,
            hours(
                outside={
                    "action": "OUTSIDE_HOURS_ACTION_TYPE_IDENTITY",
                    "agent_identity_id": other.id,
                }
            ),
        ),
        stub.DeleteAgentIdentityBusinessHours(
            config_pb2.DeleteAgentIdentityBusinessHoursRequest(agent_handle=other.agent_handle),
            metadata=scoped,
        ),
    ):
        assert (await rpc_error(pending)).code is grpc.StatusCode.PERMISSION_DENIED
    assert await get(stub, scoped, identity.agent_handle) == saved
    foreign = await rpc_error(get(stub, other_admin, identity.agent_handle))
    assert foreign.code is grpc.StatusCode.NOT_FOUND
