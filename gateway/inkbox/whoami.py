"""``GET /api/whoami``: which API key the caller is (Inkbox's shape, epoch-second times)."""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from google.protobuf.message import Message
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2

from gateway.dialects import InkboxRoute
from gateway.inkbox.common import config_stub
from gateway.messages import enum_text, optional
from gateway.rpc import call

router = APIRouter(route_class=InkboxRoute, tags=["whoami"])

ADMIN_SUBTYPE: Final = "api_key.admin_scoped"
SCOPED_SUBTYPE: Final = "api_key.agent_scoped.claimed"
"""Every Switchboard account is created by an operator, so no scoped key is "unclaimed"."""


class Whoami(BaseModel):
    """The API key the request authenticated with (never its secret)."""

    auth_type: Literal["api_key"]
    auth_subtype: Literal["api_key.admin_scoped", "api_key.agent_scoped.claimed"]
    scope: str = Field(
        description="`organization:<organization_id>` (admin) or `agent_identity:<id>` (scoped)."
    )
    organization_id: str
    created_by: str | None
    creator_type: Literal["human", "agent"] | None
    key_id: str
    label: str
    description: str | None
    created_at: float = Field(description="Unix time in seconds.")
    last_used_at: float | None = Field(description="Unix time in seconds.")
    expires_at: float | None = Field(description="Unix time in seconds.")


@router.get(
    "/whoami",
    summary="Who am I",
    response_model=None,
    responses={200: {"model": Whoami}},
)
async def whoami(request: Request) -> dict[str, Any]:
    """The caller's API key: organization, scope and record; for admin and scoped keys."""
    key = await call(
        request, config_stub(request).GetCallerApiKey, config_pb2.GetCallerApiKeyRequest()
    )
    scoped = key.HasField("scoped_identity_id")
    return {
        "auth_type": "api_key",
        "auth_subtype": SCOPED_SUBTYPE if scoped else ADMIN_SUBTYPE,
        "scope": (
            f"agent_identity:{key.scoped_identity_id}"
            if scoped
            else f"organization:{key.account_id}"
        ),
        "organization_id": key.account_id,
        "created_by": optional(key, "created_by"),
        "creator_type": enum_text(key, "creator_type"),
        "key_id": key.id,
        "label": key.label,
        "description": optional(key, "description"),
        "created_at": _epoch(key, "create_time"),
        "last_used_at": _epoch(key, "last_use_time"),
        "expires_at": _epoch(key, "expire_time"),
    }


def _epoch(message: Message, name: str) -> float | None:
    if not message.HasField(name):
        return None
    seconds: float = getattr(message, name).ToMicroseconds() / 1_000_000
    return seconds
