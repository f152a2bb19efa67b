"""The operator CLI against the same databases the services use."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.config.models import ApiKey
from services.config.secrets import hash_api_key
from tests.support.processes import cli_env, run_cli
from tests.support.stack import Stack


async def test_accounts_create_json_prints_only_the_account_and_key(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    status, stdout, _ = await run_cli("accounts", "create", "--name", "Acme", "--json", env=env)
    assert status == 0
    created = json.loads(stdout)
    assert set(created) == {"account_id", "api_key"}
    async with stack.config_sessions() as session:
        key = (
            await session.execute(
                select(ApiKey).where(ApiKey.secret_hash == hash_api_key(created["api_key"]))
            )
        ).scalar_one()
    assert key.account_id == created["account_id"]
    assert key.status == "active"
    assert key.scoped_identity_id is None


async def test_keys_are_stored_hashed_never_in_clear(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    _, stdout, _ = await run_cli("accounts", "create", "--name", "Hashed", "--json", env=env)
    secret = json.loads(stdout)["api_key"]
    async with stack.config_sessions() as session:
        rows = (await session.execute(select(ApiKey))).scalars().all()
    for row in rows:
        assert secret not in {row.secret_hash, row.display_prefix, row.label}
        assert len(row.secret_hash) == 64


async def test_keys_revoke_marks_the_key_revoked(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    _, stdout, _ = await run_cli("accounts", "create", "--name", "Revoked", "--json", env=env)
    secret = json.loads(stdout)["api_key"]
    async with stack.config_sessions() as session:
        key = (
            await session.execute(select(ApiKey).where(ApiKey.secret_hash == hash_api_key(secret)))
        ).scalar_one()
    status, stdout, _ = await run_cli("keys", "revoke", key.id, env=env)
    assert status == 0
    assert key.id in stdout
    async with stack.config_sessions() as session:
        revoked = await session.get(ApiKey, key.id)
    assert revoked is not None
    assert revoked.status == "revoked"
    assert revoked.revoked_at is not None


async def test_keys_revoke_unknown_key_fails_cleanly(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    status, _, stderr = await run_cli(
        "keys", "revoke", "00000000-0000-0000-0000-000000000000", env=env
    )
    assert status == 1
    assert "not found" in stderr
    assert "Traceback" not in stderr


async def test_accounts_create_rejects_blank_name(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    status, stdout, stderr = await run_cli("accounts", "create", "--name", "  ", env=env)
    assert status == 1
    assert stdout == ""
    assert "Traceback" not in stderr
