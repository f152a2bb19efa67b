"""Schemathesis over the gateway's own ``/openapi.json``: every operation, every check, 0 failures.

Runs the ``st`` command line against a gateway whose services have fresh databases of their
own (fuzzed writes never meet other tests' data), authenticated with a valid admin key in
both schemes, with ``--checks all`` (server errors, status-code / content-type / header /
response-schema conformance, negative and positive data, auth, Allow headers, ...) over the
examples, coverage and fuzzing phases. Operations are read from the document, so a new route
is fuzzed without touching this file. One pass runs everything except revoking API keys;
a second pass fuzzes that operation alone, because the fuzzer reuses ids it saw in earlier
answers and would otherwise revoke its own key and test the rest unauthenticated.

Bounded for the suite: ``SWITCHBOARD_FUZZ_EXAMPLES`` per operation (default 5) and a fixed
seed (``SWITCHBOARD_FUZZ_SEED``; ``random`` for a new one); ``make fuzz`` runs a larger,
random-seeded campaign.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.config import provisioning
from tests.support.databases import fresh_databases
from tests.support.stack import Stack, running_stack

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "5"))
SEED = os.environ.get("SWITCHBOARD_FUZZ_SEED", "20261201")
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "405", "409", "410", "422"]
"""
"""Schema-valid data may still break a rule the schema cannot state (URL safety, E.164
validity, handle syntax, one field required by another's value): 400/422 with the field,
in the dialect's shape, is the documented answer; a retired (deprecated) route answers its
documented 410 to every request, and a call Switchboard cannot honour (buying a number) its
documented 405. Every other check keeps its defaults."""
UNAUTHENTICATED_BY_DESIGN = {"GET /exotel/{edge_token}/stream", "GET /metrics"}
"""Their credentials are the operator's (the edge token in the path, the metrics token), not
an account's API key, which is all the fuzzer is given."""
SELF_REVOKING = ("delete", "/api/v1/api-keys/{api_key_id}")
"""The operation fuzzed in a pass of its own (see the module docstring)."""
ST = Path(sys.executable).with_name("st")


@pytest.fixture
async def fuzz_stack(backend: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """A stack of its own, on fresh databases of this backend."""
    async with (
        fresh_databases(backend, tmp_path / "db") as urls,
        running_stack(backend, urls, tmp_path / "stack") as stack,
    ):
        yield stack


async def run_schemathesis(
    stack: Stack, api_key: str, operation_filter: list[str], report: Path
) -> tuple[int, str]:
    """``st run`` against the stack; its exit code and output."""
    config = report.with_suffix(".toml")
    config.write_text(CONFIG)
    command = [
        str(ST),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{stack.gateway_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--header",
        f"X-API-Key: {api_key}",
        "--header",
        f"Authorization: Bearer {api_key}",
        "--request-timeout",
        "60",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *operation_filter,
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=report.parent,  # schemathesis keeps a cache directory in its working directory
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def only_401(output: str) -> set[str]:
    """The operations schemathesis saw answer nothing but 401/403 (its warning's list)."""
    _, found, rest = output.partition("401 Unauthorized (")
    if not found:
        return set()
    lines = rest.split("\n")[1:]
    return {
        line.removeprefix("  - ") for line in lines[: lines.index("")] if line.startswith("  - ")
    }


def operation_id(document: dict[str, Any], method: str, path: str) -> str:
    found: str = document["paths"][path][method]["operationId"]
    return found


@pytest.mark.timeout(1800)
async def test_schemathesis_finds_nothing(fuzz_stack: Stack, tmp_path: Path) -> None:
    account = await provisioning.create_account(fuzz_stack.config_sessions, "Fuzzed account")
    document = (await fuzz_stack.http.get("/openapi.json")).json()
    revoke = operation_id(document, *SELF_REVOKING)
    operations = sum(len(item) for item in document["paths"].values())
    generated = 0
    for name, operation_filter in (
        ("all", ["--exclude-operation-id", revoke]),
        ("revoke", ["--include-operation-id", revoke]),
    ):
        code, output = await run_schemathesis(
            fuzz_stack, account.api_key, operation_filter, tmp_path / f"{name}.xml"
        )
        print(output[-3000:])
        assert code == 0, output[-20000:]
        assert only_401(output) <= UNAUTHENTICATED_BY_DESIGN, output[-20000:]
        tested = re.search(r"Tested: (\d+)", output)
        assert tested is not None
        assert int(tested[1]) == (1 if name == "revoke" else operations - 1)
        cases = re.search(r"(\d+) generated", output)
        assert cases is not None
        generated += int(cases[1])
    print(f"schemathesis: {generated} test cases over {operations} operations, 0 failures")
    assert account.api_key not in (tmp_path / "all.xml").read_text()
