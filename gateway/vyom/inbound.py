"""``/inbound/...``: assign, update, detach, delete and list inbound number mappings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import BaseModel, Field, StrictInt
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.dialects import VyomRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.messages import optional, timestamp
from gateway.rest_text import Text
from gateway.rpc import call, upstreams
from gateway.vyom.common import PageSize, PageToken, listing, ok
from services.common.capacity import MAX_CONCURRENT_CALLS
from services.common.ids import parse_uuid

router = APIRouter(route_class=VyomRoute, tags=["inbound numbers"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The normalized number is already assigned (any account)"}
}


class InboundConfigBody(BaseModel):
    """Provider-specific inbound configuration."""

    type: Text | None = Field(
        default=None, description="Must match `service`; injected from it when omitted."
    )
    phone_number: Text = Field(description="The inbound number, stored as sent.")


class AssignBody(BaseModel):
    """Request body of ``POST /inbound/assign``."""

    assistant_id: Text = Field(description="An assistant (agent identity) of your account.")
    inbound_context_strategy_id: Text | None = Field(
        default=None, description="Optional context strategy of your account."
    )
    service: Text = Field(description="Must be `exotel`.")
    inbound_config: InboundConfigBody


class UpdateBody(BaseModel):
    """Request body of ``PATCH /inbound/update/{inbound_id}``: omitted keeps, null clears."""

    assistant_id: Text | None = Field(default=None, description="New assistant, or null.")
    inbound_context_strategy_id: Text | None = Field(
        default=None, description="New strategy, or null."
    )
    max_concurrent_calls: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_CONCURRENT_CALLS,
        description="Calls to this number routed at once (admin keys only); null: unlimited. "
        "A Switchboard extension; the response shape is unchanged.",
    )


def _stub(request: Request) -> registry_pb2_grpc.InboundNumberServiceStub:
    return upstreams(request).registry_stub(registry_pb2_grpc.InboundNumberServiceStub)


def _links(mapping: registry_pb2.InboundNumber) -> dict[str, Any]:
    return {
        "inbound_id": mapping.id,
        "assistant_id": optional(mapping, "assistant_id"),
        "inbound_context_strategy_id": optional(mapping, "inbound_context_strategy_id"),
    }


def _inbound_config(mapping: registry_pb2.InboundNumber) -> dict[str, str]:
    return {
        "type": mapping.inbound_config.type,
        "phone_number": mapping.inbound_config.phone_number,
    }


def _assigned(mapping: registry_pb2.InboundNumber) -> dict[str, Any]:
    return {
        "inbound_id": mapping.id,
        "phone_number": mapping.phone_number,
        "phone_number_normalized": mapping.phone_number_normalized,
        "assistant_id": optional(mapping, "assistant_id"),
        "inbound_context_strategy_id": optional(mapping, "inbound_context_strategy_id"),
        "inbound_context_strategy_name": optional(mapping, "inbound_context_strategy_name"),
        "service": mapping.service,
        "inbound_config": _inbound_config(mapping),
    }


def _listed(mapping: registry_pb2.InboundNumber) -> dict[str, Any]:
    return {
        "inbound_id": mapping.id,
        "phone_number": mapping.phone_number,
        "phone_number_normalized": mapping.phone_number_normalized,
        "inbound_config": _inbound_config(mapping),
        "assistant_id": optional(mapping, "assistant_id"),
        "assistant_name": optional(mapping, "assistant_name"),
        "inbound_context_strategy_id": optional(mapping, "inbound_context_strategy_id"),
        "inbound_context_strategy_name": optional(mapping, "inbound_context_strategy_name"),
        "service": mapping.service,
        "created_at": timestamp(mapping, "create_time"),
        "updated_at": timestamp(mapping, "update_time"),
    }


@router.post(
    "/inbound/assign",
    summary="Assign an inbound number to an assistant",
    responses={**_CONFLICT, **IDEMPOTENT_RESPONSES},
)
async def assign(
    body: AssignBody, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create an active mapping; its normalized number must not be active anywhere."""
    message = registry_pb2.AssignInboundNumberRequest(
        request_id=idempotency_key or "",
        assistant_id=body.assistant_id,
        service=body.service,
        inbound_config=registry_pb2.InboundConfig(
            type=body.inbound_config.type or "",
            phone_number=body.inbound_config.phone_number,
        ),
    )
    if body.inbound_context_strategy_id is not None:
        message.inbound_context_strategy_id = body.inbound_context_strategy_id
    mapping = await call(request, _stub(request).AssignInboundNumber, message)
    return ok("Inbound number assigned successfully", _assigned(mapping))


@router.patch(
    "/inbound/update/{inbound_id}",
    summary="Replace or clear a mapping's assistant and/or strategy",
)
async def update(inbound_id: Text, body: UpdateBody, request: Request) -> JSONResponse:
    """Keys present in the body are changed (``null`` detaches that link); others are kept."""
    paths = sorted(body.model_fields_set)
    links = registry_pb2.InboundNumberLinks()
    for path in paths:
        value = getattr(body, path)
        if value is not None:
            setattr(links, path, value)
    message = registry_pb2.UpdateInboundNumberRequest(
        inbound_id=inbound_id, inbound_number=links, update_mask=FieldMask(paths=paths)
    )
    mapping = await call(request, _stub(request).UpdateInboundNumber, message)
    return ok("Inbound number mapping updated successfully", _links(mapping))


@router.post(
    "/inbound/detach/{inbound_id}",
    summary="Detach a mapping from its assistant and strategy",
)
async def detach(inbound_id: Text, request: Request) -> JSONResponse:
    """The mapping stays active and keeps holding its number."""
    message = registry_pb2.DetachInboundNumberRequest(inbound_id=inbound_id)
    mapping = await call(request, _stub(request).DetachInboundNumber, message)
    return ok("Inbound number detached successfully", _links(mapping))


@router.delete(
    "/inbound/delete/{inbound_id}",
    summary="Delete a mapping and release its number",
)
async def delete(inbound_id: Text, request: Request) -> JSONResponse:
    """Soft delete: the mapping becomes inactive and the number can be assigned again."""
    message = registry_pb2.DeleteInboundNumberRequest(inbound_id=inbound_id)
    await call(request, _stub(request).DeleteInboundNumber, message)
    deleted = parse_uuid(inbound_id, "inbound_id")  # the canonical id (the delete parsed it)
    return ok("Inbound number deleted successfully", {"inbound_id": deleted})


@router.get(
    "/inbound/list",
    summary="List your active mappings, newest first",
)
async def list_numbers(
    request: Request,
    page_size: PageSize = None,
    page_token: PageToken = None,
    assistant_id: Annotated[
        Text | None, Query(description="Only mappings attached to this assistant.")
    ] = None,
) -> JSONResponse:
    """All active mappings; with ``page_size`` one page plus ``next_page_token`` ("" at the end)."""
    stub = _stub(request)

    async def fetch(size: int, token: str) -> tuple[Sequence[registry_pb2.InboundNumber], str]:
        message = registry_pb2.ListInboundNumbersRequest(page_size=size, page_token=token)
        if assistant_id is not None:
            message.assistant_id = assistant_id
        page = await call(request, stub.ListInboundNumbers, message)
        return page.inbound_numbers, page.next_page_token

    return await listing(
        "Inbound numbers retrieved successfully",
        fetch,
        _listed,
        page_size=page_size,
        page_token=page_token,
    )
