"""Inkbox-compatible signing of the incoming-call webhook (HMAC-SHA256 over id, time and body)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from services.common.credential_formats import SIGNING_SECRET_PREFIX

REQUEST_ID_HEADER: Final = "X-Inkbox-Request-ID"
TIMESTAMP_HEADER: Final = "X-Inkbox-Timestamp"
SIGNATURE_HEADER: Final = "X-Inkbox-Signature"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a signing secret: its text minus the ``whsec_`` prefix, UTF-8.

    The one rule for webhook signatures and signed call-context tokens alike.
    """
    return secret.removeprefix(SIGNING_SECRET_PREFIX).encode()


def signature(secret: str, request_id: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 keyed with :func:`signing_key` of ``secret``.

    The signed message is ``f"{request_id}.{timestamp}."`` followed by the raw body bytes.
    """
    message = f"{request_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(signing_key(secret), message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str | None, request_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The request-id and timestamp headers, plus the signature when ``secret`` is set."""
    headers = {REQUEST_ID_HEADER: request_id, TIMESTAMP_HEADER: str(timestamp)}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, request_id, timestamp, body)
    return headers
