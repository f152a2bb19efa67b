"""Shared settings: addresses follow the ports, one data directory for every command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from services.common import settings as common_settings
from services.common.settings import local_target, resolve_data_dir
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings
from tests.support.processes import cli_env

CHECKOUT = Path(__file__).resolve().parents[3]


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SWITCHBOARD_"):
            monkeypatch.delenv(name)


def test_unset_addresses_follow_the_port_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("SWITCHBOARD_CONFIG_PORT", "61001")
    monkeypatch.setenv("SWITCHBOARD_REGISTRY_PORT", "61002")
    assert RegistrySettings().config_address == "127.0.0.1:61001"
    gateway = GatewaySettings()
    assert (gateway.config_address, gateway.registry_address) == (
        "127.0.0.1:61001",
        "127.0.0.1:61002",
    )
    assert ConfigSettings().config_port == 61001


def test_defaults_dial_the_default_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    gateway = GatewaySettings()
    assert gateway.config_address == f"127.0.0.1:{common_settings.DEFAULT_CONFIG_PORT}"
    assert gateway.registry_address == f"127.0.0.1:{common_settings.DEFAULT_REGISTRY_PORT}"


def test_a_set_address_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("SWITCHBOARD_CONFIG_PORT", "61001")
    monkeypatch.setenv("SWITCHBOARD_CONFIG_ADDRESS", "config.internal:7000")
    assert RegistrySettings().config_address == "config.internal:7000"
    assert GatewaySettings().config_address == "config.internal:7000"


def test_addresses_follow_the_bind_host(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear(monkeypatch)
    monkeypatch.setenv("SWITCHBOARD_BIND_HOST", "127.0.0.2")
    assert RegistrySettings().config_address == "127.0.0.2:50051"
    monkeypatch.setenv("SWITCHBOARD_BIND_HOST", "0.0.0.0")
    assert RegistrySettings().config_address == "127.0.0.1:50051"


@pytest.mark.parametrize(
    ("host", "target"),
    [("0.0.0.0", "127.0.0.1:1"), ("::", "127.0.0.1:1"), ("::1", "[::1]:1"), ("h", "h:1")],
)
def test_local_target(host: str, target: str) -> None:
    assert local_target(host, 1) == target


def test_data_dir_defaults_to_the_checkout_whatever_the_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clear(monkeypatch)
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir() == CHECKOUT / "var"
    for settings in (ConfigSettings(), RegistrySettings(), GatewaySettings()):
        assert settings.data_dir == CHECKOUT / "var"
    assert ConfigSettings().database_url == f"sqlite+aiosqlite:///{CHECKOUT}/var/config.db"


def test_a_relative_data_dir_is_made_absolute_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clear(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SWITCHBOARD_DATA_DIR", "here/data")
    assert ConfigSettings().data_dir == tmp_path.resolve() / "here" / "data"
    assert RegistrySettings(data_dir=Path("x")).data_dir == tmp_path.resolve() / "x"
    assert resolve_data_dir("") == CHECKOUT / "var"


def test_an_installed_package_uses_the_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(common_settings, "_CHECKOUT", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "switchboard"


async def test_every_process_resolves_the_same_files_from_any_directory(tmp_path: Path) -> None:
    script = (
        "from services.config.settings import ConfigSettings as C;"
        "from services.registry.settings import RegistrySettings as R;"
        "from gateway.settings import GatewaySettings as G;"
        "print(C().database_url, R().database_url, G().data_dir, R().config_address)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=tmp_path,
        env=cli_env(SWITCHBOARD_CONFIG_PORT="61003"),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert stdout.decode().split() == [
        f"sqlite+aiosqlite:///{CHECKOUT}/var/config.db",
        f"sqlite+aiosqlite:///{CHECKOUT}/var/registry.db",
        str(CHECKOUT / "var"),
        "127.0.0.1:61003",
    ]
