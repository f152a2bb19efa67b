"""Webhook signing keys: per identity (``/identities/{h}/signing-key``), deprecated org view."""

from __future__ import annotations

from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2

from gateway.dialects import DialectError, InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.common import config_stub
from gateway.inkbox.identities import HandlePath
from gateway.messages import timestamp
from gateway.openapi import Responses
from gateway.rpc import UpstreamError, call
from services.common.auth import SIGNING_KEY_PER_IDENTITY

router = APIRouter(route_class=InkboxRoute, tags=["signing keys"])

RETIRED_SECRET_MESSAGE: Final = (
    "the account-level webhook signing secret is retired: signing keys are per agent "
    "identity (POST /api/v1/identities/{agent_handle}/signing-key); existing secrets were "
    "migrated to every identity of the account"
)
_ORG_RESPONSES: Final[Responses] = {
    409: {"description": "Admin key: signing keys are per identity (use the identity's route)"},
    **IDEMPOTENT_RESPONSES,
}
_RETIRED_RESPONSES: Final[Responses] = {
    410: {"description": "Retired: use the per-identity signing-key routes"},
}


class SigningKeyStatus(BaseModel):
    """Whether a signing key exists (never the key itself)."""

    configured: bool
    created_at: str | None = Field(description="When the key was created or last rotated.")


class SigningKey(BaseModel):
    """A new signing key; the only time it is shown."""

    signing_key: str = Field(description="`whsec_...`; verifies `X-Inkbox-Signature`.")
    created_at: str


class EmptyBody(BaseModel):
    """The SDK sends `{}`; nothing is read from the body."""


@router.get(
    "/identities/{agent_handle}/signing-key",
    summary="Get signing key status",
    response_model=None,
    responses={200: {"model": SigningKeyStatus}},
)
async def get_signing_key(request: Request, agent_handle: HandlePath) -> dict[str, Any]:
    """Whether the identity has a webhook signing key; a scoped key may ask about its own."""
    status = await call(
        request,
        config_stub(request).GetAgentIdentitySigningKey,
        config_pb2.GetAgentIdentitySigningKeyRequest(agent_handle=agent_handle),
    )
    return status_json(status)


@router.post(
    "/identities/{agent_handle}/signing-key",
    summary="Create or rotate signing key",
    response_model=None,
    responses={200: {"model": SigningKey}, **IDEMPOTENT_RESPONSES},
)
async def rotate_signing_key(
    request: Request,
    agent_handle: HandlePath,
    body: EmptyBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Create the identity's key, or replace it (the old key stops signing at once).

    The `whsec_...` key is returned only in this response. The identity's incoming-call
    webhooks are signed with it: `X-Inkbox-Signature: sha256=<HMAC-SHA256 over
    "{request_id}.{timestamp}." + body>`, verifiable with the Inkbox SDK's `verify_webhook`.
    """
    key = await call(
        request,
        config_stub(request).RotateAgentIdentitySigningKey,
        config_pb2.RotateAgentIdentitySigningKeyRequest(
            agent_handle=agent_handle, request_id=idempotency_key or ""
        ),
    )
    return key_json(key)


@router.get(
    "/signing-keys",
    summary="Get signing key status (deprecated, organization level)",
    deprecated=True,
    response_model=None,
    responses={200: {"model": SigningKeyStatus}},
)
async def get_organization_signing_key(request: Request) -> dict[str, Any]:
    """Scoped key: its identity's status. Admin key: `configured` if any identity has a key."""
    status = await call(
        request,
        config_stub(request).GetOrganizationSigningKey,
        config_pb2.GetOrganizationSigningKeyRequest(),
    )
    return status_json(status)


@router.post(
    "/signing-keys",
    summary="Create or rotate signing key (deprecated, organization level)",
    deprecated=True,
    response_model=None,
    responses={200: {"model": SigningKey}, **_ORG_RESPONSES},
)
async def rotate_organization_signing_key(
    request: Request, body: EmptyBody | None = None, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Scoped key: rotates its identity's key. Admin key: 409 (keys are per identity)."""
    try:
        key = await call(
            request,
            config_stub(request).RotateOrganizationSigningKey,
            config_pb2.RotateOrganizationSigningKeyRequest(request_id=idempotency_key or ""),
        )
    except UpstreamError as error:
        if (
            error.code is grpc.StatusCode.FAILED_PRECONDITION
            and error.reason == SIGNING_KEY_PER_IDENTITY
        ):
            raise DialectError(409, error.message) from None
        raise
    return key_json(key)


@router.get(
    "/webhooks/signing-secret",
    summary="Retired: account-level webhook signing secret",
    deprecated=True,
    response_model=None,
    responses=_RETIRED_RESPONSES,
)
@router.post(
    "/webhooks/signing-secret",
    summary="Retired: rotate the account-level webhook signing secret",
    deprecated=True,
    response_model=None,
    responses=_RETIRED_RESPONSES,
)
@router.post("/webhooks/signing-secret:rotate", include_in_schema=False, response_model=None)
async def retired_signing_secret(request: Request) -> None:
    """Always 410 for a valid key (401 otherwise): use the per-identity signing-key routes."""
    await call(request, config_stub(request).GetCallerApiKey, config_pb2.GetCallerApiKeyRequest())
    raise DialectError(410, RETIRED_SECRET_MESSAGE)


def status_json(message: config_pb2.SigningKeyStatus) -> dict[str, Any]:
    """The Inkbox signing-key status object."""
    return {"configured": message.configured, "created_at": timestamp(message, "create_time")}


def key_json(message: config_pb2.SigningKey) -> dict[str, Any]:
    """The Inkbox signing-key object (the key's only appearance)."""
    return {"signing_key": message.signing_key, "created_at": timestamp(message, "create_time")}
