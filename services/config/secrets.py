"""Generating and hashing API key secrets and webhook signing keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from services.common.credential_formats import (
    API_KEY_PREFIX,
    DISPLAY_PREFIX_LENGTH,
    SIGNING_SECRET_PREFIX,
)


@dataclass(frozen=True)
class NewApiKeySecret:
    """A freshly minted key: the secret (shown once) and what is stored about it."""

    secret: str
    secret_hash: str
    display_prefix: str
    last4: str


def hash_api_key(secret: str) -> str:
    """SHA-256 hex of a key secret.

    Keys carry 256 bits of randomness, so a fast hash is enough (no salt or KDF
    is needed against guessing) and lets authentication be one indexed lookup.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key_secret() -> NewApiKeySecret:
    """A new random API key secret."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKeySecret(
        secret=secret,
        secret_hash=hash_api_key(secret),
        display_prefix=secret[:DISPLAY_PREFIX_LENGTH],
        last4=secret[-4:],
    )


def new_signing_secret() -> str:
    """A new webhook signing key in the ``whsec_`` form receivers expect."""
    return SIGNING_SECRET_PREFIX + secrets.token_urlsafe(32)
