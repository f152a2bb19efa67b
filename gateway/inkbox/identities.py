"""``/api/v1/identities``: create, list, read, update and delete agent identities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt, model_validator
from switchboard.config.v1 import config_pb2

from gateway.dialects import DialectError, InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.common import config_stub
from gateway.inkbox.phone_numbers import (
    PROVISIONING_REFUSED,
    PhoneNumberObject,
    check_credential,
    identity_phone_numbers,
)
from gateway.messages import optional, timestamp
from gateway.openapi import Responses
from gateway.paging import collect_all
from gateway.rest_text import Text
from gateway.rpc import call
from services.common.capacity import MAX_CONCURRENT_CALLS, MAX_OVERFLOW_STEPS
from services.common.field_limits import DESCRIPTION_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH

router = APIRouter(route_class=InkboxRoute, tags=["identities"])

HANDLE_MAX_LENGTH: Final = 64

Handle = Annotated[
    Text,
    Field(
        max_length=HANDLE_MAX_LENGTH,
        description="Unique across all organizations; a leading `@` is stripped and the handle "
        "lower-cased; 2-63 of `a-z 0-9 _ . -`, starting with a letter or digit.",
    ),
]
HandlePath = Annotated[Text, Path(description="The identity's handle (a leading `@` is fine).")]
DisplayName = Annotated[Text, Field(max_length=DISPLAY_NAME_MAX_LENGTH)]
Description = Annotated[Text, Field(max_length=DESCRIPTION_MAX_LENGTH)]
_CONFLICT_RESPONSES: Final[Responses] = {409: {"description": "Handle already taken"}}
MaxConcurrentCalls = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=MAX_CONCURRENT_CALLS,
        description="Calls the identity takes at once; null means unlimited. A call beyond "
        "it follows `overflow_chain`, else it is refused busy (SIP 486).",
    ),
]


class OverflowStepObject(BaseModel):
    """One overflow step: exactly one of its keys."""

    agent_identity_id: Text | None = Field(
        default=None, description="Another identity of the organization (its own capacity applies)."
    )
    forwarding_phone_number: Text | None = Field(
        default=None, description="Forward the call to this E.164 number."
    )
    webhook_fallback: StrictBool | None = Field(
        default=None, description="`true`: apply the identity's webhook fallback."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> OverflowStepObject:
        kinds = (
            self.agent_identity_id,
            self.forwarding_phone_number,
            self.webhook_fallback or None,
        )
        if sum(kind is not None for kind in kinds) != 1:
            raise ValueError(
                "set exactly one of agent_identity_id, forwarding_phone_number, webhook_fallback"
            )
        return self


OverflowChain = Annotated[
    list[OverflowStepObject],
    Field(
        max_length=MAX_OVERFLOW_STEPS,
        description="Tried in order when the identity is at capacity; the first step that "
        "takes the call decides.",
    ),
]


class CreateIdentityBody(BaseModel):
    """A new agent identity."""

    agent_handle: Handle
    display_name: DisplayName | None = Field(default=None, description="Defaults to the handle.")
    description: Description | None = None
    phone_number: dict[str, Any] | None = Field(
        default=None,
        description="The SDK's nested number provisioning: not supported (422), since "
        "Switchboard does not buy numbers; map one with `POST /inbound/assign`.",
    )
    max_concurrent_calls: MaxConcurrentCalls | None = None
    overflow_chain: OverflowChain | None = None


class UpdateIdentityBody(BaseModel):
    """Fields to change; omitted fields are kept, `null` clears (`display_name` becomes null)."""

    agent_handle: Handle | None = None
    display_name: DisplayName | None = None
    description: Description | None = None
    max_concurrent_calls: MaxConcurrentCalls | None = None
    overflow_chain: OverflowChain | None = None


class IdentityObject(BaseModel):
    """An agent identity."""

    id: uuid.UUID
    organization_id: uuid.UUID
    agent_handle: str
    display_name: str | None
    description: str | None
    created_at: str
    updated_at: str
    signing_key_configured: bool = Field(description="Whether a webhook signing key exists.")
    signing_key_created_at: str | None = Field(
        description="When the signing key was created or last rotated."
    )
    max_concurrent_calls: int | None = Field(description="Null: unlimited.")
    overflow_chain: list[OverflowStepObject]
    phone_number: PhoneNumberObject | None = Field(
        default=None, description="The identity's (newest) phone number, or null."
    )


@router.post(
    "/identities/",
    status_code=201,
    summary="Create agent identity",
    response_model=None,
    responses={201: {"model": IdentityObject}, **_CONFLICT_RESPONSES, **IDEMPOTENT_RESPONSES},
)
@router.post("/identities", status_code=201, include_in_schema=False, response_model=None)
async def create_identity(
    request: Request, body: CreateIdentityBody, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Create an agent identity (admin keys only). 409 when the handle is taken."""
    if body.phone_number is not None:
        await check_credential(request)
        raise DialectError(422, PROVISIONING_REFUSED)
    created = await call(
        request,
        config_stub(request).CreateAgentIdentity,
        config_pb2.CreateAgentIdentityRequest(
            agent_identity=_identity_message(body), request_id=idempotency_key or ""
        ),
    )
    return {**identity_json(created), "phone_number": None}


