"""Service start-up and shutdown: NOT_SERVING until migrated, graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import SecretStr

from services.common.process import service_process
from services.common.storage import migrations
from services.config import server as config_server
from services.config.settings import ConfigSettings
from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port
from tests.support.stack import INTERNAL_TOKEN


async def _status(port: int) -> int | None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.aio.AioRpcError:
            return None
    return int(response.status)


async def test_health_is_not_serving_until_migrations_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    real_upgrade = migrations.upgrade_to_head

    async def slow_upgrade(*args: object) -> None:
        await release.wait()
        await real_upgrade(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(service_process, "upgrade_to_head", slow_upgrade)
    port = free_port()
    settings = ConfigSettings(
        config_port=port,
        config_database_url=f"sqlite+aiosqlite:///{tmp_path}/c.db",
        internal_token=SecretStr(INTERNAL_TOKEN),
    )
    starting = asyncio.create_task(config_server.start(settings))
    assert await eventually(
        lambda: _is(port, health_pb2.HealthCheckResponse.NOT_SERVING), timeout=10
    )
    release.set()
    server = await asyncio.wait_for(starting, timeout=30)
    try:
        assert await _status(port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)
    assert await _status(port) is None


async def _is(port: int, status: int) -> bool:
    return await _status(port) == status


async def test_serve_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(SWITCHBOARD_DATA_DIR=str(tmp_path), SWITCHBOARD_CONFIG_PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD, "serve", "config", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert await eventually(lambda: grpc_serving(f"127.0.0.1:{port}"), timeout=30)
        assert (tmp_path / "config.db").exists()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
        assert await _status(port) is None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_serve_fails_fast_when_its_database_is_unusable(tmp_path: Path) -> None:
    port = free_port()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = cli_env(
        SWITCHBOARD_CONFIG_PORT=str(port),
        SWITCHBOARD_CONFIG_DATABASE_URL=f"sqlite+aiosqlite:///{blocker}/config.db",
    )
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "serve",
        "config",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode != 0
    assert await _status(port) is None
    assert b"error:" in stderr
    assert b"Traceback" not in stderr
