"""Signed call context: tokens round-trip, tampered/expired/foreign ones fail, oversized
context is dropped visibly, and the documented stdlib recipe verifies them on its own."""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.registry.routing.call_context_token import (
    MAX_TOKEN_LENGTH,
    URL_PARAMETER,
    InvalidCallContext,
    mint,
    verify,
    with_token,
)

SECRET = "whsec_" + "k" * 43
NOW = 1_796_000_000
RECIPE = Path(__file__).parents[4] / "docs" / "call-context.md"


def token(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "call_id": "CA123",
        "decision_id": "9f1c2d3e-0000-4000-8000-000000000001",
        "assistant_id": "6a0b1c2d-0000-4000-8000-000000000002",
        "dialed_number": "+918044319240",
        "caller_number": "+919900012345",
        "context": {"customer": "Asha", "tier": "gold", "open_tickets": 2},
        "now": NOW,
    }
    fields.update(overrides)
    return mint(SECRET, **fields)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def reason(token_text: str, *, secret: str = SECRET, now: float = NOW + 1) -> str:
    with pytest.raises(InvalidCallContext) as caught:
        verify(token_text, secret, now=now)
    return caught.value.reason


def test_a_minted_token_verifies_to_its_claims() -> None:
    claims = verify(token(), SECRET, now=NOW + 10)
    assert claims.call_id == "CA123"
    assert claims.dialed_number == "+918044319240"
    assert claims.caller_number == "+919900012345"
    assert claims.assistant_id.startswith("6a0b1c2d")
    assert claims.decision_id.startswith("9f1c2d3e")
    assert claims.context == {"customer": "Asha", "tier": "gold", "open_tickets": 2}
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + 300)
    assert not claims.context_omitted


def test_the_token_is_a_standard_hs256_jwt() -> None:
    header, claims, signature = token().split(".")
    assert json.loads(unb64(header)) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(unb64(claims))["iss"] == "switchboard"
    assert len(unb64(signature)) == 32
    assert "=" not in token()


def test_a_withheld_caller_and_no_context_are_null_and_absent() -> None:
    claims = verify(token(caller_number=None, context=None), SECRET, now=NOW)
    assert claims.caller_number is None
    assert claims.context is None
    assert "context" not in json.loads(unb64(token(context=None).split(".")[1]))


def test_a_tampered_claim_fails_the_signature() -> None:
    header, claims, signature = token().split(".")
    forged = json.loads(unb64(claims))
    forged["caller_number"] = "+14155552671"
    assert reason(f"{header}.{b64(json.dumps(forged).encode())}.{signature}") == "signature"


def test_a_tampered_signature_or_another_identitys_key_fails() -> None:
    header, claims, signature = token().split(".")
    flipped = bytearray(unb64(signature))
    flipped[0] ^= 1
    assert reason(f"{header}.{claims}.{b64(bytes(flipped))}") == "signature"
    assert reason(token(), secret="whsec_" + "x" * 43) == "signature"
    assert reason(f"{header}.{claims}.") == "signature"


@pytest.mark.parametrize("algorithm", ["none", "HS512", "RS256", None])
def test_other_algorithms_are_refused(algorithm: str | None) -> None:
    _, claims, signature = token().split(".")
    header = b64(json.dumps({"alg": algorithm, "typ": "JWT"}).encode())
    assert reason(f"{header}.{claims}.{signature}") == "algorithm"


def test_an_expired_token_fails_and_leeway_is_explicit() -> None:
    issued = token(ttl_seconds=60)
    assert verify(issued, SECRET, now=NOW + 59).call_id == "CA123"
    assert reason(issued, now=NOW + 60) == "expired"
    assert verify(issued, SECRET, now=NOW + 65, leeway=10).call_id == "CA123"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        f"{b64(b'not json')}.e30.sig",
        f"{b64(b'[1]')}.e30.sig",
    ],
)
def test_malformed_tokens_are_refused(text: str) -> None:
    assert reason(text) == "malformed"


def _signed(claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(
        SECRET.removeprefix("whsec_").encode(), f"{header}.{body}".encode(), hashlib.sha256
    )
    return f"{header}.{body}.{b64(mac.digest())}"


@pytest.mark.parametrize(
    "claims",
    [
        {"call_id": "x"},
        {"exp": True, "iat": NOW},
        {"exp": NOW + 60, "iat": "then"},
        {"exp": NOW + 60, "iat": NOW, "call_id": 5},
        [NOW],
    ],
)
def test_genuinely_signed_but_malformed_claims_are_refused(claims: Any) -> None:
    assert reason(_signed(claims)) == "malformed"


def test_an_oversized_context_is_dropped_and_said_so() -> None:
    big = {"notes": "x" * 5000}
    issued = token(context=big)
    assert len(issued) <= MAX_TOKEN_LENGTH
    claims = verify(issued, SECRET, now=NOW)
    assert claims.context is None
    assert claims.context_omitted


def test_unusable_mint_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        token(ttl_seconds=29)
    with pytest.raises(ValueError):
        token(ttl_seconds=3601)
    with pytest.raises(ValueError):
        mint(
            "",
            call_id="c",
            decision_id="d",
            assistant_id="a",
            dialed_number="+1",
            caller_number=None,
            context=None,
        )


def test_the_token_rides_on_the_websocket_url() -> None:
    issued = token()
    url = with_token("wss://agent.example.com/stream?lang=hi&sb_call_context=old", issued)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "agent.example.com", "/stream")
    assert parse_qs(parts.query) == {"lang": ["hi"], URL_PARAMETER: [issued]}
    assert parse_qs(urlsplit(with_token("wss://a.example.com/s", issued)).query) == {
        URL_PARAMETER: [issued]
    }


def _recipe() -> str:
    match = re.search(r"```python\n(.*?)```", RECIPE.read_text(), re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_recipe_uses_only_the_standard_library() -> None:
    tree = ast.parse(_recipe())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported
    assert imported <= set(sys.stdlib_module_names)


def _run_recipe(tmp_path: Path, token_text: str, now: int) -> str:
    script = tmp_path / "verify_call_context.py"
    driver = (
        "import sys\n"
        "token, secret, now = sys.argv[1], sys.argv[2], float(sys.argv[3])\n"
        "try:\n"
        "    print(json.dumps(verify_call_context(token, secret, now)))\n"
        "except ValueError as error:\n"
        "    print('refused:', error)\n"
    )
    script.write_text(_recipe() + "\n" + driver)
    # -I: isolated mode, so the script cannot import this project even by accident.
    finished = subprocess.run(
        [sys.executable, "-I", str(script), token_text, SECRET, str(now)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    return finished.stdout.strip()


def test_the_documented_recipe_verifies_tokens_independently(tmp_path: Path) -> None:
    issued = token()
    claims = json.loads(_run_recipe(tmp_path, issued, NOW + 1))
    assert claims["call_id"] == "CA123"
    assert claims["caller_number"] == "+919900012345"
    assert claims["context"]["customer"] == "Asha"

    header, body, signature = issued.split(".")
    forged = json.loads(unb64(body))
    forged["assistant_id"] = "someone-else"
    tampered = f"{header}.{b64(json.dumps(forged).encode())}.{signature}"
    assert _run_recipe(tmp_path, tampered, NOW + 1) == "refused: bad signature"
    assert _run_recipe(tmp_path, issued, NOW + 300) == "refused: expired"
    none_header = b64(json.dumps({"alg": "none"}).encode())
    assert _run_recipe(tmp_path, f"{none_header}.{body}.", NOW) == "refused: unexpected algorithm"
