"""Credentials in request metadata, and the principal they authenticate to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.common.errors import PermissionDenied, Unauthenticated

API_KEY_HEADER = "x-api-key"
AUTHORIZATION_HEADER = "authorization"
INTERNAL_TOKEN_HEADER = "x-switchboard-internal-token"
EDGE_TOKEN_HEADER = "x-switchboard-edge-token"
"""The operator's edge credential for routing (the registry checks it; the gateway forwards it)."""
MAX_CREDENTIAL_LENGTH = 512
MISSING_CREDENTIAL = "missing API key: send X-API-Key or Authorization: Bearer"
SIGNING_KEY_PER_IDENTITY = "SIGNING_KEY_PER_IDENTITY"
"""ErrorInfo reason: an admin key asked for the deprecated org-level signing-key rotation."""


class Scope(StrEnum):
    """What a key may act on."""

    ADMIN = "admin"
    IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an account, through an admin key or a key scoped to one identity."""

    account_id: str
    scope: Scope
    api_key_id: str
    identity_id: str | None = None

    def require_admin(self) -> None:
        """Refuse identity-scoped keys on admin-only operations."""
        if self.scope is not Scope.ADMIN:
            raise PermissionDenied("this operation requires an admin API key")


def credential_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The API key carried as ``x-api-key`` or ``authorization: Bearer``.

    Raises Unauthenticated when absent or malformed.
    """
    api_key: str | None = None
    authorization: str | None = None
    for key, value in metadata or ():
        if isinstance(value, bytes):
            continue
        lowered = key.lower()
        if lowered == API_KEY_HEADER:
            api_key = value
        elif lowered == AUTHORIZATION_HEADER:
            authorization = value
    if api_key is not None:
        return _checked(api_key.strip())
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("Authorization header must use the Bearer scheme")
        return _checked(token.strip())
    raise Unauthenticated(MISSING_CREDENTIAL)


def _checked(credential: str) -> str:
    if not credential or len(credential) > MAX_CREDENTIAL_LENGTH or not credential.isprintable():
        raise Unauthenticated("malformed API key")
    return credential
