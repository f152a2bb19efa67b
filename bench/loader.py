"""Bulk loading of the benchmark data straight into the services' databases.

Config: one account (admin key minted by the operator action) and
``identities`` agent identities, each with an ``auto_accept`` incoming-call
action. Registry: mappings ``[start, stop)`` shared round-robin by those
identities, inserted in one transaction (executemany in large batches on
SQLite, COPY on PostgreSQL), bypassing the API: loading 1,000,000 rows through
it would take far longer than the benchmark itself.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url

from bench.numbers import SERVICE, inbound_number, normalized_number
from services.common.storage.db import asyncpg_dsn, create_engine, create_session_factory, is_sqlite
from services.common.storage.orm import new_id, utcnow
from services.config import provisioning
from services.config.models import AgentIdentity, IncomingCallAction
from services.registry.models import InboundNumber

SQLITE_BATCH = 50_000
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
    timestamp = _sqlite_processor("created_at")(utcnow())
    active = _sqlite_processor("active")(True)
    placeholders = ", ".join("?" for _ in MAPPING_COLUMNS)
    statement = (
        f"INSERT INTO inbound_numbers ({', '.join(MAPPING_COLUMNS)}) VALUES ({placeholders})"
    )
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        # The random-UUID primary key and the indexes make inserts page-scattered:
        # a cache big enough for the whole table's indexes keeps this CPU-bound.
        connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        connection.execute("BEGIN IMMEDIATE")
        for batch_start in range(start, stop, SQLITE_BATCH):
            batch_stop = min(batch_start + SQLITE_BATCH, stop)
            connection.executemany(
                statement,
                (
                    mapping_values(
                        index,
                        account.account_id,
                        account.identity_ids,
                        now=timestamp,
                        active=active,
                    )
                    for index in range(batch_start, batch_stop)
                ),
            )
        connection.execute("COMMIT")
        # Leave a small WAL behind: readers then do not scan a huge one.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _sqlite_processor(column: str) -> Callable[[Any], Any]:
    dialect = sqlite_dialect.dialect()
    # dialect_impl: what the ORM itself binds (a TypeDecorator's own bind_processor
    # would use its generic impl and store timestamps in another text form).
    processor = InboundNumber.__table__.c[column].type.dialect_impl(dialect).bind_processor(dialect)
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
