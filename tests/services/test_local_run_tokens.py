"""``serve all`` (``make run``): generated internal and edge tokens, shared by every process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
from pathlib import Path

import httpx
import pytest

from gateway.settings import GatewaySettings
from services import supervisor
from services.common.process.local_secrets import (
    EDGE_TOKEN_ENV,
    EDGE_TOKEN_FILE,
    INTERNAL_TOKEN_ENV,
    INTERNAL_TOKEN_FILE,
)
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings
from tests.services.registry.routing import factories
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port, run_cli


async def _ready(base: str) -> bool:
    async with httpx.AsyncClient(timeout=2) as http:
        try:
            return (await http.get(f"{base}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


async def test_serve_all_generates_both_tokens_and_every_process_uses_them(
    database_urls: dict[str, str], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = {name: free_port() for name in ("config", "registry", "gateway")}
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_PORT=str(ports["config"]),
        SWITCHBOARD_REGISTRY_PORT=str(ports["registry"]),
        SWITCHBOARD_GATEWAY_PORT=str(ports["gateway"]),
        SWITCHBOARD_CONFIG_ADDRESS=f"127.0.0.1:{ports['config']}",
        SWITCHBOARD_REGISTRY_ADDRESS=f"127.0.0.1:{ports['registry']}",
        SWITCHBOARD_CONFIG_DATABASE_URL=database_urls["config"],
        SWITCHBOARD_REGISTRY_DATABASE_URL=database_urls["registry"],
    )
    base = f"http://127.0.0.1:{ports['gateway']}"
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "serve",
        "all",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await eventually(lambda: _ready(base), timeout=90)
        tokens = {}
        for name in (INTERNAL_TOKEN_FILE, EDGE_TOKEN_FILE):
            path = workdir / name
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            tokens[name] = path.read_text().strip()

        # registry -> config internal RPCs work: an admin key is authenticated through them.
        _, created, _ = await run_cli("accounts", "create", "--name", "Tokens", "--json", env=env)
        key = json.loads(created)["api_key"]
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            listed = await http.get("/inbound/list", headers={"Authorization": f"Bearer {key}"})
            assert listed.status_code == 200, listed.text
            # The Exotel adapter's URL printed in the banner carries the generated edge token.
            unmapped, _ = factories.new_number()
            exotel = f"/exotel/{tokens[EDGE_TOKEN_FILE]}/stream"
            params = {"CallSid": "s", "CallFrom": "1", "CallTo": unmapped}
            routed = await http.get(exotel, params=params)
            assert routed.status_code == 404
            assert routed.json()["detail"]["reject_reason"] == "no_active_mapping"
            wrong = await http.get(f"/exotel/{tokens[EDGE_TOKEN_FILE]}x/stream", params=params)
            assert wrong.status_code == 401
            assert wrong.json() == {"detail": "invalid edge token"}
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=60)
    stdout = (await process.stdout.read()).decode()  # type: ignore[union-attr]
    stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    urls = re.findall(r"Exotel applet:\s+(\S+)", stdout)
    assert urls == [f"{base}/exotel/{tokens[EDGE_TOKEN_FILE]}/stream"]
    assert tokens[INTERNAL_TOKEN_FILE] not in stdout + stderr
    assert tokens[EDGE_TOKEN_FILE] not in stderr  # only the banner shows it, never a log line

    # The next start reuses both files.
    for name, value in _environment(env).items():
        monkeypatch.setenv(name, value)
    again = supervisor._run_tokens()
    assert again[INTERNAL_TOKEN_ENV].get_secret_value() == tokens[INTERNAL_TOKEN_FILE]
    assert again[EDGE_TOKEN_ENV].get_secret_value() == tokens[EDGE_TOKEN_FILE]


def _environment(env: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith("SWITCHBOARD_")}


def test_a_configured_edge_token_is_used_never_printed_nor_written(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", str(workdir))
    monkeypatch.setenv(EDGE_TOKEN_ENV, "operator-edge-secret-0123456789")
    tokens = supervisor._run_tokens()
    assert tokens[EDGE_TOKEN_ENV].get_secret_value() == "operator-edge-secret-0123456789"
    supervisor._print_banner(
        ConfigSettings(), RegistrySettings(), GatewaySettings(), tokens[EDGE_TOKEN_ENV]
    )
    banner = capsys.readouterr().out
    assert "operator-edge-secret" not in banner
    assert "/exotel/$SWITCHBOARD_EDGE_TOKEN/stream" in banner
    assert not (workdir / EDGE_TOKEN_FILE).exists()
    assert (workdir / INTERNAL_TOKEN_FILE).exists()
