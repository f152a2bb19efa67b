"""``/api/v1/phone/.../contact-rules``: Inkbox's per-number caller allow/block rules.

Served by the registry's ``ContactRuleService`` and enforced when a call is routed. A rule's
``match_target`` is normalized like every number, so ``+N``, ``N`` and the national form are
one rule (answered in canonical E.164 with ``+``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

import grpc
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import BaseModel, Field
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.dialects import DialectError, InkboxRoute
from gateway.idempotency import IDEMPOTENT_RESPONSES, IdempotencyKey
from gateway.inkbox.phone_numbers import check_credential
from gateway.messages import enum_number, enum_text, timestamp
from gateway.openapi import Responses
from gateway.paging import collect_all
from gateway.rest_text import Text
from gateway.rpc import UpstreamError, call, upstreams
from services.common.storage.pagination import MAX_PAGE_SIZE

router = APIRouter(route_class=InkboxRoute, tags=["phone contact rules"])

RuleAction = Literal["allow", "block"]
MatchType = Literal["exact_number"]
Direction = Literal["inbound", "outbound", "both"]
RuleStatus = Literal["active", "paused"]
TARGET_MAX_LENGTH: Final = 32
EXISTS: Final = "A contact rule for this number already covers that direction on this phone number"
ADMIN_ONLY: Final[Responses] = {403: {"description": "Needs an admin API key"}}
_DUPLICATE: Final[Responses] = {
    409: {
        "description": 'Duplicate coverage: `{"detail": {"message", "existing_rule_id"}}` '
        "(the SDK's DuplicateContactRuleError)"
    }
}

NumberId = Annotated[Text, Path(description="The phone number's id.")]
RuleId = Annotated[Text, Path(description="The rule's id.")]
Limit = Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="At most this many rules.")]
Offset = Annotated[int | None, Query(ge=0, le=1_000_000, description="Skip this many rules.")]


class ContactRuleObject(BaseModel):
    """Inkbox's legacy ``PhoneContactRule``."""

    id: uuid.UUID
    phone_number_id: uuid.UUID
    action: RuleAction
    match_type: MatchType
    match_target: str = Field(description="E.164 with `+`.")
    direction: Direction
    status: RuleStatus
    created_at: str
    updated_at: str


class CreateRuleBody(BaseModel):
    """A new rule; `direction` defaults to `both`."""

    action: RuleAction
    match_type: MatchType = "exact_number"
    match_target: Annotated[Text, Field(max_length=TARGET_MAX_LENGTH)] = Field(
        description="The caller's number: E.164 with or without `+`, or national format."
    )
    direction: Direction | None = None
    status: RuleStatus | None = Field(default=None, description="Switchboard extension.")


class UpdateRuleBody(BaseModel):
    """Changes to a rule: `action`, `direction` and/or `status`."""

    action: RuleAction | None = None
    direction: Direction | None = None
    status: RuleStatus | None = Field(default=None, description="Switchboard extension.")
    apply_to: Direction | None = Field(
        default=None,
        description="Change the action on one side only (`inbound` or `outbound`; needs "
        "`action`, not with `direction`): a rule covering `both` is split in two.",
    )


def _stub(request: Request) -> registry_pb2_grpc.ContactRuleServiceStub:
    return upstreams(request).registry_stub(registry_pb2_grpc.ContactRuleServiceStub)


def rule_json(rule: registry_pb2.ContactRule) -> dict[str, Any]:
    """The Inkbox ``PhoneContactRule`` object."""
    return {
        "id": rule.id,
        "phone_number_id": rule.inbound_id,
        "action": enum_text(rule, "action"),
        "match_type": enum_text(rule, "match_type"),
        "match_target": rule.match_target,
        "direction": enum_text(rule, "direction"),
        "status": enum_text(rule, "status"),
        "created_at": timestamp(rule, "create_time"),
        "updated_at": timestamp(rule, "update_time"),
    }


async def _all_rules(
    request: Request,
    filters: registry_pb2.ListContactRulesRequest,
    limit: int | None,
    offset: int | None,
) -> list[dict[str, Any]]:
    stub = _stub(request)

    async def fetch(size: int, token: str) -> tuple[Sequence[registry_pb2.ContactRule], str]:
        message = registry_pb2.ListContactRulesRequest()
        message.CopyFrom(filters)
        message.page_size, message.page_token = size, token
        page = await call(request, stub.ListContactRules, message)
        return page.contact_rules, page.next_page_token

    rules = await collect_all(fetch)
    start = offset or 0
    end = None if limit is None else start + limit
    return [rule_json(rule) for rule in rules[start:end]]


def _filters(
    action: str | None, match_type: str | None, direction: str | None
) -> registry_pb2.ListContactRulesRequest:
    message = registry_pb2.ListContactRulesRequest()
    for name, value in (("action", action), ("match_type", match_type), ("direction", direction)):
        if value is not None:
            setattr(message, name, enum_number(message, name, value))
    return message


