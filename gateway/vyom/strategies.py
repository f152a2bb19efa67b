"""``/inbound_context_strategy/...``: create, update, list, read and delete context strategies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from google.protobuf import struct_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import BaseModel, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.dialects import DialectError, VyomRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.messages import timestamp
from gateway.rest_text import Text
from gateway.rpc import call, upstreams
from gateway.vyom.common import PageSize, PageToken, listing, ok
from services.common.budgets import STRATEGY_BUDGET
from services.common.ids import parse_uuid
from services.common.rpc.proto_time import from_duration, to_duration

router = APIRouter(route_class=VyomRoute, tags=["inbound context strategies"])

_ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Strategies (reads included) need an admin API key"}
}
_NOT_NULL = "`{name}` cannot be null; omit it to leave it unchanged."
"""Vyom's documented message for a top-level update field sent as null."""


_TIMEOUT_RANGE: Final[dict[str, JsonValue]] = {
    "minimum": STRATEGY_BUDGET.minimum,
    "maximum": STRATEGY_BUDGET.maximum,
}
"""Documented only: the registry checks the range (400), as Vyom does."""


class StrategyConfigBody(BaseModel):
    """Configuration of a ``webhook`` strategy."""

    url: Text = Field(description="http(s) endpoint on a public host.")
    headers: dict[Text, Text] | None = Field(
        default=None, description="Extra request headers (secret-looking values masked on read)."
    )
    timeout_seconds: float | None = Field(
        default=None,
        description=f"Time budget of the lookup, {STRATEGY_BUDGET.describe()} "
        f"(default {STRATEGY_BUDGET.default}).",
        json_schema_extra=_TIMEOUT_RANGE,
    )


class CreateStrategyBody(BaseModel):
    """Request body of ``POST /inbound_context_strategy/create``."""

    strategy_name: Text
    strategy_type: Text = Field(description="Only `webhook`.")
    strategy_config: StrategyConfigBody


class StrategyConfigPatchBody(BaseModel):
    """Changes merged into the stored configuration."""

    # Omitted keeps the stored value; null is refused (400), so OpenAPI does not offer it.
    url: Text | SkipJsonSchema[None] = Field(default=None, description="Replaces the URL.")
    headers: dict[Text, Text | None] | SkipJsonSchema[None] = Field(
        default=None, description="Merged key by key; a null value deletes that header."
    )
    timeout_seconds: float | SkipJsonSchema[None] = Field(
        default=None, description="Replaces the time budget.", json_schema_extra=_TIMEOUT_RANGE
    )


class UpdateStrategyBody(BaseModel):
    """Request body of ``PATCH /inbound_context_strategy/update/{strategy_id}``."""

    strategy_name: Text | None = None
    strategy_type: Text | None = Field(
        default=None, description="Sent together with `strategy_config`."
    )
    strategy_config: StrategyConfigPatchBody | None = Field(
        default=None, description="Sent together with `strategy_type`."
    )


def _stub(request: Request) -> registry_pb2_grpc.InboundContextStrategyServiceStub:
    return upstreams(request).registry_stub(registry_pb2_grpc.InboundContextStrategyServiceStub)


def _summary(strategy: registry_pb2.InboundContextStrategy) -> dict[str, Any]:
    return {
        "strategy_id": strategy.id,
        "strategy_name": strategy.strategy_name,
        "strategy_type": strategy.strategy_type,
    }


def _listed(strategy: registry_pb2.InboundContextStrategy) -> dict[str, Any]:
    """A strategy as ``list`` shows it (Vyom's documented item)."""
    config = strategy.strategy_config
    return {
        **_summary(strategy),
        "strategy_config": {
            "type": strategy.strategy_type,
            "url": config.url,
            "headers": dict(config.headers),
            "timeout_seconds": from_duration(config.timeout),
        },
        "strategy_created_at": timestamp(strategy, "create_time"),
        "strategy_updated_at": timestamp(strategy, "update_time"),
    }


def _details(strategy: registry_pb2.InboundContextStrategy) -> dict[str, Any]:
    """A strategy as ``details`` shows it: the list item plus Vyom's audit fields.

    Switchboard records no user e-mail addresses (API keys act, not people), so the two
    ``*_by_email`` keys are null; only active strategies are readable, hence ``true``.
    """
    listed = _listed(strategy)
    return {
        **{key: listed[key] for key in ("strategy_id", "strategy_name", "strategy_type")},
        "strategy_config": listed["strategy_config"],
        "strategy_created_by_email": None,
        "strategy_updated_by_email": None,
        "strategy_created_at": listed["strategy_created_at"],
        "strategy_updated_at": listed["strategy_updated_at"],
        "strategy_is_active": True,
    }


