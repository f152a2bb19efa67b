"""Signed call context: a short-lived token telling the agent who is calling, verifiably.

The token is a JWT (RFC 7519) in compact form, ``HS256``: ``base64url(header) "."
base64url(claims) "." base64url(HMAC-SHA256(key, header "." claims))``, unpadded. The key is
the called identity's webhook signing key, exactly as for webhook signatures
(:func:`~services.registry.routing.signing.signing_key`: the secret minus ``whsec_``), so an
agent that verifies webhooks already holds it, and any JWT library verifies the token with
it. A webhook's signed message ``"{request_id}.{timestamp}." + body`` always has at least two
dots before the body and a token's signing input exactly one, so neither signature can be
passed off as the other.

Claims: ``iss`` (``switchboard``), ``call_id``, ``decision_id`` (the journal record),
``assistant_id``, ``dialed_number`` and ``caller_number`` (E.164; the caller is null when
withheld or unreadable), ``context`` (the caller-context variables, when the lookup
answered), ``iat`` and ``exp`` (Unix seconds). A token over :data:`MAX_TOKEN_LENGTH` (it may
travel in a URL) drops ``context`` and says so with ``context_omitted: true``.

docs/call-context.md holds the verification recipe in plain Python; the tests run it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from services.registry.routing.signing import signing_key

ISSUER: Final = "switchboard"
DEFAULT_TTL_SECONDS: Final = 300
MIN_TTL_SECONDS: Final = 30
MAX_TTL_SECONDS: Final = 3600
MAX_TOKEN_LENGTH: Final = 4096
URL_PARAMETER: Final = "sb_call_context"
"""The query parameter :func:`with_token` adds to a ``wss://`` URL."""
_HEADER: Final = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a token asserts about one call."""

    call_id: str
    decision_id: str
    assistant_id: str
    dialed_number: str
    caller_number: str | None
    context: Mapping[str, Any] | None
    issued_at: int
    expires_at: int
    context_omitted: bool = False


class InvalidCallContext(Exception):
    """The token does not verify; ``reason``: malformed, algorithm, signature or expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def mint(
    secret: str,
    *,
    call_id: str,
    decision_id: str,
    assistant_id: str,
    dialed_number: str,
    caller_number: str | None,
    context: Mapping[str, Any] | None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A token signed with ``secret`` (the identity's ``whsec_`` signing key)."""
    if not secret:
        raise ValueError("a signing key is required")
    if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "call_id": call_id,
        "decision_id": decision_id,
        "assistant_id": assistant_id,
        "dialed_number": dialed_number,
        "caller_number": caller_number,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if context is not None:
        token = _signed(secret, {**claims, "context": dict(context)})
        if len(token) <= MAX_TOKEN_LENGTH:
            return token
        claims["context_omitted"] = True
    return _signed(secret, claims)


def verify(token: str, secret: str, *, now: float | None = None, leeway: int = 0) -> CallContext:
    """The claims of a token signed with ``secret`` and not expired; else InvalidCallContext."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidCallContext("malformed", "a token has three dot-separated parts")
    header = _json_part(parts[0], "header")
    if header.get("alg") != "HS256":
        raise InvalidCallContext("algorithm", "only HS256 tokens are accepted")
    expected = hmac.new(
        signing_key(secret), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(expected, _decoded(parts[2], "signature")):
        raise InvalidCallContext("signature", "the signature does not match")
    claims = _json_part(parts[1], "claims")
    expires_at = _seconds(claims, "exp")
    if (time.time() if now is None else now) >= expires_at + leeway:
        raise InvalidCallContext("expired", "the token has expired")
    try:
        return CallContext(
            call_id=_text(claims, "call_id"),
            decision_id=_text(claims, "decision_id"),
            assistant_id=_text(claims, "assistant_id"),
            dialed_number=_text(claims, "dialed_number"),
            caller_number=_optional_text(claims, "caller_number"),
            context=_optional_object(claims, "context"),
            issued_at=_seconds(claims, "iat"),
            expires_at=expires_at,
            context_omitted=claims.get("context_omitted") is True,
        )
    except (KeyError, TypeError) as error:
        raise InvalidCallContext("malformed", f"a claim is missing or mistyped: {error}") from None


def with_token(url: str, token: str) -> str:
    """``url`` with the token added as the ``sb_call_context`` query parameter (replacing one)."""
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name != URL_PARAMETER
    ]
    query.append((URL_PARAMETER, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _signed(secret: str, claims: Mapping[str, Any]) -> str:
    signing_input = f"{_encoded_json(_HEADER)}.{_encoded_json(claims)}"
    mac = hmac.new(signing_key(secret), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _encoded_json(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decoded(part: str, name: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCallContext("malformed", f"the {name} is not base64url") from None


def _json_part(part: str, name: str) -> dict[str, Any]:
    try:
        value = json.loads(_decoded(part, name))
    except ValueError:
        raise InvalidCallContext("malformed", f"the {name} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidCallContext("malformed", f"the {name} is not a JSON object")
    return value


def _seconds(claims: Mapping[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidCallContext("malformed", f"{name} must be Unix seconds")
    return value


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def _optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    return None if claims.get(name) is None else _text(claims, name)


def _optional_object(claims: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = claims.get(name)
    if value is not None and not isinstance(value, dict):
        raise TypeError(name)
    return value