@router.get(
    "/identities/",
    summary="List agent identities",
    response_model=None,
    responses={200: {"model": list[IdentityObject]}},
)
@router.get("/identities", include_in_schema=False, response_model=None)
async def list_identities(request: Request) -> list[dict[str, Any]]:
    """All identities of the organization, newest first (admin keys only)."""
    stub = config_stub(request)

    async def fetch(size: int, token: str) -> tuple[Sequence[config_pb2.AgentIdentity], str]:
        message = config_pb2.ListAgentIdentitiesRequest(page_size=size, page_token=token)
        page = await call(request, stub.ListAgentIdentities, message)
        return page.agent_identities, page.next_page_token

    identities = await collect_all(fetch)
    numbers = await identity_phone_numbers(request, [identity.id for identity in identities])
    return [
        {**identity_json(identity), "phone_number": numbers.get(identity.id)}
        for identity in identities
    ]


@router.get(
    "/identities/{agent_handle}",
    summary="Get agent identity",
    response_model=None,
    responses={200: {"model": IdentityObject}},
)
async def get_identity(request: Request, agent_handle: HandlePath) -> dict[str, Any]:
    """One identity; an identity-scoped key may read its own."""
    found = await call(
        request,
        config_stub(request).GetAgentIdentity,
        config_pb2.GetAgentIdentityRequest(agent_handle=agent_handle),
    )
    numbers = await identity_phone_numbers(request, [found.id])
    return {**identity_json(found), "phone_number": numbers.get(found.id)}


@router.patch(
    "/identities/{agent_handle}",
    summary="Update agent identity",
    response_model=None,
    responses={200: {"model": IdentityObject}, **_CONFLICT_RESPONSES, **IDEMPOTENT_RESPONSES},
)
async def update_identity(
    request: Request,
    agent_handle: HandlePath,
    body: UpdateIdentityBody,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Change the handle, display name or description (admin keys only)."""
    message = config_pb2.UpdateAgentIdentityRequest(
        agent_handle=agent_handle,
        agent_identity=_identity_message(body),
        request_id=idempotency_key or "",
    )
    # An empty body sends an empty mask with no values set: nothing changes.
    message.update_mask.paths.extend(sorted(body.model_fields_set))
    updated = await call(request, config_stub(request).UpdateAgentIdentity, message)
    numbers = await identity_phone_numbers(request, [updated.id])
    return {**identity_json(updated), "phone_number": numbers.get(updated.id)}


@router.delete(
    "/identities/{agent_handle}",
    status_code=204,
    summary="Delete agent identity",
    response_class=Response,
)
async def delete_identity(request: Request, agent_handle: HandlePath) -> Response:
    """Delete an identity, its incoming-call config and its scoped keys (admin keys only)."""
    await call(
        request,
        config_stub(request).DeleteAgentIdentity,
        config_pb2.DeleteAgentIdentityRequest(agent_handle=agent_handle),
    )
    return Response(status_code=204)


def _identity_message(body: CreateIdentityBody | UpdateIdentityBody) -> config_pb2.AgentIdentity:
    identity = config_pb2.AgentIdentity(agent_handle=body.agent_handle or "")
    if body.display_name is not None:
        identity.display_name = body.display_name
    if body.description is not None:
        identity.description = body.description
    if body.max_concurrent_calls is not None:
        identity.max_concurrent_calls = body.max_concurrent_calls
    for step in body.overflow_chain or ():
        message = identity.overflow_chain.add()
        if step.agent_identity_id is not None:
            message.agent_identity_id = step.agent_identity_id
        if step.forwarding_phone_number is not None:
            message.forwarding_phone_number = step.forwarding_phone_number
        if step.webhook_fallback:
            message.webhook_fallback.SetInParent()
    return identity


def identity_json(message: config_pb2.AgentIdentity) -> dict[str, Any]:
    """The Inkbox identity object."""
    return {
        "id": message.id,
        "organization_id": message.account_id,
        "agent_handle": message.agent_handle,
        "display_name": optional(message, "display_name"),
        "description": optional(message, "description"),
        "created_at": timestamp(message, "create_time"),
        "updated_at": timestamp(message, "update_time"),
        "signing_key_configured": message.signing_key_configured,
        "signing_key_created_at": timestamp(message, "signing_key_create_time"),
        "max_concurrent_calls": optional(message, "max_concurrent_calls"),
        "overflow_chain": [_step_json(step) for step in message.overflow_chain],
    }


def _step_json(step: config_pb2.OverflowStep) -> dict[str, Any]:
    kind = step.WhichOneof("step")
    if kind == "webhook_fallback":
        return {"webhook_fallback": True}
    return {} if kind is None else {kind: getattr(step, kind)}
