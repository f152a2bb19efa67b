"""The decision journal: records equal the decisions returned (two replicas, one database),
scoped reads over gRPC and REST, retention pruning, and a full queue that drops and counts."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select
from switchboard.registry.v1 import journal_pb2, journal_pb2_grpc, registry_pb2_grpc
from switchboard.registry.v1 import registry_pb2 as pb

from services.common.errors import NotFound
from services.config import provisioning
from services.config.provisioning import CreatedAccount
from services.registry.journal import DecisionJournal, journal_rows
from services.registry.journal_read import DecisionJournalReader
from services.registry.models import CallDecision, call_lookup_key
from services.registry.routing.edge_auth import EDGE as EDGE_CALLER
from tests.services.registry.routing import factories
from tests.support.processes import eventually
from tests.support.routing_stack import (
    EDGE_TOKEN,
    RoutingStack,
    routing_registry_settings,
    running_registry,
)
from tests.support.stack import Stack

EDGE = (("x-switchboard-edge-token", EDGE_TOKEN),)
CA123_KEY = -6741119704996526243


def journal_stub(channel: grpc.aio.Channel) -> journal_pb2_grpc.CallDecisionServiceStub:
    return journal_pb2_grpc.CallDecisionServiceStub(channel)


async def journaled(
    stub: journal_pb2_grpc.CallDecisionServiceStub, call_id: str
) -> journal_pb2.CallDecision | None:
    try:
        found: journal_pb2.CallDecision = await stub.GetCallDecision(
            journal_pb2.GetCallDecisionRequest(call_id=call_id), metadata=EDGE, timeout=10
        )
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.NOT_FOUND
        return None
    return found


def journal_records(result: str) -> float:
    return REGISTRY.get_sample_value("switchboard_journal_records_total", {"result": result}) or 0


def failed() -> float:
    return journal_records("failed")


def dropped() -> float:
    return journal_records("dropped")


async def test_journal_records_equal_the_decisions_of_two_replicas_sharing_a_database(
    stack: Stack, account: CreatedAccount, tmp_path: Path
) -> None:
    accepted = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url="wss://a.example.com/s"
    )
    refused = await factories.routed_identity(stack, account.account_id, "auto_reject")
    numbers = [accepted.number, refused.number, "+918000000001", "not a number"]
    answers: list[tuple[str, pb.RouteCallResponse]] = []
    replicas = ("replica-a", "replica-b")
    async with (
        running_registry(
            routing_registry_settings(stack, tmp_path / "a", None, replica_id=replicas[0])
        ) as first,
        running_registry(
            routing_registry_settings(stack, tmp_path / "b", None, replica_id=replicas[1])
        ) as second,
        grpc.aio.insecure_channel(f"127.0.0.1:{first.port}") as channel_a,
        grpc.aio.insecure_channel(f"127.0.0.1:{second.port}") as channel_b,
    ):
        channels = (channel_a, channel_b)
        for index in range(8):
            replica = index % 2
            stub = registry_pb2_grpc.CallRoutingServiceStub(channels[replica])
            response = await stub.RouteCall(
                pb.RouteCallRequest(
                    inbound_number=numbers[index % len(numbers)],
                    caller_number="+91 99000 12345",
                    service="exotel",
                    call_id=f"journal-{uuid.uuid4()}",
                ),
                metadata=EDGE,
                timeout=30,
            )
            answers.append((replicas[replica], response))
        # Each record is readable from either replica (one database), once written.
        reader = journal_stub(channel_a)
        for replica_name, response in answers:
            found: list[journal_pb2.CallDecision] = []

            async def written(
                call_id: str = response.call_id, found: list[journal_pb2.CallDecision] = found
            ) -> bool:
                record = await journaled(reader, call_id)
                if record is not None:
                    found.append(record)
                return record is not None

            assert await eventually(written, timeout=30)
            record = found[-1]
            assert record.replica == replica_name
            assert record.decision == response.decision
            assert record.reject_reason == response.reject_reason
            assert record.edge_outcome == response.edge_outcome
            assert record.action_source == response.action_source
            assert record.inbound_id == response.inbound_id
            assert record.assistant_id == response.assistant_id
            assert record.caller_number == "+91 99000 12345"
            assert record.caller_number_normalized == "919900012345"
            assert record.decision_latency.ToMicroseconds() > 0
        by_number: dict[str, list[pb.RouteCallResponse]] = {number: [] for number in numbers}
        for (_replica, response), index in zip(answers, range(8), strict=True):
            by_number[numbers[index % len(numbers)]].append(response)
        accepted_record = await journaled(reader, by_number[accepted.number][0].call_id)
        assert accepted_record is not None
        assert accepted_record.inbound_number == accepted.number
        assert accepted_record.inbound_number_normalized == accepted.normalized
        assert accepted_record.HasField("call_action_update_time")
        assert accepted_record.context_status == pb.CONTEXT_LOOKUP_STATUS_NOT_CONFIGURED
        invalid = await journaled(reader, by_number["not a number"][0].call_id)
        assert invalid is not None and invalid.reject_reason == pb.REJECT_REASON_INVALID_NUMBER
        assert not invalid.HasField("inbound_number_normalized")
        # Row ids are UUIDv7 of the decision's time: the primary-key index grows at its end.
        async with stack.registry_sessions() as session:
            stored = (
                await session.execute(
                    select(CallDecision.id, CallDecision.decided_at).where(
                        CallDecision.call_id.in_([answer.call_id for _, answer in answers])
                    )
                )
            ).all()
        assert len(stored) == len(answers)
        for row_id, decided_at in stored:
            assert uuid.UUID(row_id).version == 7
            assert abs(int(row_id[:13].replace("-", ""), 16) - decided_at.timestamp() * 1000) <= 1

        # Scoped: the account's admin key sees its numbers' calls, not the unmapped ones.
        admin = (("x-api-key", account.api_key),)
        mine = await reader.GetCallDecision(
            journal_pb2.GetCallDecisionRequest(call_id=by_number[refused.number][0].call_id),
            metadata=admin,
        )
        assert mine.reject_reason == pb.REJECT_REASON_AUTO_REJECT
        other = await provisioning.create_account(stack.config_sessions, "Other")
        for metadata, call_id in (
            ((("x-api-key", other.api_key),), mine.call_id),
            (admin, by_number["+918000000001"][0].call_id),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await reader.GetCallDecision(
                    journal_pb2.GetCallDecisionRequest(call_id=call_id), metadata=metadata
                )
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
            await reader.GetCallDecision(journal_pb2.GetCallDecisionRequest(call_id=mine.call_id))
        assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # Filtered, paginated list.
        listed = await reader.ListCallDecisions(
            journal_pb2.ListCallDecisionsRequest(inbound_number=accepted.number, page_size=1),
            metadata=admin,
        )
        assert len(listed.call_decisions) == 1 and listed.next_page_token
        rest = await reader.ListCallDecisions(
            journal_pb2.ListCallDecisionsRequest(
                inbound_number=accepted.number, page_size=1, page_token=listed.next_page_token
            ),
            metadata=admin,
        )
        assert len(rest.call_decisions) == 1 and not rest.next_page_token
        with pytest.raises(grpc.aio.AioRpcError) as other_filters:
            await reader.ListCallDecisions(
                journal_pb2.ListCallDecisionsRequest(
                    inbound_number=refused.number, page_size=1, page_token=listed.next_page_token
                ),
                metadata=admin,
            )
        assert other_filters.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert {r.call_id for r in (*listed.call_decisions, *rest.call_decisions)} == {
            r.call_id for r in by_number[accepted.number]
        }
        rejected = await reader.ListCallDecisions(
            journal_pb2.ListCallDecisionsRequest(
                decision=pb.ROUTING_DECISION_REJECT, reject_reason=pb.REJECT_REASON_AUTO_REJECT
            ),
            metadata=admin,
        )
        assert {r.call_id for r in rejected.call_decisions} == {
            r.call_id for r in by_number[refused.number]
        }
        window = journal_pb2.ListCallDecisionsRequest(assistant_id=accepted.assistant_id or "")
        window.end_time.FromDatetime(datetime.now(UTC) - timedelta(days=1))
        assert not (await reader.ListCallDecisions(window, metadata=admin)).call_decisions
        everything = await reader.ListCallDecisions(
            journal_pb2.ListCallDecisionsRequest(page_size=1000), metadata=EDGE
        )
        assert {r.call_id for _, r in answers} <= {r.call_id for r in everything.call_decisions}


async def test_the_rest_routes_read_the_journal(
    routing: RoutingStack, account: CreatedAccount
) -> None:
    mapping = await factories.routed_identity(
        routing.stack, account.account_id, "auto_accept", client_websocket_url="wss://a.b/s"
    )
    call_id = f"rest-{uuid.uuid4()}"
    routed = await routing.http.post(
        "/v1/calls:route",
        headers={"X-API-Key": account.api_key},
        json={
            "inbound_number": mapping.number,
            "caller_number": "1",
            "service": "exotel",
            "call_id": call_id,
        },
    )
    assert routed.status_code == 200

    async def readable() -> bool:
        response = await routing.http.get(
            f"/v1/calls/{call_id}/decision", headers={"X-API-Key": account.api_key}
        )
        return response.status_code == 200

    assert await eventually(readable, timeout=30)
    record = (
        await routing.http.get(
            f"/v1/calls/{call_id}/decision",
            headers={"Authorization": f"Bearer {routing.edge_token}"},
        )
    ).json()
    assert record["decision"] == "accept" and record["edge_outcome"] == "bridge"
    assert record["inbound_id"] == mapping.inbound_id and record["decided_at"].endswith("Z")
    listed = await routing.http.get(
        "/v1/decisions",
        params={"inbound_number": mapping.number, "decision": "accept"},
        headers={"X-API-Key": account.api_key},
    )
    assert [item["call_id"] for item in listed.json()["decisions"]] == [call_id]
    assert (await routing.http.get(f"/v1/calls/{call_id}/decision")).status_code == 401
    other = await provisioning.create_account(routing.stack.config_sessions, "Other")
    hidden = await routing.http.get(
        f"/v1/calls/{call_id}/decision", headers={"X-API-Key": other.api_key}
    )
    assert hidden.status_code == 404 and "detail" in hidden.json()
    bad = await routing.http.get(
        "/v1/decisions", params={"page_token": "junk"}, headers={"X-API-Key": account.api_key}
    )
    assert bad.status_code == 422 and "page_token" in bad.json()["detail"]
    naive = await routing.http.get(
        "/v1/decisions",
        params={"start_time": "2026-01-01T00:00:00"},
        headers={"X-API-Key": account.api_key},
    )
    assert naive.status_code == 422


def journal(stack: Stack, **overrides: object) -> DecisionJournal:
    options: dict[str, object] = {
        "enabled": True,
        "queue_size": 100,
        "batch_size": 10,
        "retention_days": 30,
        "max_rows": 1_000_000,
        "prune_interval_seconds": 3600,
    }
    options.update(overrides)
    rows = journal_rows(stack.registry_engine, stack.registry_sessions)
    return DecisionJournal(rows, stack.registry_sessions, **options)  # type: ignore[arg-type]


def row(call_id: str, at: datetime) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "call_id": call_id,
        "decided_at": at,
        "dialed_number": "+918000000000",
        "caller_number": "1",
        "service": "exotel",
        "verdict": "reject",
        "reject_reason": "no_active_mapping",
        "edge_outcome": "temporarily_unavailable",
        "decision_ms": 1.0,
        "replica": "test",
    }


async def count(stack: Stack, prefix: str | None = None) -> int:
    statement = select(func.count()).select_from(CallDecision)
    if prefix is not None:
        statement = statement.where(CallDecision.call_id.startswith(prefix))
    async with stack.registry_sessions() as session:
        return int(await session.scalar(statement) or 0)


async def test_retention_prunes_by_age_and_by_row_count(stack: Stack) -> None:
    prefix = f"prune-{uuid.uuid4()}-"
    now = datetime.now(UTC)
    writer = journal(stack)
    writer.start()
    try:
        for index in range(4):
            writer.record(row(f"{prefix}old-{index}", now - timedelta(days=40)))
            writer.record(row(f"{prefix}new-{index}", now - timedelta(seconds=index)))
        await asyncio.wait_for(writer.flush(), timeout=30)
    finally:
        await writer.close()
    assert await count(stack, prefix) == 8
    assert await journal(stack).prune(now) >= 4
    assert await count(stack, prefix + "old-") == 0
    assert await count(stack, prefix + "new-") == 4
    total = await count(stack)
    capped = journal(stack, max_rows=total - 2)
    assert await capped.prune(now) == 2
    assert await count(stack) == total - 2
    # The two oldest went first: the oldest of this test's new rows, among others, stays
    # only if something older existed; the newest certainly stays.
    assert await count(stack, prefix + "new-0") == 1


async def test_the_pruner_runs_by_itself(stack: Stack) -> None:
    prefix = f"auto-{uuid.uuid4()}-"
    writer = journal(stack, prune_interval_seconds=0.2, retention_days=1)
    async with stack.registry_sessions.begin() as session:
        session.add(CallDecision(**row(prefix + "old", datetime.now(UTC) - timedelta(days=2))))
    writer.start()
    try:
        assert await eventually(lambda: _gone(stack, prefix), timeout=30)
    finally:
        await writer.close()


async def _gone(stack: Stack, prefix: str) -> bool:
    return await count(stack, prefix) == 0


async def test_a_full_queue_drops_and_counts_and_never_blocks(stack: Stack) -> None:
    stalled = journal(stack, queue_size=2)  # never started: nothing drains the queue
    before = dropped()
    started = time.monotonic()
    for index in range(50):
        stalled.record(row(f"overflow-{index}", datetime.now(UTC)))
    assert time.monotonic() - started < 5
    assert dropped() - before == 48


async def test_an_entry_that_cannot_be_made_a_row_is_counted_failed_not_raised(
    stack: Stack,
) -> None:
    writer = journal(stack)  # never started: the row is made when the entry is recorded
    before = failed()
    broken = row("no-call-id", datetime.now(UTC))
    del broken["call_id"]  # every row needs its call id (and the key made of it)
    writer.record(broken)
    writer.record(row(f"fine-{uuid.uuid4()}", datetime.now(UTC)))
    assert failed() - before == 1


async def test_routing_goes_on_when_the_journal_queue_overflows(
    stack: Stack, account: CreatedAccount, tmp_path: Path
) -> None:
    mapping = await factories.routed_identity(
        stack, account.account_id, "auto_accept", client_websocket_url="wss://a.example.com/s"
    )
    settings = routing_registry_settings(
        stack, tmp_path, None, journal_queue_size=1, journal_batch_size=1
    )
    before_dropped = dropped()
    written = journal_records("written")
    async with (
        running_registry(settings) as registry,
        grpc.aio.insecure_channel(f"127.0.0.1:{registry.port}") as channel,
    ):
        stub = registry_pb2_grpc.CallRoutingServiceStub(channel)
        request = pb.RouteCallRequest(
            inbound_number=mapping.number, caller_number="1", service="exotel"
        )
        answers = await asyncio.gather(
            *(stub.RouteCall(request, metadata=EDGE, timeout=30) for _ in range(40))
        )
    assert all(answer.decision == pb.ROUTING_DECISION_ACCEPT for answer in answers)
    after_written = journal_records("written")
    # Every decision was either written or dropped-and-counted (the registry has stopped,
    # so its queue was flushed on close).
    assert (dropped() - before_dropped) + (after_written - written) == 40


def test_the_call_lookup_key_never_changes() -> None:
    # Stored in every record: a different function would orphan every existing record.
    assert call_lookup_key("CA123") == CA123_KEY
    assert call_lookup_key("CA124") != CA123_KEY


async def test_a_call_is_found_by_its_key_and_only_its_own_records_are(stack: Stack) -> None:
    wanted, colliding, keyless = (f"{name}-{uuid.uuid4()}" for name in ("own", "twin", "old"))
    now = datetime.now(UTC)
    records = [
        {**row(wanted, now - timedelta(seconds=2)), "call_key": call_lookup_key(wanted)},
        # A newer record of another call stored under our key, as a hash collision would.
        {**row(colliding, now), "call_key": call_lookup_key(wanted)},
        # Written by a replica of an older version during a rolling upgrade: no key.
        {**row(keyless, now), "call_key": None},
    ]
    async with stack.registry_sessions.begin() as session:
        await session.execute(insert(CallDecision), records)
    reader = DecisionJournalReader(stack.registry_sessions)
    assert (await reader.get(EDGE_CALLER, wanted)).id == records[0]["id"]
    assert (await reader.get(EDGE_CALLER, keyless)).id == records[2]["id"]
    with pytest.raises(NotFound):
        await reader.get(EDGE_CALLER, f"absent-{uuid.uuid4()}")


async def test_the_writer_stores_each_records_call_key_and_readers_find_it_meanwhile(
    stack: Stack,
) -> None:
    first, second = (f"keyed-{index}-{uuid.uuid4()}" for index in range(2))
    writer = journal(stack)
    reader = DecisionJournalReader(stack.registry_sessions)

    async def keys(call_id: str) -> tuple[int | None, int | None]:
        async with stack.registry_sessions() as session:
            found = (
                await session.execute(
                    select(CallDecision.call_key, CallDecision.pending_call_key).where(
                        CallDecision.call_id == call_id
                    )
                )
            ).one()
        return found.call_key, found.pending_call_key

    writer.start()
    try:
        for call_id in (first, second):  # one batch each
            writer.record(row(call_id, datetime.now(UTC)))
            await asyncio.wait_for(writer.flush(), timeout=30)
        assert await keys(first) == (call_lookup_key(first), None)
        if stack.registry_engine.dialect.name == "sqlite":
            # Parked until thousands more records are written, or the writer closes.
            assert await keys(second) == (None, call_lookup_key(second))
        else:
            assert await keys(second) == (call_lookup_key(second), None)
        assert (await reader.get(EDGE_CALLER, second)).call_id == second
    finally:
        await writer.close()
    assert await keys(second) == (call_lookup_key(second), None)
    assert (await reader.get(EDGE_CALLER, second)).call_id == second
