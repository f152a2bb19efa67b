"""The body of every service's Alembic ``env.py``: online migrations on a given connection."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, MetaData

from services.common.storage.db import create_engine


def run_migrations(target_metadata: MetaData) -> None:
    """Run migrations on the connection handed over by the caller, or on the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use `switchboard migrate`")
    asyncio.run(_run_with_url(url, target_metadata))


async def _run_with_url(url: str, target_metadata: MetaData) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, target_metadata)
    finally:
        await engine.dispose()


def _run(connection: Connection, target_metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # SQLite does transactional DDL once pysqlite's implicit transactions are
        # off (see services.common.storage.db); without this Alembic's own bookkeeping
        # leaves the caller's transaction uncommitted.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()
