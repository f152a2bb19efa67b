"""The README's ```sh blocks, run as written against a started ``serve all``, so they cannot rot.

Every fenced block whose info string is exactly ``sh`` runs, top to bottom, in one bash session
(``set -euo pipefail``) from the checkout's root, against a fresh ``switchboard serve all`` on
SQLite — a newcomer's ``make run``. Commands a test cannot run as written (starting servers,
Docker) go in ```console blocks instead. The only things changed before running are where the
instance lives: its ports replace the default ``localhost:8080`` / ``:50051`` / ``:50052`` (and
the metrics ports ``:50061`` / ``:50062`` that follow them),
``var/`` becomes its data dir and ``.venv/bin/`` this test's virtualenv. Ids pass from one
command to the next through shell variables, exactly as a reader copy-pastes them.

The README must also show every operation: each REST route of the OpenAPI document and each
RPC of the two services appears in some run block (a ``curl`` with that method and path, the
RPC's full name as a ``grpcurl`` target).
"""

from __future__ import annotations

import asyncio
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.settings import default_gateway_workers
from services.common.settings import metrics_port_for
from tests.support import proto_modules
from tests.support.serve_all import ServeAll, serve_all

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```\s*$",
    re.MULTILINE | re.DOTALL,
)
"""A fenced block, also one indented inside a list item (its body is dedented)."""
_HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
_CURL = re.compile(r"\bcurl\b(?P<args>(?:\\\n|[^\n])*)")
_URL = re.compile(r"""["']?(?:http://)?localhost:8080(?P<path>/[^\s"'?]*)""")
_METHOD = re.compile(r"-X\s+(?P<method>[A-Z]+)")
# The run blocks name an RPC only as a grpcurl target (often through a variable like $G).
_RPC = re.compile(r"\b(?P<method>switchboard\.[\w.]+Service/\w+)")

pytestmark = pytest.mark.timeout(900)


@dataclass(frozen=True)
class Block:
    """One runnable README block and the line it starts on."""

    line: int
    body: str


def run_blocks(text: str) -> list[Block]:
    """The ```sh blocks of ``text``, in order."""
    return [
        Block(text.count("\n", 0, match.start()) + 2, textwrap.dedent(match["body"]))
        for match in _FENCE.finditer(text)
        if match["info"].strip() == "sh"
    ]


def _localised(body: str, running: ServeAll) -> str:
    for default, name in (("8080", "gateway"), ("50051", "config"), ("50052", "registry")):
        body = body.replace(f"localhost:{default}", f"localhost:{running.ports[name]}")
    for default, name in (("50061", "config"), ("50062", "registry")):
        body = body.replace(
            f"localhost:{default}", f"localhost:{metrics_port_for(running.ports[name])}"
        )
    body = re.sub(r"(?<![\w/.])var/", f"{running.env['SWITCHBOARD_DATA_DIR']}/", body)
    return body.replace(".venv/bin/", f"{Path(sys.executable).parent}/")


def _script(blocks: list[Block], running: ServeAll) -> str:
    parts = ["set -euo pipefail"]
    for block in blocks:
        parts.append(f"echo '>>> README block at line {block.line}' >&2")
        parts.append(_localised(block.body, running))
    return "\n".join(parts) + "\n"


def _curl_operations(text: str) -> set[tuple[str, str]]:
    found = set()
    for match in _CURL.finditer(text):
        args = match["args"]
        url = _URL.search(args)
        if url is None:
            continue
        method = _METHOD.search(args)
        implied = "POST" if re.search(r"\s(-d|--data\S*)\s", args) else "GET"
        found.add((method["method"] if method else implied, url["path"]))
    return found


def _template_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts) + "$"
    )


def _rest_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in _HTTP_METHODS
    }


def _rpcs() -> set[str]:
    return {
        f"{service.full_name}/{method.name}"
        for service in proto_modules.services()
        for method in service.methods
    }


@pytest.fixture
async def instance(tmp_path: Path) -> Any:
    # A newcomer's gateway has the product default of worker processes (the suite pins 1).
    workers = str(default_gateway_workers())
    async with serve_all(tmp_path, SWITCHBOARD_GATEWAY_WORKERS=workers) as running:
        assert await running.ready(), running.stderr()
        yield running


async def test_readme_examples_run_as_written(instance: ServeAll, tmp_path: Path) -> None:
    blocks = run_blocks(README.read_text())
    assert blocks, "the README has no ```sh blocks"
    script = tmp_path / "readme.sh"
    script.write_text(_script(blocks, instance))
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(script),
        cwd=ROOT,
        env=instance.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    transcript = output.decode(errors="replace")
    assert process.returncode == 0, f"a README example failed:\n{transcript[-6000:]}"


async def test_readme_shows_every_rest_route_and_rpc(instance: ServeAll) -> None:
    text = "\n".join(block.body for block in run_blocks(README.read_text()))
    async with httpx.AsyncClient(base_url=instance.gateway_url) as http:
        spec = (await http.get("/openapi.json")).json()
    shown = _curl_operations(text)
    missing_routes = sorted(
        f"{method} {path}"
        for method, path in _rest_operations(spec)
        if not any(
            shown_method == method and _template_pattern(path).match(shown_path)
            for shown_method, shown_path in shown
        )
    )
    missing_rpcs = sorted(rpc for rpc in _rpcs() if rpc not in set(_RPC.findall(text)))
    assert missing_routes == [], "README run blocks show no example of these routes"
    assert missing_rpcs == [], "README run blocks show no grpcurl of these RPCs"


def test_run_blocks_never_cut_a_pipe_short() -> None:
    """``| head`` (or ``grep -m``) closes the pipe early: under ``pipefail`` the writer's
    SIGPIPE fails the block, or not, depending on timing."""
    for block in run_blocks(README.read_text()):
        assert not re.search(r"\|\s*head\b|\bgrep\s+-m", block.body), f"line {block.line}"
