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


async def test_keys_create_admin_mints_an_account_wide_key_shown_once(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    _, stdout, _ = await run_cli("accounts", "create", "--name", "Minting", "--json", env=env)
    account_id = json.loads(stdout)["account_id"]
    status, stdout, _ = await run_cli(
        "keys", "create", "--admin", "--account", account_id, "--label", "ops", "--json", env=env
    )
    assert status == 0
    created = json.loads(stdout)
    assert set(created) == {"account_id", "api_key_id", "api_key"}
    assert created["account_id"] == account_id
    async with stack.config_sessions() as session:
        key = await session.get(ApiKey, created["api_key_id"])
    assert key is not None and key.secret_hash == hash_api_key(created["api_key"])
    assert (key.account_id, key.scoped_identity_id, key.label) == (account_id, None, "ops")
    assert (key.creator_type, key.status) == ("human", "active")
    whoami = await stack.http.get("/api/whoami", headers={"X-API-Key": created["api_key"]})
    assert whoami.json()["auth_subtype"] == "api_key.admin_scoped"

    status, stdout, _ = await run_cli("keys", "create", "--admin", "--account", account_id, env=env)
    assert status == 0
    assert "admin key:" in stdout and "shown only this once" in stdout


async def test_keys_create_fails_cleanly(stack: Stack) -> None:
    env = cli_env(SWITCHBOARD_CONFIG_DATABASE_URL=stack.database_urls["config"])
    for args, message in (
        (("--account", "00000000-0000-0000-0000-000000000000"), "not found"),
        (("--account", "not-a-uuid"), "account_id"),
    ):
        status, stdout, stderr = await run_cli("keys", "create", "--admin", *args, env=env)
        assert status == 1 and stdout == "" and message in stderr, stderr
        assert "Traceback" not in stderr
    status, _, stderr = await run_cli("keys", "create", "--account", "x", env=env)
    assert status == 2 and "--admin" in stderr
