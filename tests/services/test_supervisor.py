"""``switchboard serve all``: three real processes that start, stop and fail together."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from services.probe import grpc_serving
from tests.support.serve_all import alive, serve_all


def _database_variables(database_urls: dict[str, str]) -> dict[str, str]:
    return {
        "SWITCHBOARD_CONFIG_DATABASE_URL": database_urls["config"],
        "SWITCHBOARD_REGISTRY_DATABASE_URL": database_urls["registry"],
    }


async def test_serve_all_starts_everything_and_stops_on_sigterm(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(workdir, **_database_variables(database_urls)) as running:
        assert await running.ready()
        assert await grpc_serving(running.target("config"))
        assert await grpc_serving(running.target("registry"))
        children = running.children()
        assert set(children) == {"config", "registry", "gateway"}

        running.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(running.process.wait(), timeout=60) == 0
        banner = running.stdout()
        assert f"127.0.0.1:{running.ports['gateway']}" in banner
        assert "accounts create" in banner
        for pid in children.values():
            assert not alive(pid)
        assert not await grpc_serving(running.target("config"), timeout=0.5)


async def test_serve_all_stops_everything_when_one_child_dies(
    database_urls: dict[str, str], workdir: Path
) -> None:
    async with serve_all(workdir, **_database_variables(database_urls)) as running:
        assert await running.ready()
        children = running.children()
        os.kill(children["registry"], signal.SIGKILL)
        status = await asyncio.wait_for(running.process.wait(), timeout=60)
        assert status != 0
        for pid in children.values():
            assert not alive(pid)
