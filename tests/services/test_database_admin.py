"""``switchboard migrate --retry-for``: a database still being created is waited for."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.common.storage.db import asyncpg_dsn
from tests.support.databases import postgres_admin_url, postgres_unreachable_reason, running_in_ci
from tests.support.processes import SWITCHBOARD, cli_env, run_cli


@pytest.fixture
async def admin_dsn() -> str:
    """The test PostgreSQL server (this behaviour exists only where databases are created)."""
    url = postgres_admin_url()
    reason = await postgres_unreachable_reason(url)
    if reason is not None:
        if running_in_ci():
            pytest.fail(f"PostgreSQL at {url} is unreachable: {reason} (mandatory with CI=true)")
        pytest.skip(f"PostgreSQL at {url} is unreachable: {reason}")
    return asyncpg_dsn(url)


async def test_migrate_waits_for_databases_an_init_script_creates_late(admin_dsn: str) -> None:
    names = {svc: f"sbtest_late_{uuid.uuid4().hex[:8]}_{svc}" for svc in ("config", "registry")}
    base = make_url(postgres_admin_url())
    env = cli_env(
        **{
            f"SWITCHBOARD_{svc.upper()}_DATABASE_URL": base.set(database=name).render_as_string(
                hide_password=False
            )
            for svc, name in names.items()
        }
    )
    status, _, stderr = await run_cli("migrate", "all", env=env)
    assert status == 1 and "does not exist" in stderr  # without --retry-for: fails at once

    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "migrate",
        "all",
        "--retry-for",
        "60",
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    connection = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        assert process.stderr is not None
        first = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        assert b"database not ready" in first  # it tried, failed, and keeps retrying
        assert process.returncode is None
        for name in names.values():
            await connection.execute(f'CREATE DATABASE "{name}"')
        _, stderr_bytes = await asyncio.wait_for(process.communicate(), timeout=90)
        assert process.returncode == 0, stderr_bytes.decode()
        for name in names.values():
            migrated = await asyncpg.connect(
                make_url(admin_dsn).set(database=name).render_as_string(hide_password=False)
            )
            try:
                assert await migrated.fetchval("SELECT count(*) FROM alembic_version") == 1
            finally:
                await migrated.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for name in names.values():
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
