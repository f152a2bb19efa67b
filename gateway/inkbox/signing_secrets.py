"""``/api/v1/webhooks/signing-secret``: status, creation and rotation (admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from switchboard.config.v1 import config_pb2

from gateway.dialects import InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.common import config_stub
from gateway.messages import optional, timestamp
from gateway.rpc import call

router = APIRouter(route_class=InkboxRoute, tags=["webhooks"])


class SigningSecretStatus(BaseModel):
    """Whether incoming-call webhooks are signed, and how to recognise the secret."""

    configured: bool
    display_prefix: str | None
    created_at: str | None
    rotated_at: str | None


class RotatedSigningSecret(SigningSecretStatus):
    """The new secret (shown only here) and the status after rotation."""

    secret: str


@router.get(
    "/webhooks/signing-secret",
    summary="Get webhook signing secret status",
    response_model=None,
    responses={200: {"model": SigningSecretStatus}},
)
async def get_signing_secret(request: Request) -> dict[str, Any]:
    """Whether the organization has a signing secret (never the secret itself)."""
    status = await call(
        request,
        config_stub(request).GetWebhookSigningSecret,
        config_pb2.GetWebhookSigningSecretRequest(),
    )
    return status_json(status)


@router.post(
    "/webhooks/signing-secret",
    summary="Create or rotate the webhook signing secret",
    response_model=None,
    responses={200: {"model": RotatedSigningSecret}, **IDEMPOTENT_RESPONSES},
)
@router.post(
    "/webhooks/signing-secret:rotate",
    include_in_schema=False,
    response_model=None,
)
async def rotate_signing_secret(
    request: Request, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Create the secret, or replace it (the old one stops being used at once).

    The `whsec_...` secret is returned only in this response; webhooks are signed with
    HMAC-SHA256 over `"{request_id}.{timestamp}." + body` (`X-Inkbox-Signature`).
    """
    rotated = await call(
        request,
        config_stub(request).RotateWebhookSigningSecret,
        config_pb2.RotateWebhookSigningSecretRequest(request_id=idempotency_key or ""),
    )
    return {"secret": rotated.secret, **status_json(rotated.status)}


def status_json(message: config_pb2.WebhookSigningSecret) -> dict[str, Any]:
    """The signing-secret status object."""
    return {
        "configured": message.configured,
        "display_prefix": optional(message, "display_prefix"),
        "created_at": timestamp(message, "create_time"),
        "rotated_at": timestamp(message, "rotate_time"),
    }
