"""docker-compose.yml agrees with the CLI, the settings and the Dockerfile."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import GatewaySettings
from services.cli import _parser
from services.config.settings import ConfigSettings
from services.registry.settings import RegistrySettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, type[ConfigSettings] | type[RegistrySettings] | type[GatewaySettings]] = {
    "config": ConfigSettings,
    "registry": RegistrySettings,
    "gateway": GatewaySettings,
}
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
    if service == "config":
        assert "ports" not in definition  # only the registry calls it, on the compose network
    else:
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


def test_dockerfile_builds_with_make_setup_and_runs_without_dev_tools_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    assert len(stages) == 2, "a build stage and a runtime stage"
    build, runtime = stages
    assert "RUN make setup" in build
    assert "--require-hashes -r requirements/runtime.lock" in build
    assert "pip install --no-cache-dir --no-deps ." in build and ".[dev]" not in build
    for path in ("pyproject.toml", "Makefile", "requirements", "protos", "services", "gateway"):
        assert path in build
    assert "COPY --from=build /app/.venv /app/.venv" in runtime
    for tool in ("make", "apt-get", "[dev]", "grpcio-tools", "pip install"):
        assert tool not in runtime, tool
    user = next(line for line in runtime.splitlines() if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in {"0", "root"}
    command = next(line for line in runtime.splitlines() if line.startswith("CMD "))
    assert shlex.split(command.removeprefix("CMD ").strip("[]").replace(",", " ")) == [
        "switchboard",
        "serve",
        "all",
    ]
    exposed = next(line for line in runtime.splitlines() if line.startswith("EXPOSE "))
    assert "50051" not in exposed


def test_postgres_is_healthy_only_once_the_init_script_created_both_databases(
    compose: dict[str, Any],
) -> None:
    test = compose["services"]["postgres"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    script = test[1]
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text()
    databases = re.findall(r"CREATE DATABASE (\w+);", init_sql)
    assert databases == ["switchboard_config", "switchboard_registry"]
    checks = [part.strip() for part in script.split("&&")]
    assert all(" -h 127.0.0.1 " in check for check in checks)
    for database in databases:
        assert any("psql" in c and f"-d {database} " in c and "SELECT 1" in c for c in checks)


def test_migrate_retries_while_the_database_is_not_ready(compose: dict[str, Any]) -> None:
    command = compose["services"]["migrate"]["command"]
    args = _parser().parse_args(command[1:])
    assert args.retry_for >= 30


def _compose_project(directory: Path, env_file: str | None) -> Path:
    """The compose file and what it references, copied where a test may add an env file."""
    shutil.copy(ROOT / "docker-compose.yml", directory / "docker-compose.yml")
    (directory / "docker").mkdir()
    shutil.copy(ROOT / "docker" / "postgres-init.sql", directory / "docker" / "postgres-init.sql")
    if env_file is not None:
        (directory / "switchboard.env").write_text(env_file)
    return directory


def _docker_compose(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The binary itself: the package's console-script wrapper drops its exit status.
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None
    binary = Path(spec.origin).parent / "docker-compose"
    return subprocess.run(
        [str(binary), "--project-directory", str(directory), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(directory)},
        check=False,
    )


def test_real_docker_compose_config_accepts_the_file_and_publishes_only_external_ports(
    tmp_path: Path,
) -> None:
    tokens = "SWITCHBOARD_INTERNAL_TOKEN=internal-secret-abc\nSWITCHBOARD_EDGE_TOKEN=edge-xyz\n"
    project = _compose_project(tmp_path, tokens)
    result = _docker_compose(project, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)["services"]
    published = {
        name: sorted(int(port["published"]) for port in service.get("ports", []))
        for name, service in resolved.items()
    }
    assert published == {
        "postgres": [],
        "migrate": [],
        "config": [],
        "registry": [50052],
        "gateway": [8080],
    }
    for name in ("config", "registry"):
        environment = resolved[name]["environment"]
        assert environment["SWITCHBOARD_INTERNAL_TOKEN"] == "internal-secret-abc"
    assert resolved["registry"]["environment"]["SWITCHBOARD_EDGE_TOKEN"] == "edge-xyz"
    for name in ("gateway", "migrate", "postgres"):
        assert "SWITCHBOARD_INTERNAL_TOKEN" not in resolved[name].get("environment", {})
    for name in ("migrate", "config", "registry", "gateway"):
        assert resolved[name]["cap_drop"] == ["ALL"]
        assert resolved[name]["security_opt"] == ["no-new-privileges:true"]


def test_real_docker_compose_refuses_to_run_without_the_env_file(tmp_path: Path) -> None:
    project = _compose_project(tmp_path, env_file=None)
    result = _docker_compose(project, "config", "--quiet")
    assert result.returncode != 0
    assert "switchboard.env" in result.stderr


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
