"""docker-compose.yml agrees with the CLI, the settings and the Dockerfile."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import GatewaySettings
from services.cli import _parser
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"config": ConfigSettings, "registry": RegistrySettings, "gateway": GatewaySettings}
PORT_VARIABLES = {
    "config": "SWITCHBOARD_CONFIG_PORT",
    "registry": "SWITCHBOARD_REGISTRY_PORT",
    "gateway": "SWITCHBOARD_GATEWAY_PORT",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _known_variables(service: str) -> set[str]:
    settings = SETTINGS[service]
    return {f"SWITCHBOARD_{name.upper()}" for name in settings.model_fields}


def test_every_service_is_defined(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "migrate", "config", "registry", "gateway"}


@pytest.mark.parametrize("service", ["migrate", "config", "registry", "gateway"])
def test_commands_parse_with_the_real_cli(compose: dict[str, Any], service: str) -> None:
    definition = compose["services"][service]
    command = definition["command"]
    assert command[0] == "switchboard"
    _parser().parse_args(command[1:])
    probe = definition.get("healthcheck", {}).get("test")
    if probe:
        assert probe[:2] == ["CMD", "switchboard"]
        _parser().parse_args(probe[2:])


@pytest.mark.parametrize("service", ["config", "registry", "gateway"])
def test_environment_names_real_settings_and_ports_match(
    compose: dict[str, Any], service: str
) -> None:
    definition = compose["services"][service]
    environment = definition["environment"]
    unknown = set(environment) - _known_variables(service)
    assert not unknown, f"{service} sets variables its settings ignore: {unknown}"
    port = environment[PORT_VARIABLES[service]]
    assert definition["ports"] == [f"{port}:{port}"]
    assert environment["SWITCHBOARD_BIND_HOST"] == "0.0.0.0"
    settings = SETTINGS[service](
        **{k.removeprefix("SWITCHBOARD_").lower(): v for k, v in environment.items()}
    )
    assert settings.bind_host == "0.0.0.0"


def test_addresses_point_at_the_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    config_port = services["config"]["environment"]["SWITCHBOARD_CONFIG_PORT"]
    registry_port = services["registry"]["environment"]["SWITCHBOARD_REGISTRY_PORT"]
    assert (
        services["registry"]["environment"]["SWITCHBOARD_CONFIG_ADDRESS"] == f"config:{config_port}"
    )
    gateway = services["gateway"]["environment"]
    assert gateway["SWITCHBOARD_CONFIG_ADDRESS"] == f"config:{config_port}"
    assert gateway["SWITCHBOARD_REGISTRY_ADDRESS"] == f"registry:{registry_port}"


def test_dependency_order_is_postgres_migrate_config_registry_gateway(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["config"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert services["registry"]["depends_on"]["config"] == {"condition": "service_healthy"}
    assert services["gateway"]["depends_on"] == {
        "config": {"condition": "service_healthy"},
        "registry": {"condition": "service_healthy"},
    }
    for service in ("postgres", "config", "registry", "gateway"):
        assert "healthcheck" in services[service]


def test_databases_are_postgres_and_created_by_the_init_script(compose: dict[str, Any]) -> None:
    services = compose["services"]
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text()
    owners = {
        "migrate": ("SWITCHBOARD_CONFIG_DATABASE_URL", "SWITCHBOARD_REGISTRY_DATABASE_URL"),
        "config": ("SWITCHBOARD_CONFIG_DATABASE_URL",),
        "registry": ("SWITCHBOARD_REGISTRY_DATABASE_URL",),
    }
    for service, variables in owners.items():
        environment = services[service]["environment"]
        for variable in variables:
            url = environment[variable]
            assert url.startswith("postgresql+asyncpg://")
            assert "@postgres:5432/" in url
            assert f"CREATE DATABASE {url.rsplit('/', 1)[1]};" in init_sql
    volume = services["postgres"]["volumes"][0].split(":")[0]
    assert (ROOT / volume).resolve() == (ROOT / "docker" / "postgres-init.sql").resolve()


def test_dockerfile_builds_with_the_make_setup_the_readme_uses() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "RUN make setup" in dockerfile
    command = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert shlex.split(command.removeprefix("CMD ").strip("[]").replace(",", " ")) == [
        "switchboard",
        "serve",
        "all",
    ]
    for path in ("pyproject.toml", "Makefile", "protos", "services", "gateway"):
        assert path in dockerfile


def test_tokens_come_from_an_ignored_env_file_whose_example_holds_no_secret(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for service in ("config", "registry"):
        assert services[service]["env_file"] == "switchboard.env"
        assert "SWITCHBOARD_INTERNAL_TOKEN" not in services[service]["environment"]
    assert "switchboard.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "switchboard.env" in (ROOT / ".dockerignore").read_text().splitlines()
    example = (ROOT / "switchboard.env.example").read_text().splitlines()
    assignments = dict(line.split("=", 1) for line in example if line and line[0] != "#")
    assert assignments == {"SWITCHBOARD_INTERNAL_TOKEN": "", "SWITCHBOARD_EDGE_TOKEN": ""}
    for name in assignments:
        assert name.removeprefix("SWITCHBOARD_").lower() in RegistrySettings.model_fields
