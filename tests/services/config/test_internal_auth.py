"""ConfigInternalService answers nobody without the internal token, by default."""

from __future__ import annotations

import asyncio
import signal
import stat
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from switchboard.config.v1 import config_pb2, config_pb2_grpc

from services.common.auth import INTERNAL_TOKEN_HEADER
from services.common.errors import FailedPrecondition
from services.common.process.local_secrets import INTERNAL_TOKEN_FILE
from services.config import server as config_server
from services.config.provisioning import CreatedAccount
from services.config.settings import ConfigSettings
from services.probe import grpc_serving
from tests.support.processes import SWITCHBOARD, cli_env, eventually, free_port, run_cli
from tests.support.stack import INTERNAL_METADATA, Stack


def _requests(account: CreatedAccount) -> dict[str, object]:
    return {
        "Authenticate": config_pb2.AuthenticateRequest(credential=account.api_key),
        "BatchGetAgentIdentities": config_pb2.BatchGetAgentIdentitiesRequest(
            account_id=account.account_id, ids=[str(uuid.uuid4())]
        ),
        "ResolveCallTarget": config_pb2.ResolveCallTargetRequest(
            agent_identity_id=str(uuid.uuid4())
        ),
    }


@pytest.mark.parametrize(
    "metadata",
    [
        (),
        ((INTERNAL_TOKEN_HEADER, ""),),
        ((INTERNAL_TOKEN_HEADER, "wrong"),),
        ((INTERNAL_TOKEN_HEADER, INTERNAL_METADATA[0][1] + "x"),),
        (("authorization", f"Bearer {INTERNAL_METADATA[0][1]}"),),
    ],
    ids=["none", "empty", "wrong", "longer", "as-bearer"],
)
async def test_every_internal_rpc_refuses_without_the_token(
    stack: Stack, account: CreatedAccount, metadata: tuple[tuple[str, str], ...]
) -> None:
    stub = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    for name, request in _requests(account).items():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(stub, name)(request, metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
        assert refused.value.details() == "internal RPCs require the internal token"


async def test_with_the_token_internal_rpcs_answer(stack: Stack, account: CreatedAccount) -> None:
    stub = config_pb2_grpc.ConfigInternalServiceStub(stack.config_channel)
    principal = await stub.Authenticate(
        _requests(account)["Authenticate"], metadata=INTERNAL_METADATA
    )
    assert principal.account_id == account.account_id


async def test_the_service_cannot_start_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition, match="internal token"):
        await config_server.start(ConfigSettings(data_dir=tmp_path, config_port=0))


@asynccontextmanager
async def serve_config(env: dict[str, str], port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *SWITCHBOARD,
        "serve",
        "config",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await eventually(lambda: grpc_serving(f"127.0.0.1:{port}"), timeout=60)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)


async def _authenticate(port: int, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = config_pb2_grpc.ConfigInternalServiceStub(channel)
        try:
            await stub.Authenticate(
                config_pb2.AuthenticateRequest(credential="sb_nonexistent"),
                metadata=metadata,
                timeout=10,
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def test_serve_generates_a_private_token_reuses_it_and_never_prints_it(
    database_urls: dict[str, str], workdir: Path
) -> None:
    port = free_port()
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_CONFIG_PORT=str(port),
        SWITCHBOARD_CONFIG_DATABASE_URL=database_urls["config"],
    )
    token_file = workdir / INTERNAL_TOKEN_FILE
    async with serve_config(env, port) as process:
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert await _authenticate(port, ()) == grpc.StatusCode.UNAUTHENTICATED
        with_token = ((INTERNAL_TOKEN_HEADER, token),)
        # Past the token check: the (unknown) API key itself is what is refused now.
        assert await _authenticate(port, with_token) == grpc.StatusCode.UNAUTHENTICATED
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = config_pb2_grpc.ConfigInternalServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.ResolveCallTarget(
                    config_pb2.ResolveCallTargetRequest(agent_identity_id=str(uuid.uuid4())),
                    metadata=with_token,
                    timeout=10,
                )
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    output = b"".join([await process.stdout.read(), await process.stderr.read()])  # type: ignore[union-attr]
    assert token.encode() not in output
    async with serve_config(env, port):
        assert token_file.read_text().strip() == token
        assert await _authenticate(port, ()) == grpc.StatusCode.UNAUTHENTICATED


async def test_non_loopback_bind_without_a_configured_token_refuses_to_start(
    workdir: Path,
) -> None:
    env = cli_env(
        SWITCHBOARD_DATA_DIR=str(workdir),
        SWITCHBOARD_BIND_HOST="0.0.0.0",
        SWITCHBOARD_CONFIG_PORT=str(free_port()),
    )
    for command in (("serve", "config"), ("serve", "all")):
        status, stdout, stderr = await run_cli(*command, env=env)
        assert status == 1, command
        assert stderr.strip().count("\n") == 0, stderr
        assert "SWITCHBOARD_INTERNAL_TOKEN" in stderr
        assert "0.0.0.0" in stderr
        assert "listening" not in stdout
        assert not (workdir / INTERNAL_TOKEN_FILE).exists()