@router.get(
    "/phone/numbers/{phone_number_id}/contact-rules",
    summary="List a phone number's contact rules",
    response_model=None,
    responses={200: {"model": list[ContactRuleObject]}},
)
async def list_rules(
    request: Request,
    phone_number_id: NumberId,
    action: Annotated[RuleAction | None, Query()] = None,
    match_type: Annotated[MatchType | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    limit: Limit = None,
    offset: Offset = None,
) -> list[dict[str, Any]]:
    """The number's rules, newest first (`direction=inbound` includes `both`)."""
    filters = _filters(action, match_type, direction)
    filters.inbound_id = phone_number_id
    return await _all_rules(request, filters, limit, offset)


@router.get(
    "/phone/contact-rules",
    summary="List every phone number's contact rules",
    response_model=None,
    responses={200: {"model": list[ContactRuleObject]}, **ADMIN_ONLY},
)
async def list_all_rules(
    request: Request,
    phone_number_id: Annotated[Text | None, Query(description="Only this number's.")] = None,
    action: Annotated[RuleAction | None, Query()] = None,
    match_type: Annotated[MatchType | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    limit: Limit = None,
    offset: Offset = None,
) -> list[dict[str, Any]]:
    """The organization's rules, newest first (admin keys only)."""
    filters = _filters(action, match_type, direction)
    if phone_number_id is not None:
        # The org-wide route stays admin-only even when narrowed to one number.
        probe = registry_pb2.ListContactRulesRequest(page_size=1)
        await call(request, _stub(request).ListContactRules, probe)
        filters.inbound_id = phone_number_id
    return await _all_rules(request, filters, limit, offset)


@router.post(
    "/phone/numbers/{phone_number_id}/contact-rules",
    status_code=201,
    summary="Create a contact rule",
    response_model=None,
    responses={201: {"model": ContactRuleObject}, **_DUPLICATE, **IDEMPOTENT_RESPONSES},
)
async def create_rule(
    request: Request,
    phone_number_id: NumberId,
    body: CreateRuleBody,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Allow or block one caller number on this phone number."""
    rule = registry_pb2.ContactRule(match_target=body.match_target)
    rule.action = enum_number(rule, "action", body.action)
    rule.match_type = enum_number(rule, "match_type", body.match_type)
    if body.direction is not None:
        rule.direction = enum_number(rule, "direction", body.direction)
    if body.status is not None:
        rule.status = enum_number(rule, "status", body.status)
    message = registry_pb2.CreateContactRuleRequest(
        inbound_id=phone_number_id, contact_rule=rule, request_id=idempotency_key or ""
    )
    try:
        created = await call(request, _stub(request).CreateContactRule, message)
    except UpstreamError as error:
        if error.code is not grpc.StatusCode.ALREADY_EXISTS:
            raise
        return await _duplicate(request, phone_number_id, body.match_target, body.direction)
    return JSONResponse(rule_json(created), status_code=201)


@router.get(
    "/phone/numbers/{phone_number_id}/contact-rules/{rule_id}",
    summary="Get a contact rule",
    response_model=None,
    responses={200: {"model": ContactRuleObject}},
)
async def get_rule(request: Request, phone_number_id: NumberId, rule_id: RuleId) -> dict[str, Any]:
    """One rule of the number."""
    message = registry_pb2.GetContactRuleRequest(
        inbound_id=phone_number_id, contact_rule_id=rule_id
    )
    return rule_json(await call(request, _stub(request).GetContactRule, message))


@router.patch(
    "/phone/numbers/{phone_number_id}/contact-rules/{rule_id}",
    summary="Update a contact rule",
    response_model=None,
    responses={200: {"model": ContactRuleObject}},
)
async def update_rule(
    request: Request, phone_number_id: NumberId, rule_id: RuleId, body: UpdateRuleBody
) -> dict[str, Any]:
    """Change the rule's action, direction or status (``apply_to``: the action of one side)."""
    sent = body.model_fields_set
    nulls = sorted(name for name in sent if getattr(body, name) is None)
    if nulls or not sent:
        await check_credential(request)
    if nulls:
        raise DialectError(422, f"{nulls[0]} cannot be null")
    if not sent:
        raise DialectError(422, "Provide action, direction or status")
    fields = sorted(sent - {"apply_to"})
    rule = registry_pb2.ContactRule()
    for name in fields:
        setattr(rule, name, enum_number(rule, name, getattr(body, name)))
    message = registry_pb2.UpdateContactRuleRequest(
        inbound_id=phone_number_id,
        contact_rule_id=rule_id,
        contact_rule=rule,
        update_mask=FieldMask(paths=fields),
    )
    if body.apply_to is not None:
        message.apply_to = enum_number(message, "apply_to", body.apply_to)
    return rule_json(await call(request, _stub(request).UpdateContactRule, message))


@router.delete(
    "/phone/numbers/{phone_number_id}/contact-rules/{rule_id}",
    status_code=204,
    summary="Delete a contact rule",
    response_class=Response,
    responses=ADMIN_ONLY,
)
async def delete_rule(request: Request, phone_number_id: NumberId, rule_id: RuleId) -> Response:
    """Delete a rule (admin keys only)."""
    message = registry_pb2.DeleteContactRuleRequest(
        inbound_id=phone_number_id, contact_rule_id=rule_id
    )
    await call(request, _stub(request).DeleteContactRule, message)
    return Response(status_code=204)


async def _duplicate(
    request: Request, phone_number_id: str, match_target: str, direction: str | None
) -> Response:
    """The 409 the SDK turns into DuplicateContactRuleError (with the id of the rule already
    covering a side the new one would cover)."""
    message = registry_pb2.ListContactRulesRequest(
        inbound_id=phone_number_id, match_target=match_target, page_size=1
    )
    if direction in ("inbound", "outbound"):  # the filter includes the rules covering both
        message.direction = enum_number(message, "direction", direction)
    page = await call(request, _stub(request).ListContactRules, message)
    detail: dict[str, Any] = {"message": EXISTS}
    if page.contact_rules:
        detail["existing_rule_id"] = page.contact_rules[0].id
    return JSONResponse({"detail": detail}, status_code=409)
