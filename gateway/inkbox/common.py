"""Helpers shared by the Inkbox routes: the config stub and the auth and error docs."""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request
from fastapi.security import APIKeyHeader
from switchboard.config.v1 import config_pb2_grpc

from gateway.rpc import upstreams

API_KEY_SCHEME: Final = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An admin or identity-scoped API key (`Authorization: Bearer <key>` also works).",
)
"""Documents the credential in OpenAPI; the key itself is checked by the config service."""

ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Missing, malformed, unknown or revoked API key"},
    403: {"description": "The API key may not do this (identity-scoped key on an admin route)"},
    404: {"description": "Not found (also for another organization's resources)"},
    422: {"description": 'Invalid input: `{"detail": ...}`'},
}


def config_stub(request: Request) -> config_pb2_grpc.ConfigServiceStub:
    """A ConfigService stub on the app's channel to the config service."""
    return config_pb2_grpc.ConfigServiceStub(upstreams(request).config)
