"""``/api/v1/api-keys``: mint, list and revoke API keys (admin keys only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2

from gateway.dialects import InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.common import config_stub
from gateway.messages import enum_text, optional, timestamp
from gateway.paging import collect_all
from gateway.rest_text import Text
from gateway.rpc import call
from services.common.field_limits import DESCRIPTION_MAX_LENGTH, LABEL_MAX_LENGTH

router = APIRouter(route_class=InkboxRoute, tags=["api keys"])


class CreateApiKeyBody(BaseModel):
    """A key to mint: admin, or scoped to one agent identity."""

    label: Annotated[Text, Field(min_length=1, max_length=LABEL_MAX_LENGTH)]
    description: Annotated[Text, Field(max_length=DESCRIPTION_MAX_LENGTH)] | None = None
    scoped_identity_id: uuid.UUID | None = Field(
        default=None,
        description="The identity the new key is bound to. Required: as in Inkbox, an API key "
        "may not mint an admin key (403); operators use `switchboard keys create --admin`.",
    )


class ApiKeyRecord(BaseModel):
    """An API key's metadata (never the secret)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    created_by: str | None
    creator_type: Literal["human", "agent"] | None
    scoped_identity_id: uuid.UUID | None
    label: str
    description: str | None
    status: Literal["active", "revoked"]
    last4: str
    display_prefix: str
    last_used_at: str | None
    expires_at: str | None
    revoked_at: str | None
    created_at: str
    updated_at: str


class CreatedApiKey(BaseModel):
    """The new key: its secret (shown only here) and its record."""

    api_key: str
    record: ApiKeyRecord


@router.post(
    "/api-keys",
    status_code=201,
    summary="Create API key",
    response_model=None,
    responses={201: {"model": CreatedApiKey}, **IDEMPOTENT_RESPONSES},
)
async def create_api_key(
    request: Request, body: CreateApiKeyBody, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Mint an identity-scoped key; the secret appears only in this response.

    Without `scoped_identity_id` the request asks for an admin key, which an API key may
    not mint: 403 (Inkbox's documented behaviour).
    """
    message = config_pb2.CreateApiKeyRequest(label=body.label, request_id=idempotency_key or "")
    if body.description is not None:
        message.description = body.description
    if body.scoped_identity_id is not None:
        message.scoped_identity_id = str(body.scoped_identity_id)
    created = await call(request, config_stub(request).CreateApiKey, message)
    return {"api_key": created.api_key, "record": api_key_json(created.record)}


@router.get(
    "/api-keys",
    summary="List API keys",
    response_model=None,
    responses={200: {"model": list[ApiKeyRecord]}},
)
async def list_api_keys(request: Request) -> list[dict[str, Any]]:
    """The organization's keys, active and revoked, newest first."""
    stub = config_stub(request)

    async def fetch(size: int, token: str) -> tuple[Sequence[config_pb2.ApiKey], str]:
        message = config_pb2.ListApiKeysRequest(page_size=size, page_token=token)
        page = await call(request, stub.ListApiKeys, message)
        return page.api_keys, page.next_page_token

    return [api_key_json(key) for key in await collect_all(fetch)]


@router.delete(
    "/api-keys/{api_key_id}",
    summary="Revoke API key",
    response_model=None,
    responses={200: {"model": ApiKeyRecord}},
)
async def revoke_api_key(request: Request, api_key_id: uuid.UUID) -> dict[str, Any]:
    """Revoke a key (it stops working within seconds); returns its record."""
    revoked = await call(
        request,
        config_stub(request).RevokeApiKey,
        config_pb2.RevokeApiKeyRequest(api_key_id=str(api_key_id)),
    )
    return api_key_json(revoked)


def api_key_json(message: config_pb2.ApiKey) -> dict[str, Any]:
    """The Inkbox API key record."""
    return {
        "id": message.id,
        "organization_id": message.account_id,
        "created_by": optional(message, "created_by"),
        "creator_type": enum_text(message, "creator_type"),
        "scoped_identity_id": optional(message, "scoped_identity_id"),
        "label": message.label,
        "description": optional(message, "description"),
        "status": enum_text(message, "status"),
        "last4": message.last4,
        "display_prefix": message.display_prefix,
        "last_used_at": timestamp(message, "last_use_time"),
        "expires_at": timestamp(message, "expire_time"),
        "revoked_at": timestamp(message, "revoke_time"),
        "created_at": timestamp(message, "create_time"),
        "updated_at": timestamp(message, "update_time"),
    }
