"""The bulk loader writes rows the services read back like their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench import loader
from bench.numbers import inbound_number, normalized_number
from services.common.storage.db import create_engine, create_session_factory
from services.common.storage.pagination import Cursor, PageRequest
from services.config.models import AgentIdentity, ApiKey, IncomingCallAction
from services.config.secrets import hash_api_key
from services.registry import repository
from services.registry.journal_read import DecisionFilter, DecisionJournalReader
from services.registry.models import CallDecision, InboundNumber, call_lookup_key
from services.registry.routing.edge_auth import EDGE, RoutingCaller


async def test_seed_and_load_in_two_steps(bench_databases: dict[str, str]) -> None:
    account = await loader.seed_config(bench_databases["config"], identities=3)
    await loader.load_mappings(bench_databases["registry"], 0, 4, account)
    await loader.load_mappings(bench_databases["registry"], 4, 10, account)

    registry = create_engine(bench_databases["registry"])
    config = create_engine(bench_databases["config"])
    try:
        async with create_session_factory(registry)() as session:
            rows = (
                await session.scalars(select(InboundNumber).order_by(InboundNumber.phone_number))
            ).all()
        assert [row.phone_number for row in rows] == [inbound_number(i) for i in range(10)]
        for index, row in enumerate(rows):
            assert row.phone_number_normalized == normalized_number(index)
            assert row.account_id == account.account_id
            assert row.assistant_id == account.identity_ids[index % 3]
            assert row.inbound_config == {"type": "exotel", "phone_number": inbound_number(index)}
            assert row.active is True
            assert row.service == "exotel"
            assert row.created_at.utcoffset() is not None
            assert row.deleted_at is None

        async with create_session_factory(config)() as session:
            actions = (await session.scalars(select(IncomingCallAction))).all()
            identities = await session.scalar(select(func.count()).select_from(AgentIdentity))
            key = await session.scalar(
                select(ApiKey).where(ApiKey.secret_hash == hash_api_key(account.api_key))
            )
        assert identities == 3
        assert {action.action for action in actions} == {"auto_accept"}
        assert all((a.client_websocket_url or "").startswith("wss://") for a in actions)
        assert key is not None and key.account_id == account.account_id
    finally:
        await registry.dispose()
        await config.dispose()


async def test_loaded_rows_page_through_the_registry_keyset(
    bench_databases: dict[str, str],
) -> None:
    """Two loads (two timestamps): the service's keyset paging returns every row once."""
    account = await loader.seed_config(bench_databases["config"], identities=2)
    await loader.load_mappings(bench_databases["registry"], 0, 30, account)
    await loader.load_mappings(bench_databases["registry"], 30, 100, account)
    registry = create_engine(bench_databases["registry"])
    try:
        seen: list[str] = []
        token = ""
        async with create_session_factory(registry)() as session:
            while True:
                paging = PageRequest.parse("ListInboundNumbers", [None], 20, token)
                rows = await repository.list_mappings(
                    session, account.account_id, assistant_id=None, page=paging
                )
                page = paging.page(rows, lambda row: Cursor(row[0].created_at, row[0].id))
                seen.extend(row.phone_number for row, _ in page.items)
                token = page.next_page_token
                if not token:
                    break
        assert sorted(seen) == sorted(inbound_number(i) for i in range(100))
    finally:
        await registry.dispose()


async def test_the_prefilled_journal_reads_back_like_the_writers_records(
    bench_databases: dict[str, str],
) -> None:
    account = await loader.seed_config(bench_databases["config"], identities=2)
    before = datetime.now(UTC)
    await loader.load_journal(bench_databases["registry"], 25, account)
    registry = create_engine(bench_databases["registry"])
    try:
        reader = DecisionJournalReader(create_session_factory(registry))
        page = await reader.list(
            RoutingCaller(account.account_id), DecisionFilter(verdict="accept"), 100, ""
        )
        records = list(page.items)
        assert len(records) == 25 and not page.next_page_token
        times = [record.decided_at for record in records]
        assert times == sorted(times, reverse=True)  # newest first: the last one loaded
        assert before - timedelta(seconds=1) <= times[-1] <= times[0] <= datetime.now(UTC)
        newest = records[0]
        assert newest.dialed_number == inbound_number(24)
        assert newest.dialed_normalized == normalized_number(24)
        assert newest.assistant_id == account.identity_ids[24 % 2]
        assert (newest.edge_outcome, newest.action_source) == ("bridge", "auto_accept")
        assert newest.caller_normalized is not None
        for record in records:
            assert record.call_key == call_lookup_key(record.call_id)
            assert record.pending_call_key is None  # indexed, as after the writer's moves
        assert (await reader.get(EDGE, records[7].call_id)).id == records[7].id
        async with create_session_factory(registry)() as session:
            total = await session.scalar(select(func.count()).select_from(CallDecision))
        assert total == 25
    finally:
        await registry.dispose()
