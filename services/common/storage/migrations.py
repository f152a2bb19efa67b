"""Applying a service's Alembic migrations, safely when several replicas start at once."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(script_location: Path, url: str | None = None) -> Config:
    """An Alembic configuration for one service's migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(engine: AsyncEngine, script_location: Path) -> None:
    """Migrate ``engine``'s database to the newest revision.

    On PostgreSQL a transaction-scoped advisory lock serialises replicas that
    start together, so only one of them runs the DDL.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock_key = zlib.crc32(str(script_location.name).encode()) & 0x7FFFFFFF
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
        await connection.run_sync(_upgrade, script_location)


def _upgrade(connection: Connection, script_location: Path) -> None:
    config = alembic_config(script_location)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
