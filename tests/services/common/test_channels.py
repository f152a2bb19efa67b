"""Optional TLS and mTLS on every gRPC listener and client (trustme certificates)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from pydantic import ValidationError
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from gateway.settings import GatewaySettings
from services.common.rpc.channels import CHANNEL_OPTIONS, open_channel
from services.common.rpc.server import GrpcServer
from services.common.settings import BaseServiceSettings
from services.config import server as config_server
from services.config.provisioning import CreatedAccount
from services.probe import grpc_serving
from services.registry import server as registry_server
from tests.support.stack import running_gateway, service_settings
from tests.support.tls import Authority, new_authority


@pytest.fixture(scope="module")
def authorities(tmp_path_factory: pytest.TempPathFactory) -> tuple[Authority, Authority]:
    """The deployment's CA and an unrelated one."""
    directory = tmp_path_factory.mktemp("tls")
    return new_authority(directory, "ours"), new_authority(directory, "other")


@contextlib.asynccontextmanager
async def tls_config(
    database_urls: dict[str, str], workdir: Path, **overrides: Any
) -> AsyncIterator[GrpcServer]:
    settings, _ = service_settings(database_urls, workdir, **overrides)
    server = await config_server.start(settings)
    try:
        yield server
    finally:
        await server.stop(0.5)


async def _list_keys(target: str, settings: BaseServiceSettings, key: str) -> grpc.StatusCode:
    async with open_channel(target, settings) as channel:
        stub = config_pb2_grpc.ConfigServiceStub(channel)
        try:
            await stub.ListApiKeys(
                config_pb2.ListApiKeysRequest(), metadata=(("x-api-key", key),), timeout=10
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _client(**overrides: Any) -> BaseServiceSettings:
    return BaseServiceSettings(**overrides)


async def test_a_tls_listener_serves_trusting_clients_and_refuses_the_others(
    database_urls: dict[str, str],
    workdir: Path,
    account: CreatedAccount,
    authorities: tuple[Authority, Authority],
) -> None:
    ours, other = authorities
    async with tls_config(database_urls, workdir, **ours.server_settings()) as server:
        target = f"127.0.0.1:{server.port}"
        trusting = _client(**ours.client_settings(with_certificate=False))
        assert await _list_keys(target, trusting, account.api_key) == grpc.StatusCode.OK
        assert await grpc_serving(target, settings=trusting)
        plaintext = _client()
        assert await _list_keys(target, plaintext, account.api_key) == grpc.StatusCode.UNAVAILABLE
        assert not await grpc_serving(target, settings=plaintext)
        wrong_ca = _client(**other.client_settings(with_certificate=False))
        assert await _list_keys(target, wrong_ca, account.api_key) == grpc.StatusCode.UNAVAILABLE


async def test_mtls_refuses_clients_without_a_certificate_from_the_ca(
    database_urls: dict[str, str],
    workdir: Path,
    account: CreatedAccount,
    authorities: tuple[Authority, Authority],
) -> None:
    ours, other = authorities
    mtls = ours.server_settings(require_client_cert=True)
    async with tls_config(database_urls, workdir, **mtls) as server:
        target = f"127.0.0.1:{server.port}"
        with_cert = _client(**ours.client_settings())
        assert await _list_keys(target, with_cert, account.api_key) == grpc.StatusCode.OK
        no_cert = _client(**ours.client_settings(with_certificate=False))
        assert await _list_keys(target, no_cert, account.api_key) == grpc.StatusCode.UNAVAILABLE
        foreign_cert = _client(
            grpc_tls_ca_file=ours.ca_file,
            grpc_tls_client_cert_file=other.cert_file,
            grpc_tls_client_key_file=other.key_file,
        )
        assert (
            await _list_keys(target, foreign_cert, account.api_key) == grpc.StatusCode.UNAVAILABLE
        )
        plaintext = _client()
        assert await _list_keys(target, plaintext, account.api_key) == grpc.StatusCode.UNAVAILABLE


async def test_gateway_registry_and_config_all_talk_mtls(
    database_urls: dict[str, str],
    workdir: Path,
    account: CreatedAccount,
    authorities: tuple[Authority, Authority],
) -> None:
    ours, _ = authorities
    tls = {**ours.server_settings(require_client_cert=True), **ours.client_settings()}
    config_settings, registry_settings = service_settings(database_urls, workdir, **tls)
    config = await config_server.start(config_settings)
    registry_settings.config_address = f"127.0.0.1:{config.port}"
    registry = await registry_server.start(registry_settings)
    gateway_settings = GatewaySettings(
        gateway_port=0,
        config_address=f"127.0.0.1:{config.port}",
        registry_address=f"127.0.0.1:{registry.port}",
        data_dir=workdir,
        **ours.client_settings(),
    )
    try:
        async with (
            running_gateway(gateway_settings) as base,
            httpx.AsyncClient(base_url=base, timeout=30) as http,
        ):
            ready = await http.get("/readyz")
            assert ready.json()["services"] == {"config": "SERVING", "registry": "SERVING"}
            # gateway -> config
            identities = await http.get(
                "/api/v1/identities/", headers={"X-API-Key": account.api_key}
            )
            assert identities.status_code == 200, identities.text
            # gateway -> registry -> config (the registry authenticates the key over mTLS)
            listed = await http.get(
                "/inbound/list", headers={"Authorization": f"Bearer {account.api_key}"}
            )
            assert listed.status_code == 200, listed.text
            assert listed.json()["success"] is True
    finally:
        await registry.stop(0.5)
        await config.stop(0.5)


@pytest.mark.parametrize(
    "overrides",
    [
        {"grpc_tls_cert_file": "cert.pem"},
        {"grpc_tls_key_file": "key.pem"},
        {"grpc_tls_client_cert_file": "c.pem", "grpc_tls_ca_file": "ca.pem"},
        {"grpc_tls_client_cert_file": "c.pem", "grpc_tls_client_key_file": "k.pem"},
        {"grpc_tls_require_client_cert": True, "grpc_tls_ca_file": "ca.pem"},
        {
            "grpc_tls_require_client_cert": True,
            "grpc_tls_cert_file": "c.pem",
            "grpc_tls_key_file": "k.pem",
        },
    ],
)
def test_half_configured_tls_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="SWITCHBOARD_GRPC_TLS_"):
        BaseServiceSettings(**overrides)


def test_plaintext_is_the_default_and_every_channel_reconnects_quickly() -> None:
    settings = GatewaySettings()
    assert settings.grpc_tls_ca_file is None and settings.grpc_tls_cert_file is None
    options = dict(CHANNEL_OPTIONS)
    assert options["grpc.max_reconnect_backoff_ms"] <= 250
    assert options["grpc.initial_reconnect_backoff_ms"] <= options["grpc.max_reconnect_backoff_ms"]
