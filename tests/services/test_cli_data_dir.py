"""Every command resolves the same data dir, names the database it wrote, never invents one."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import grpc
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port, run_cli


async def test_accounts_create_refuses_a_database_that_does_not_exist(tmp_path: Path) -> None:
    data_dir, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = cli_env(SWITCHBOARD_DATA_DIR=str(data_dir))
    status, stdout, stderr = await run_cli(
        "accounts", "create", "--name", "Acme", env=env, cwd=elsewhere
    )
    assert status == 1
    assert stdout == ""
    assert stderr.strip() == (
        f"error: no config database at {data_dir}/config.db; point SWITCHBOARD_DATA_DIR (or "
        "SWITCHBOARD_CONFIG_DATABASE_URL) at the running instance's, or pass --create to "
        "create a new one there"
    )
    assert not data_dir.exists()
    assert list(elsewhere.iterdir()) == []


async def test_a_file_without_the_schema_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "config.db").write_bytes(b"")
    env = cli_env(SWITCHBOARD_DATA_DIR=str(tmp_path))
    status, _, stderr = await run_cli("accounts", "create", "--name", "Acme", env=env)
    assert status == 1
    assert f"no config database at {tmp_path}/config.db" in stderr
    assert "Traceback" not in stderr


async def test_keys_revoke_refuses_a_missing_database_without_suggesting_create(
    tmp_path: Path,
) -> None:
    env = cli_env(SWITCHBOARD_DATA_DIR=str(tmp_path / "data"))
    status, _, stderr = await run_cli(
        "keys", "revoke", "00000000-0000-0000-0000-000000000000", env=env
    )
    assert status == 1
    assert f"no config database at {tmp_path}/data/config.db" in stderr
    assert "--create" not in stderr
    assert not (tmp_path / "data").exists()


async def test_create_flag_creates_the_database_and_names_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = cli_env(SWITCHBOARD_DATA_DIR="data")  # relative: taken from the command's directory
    status, stdout, stderr = await run_cli(
        "accounts", "create", "--name", "Acme", "--create", env=env, cwd=elsewhere
    )
    assert status == 0, stderr
    assert stdout.splitlines()[0] == f"database:     {elsewhere}/data/config.db"
    assert (elsewhere / "data" / "config.db").is_file()
    status, stdout, stderr = await run_cli(
        "accounts", "create", "--name", "Again", "--json", env=env, cwd=elsewhere
    )
    assert status == 0, stderr
    assert set(json.loads(stdout)) == {"account_id", "api_key"}
    assert stderr.strip().endswith(f"account written to {elsewhere}/data/config.db")


async def test_migrate_names_the_files_it_migrated(tmp_path: Path) -> None:
    env = cli_env(SWITCHBOARD_DATA_DIR=str(tmp_path))
    status, _, stderr = await run_cli("migrate", env=env, cwd=tmp_path.parent)
    assert status == 0, stderr
    assert f"config: migrated {tmp_path}/config.db" in stderr
    assert f"registry: migrated {tmp_path}/registry.db" in stderr


async def test_a_key_created_from_another_directory_works_on_the_running_server(
    tmp_path: Path,
) -> None:
    server_dir, operator_dir, data_dir = tmp_path / "srv", tmp_path / "op", tmp_path / "data"
    server_dir.mkdir()
    operator_dir.mkdir()
    port = free_port()
    env = cli_env(SWITCHBOARD_DATA_DIR=str(data_dir), SWITCHBOARD_CONFIG_PORT=str(port))
    server = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "serve",
        "config",
        env=env,
        cwd=server_dir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert await eventually(lambda: grpc_serving(f"127.0.0.1:{port}"), timeout=60)
        status, stdout, stderr = await run_cli(
            "accounts", "create", "--name", "Acme", "--json", env=env, cwd=operator_dir
        )
        assert status == 0, stderr
        assert f"account written to {data_dir}/config.db" in stderr
        key = json.loads(stdout)["api_key"]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            listed = await config_pb2_grpc.ConfigServiceStub(channel).ListAgentIdentities(
                config_pb2.ListAgentIdentitiesRequest(),
                metadata=(("x-api-key", key),),
                timeout=10,
            )
        assert list(listed.agent_identities) == []
        assert list(operator_dir.iterdir()) == []
        assert list(server_dir.iterdir()) == []
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), timeout=30)
