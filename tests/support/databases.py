"""Fresh, throwaway databases for each test run, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from alembic import command
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.storage.db import asyncpg_dsn, create_engine
from services.common.storage.migrations import alembic_config

POSTGRES_URL_ENV = "SWITCHBOARD_TEST_POSTGRES_URL"
LOCAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SERVICES = ("config", "registry")


def postgres_admin_url() -> str:
    """The server URL tests create their databases on (env, else the local default)."""
    return os.environ.get(POSTGRES_URL_ENV) or LOCAL_POSTGRES_URL


def running_in_ci() -> bool:
    """CI=true makes PostgreSQL mandatory."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def postgres_unreachable_reason(url: str) -> str | None:
    """None when ``url`` accepts connections, else why not."""
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


@asynccontextmanager
async def fresh_databases(backend: str, workdir: Path) -> AsyncIterator[dict[str, str]]:
    """One new empty database per service; dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        yield {svc: f"sqlite+aiosqlite:///{(workdir / f'{svc}.db').as_posix()}" for svc in SERVICES}
        return
    admin_url = postgres_admin_url()
    run = uuid.uuid4().hex[:10]
    names = {svc: f"sbtest_{run}_{svc}" for svc in SERVICES}
    connection = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        for name in names.values():
            await connection.execute(f'CREATE DATABASE "{name}"')
        base = make_url(admin_url)
        yield {
            svc: base.set(database=name).render_as_string(hide_password=False)
            for svc, name in names.items()
        }
    finally:
        for name in names.values():
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@asynccontextmanager
async def fresh_engine(backend: str, workdir: Path, service: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new empty database of ``service``; disposed (and dropped) afterwards."""
    async with fresh_databases(backend, workdir) as urls:
        engine = create_engine(urls[service])
        try:
            yield engine
        finally:
            await engine.dispose()


async def migrate(engine: AsyncEngine, migrations: Path, verb: str, revision: str) -> None:
    """Alembic ``verb`` ("upgrade" or "downgrade") of ``engine``'s database to ``revision``."""

    def run(connection: Connection) -> None:
        config = alembic_config(migrations)
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)
