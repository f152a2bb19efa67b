"""Config schema upgrades keep existing data: the account secret becomes per-identity keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, String, column, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.storage.migrations import upgrade_to_head
from services.common.storage.orm import UTCDateTime, new_id
from services.config.models import MIGRATIONS_DIR, AgentIdentity, IdentitySigningKey
from tests.support.databases import fresh_engine, migrate

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

accounts = table(
    "accounts", column("id", String), column("name", String), column("created_at", UTCDateTime())
)
identities = table(
    "agent_identities",
    column("id", String),
    column("account_id", String),
    column("agent_handle", String),
    column("display_name", String),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)
secrets = table(
    "webhook_signing_secrets",
    column("account_id", String),
    column("secret", String),
    column("active", Boolean),
    column("created_at", UTCDateTime()),
    column("rotated_at", UTCDateTime()),
)


@pytest.fixture
async def engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with fresh_engine(backend, tmp_path, "config") as built:
        yield built


async def _run(engine: AsyncEngine, verb: str, revision: str) -> None:
    await migrate(engine, MIGRATIONS_DIR, verb, revision)


def _identity(account_id: str, handle: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "account_id": account_id,
        "agent_handle": handle,
        "display_name": handle,
        "created_at": T0,
        "updated_at": T0,
    }


async def test_account_secrets_become_every_identitys_key_and_back(engine: AsyncEngine) -> None:
    await _run(engine, "upgrade", "0002")
    signed, rotated, inactive, bare = (new_id() for _ in range(4))
    rows = {
        signed: [_identity(signed, f"s-{signed[:8]}-{n}") for n in range(2)],
        rotated: [_identity(rotated, f"r-{rotated[:8]}")],
        inactive: [_identity(inactive, f"i-{inactive[:8]}")],
        bare: [_identity(bare, f"b-{bare[:8]}")],
    }
    async with engine.begin() as connection:
        await connection.execute(
            accounts.insert(), [{"id": a, "name": a, "created_at": T0} for a in rows]
        )
        await connection.execute(identities.insert(), [i for group in rows.values() for i in group])
        await connection.execute(
            secrets.insert(),
            [
                {
                    "account_id": signed,
                    "secret": "whsec_signed",
                    "active": True,
                    "created_at": T0,
                    "rotated_at": None,
                },
                {
                    "account_id": rotated,
                    "secret": "whsec_rotated",
                    "active": True,
                    "created_at": T0,
                    "rotated_at": T0 + timedelta(hours=1),
                },
                {
                    "account_id": inactive,
                    "secret": "whsec_off",
                    "active": False,
                    "created_at": T0,
                    "rotated_at": None,
                },
            ],
        )

    await upgrade_to_head(engine, MIGRATIONS_DIR)

    async with engine.connect() as connection:
        keys = {
            row.agent_identity_id: (row.secret, row.created_at)
            for row in (await connection.execute(select(IdentitySigningKey))).all()
        }
        handles = set((await connection.execute(select(AgentIdentity.agent_handle))).scalars())
    expected = {i["id"]: ("whsec_signed", T0) for i in rows[signed]}
    expected[rows[rotated][0]["id"]] = ("whsec_rotated", T0 + timedelta(hours=1))
    assert keys == expected
    assert handles == {i["agent_handle"] for group in rows.values() for i in group}

    await _run(engine, "downgrade", "0002")
    async with engine.connect() as connection:
        restored = {
            row.account_id: (row.secret, row.active)
            for row in (await connection.execute(select(secrets))).all()
        }
    assert restored == {signed: ("whsec_signed", True), rotated: ("whsec_rotated", True)}
    await upgrade_to_head(engine, MIGRATIONS_DIR)
