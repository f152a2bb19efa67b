"""Business hours in the routing decision, with an injected clock: RouteCall on a registry whose
Router reads a clock the test sets, the outside-hours action of each kind, the journal, the
explain trace and SimulateCall's ``call_time``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.registry.v1 import journal_pb2, journal_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb

from services.config.provisioning import CreatedAccount
from tests.services.registry.routing import factories
from tests.support.https_receiver import HttpsReceiver, Reply
from tests.support.routing_stack import RoutingStack, running_routing_stack
from tests.support.stack import Stack

WSS = "wss://agent.example.com/stream"
NIGHT_WSS = "wss://night.example.com/stream"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
KOLKATA_OFFICE = {
    "time_zone": "Asia/Kolkata",
    "weekly": {day: [{"start": "09:00", "end": "18:00"}] for day in WEEKDAYS},
    "holidays": ["2026-12-25"],
}
REJECT = {"action": "reject"}
# Monday 2026-12-07: 21:00 in Kolkata (UTC+05:30) is 15:30 UTC; 10:00 there is 04:30 UTC.
KOLKATA_21_00 = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
KOLKATA_10_00 = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
# Friday 2026-12-25, 10:00 in Kolkata: a holiday.
CHRISTMAS_10_00 = datetime(2026, 12, 25, 4, 30, tzinfo=UTC)


@dataclass
class Clock:
    """The registry's idea of now, set by each test."""

    now: datetime = KOLKATA_10_00

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Clocked:
    """A routing registry (and gateway) deciding with :class:`Clock`."""

    routing: RoutingStack
    clock: Clock


@pytest.fixture(scope="module")
async def clocked(
    stack: Stack, receiver: HttpsReceiver, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Clocked]:
    clock = Clock()
    workdir = tmp_path_factory.mktemp("clocked")
    async with running_routing_stack(stack, receiver, workdir, clock=clock) as routing:
        yield Clocked(routing, clock)


