"""Each service's Alembic migrations build exactly its models' schema, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, insert, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.storage.db import create_engine
from services.common.storage.migrations import upgrade_to_head
from services.common.storage.orm import new_id, utcnow
from services.config import models as config_models
from services.registry import models as registry_models
from tests.support.databases import fresh_databases

SERVICES: dict[str, tuple[Path, MetaData]] = {
    "config": (config_models.MIGRATIONS_DIR, config_models.Base.metadata),
    "registry": (registry_models.MIGRATIONS_DIR, registry_models.Base.metadata),
}


@pytest.fixture
async def engines(backend: str, tmp_path: Path) -> AsyncIterator[dict[str, AsyncEngine]]:
    async with fresh_databases(backend, tmp_path) as urls:
        built = {service: create_engine(url) for service, url in urls.items()}
        try:
            yield built
        finally:
            for engine in built.values():
                await engine.dispose()


def _schema_differences(connection: Connection, metadata: MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_models_and_rerun_cleanly(
    engines: dict[str, AsyncEngine], service: str
) -> None:
    migrations, metadata = SERVICES[service]
    await upgrade_to_head(engines[service], migrations)
    await upgrade_to_head(engines[service], migrations)
    async with engines[service].connect() as connection:
        differences = await connection.run_sync(_schema_differences, metadata)
    assert differences == []


async def test_concurrent_migrations_from_several_replicas_all_succeed(
    engines: dict[str, AsyncEngine],
) -> None:
    migrations, _ = SERVICES["registry"]
    await asyncio.gather(*(upgrade_to_head(engines["registry"], migrations) for _ in range(4)))
    async with engines["registry"].connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "inbound_numbers" in tables


async def test_active_normalized_number_is_unique_only_among_active_rows(
    engines: dict[str, AsyncEngine],
) -> None:
    migrations, _ = SERVICES["registry"]
    engine = engines["registry"]
    await upgrade_to_head(engine, migrations)
    table = registry_models.InboundNumber

    def row(active: bool) -> dict[str, Any]:
        return {
            "id": new_id(),
            "account_id": new_id(),
            "phone_number": "+918044319240",
            "phone_number_normalized": "918044319240",
            "service": "exotel",
            "inbound_config": {"type": "exotel", "phone_number": "+918044319240"},
            "active": active,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }

    async with engine.begin() as connection:
        await connection.execute(insert(table), [row(False), row(False), row(True)])
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(table), [row(True)])