def _config_patch(body: StrategyConfigPatchBody) -> registry_pb2.StrategyConfigPatch:
    cleared = sorted(name for name in body.model_fields_set if getattr(body, name) is None)
    if cleared:
        raise DialectError(400, _NOT_NULL.format(name=f"strategy_config.{cleared[0]}"))
    patch = registry_pb2.StrategyConfigPatch()
    if body.url is not None:
        patch.url = body.url
    if body.timeout_seconds is not None:
        patch.timeout.CopyFrom(to_duration(body.timeout_seconds))
    for name, value in (body.headers or {}).items():
        if value is None:
            patch.headers[name].null_value = struct_pb2.NULL_VALUE
        else:
            patch.headers[name].string_value = value
    return patch


@router.post(
    "/inbound_context_strategy/create",
    summary="Create an inbound context strategy",
    responses={**_ADMIN_ONLY, **IDEMPOTENT_RESPONSES},
)
async def create(
    body: CreateStrategyBody, request: Request, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Store a webhook strategy; its URL is checked for safety now."""
    config = body.strategy_config
    message = registry_pb2.CreateInboundContextStrategyRequest(
        request_id=idempotency_key or "",
        strategy_name=body.strategy_name,
        strategy_type=body.strategy_type,
        strategy_config=registry_pb2.StrategyConfig(
            url=config.url,
            headers=config.headers or {},
            timeout=None if config.timeout_seconds is None else to_duration(config.timeout_seconds),
        ),
    )
    strategy = await call(request, _stub(request).CreateInboundContextStrategy, message)
    return ok("Inbound context strategy created successfully", _summary(strategy))


@router.patch(
    "/inbound_context_strategy/update/{strategy_id}",
    summary="Update an inbound context strategy",
    responses=_ADMIN_ONLY,
)
async def update(strategy_id: Text, body: UpdateStrategyBody, request: Request) -> JSONResponse:
    """Name and type replaced, config merged (headers key by key, null deletes a header).

    Header names match case-insensitively: `authorization` replaces a stored `Authorization`.
    """
    sent = body.model_fields_set
    if not sent:
        raise DialectError(400, "No fields provided for update")
    cleared = sorted(name for name in sent if getattr(body, name) is None)
    if cleared:
        raise DialectError(400, _NOT_NULL.format(name=cleared[0]))
    if ("strategy_type" in sent) != ("strategy_config" in sent):
        raise DialectError(
            400, "Provide both `strategy_type` and `strategy_config` together, or neither."
        )
    patch = registry_pb2.InboundContextStrategyPatch()
    if body.strategy_name is not None:
        patch.strategy_name = body.strategy_name
    if body.strategy_type is not None:
        patch.strategy_type = body.strategy_type
    if body.strategy_config is not None:
        patch.strategy_config.CopyFrom(_config_patch(body.strategy_config))
    message = registry_pb2.UpdateInboundContextStrategyRequest(
        inbound_context_strategy_id=strategy_id,
        strategy=patch,
        update_mask=FieldMask(paths=sorted(body.model_fields_set)),
    )
    strategy = await call(request, _stub(request).UpdateInboundContextStrategy, message)
    return ok("Inbound context strategy updated successfully", {"strategy_id": strategy.id})


@router.get(
    "/inbound_context_strategy/list",
    summary="List your inbound context strategies, newest first",
    responses=_ADMIN_ONLY,
)
async def list_strategies(
    request: Request,
    page_size: PageSize = None,
    page_token: PageToken = None,
) -> JSONResponse:
    """All strategies; with ``page_size`` one page plus ``next_page_token`` ("" at the end)."""
    stub = _stub(request)

    async def fetch(
        size: int, token: str
    ) -> tuple[Sequence[registry_pb2.InboundContextStrategy], str]:
        message = registry_pb2.ListInboundContextStrategiesRequest(page_size=size, page_token=token)
        page = await call(request, stub.ListInboundContextStrategies, message)
        return page.strategies, page.next_page_token

    return await listing(
        "Inbound context strategies retrieved successfully",
        fetch,
        _listed,
        page_size=page_size,
        page_token=page_token,
    )


@router.get(
    "/inbound_context_strategy/details/{strategy_id}",
    summary="Read an inbound context strategy",
    responses=_ADMIN_ONLY,
)
async def details(strategy_id: Text, request: Request) -> JSONResponse:
    """The strategy, every secret-looking value of `strategy_config` masked as `****`."""
    message = registry_pb2.GetInboundContextStrategyRequest(inbound_context_strategy_id=strategy_id)
    strategy = await call(request, _stub(request).GetInboundContextStrategy, message)
    return ok("Inbound context strategy retrieved successfully", _details(strategy))


@router.delete(
    "/inbound_context_strategy/delete/{strategy_id}",
    summary="Delete an inbound context strategy",
    responses=_ADMIN_ONLY,
)
async def delete(strategy_id: Text, request: Request) -> JSONResponse:
    """Mappings using it are detached from it and keep routing without a context lookup."""
    message = registry_pb2.DeleteInboundContextStrategyRequest(
        inbound_context_strategy_id=strategy_id
    )
    await call(request, _stub(request).DeleteInboundContextStrategy, message)
    deleted = parse_uuid(strategy_id, "strategy_id")  # the canonical id (the delete parsed it)
    return ok("Inbound context strategy deleted successfully", {"strategy_id": deleted})