async def office(
    clocked: Clocked,
    account: CreatedAccount,
    outside: dict[str, Any] = REJECT,
    schedule: dict[str, Any] = KOLKATA_OFFICE,
) -> factories.Mapping:
    """An auto-accepting identity with Kolkata office hours, mapped to a new number."""
    mapping = await factories.routed_identity(
        clocked.routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    assert mapping.assistant_id is not None
    await factories.set_business_hours(
        clocked.routing.stack, mapping.assistant_id, schedule, outside
    )
    return mapping


async def route_at(clocked: Clocked, when: datetime, number: str) -> pb.RouteCallResponse:
    clocked.clock.now = when
    return await clocked.routing.route(number)


async def test_21_00_in_kolkata_is_outside_a_9_to_6_schedule(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    response = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert response.decision == pb.ROUTING_DECISION_REJECT
    assert response.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    assert response.edge_outcome == pb.EDGE_OUTCOME_TEMPORARILY_UNAVAILABLE
    assert response.sip_status == 480
    assert response.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    assert response.assistant_id == mapping.assistant_id
    hours = response.business_hours
    assert not hours.open and not hours.holiday
    assert hours.time_zone == "Asia/Kolkata"
    assert hours.local_time == "2026-12-07T21:00:00+05:30"
    assert response.reason_detail == (
        "outside business hours (Monday 2026-12-07 21:00 IST) in Asia/Kolkata"
    )


async def test_inside_hours_the_call_action_applies(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    response = await route_at(clocked, KOLKATA_10_00, mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == WSS
    assert response.action_source == pb.ACTION_SOURCE_AUTO_ACCEPT
    assert response.business_hours.open
    assert response.business_hours.local_time == "2026-12-07T10:00:00+05:30"
    assert not response.HasField("sip_status")


async def test_no_business_hours_is_always_open(clocked: Clocked, account: CreatedAccount) -> None:
    mapping = await factories.routed_identity(
        clocked.routing.stack, account.account_id, "auto_accept", client_websocket_url=WSS
    )
    for moment in (KOLKATA_21_00, CHRISTMAS_10_00, datetime(2027, 3, 14, 7, 0, tzinfo=UTC)):
        response = await route_at(clocked, moment, mapping.number)
        assert response.decision == pb.ROUTING_DECISION_ACCEPT
        assert not response.HasField("business_hours")


async def test_a_holiday_is_closed_all_day(clocked: Clocked, account: CreatedAccount) -> None:
    mapping = await office(clocked, account)
    response = await route_at(clocked, CHRISTMAS_10_00, mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    assert response.business_hours.holiday
    assert "closed for a holiday (Friday 2026-12-25 10:00 IST)" in response.reason_detail
    # The same weekday and time a week earlier is open.
    earlier = await route_at(clocked, datetime(2026, 12, 18, 4, 30, tzinfo=UTC), mapping.number)
    assert earlier.decision == pb.ROUTING_DECISION_ACCEPT


async def test_the_hour_new_york_springs_forward(clocked: Clocked, account: CreatedAccount) -> None:
    # 2027-03-14 02:00 EST becomes 03:00 EDT: 02:00-03:00 does not exist that night, so an
    # interval inside it never opens, while 01:00-04:00 is open its two real hours.
    skipped = {
        "time_zone": "America/New_York",
        "weekly": {"sunday": [{"start": "02:00", "end": "03:00"}]},
    }
    spanning = {
        "time_zone": "America/New_York",
        "weekly": {"sunday": [{"start": "01:00", "end": "04:00"}]},
    }
    never = await office(clocked, account, schedule=skipped)
    across = await office(clocked, account, schedule=spanning)
    before = datetime(2027, 3, 14, 6, 59, tzinfo=UTC)  # 01:59 EST
    after = datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT, one minute later
    for moment, local in ((before, "01:59:00-05:00"), (after, "03:00:00-04:00")):
        response = await route_at(clocked, moment, never.number)
        assert response.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
        assert response.business_hours.local_time == f"2027-03-14T{local}"
        assert (await route_at(clocked, moment, across.number)).business_hours.open
    closing = datetime(2027, 3, 14, 8, 0, tzinfo=UTC)  # 04:00 EDT: two real hours after 01:00
    assert not (await route_at(clocked, closing, across.number)).business_hours.open
    # A week later, with no transition, 02:30 is open.
    later = await route_at(clocked, datetime(2027, 3, 21, 6, 30, tzinfo=UTC), never.number)
    assert later.business_hours.local_time == "2027-03-21T02:30:00-04:00"
    assert later.decision == pb.ROUTING_DECISION_ACCEPT


async def test_outside_hours_forward(clocked: Clocked, account: CreatedAccount) -> None:
    outside = {
        "action": "forward",
        "forwarding_target_type": "phone",
        "forwarding_phone_number": "+14155550100",
    }
    mapping = await office(clocked, account, outside)
    response = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert response.decision == pb.ROUTING_DECISION_FORWARD
    assert response.edge_outcome == pb.EDGE_OUTCOME_FORWARD
    assert response.forwarding_phone_number == "+14155550100"
    assert response.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    assert response.reason_detail.startswith("outside business hours (Monday 2026-12-07 21:00")
    inside = await route_at(clocked, KOLKATA_10_00, mapping.number)
    assert inside.decision == pb.ROUTING_DECISION_ACCEPT


async def test_outside_hours_another_identity(clocked: Clocked, account: CreatedAccount) -> None:
    stack = clocked.routing.stack
    night = await factories.create_identity(stack, account.account_id, "Night desk")
    await factories.set_call_action(stack, night, "auto_accept", client_websocket_url=NIGHT_WSS)
    mapping = await office(clocked, account, {"action": "identity", "agent_identity_id": night})
    response = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == NIGHT_WSS
    assert response.assistant_id == night
    assert response.assistant_name == "Night desk"
    assert response.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    assert response.inbound_id == mapping.inbound_id

    await factories.delete_identity(stack, night)
    gone = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert gone.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    assert "no longer exists" in gone.reason_detail


async def test_outside_hours_webhook(clocked: Clocked, account: CreatedAccount) -> None:
    receiver = clocked.routing.receiver
    url = receiver.endpoint(Reply.json({"action": "answer", "client_websocket_url": NIGHT_WSS}))
    mapping = await office(
        clocked, account, {"action": "webhook", "incoming_call_webhook_url": url}
    )
    response = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert response.decision == pb.ROUTING_DECISION_ACCEPT
    assert response.client_websocket_url == NIGHT_WSS
    assert response.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    [request] = receiver.received(url)
    assert request.json()["local_phone_number"] == mapping.number

    refusing = receiver.endpoint(Reply.json({"action": "reject"}))
    await factories.set_business_hours(
        clocked.routing.stack,
        str(mapping.assistant_id),
        KOLKATA_OFFICE,
        {"action": "webhook", "incoming_call_webhook_url": refusing},
    )
    refused = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert refused.reject_reason == pb.REJECT_REASON_WEBHOOK_REJECTED
    assert refused.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    # Within hours the webhook is not asked.
    inside = await route_at(clocked, KOLKATA_10_00, mapping.number)
    assert inside.decision == pb.ROUTING_DECISION_ACCEPT
    assert len(receiver.received(refusing)) == 1


async def test_the_account_may_override_the_outside_hours_sip_status(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    http = clocked.routing.http
    headers = {"X-API-Key": account.api_key}
    put = await http.put(
        "/api/v1/phone/carrier-outcomes",
        headers=headers,
        json={"overrides": {"outside_hours": {"sip_status": 503}}},
    )
    assert put.status_code == 200, put.text
    response = await route_at(clocked, KOLKATA_21_00, mapping.number)
    assert response.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    assert response.sip_status == 503


async def test_the_journal_and_rest_show_the_rule_and_the_local_time(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    clocked.clock.now = KOLKATA_21_00
    routed = await clocked.routing.http.post(
        "/v1/calls:route",
        headers={"X-API-Key": account.api_key},
        json={
            "inbound_number": mapping.number,
            "caller_number": "+919900000001",
            "service": "exotel",
        },
    )
    assert routed.status_code == 200, routed.text
    body = routed.json()
    assert body["reject_reason"] == "outside_hours"
    assert body["action_source"] == "outside_hours"
    assert body["business_hours"] == {
        "open": False,
        "time_zone": "Asia/Kolkata",
        "local_time": "2026-12-07T21:00:00+05:30",
        "holiday": False,
    }
    journal = journal_pb2_grpc.CallDecisionServiceStub(clocked.routing.channel)
    edge = (("x-switchboard-edge-token", clocked.routing.edge_token),)
    request = journal_pb2.GetCallDecisionRequest(call_id=body["call_id"])
    record = None
    for _ in range(100):
        try:
            record = await journal.GetCallDecision(request, metadata=edge, timeout=10)
            break
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            await asyncio.sleep(0.1)
    assert record is not None
    assert record.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    assert record.action_source == pb.ACTION_SOURCE_OUTSIDE_HOURS
    assert "21:00 IST" in record.reason_detail and "Asia/Kolkata" in record.reason_detail
    assert record.sip_status == 480
    listed = await clocked.routing.http.get(
        "/v1/decisions",
        params={"reject_reason": "outside_hours", "assistant_id": mapping.assistant_id},
        headers={"X-API-Key": account.api_key},
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["decisions"]
    assert (item["call_id"], item["action_source"]) == (body["call_id"], "outside_hours")


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def test_simulate_call_at_a_given_moment_explains_the_business_hours_stage(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    clocked.clock.now = KOLKATA_10_00  # now is open; the simulation asks about 21:00
    edge = (("x-switchboard-edge-token", clocked.routing.edge_token),)
    call = pb.RouteCallRequest(
        inbound_number=mapping.number, caller_number="+919900000001", service="exotel"
    )
    simulated = await clocked.routing.stub.SimulateCall(
        pb.SimulateCallRequest(call=call, call_time=at(KOLKATA_21_00)), metadata=edge, timeout=30
    )
    assert simulated.decision.reject_reason == pb.REJECT_REASON_OUTSIDE_HOURS
    [step] = [step for step in simulated.steps if step.stage == "business_hours"]
    assert step.outcome == "closed"
    assert step.detail == (
        "outside business hours (Monday 2026-12-07 21:00 IST) in Asia/Kolkata; "
        "outside-hours action reject"
    )
    now = await clocked.routing.stub.SimulateCall(
        pb.SimulateCallRequest(call=call), metadata=edge, timeout=30
    )
    assert now.decision.decision == pb.ROUTING_DECISION_ACCEPT
    [step] = [step for step in now.steps if step.stage == "business_hours"]
    assert (step.outcome, step.detail) == (
        "open",
        "within business hours (Monday 2026-12-07 10:00 IST) in Asia/Kolkata",
    )
    rest = await clocked.routing.http.post(
        "/v1/calls:simulate",
        headers={"X-API-Key": account.api_key},
        json={
            "inbound_number": mapping.number,
            "caller_number": "+919900000001",
            "service": "exotel",
            "call_time": "2026-12-07T21:00:00+05:30",
        },
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["decision"]["reject_reason"] == "outside_hours"
    assert ["business_hours", "closed"] in [
        [step["stage"], step["outcome"]] for step in rest.json()["steps"]
    ]


async def test_simulate_call_time_out_of_range_is_invalid(
    clocked: Clocked, account: CreatedAccount
) -> None:
    mapping = await office(clocked, account)
    edge = (("x-switchboard-edge-token", clocked.routing.edge_token),)
    call = pb.RouteCallRequest(
        inbound_number=mapping.number, caller_number="+919900000001", service="exotel"
    )
    for moment in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await clocked.routing.stub.SimulateCall(
                pb.SimulateCallRequest(call=call, call_time=at(moment)), metadata=edge, timeout=30
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "call_time" in (caught.value.details() or "")
