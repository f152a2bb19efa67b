"""Registry schema upgrades keep existing data: mappings keep letting every caller in after the
contact-rules migrations, and journal records stay findable by call id after 0009."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, BigInteger, Boolean, String, column, func, insert, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.storage.migrations import upgrade_to_head
from services.common.storage.orm import new_id, utcnow
from services.registry import models
from tests.support.databases import fresh_engine, migrate

LEGACY_NUMBERS = table(
    "inbound_numbers",
    column("id"),
    column("account_id"),
    column("phone_number"),
    column("phone_number_normalized"),
    column("service"),
    column("inbound_config", JSON),
    column("assistant_id"),
    column("active", Boolean),
    column("created_at", models.InboundNumber.__table__.c.created_at.type),
    column("updated_at", models.InboundNumber.__table__.c.updated_at.type),
)


@pytest.fixture
async def engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with fresh_engine(backend, tmp_path, "registry") as built:
        yield built


def _mapping_columns_of_0001(mapping_id: str, now: datetime) -> dict[str, Any]:
    """An active Exotel mapping's values for the columns ``inbound_numbers`` had at 0001."""
    return {
        "id": mapping_id,
        "account_id": new_id(),
        "phone_number": "+918044319240",
        "phone_number_normalized": "918044319240",
        "service": "exotel",
        "inbound_config": {"type": "exotel", "phone_number": "+918044319240"},
        "assistant_id": new_id(),
        "active": True,
        "created_at": now,
        "updated_at": now,
    }


async def test_existing_mappings_survive_as_blacklist(engine: AsyncEngine) -> None:
    await migrate(engine, models.MIGRATIONS_DIR, "upgrade", "0002")
    async with engine.begin() as connection:
        now = utcnow()
        mapping_id = new_id()
        # The columns before revision 0003 only: the model's table would also insert filter_mode.
        await connection.execute(
            insert(LEGACY_NUMBERS).values(**_mapping_columns_of_0001(mapping_id, now))
        )
    await upgrade_to_head(engine, models.MIGRATIONS_DIR)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    models.InboundNumber.phone_number_normalized, models.InboundNumber.filter_mode
                ).where(models.InboundNumber.id == mapping_id)
            )
        ).one()
        rules = (await connection.execute(select(models.ContactRule.id))).all()
    assert tuple(row) == ("918044319240", "blacklist")
    assert rules == []


async def test_rules_written_before_sides_keep_screening_after_0005(engine: AsyncEngine) -> None:
    await migrate(engine, models.MIGRATIONS_DIR, "upgrade", "0004")
    async with engine.begin() as connection:
        now = utcnow()
        mapping_id, rule_id = new_id(), new_id()
        await connection.execute(
            insert(models.InboundNumber).values(
                **_mapping_columns_of_0001(mapping_id, now), filter_mode="blacklist"
            )
        )
        await connection.execute(
            insert(models.ContactRule).values(
                id=rule_id,
                account_id=new_id(),
                inbound_id=mapping_id,
                action="block",
                match_type="exact_number",
                match_target_normalized="919812345678",
                direction="both",
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
    await upgrade_to_head(engine, models.MIGRATIONS_DIR)
    async with engine.connect() as connection:
        kept = (
            await connection.execute(
                select(models.ContactRule.id, models.ContactRule.direction).where(
                    models.ContactRule.inbound_id == mapping_id
                )
            )
        ).all()
    assert [tuple(row) for row in kept] == [(rule_id, "both")]


JOURNAL_0008 = table(
    "call_decisions",
    *(
        column(c.name, c.type)
        for c in models.CallDecision.__table__.columns
        if c.name not in ("call_key", "pending_call_key")
    ),
)


def journal_record(call_id: str, **columns: Any) -> dict[str, Any]:
    """A journal record with only the columns every version requires, plus ``columns``."""
    return {
        "id": new_id(),
        "call_id": call_id,
        "decided_at": utcnow(),
        "dialed_number": "+918000000000",
        "caller_number": "1",
        "service": "exotel",
        "verdict": "reject",
        "edge_outcome": "temporarily_unavailable",
        "decision_ms": 1.0,
        "replica": "old",
        **columns,
    }


async def test_journal_records_written_before_0009_get_their_call_keys(
    engine: AsyncEngine,
) -> None:
    call_ids = [f"legacy-{index}-{new_id()}" for index in range(7)]
    await migrate(engine, models.MIGRATIONS_DIR, "upgrade", "0008")
    async with engine.begin() as connection:
        await connection.execute(
            insert(JOURNAL_0008),
            [journal_record(call_id) for call_id in call_ids],
        )
    await upgrade_to_head(engine, models.MIGRATIONS_DIR)
    journal = models.CallDecision
    async with engine.connect() as connection:
        keys = dict((await connection.execute(select(journal.call_id, journal.call_key))).all())
    assert keys == {call_id: models.call_lookup_key(call_id) for call_id in call_ids}
    await migrate(engine, models.MIGRATIONS_DIR, "downgrade", "0008")
    async with engine.connect() as connection:
        kept = await connection.scalar(
            select(func.count()).select_from(table("call_decisions", column("id", String)))
        )
    assert kept == len(call_ids)


async def test_downgrading_0010_indexes_the_call_keys_still_parked(engine: AsyncEngine) -> None:
    await upgrade_to_head(engine, models.MIGRATIONS_DIR)
    journal = models.CallDecision
    parked, indexed = f"parked-{new_id()}", f"indexed-{new_id()}"
    async with engine.begin() as connection:
        await connection.execute(
            insert(journal),
            [
                journal_record(
                    parked, call_key=None, pending_call_key=models.call_lookup_key(parked)
                ),
                journal_record(
                    indexed, call_key=models.call_lookup_key(indexed), pending_call_key=None
                ),
            ],
        )
    await migrate(engine, models.MIGRATIONS_DIR, "downgrade", "0009")
    keyed = table("call_decisions", column("call_id", String), column("call_key", BigInteger))
    async with engine.connect() as connection:
        keys = dict((await connection.execute(select(keyed.c.call_id, keyed.c.call_key))).all())
    assert keys == {call_id: models.call_lookup_key(call_id) for call_id in (parked, indexed)}
