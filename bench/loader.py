"""Bulk loading of the benchmark data straight into the services' databases.

Config: one account (admin key minted by the operator action) and
``identities`` agent identities, each with an ``auto_accept`` incoming-call
action. Registry: mappings ``[start, stop)`` shared round-robin by those
identities, and a decision journal already at its steady size (records of
accepted calls, as the journal's writer stores them, ending now), each inserted
in one transaction (executemany in large batches on SQLite, COPY on
PostgreSQL), bypassing the API: loading 1,000,000 rows through it would take
far longer than the benchmark itself.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url

from bench.numbers import CALLER_NUMBER, SERVICE, inbound_number, normalized_number
from services.common.storage.db import asyncpg_dsn, create_engine, create_session_factory, is_sqlite
from services.common.storage.orm import new_id, new_time_ordered_id, utcnow
from services.config import provisioning
from services.config.models import AgentIdentity, IncomingCallAction
from services.registry.journal import journal_row
from services.registry.models import CallDecision, InboundNumber
from services.registry.routing.outcome import ActionSource, EdgeOutcome, Verdict

JOURNAL_SPACING_S = 0.001
"""Time between two prefilled journal records (the last one is now)."""
_JOURNAL = cast(Table, CallDecision.__table__)
_JOURNAL_COLUMNS = tuple(column.name for column in _JOURNAL.columns)
SQLITE_CACHE_KIB = 1_048_576
WEBSOCKET_URL = "wss://agents.example.com/bench/{index}"

MAPPING_COLUMNS = (
    "id",
    "account_id",
    "phone_number",
    "phone_number_normalized",
    "service",
    "inbound_config",
    "assistant_id",
    "inbound_context_strategy_id",
    "active",
    "created_at",
    "updated_at",
    "deleted_at",
)


@dataclass(frozen=True)
class SeededAccount:
    """The account every mapping belongs to, its admin key and its identities."""

    account_id: str
    api_key: str
    identity_ids: Sequence[str]


async def seed_config(database_url: str, identities: int) -> SeededAccount:
    """Create the account (with its admin key) and the auto-accepting identities."""
    engine = create_engine(database_url)
    try:
        sessions = create_session_factory(engine)
        created = await provisioning.create_account(sessions, "switchboard bench")
        ids = [new_id() for _ in range(identities)]
        async with sessions.begin() as session:
            session.add_all(
                AgentIdentity(
                    id=identity_id,
                    account_id=created.account_id,
                    agent_handle=f"bench-agent-{index:06d}",
                    display_name=f"Bench agent {index}",
                )
                for index, identity_id in enumerate(ids)
            )
            await session.flush()
            session.add_all(
                IncomingCallAction(
                    agent_identity_id=identity_id,
                    action="auto_accept",
                    client_websocket_url=WEBSOCKET_URL.format(index=index),
                )
                for index, identity_id in enumerate(ids)
            )
        return SeededAccount(created.account_id, created.api_key, ids)
    finally:
        await engine.dispose()


def mapping_values(
    index: int, account_id: str, identity_ids: Sequence[str], *, now: Any, active: Any = True
) -> tuple[Any, ...]:
    """Mapping ``index`` in :data:`MAPPING_COLUMNS` order, for a DB-API insert or COPY.

    ``inbound_config`` is already JSON text; ``now`` is used for both timestamps;
    ``now`` and ``active`` come in the database's form.
    """
    number = inbound_number(index)
    return (
        str(uuid.uuid4()),
        account_id,
        number,
        normalized_number(index),
        SERVICE,
        json.dumps({"type": SERVICE, "phone_number": number}),
        identity_ids[index % len(identity_ids)],
        None,
        active,
        now,
        now,
        None,
    )


async def load_mappings(database_url: str, start: int, stop: int, account: SeededAccount) -> None:
    """Insert mappings ``[start, stop)`` in one transaction."""
    if is_sqlite(database_url):
        path = make_url(database_url).database
        if not path:
            raise ValueError(f"not a SQLite file URL: {database_url}")
        _load_sqlite(path, start, stop, account)
    else:
        await _load_postgres(database_url, start, stop, account)


def _load_sqlite(path: str, start: int, stop: int, account: SeededAccount) -> None:
    # Stored exactly as SQLAlchemy would store them (the services read them back through it).
    mappings = InboundNumber.__table__.c
    timestamp = _sqlite_processor(mappings.created_at)(utcnow())
    active = _sqlite_processor(mappings.active)(True)
    _insert_sqlite(
        path,
        "inbound_numbers",
        MAPPING_COLUMNS,
        (
            mapping_values(
                index, account.account_id, account.identity_ids, now=timestamp, active=active
            )
            for index in range(start, stop)
        ),
    )


def _insert_sqlite(
    path: str, table: str, columns: Sequence[str], values: Iterable[Sequence[Any]]
) -> None:
    """``values`` (each in ``columns`` order, already in SQLite's form) into ``table``, in one
    transaction."""
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    )
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        # Random keys (UUIDs, call keys) and the indexes make inserts page-scattered:
        # a cache big enough for the whole table's indexes keeps this CPU-bound.
        connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(statement, values)
        connection.execute("COMMIT")
        # Leave a small WAL behind: readers then do not scan a huge one.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def load_journal(database_url: str, records: int, account: SeededAccount) -> None:
    """``records`` decisions in the registry's decision journal, the last one now, every call
    key indexed: the journal of a registry that has been routing for a while."""
    ending = time.time()
    rows = (
        journal_values(index, account, ending - (records - 1 - index) * JOURNAL_SPACING_S)
        for index in range(records)
    )
    if is_sqlite(database_url):
        path = make_url(database_url).database
        if not path:
            raise ValueError(f"not a SQLite file URL: {database_url}")
        encoders = [_sqlite_processor(column) for column in _JOURNAL.columns]
        _insert_sqlite(
            path,
            _JOURNAL.name,
            _JOURNAL_COLUMNS,
            (
                [
                    None if value is None else encode(value)
                    for encode, value in zip(encoders, row.values(), strict=True)
                ]
                for row in rows
            ),
        )
    else:
        connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
        try:
            async with connection.transaction():
                await connection.copy_records_to_table(
                    _JOURNAL.name,
                    records=(tuple(row.values()) for row in rows),
                    columns=list(_JOURNAL_COLUMNS),
                )
            await connection.execute(f"ANALYZE {_JOURNAL.name}")
        finally:
            await connection.close()


def journal_values(index: int, account: SeededAccount, decided_at: float) -> dict[str, Any]:
    """Journal record ``index``: an accepted call to mapping ``index``, as the journal's writer
    makes it (``journal_row``), every column present in table order."""
    row = journal_row(
        {
            "id": new_time_ordered_id(decided_at),
            "call_id": f"bench-{new_id()}",
            "decided_at": datetime.fromtimestamp(decided_at, UTC),
            "account_id": account.account_id,
            "dialed_number": inbound_number(index),
            "dialed_normalized": normalized_number(index),
            "caller_number": CALLER_NUMBER,
            "service": SERVICE,
            "assistant_id": account.identity_ids[index % len(account.identity_ids)],
            "action_source": ActionSource.AUTO_ACCEPT.value,
            "verdict": Verdict.ACCEPT.value,
            "edge_outcome": EdgeOutcome.BRIDGE.value,
            "decision_ms": 0.5,
            "replica": "bench-prefill",
        }
    )
    return {name: row.get(name) for name in _JOURNAL_COLUMNS}


def _sqlite_processor(column: ColumnElement[Any]) -> Callable[[Any], Any]:
    """How SQLAlchemy stores a value of ``column`` in SQLite."""
    dialect = sqlite_dialect.dialect()
    # dialect_impl: what the ORM itself binds (a TypeDecorator's own bind_processor
    # would use its generic impl and store timestamps in another text form).
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor if processor is not None else (lambda value: value)


async def _load_postgres(database_url: str, start: int, stop: int, account: SeededAccount) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=10)
    now: datetime = utcnow()
    try:
        async with connection.transaction():
            await connection.copy_records_to_table(
                "inbound_numbers",
                records=_records(start, stop, account, now),
                columns=list(MAPPING_COLUMNS),
            )
        await connection.execute("ANALYZE inbound_numbers")
    finally:
        await connection.close()


def _records(
    start: int, stop: int, account: SeededAccount, now: datetime
) -> Iterator[tuple[Any, ...]]:
    for index in range(start, stop):
        yield mapping_values(index, account.account_id, account.identity_ids, now=now)
