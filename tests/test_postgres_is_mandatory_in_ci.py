"""With CI=true an unreachable PostgreSQL fails the run; without it, that half is skipped."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.support.databases import POSTGRES_URL_ENV

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:1/test"
ONE_TEST = "tests/gateway/test_health.py::test_healthz_answers_while_process_runs"


async def _pytest(ci: str) -> tuple[int, str]:
    env = {**os.environ, POSTGRES_URL_ENV: UNREACHABLE, "CI": ci}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rs",
        ONE_TEST,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_unreachable_postgres_fails_under_ci() -> None:
    status, output = await _pytest("true")
    assert status != 0
    assert "1 passed, 1 error" in output
    assert "mandatory with CI=true" in output


async def test_unreachable_postgres_is_skipped_outside_ci() -> None:
    status, output = await _pytest("")
    assert status == 0
    assert "1 passed, 1 skipped" in output
    assert "unreachable" in output
