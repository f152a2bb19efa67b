"""Generated local tokens: 0600 in the data dir, reused, one token for concurrent starters."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.common.errors import FailedPrecondition
from services.common.process.local_secrets import (
    INTERNAL_TOKEN_FILE,
    host_of,
    internal_token,
    is_loopback,
    local_token,
    require_token_off_loopback,
)
from services.config.settings import ConfigSettings
from services.registry import server as registry_server
from services.registry.settings import RegistrySettings


def test_a_new_token_is_random_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "internal-token"
    first = local_token(path)
    assert first.startswith("sbint_") and len(first) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_token(path) == first
    assert local_token(tmp_path / "other" / "internal-token") != first
    assert [p.name for p in path.parent.iterdir()] == ["internal-token"]  # nothing left aside


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "internal-token"
    local_token(path)
    path.chmod(0o640)
    with pytest.raises(FailedPrecondition, match="chmod 600"):
        local_token(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge-token"
    path.touch(mode=0o600)
    with pytest.raises(FailedPrecondition, match="empty"):
        local_token(path)


async def test_processes_starting_together_share_one_token(tmp_path: Path) -> None:
    path = tmp_path / "internal-token"
    script = "import sys; from services.common.process.local_secrets import local_token; "
    script += "from pathlib import Path; print(local_token(Path(sys.argv[1])))"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, str(path), stdout=asyncio.subprocess.PIPE
        )
        for _ in range(8)
    ]
    tokens = {(await process.communicate())[0].decode().strip() for process in processes}
    assert len(tokens) == 1
    assert tokens == {path.read_text().strip()}


def test_a_configured_token_wins_and_no_file_is_written(tmp_path: Path) -> None:
    settings = ConfigSettings(data_dir=tmp_path)
    assert internal_token(settings, SecretStr("configured")).get_secret_value() == "configured"
    assert not (tmp_path / INTERNAL_TOKEN_FILE).exists()
    generated = internal_token(settings, None).get_secret_value()
    assert (tmp_path / INTERNAL_TOKEN_FILE).read_text().strip() == generated


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("config.internal", False),
        ("", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_non_loopback_hosts_need_a_configured_token(tmp_path: Path) -> None:
    where = "the config service binds"
    for configured in (None, SecretStr(""), SecretStr("  ")):
        with pytest.raises(FailedPrecondition, match=r"0\.0\.0\.0, which is not loopback"):
            require_token_off_loopback("0.0.0.0", configured, where)
    require_token_off_loopback("0.0.0.0", SecretStr("configured"), where)
    require_token_off_loopback("127.0.0.1", None, where)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    ("target", "host"),
    [
        ("127.0.0.1:50051", "127.0.0.1"),
        ("config:50051", "config"),
        ("[::1]:50051", "::1"),
        ("dns:///config.internal:443", "config.internal"),
        ("localhost", "localhost"),
    ],
)
def test_host_of_a_target(target: str, host: str) -> None:
    assert host_of(target) == host


async def test_a_registry_dialing_a_remote_config_needs_a_configured_token(
    tmp_path: Path,
) -> None:
    settings = RegistrySettings(data_dir=tmp_path, config_address="config:50051")
    with pytest.raises(FailedPrecondition, match=r"config, which is not loopback"):
        await registry_server.serve(settings)
    assert not os.listdir(tmp_path)
