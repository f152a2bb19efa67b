"""``/api/v1/phone/numbers``: Inkbox's ``PhoneNumber`` surface, served from the registry's mappings.

A phone number is an active inbound mapping (the same one the Vyom ``/inbound`` routes show);
its ``incoming_call_action`` and URLs are those of the agent identity it is attached to (the
action is keyed on the identity, as in Inkbox). Switchboard does not own carrier numbers: it
cannot buy or provision one (405), and releasing a number ends its mapping (the number is free
for a new ``/inbound/assign`` at once) without touching the carrier.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final, Literal

import grpc
import phonenumbers
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf.field_mask_pb2 import FieldMask
from pydantic import BaseModel, Field
from switchboard.config.v1 import config_pb2
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.dialects import DialectError, InkboxRoute
from gateway.inkbox.call_actions import Action, Phone, SipUri, TargetType, Url, call_action_json
from gateway.inkbox.common import config_stub
from gateway.messages import enum_number, enum_text, timestamp
from gateway.paging import collect_all
from gateway.rest_text import Text
from gateway.rpc import UpstreamError, call, upstreams

router = APIRouter(route_class=InkboxRoute, tags=["phone numbers"])

FilterMode = Literal["blacklist", "whitelist"]
NUMBER_TYPE: Final = "local"
ACTIVE: Final = "active"
NO_ACTION: Final = "auto_reject"
"""Shown for a number whose identity has no incoming-call action: its calls are refused."""
PROVISIONING_REFUSED: Final = (
    "Switchboard does not buy or provision numbers from a carrier. Map a number you own "
    "with POST /inbound/assign (Vyom dialect); it then appears here."
)
NO_PHONE_NUMBER: Final = "Agent identity has no phone number"
NO_IDENTITY: Final = (
    "This phone number has no agent identity: set agent_identity_id in the same update"
)
_CALL_ACTION_FIELDS: Final = (
    "incoming_call_action",
    "client_websocket_url",
    "incoming_call_webhook_url",
    "forwarding_target_type",
    "forwarding_phone_number",
    "forwarding_sip_uri",
)
_FORWARDING_TARGETS: Final = ("forwarding_phone_number", "forwarding_sip_uri")
_LOOKUP_CONCURRENCY: Final = 16

NumberId = Annotated[Text, Path(description="The phone number's id (its inbound mapping id).")]


class PhoneNumberObject(BaseModel):
    """Inkbox's ``PhoneNumber`` (SMS fields null: Switchboard handles calls only)."""

    id: uuid.UUID
    number: str = Field(description="E.164 with `+`.")
    type: str = Field(description="Always `local`.")
    status: str = Field(description="Always `active` (released numbers are not listed).")
    incoming_call_action: Action = Field(
        description="The attached identity's action; `auto_reject` when it has none."
    )
    client_websocket_url: str | None
    incoming_call_webhook_url: str | None
    forwarding_target_type: TargetType | None
    forwarding_phone_number: str | None
    forwarding_sip_uri: str | None
    filter_mode: FilterMode
    inbound_filter_mode: FilterMode
    outbound_filter_mode: FilterMode
    agent_identity_id: uuid.UUID | None = Field(description="Null for a detached mapping.")
    sms_status: None
    sms_error_code: None
    sms_error_detail: None
    sms_ready_at: None
    state: None
    country: str | None = Field(description="ISO 3166-1 alpha-2 region of the number.")
    created_at: str
    updated_at: str
    filter_mode_change_notice: dict[str, Any] | None = Field(
        default=None, description="On PATCH only, when `filter_mode` changed."
    )


class UpdatePhoneNumberBody(BaseModel):
    """PATCH body: omitted fields are kept, `null` clears (as in the Inkbox SDK)."""

    agent_identity_id: uuid.UUID | None = Field(
        default=None,
        description="Re-point the number (the same mapping `/inbound/update` changes) to "
        "another identity of your organization; `null` detaches it.",
    )
    incoming_call_action: Action | None = Field(
        default=None, description="Written to the (new) identity's incoming-call action."
    )
    client_websocket_url: Url | None = None
    incoming_call_webhook_url: Url | None = None
    forwarding_target_type: TargetType | None = Field(
        default=None,
        description="`null` clears both saved forwarding targets (when leaving `forward`).",
    )
    forwarding_phone_number: Phone | None = None
    forwarding_sip_uri: SipUri | None = None
    filter_mode: FilterMode | None = Field(
        default=None,
        description="Caller filter: `whitelist` lets only callers with an `allow` contact rule "
        "through, `blacklist` (default) all but those with a `block` rule. Admin keys only.",
    )


def numbers_stub(request: Request) -> registry_pb2_grpc.InboundNumberServiceStub:
    """An InboundNumberService stub on the app's channel to the registry."""
    return upstreams(request).registry_stub(registry_pb2_grpc.InboundNumberServiceStub)


async def check_credential(request: Request) -> None:
    """Authenticate the caller (401 otherwise) before answering an error found locally.

    One cheap read any valid key may do: a route never tells an unauthenticated caller more
    than 401, whatever its body.
    """
    probe = registry_pb2.ListInboundNumbersRequest(page_size=1)
    await call(request, numbers_stub(request).ListInboundNumbers, probe)


def phone_number_json(
    mapping: registry_pb2.InboundNumber, action: config_pb2.IncomingCallAction | None
) -> dict[str, Any]:
    """The Inkbox ``PhoneNumber`` object of a mapping and its identity's call action."""
    mode = enum_text(mapping, "filter_mode") or "blacklist"
    shown = (
        call_action_json(action)
        if action is not None
        else {
            "incoming_call_action": NO_ACTION,
            "client_websocket_url": None,
            "incoming_call_webhook_url": None,
            "forwarding_target_type": None,
            "forwarding_phone_number": None,
            "forwarding_sip_uri": None,
        }
    )
    number = "+" + mapping.phone_number_normalized
    return {
        "id": mapping.id,
        "number": number,
        "type": NUMBER_TYPE,
        "status": ACTIVE,
        **{name: shown[name] for name in _CALL_ACTION_FIELDS},
        "filter_mode": mode,
        "inbound_filter_mode": mode,
        "outbound_filter_mode": mode,
        "agent_identity_id": mapping.assistant_id if mapping.HasField("assistant_id") else None,
        "sms_status": None,
        "sms_error_code": None,
        "sms_error_detail": None,
        "sms_ready_at": None,
        "state": None,
        "country": _country(number),
        "created_at": timestamp(mapping, "create_time"),
        "updated_at": timestamp(mapping, "update_time"),
    }


async def phone_numbers_json(
    request: Request, mappings: Sequence[registry_pb2.InboundNumber]
) -> list[dict[str, Any]]:
    """``PhoneNumber`` objects of ``mappings``: one call-action read per distinct identity."""
    actions = await _call_actions(request, {m.assistant_id for m in mappings if m.assistant_id})
    return [phone_number_json(m, actions.get(m.assistant_id)) for m in mappings]


async def identity_mappings(
    request: Request, identity_id: str | None = None
) -> list[registry_pb2.InboundNumber]:
    """Every active mapping the caller sees (only ``identity_id``'s when given), newest first."""
    stub = numbers_stub(request)

    async def fetch(size: int, token: str) -> tuple[Sequence[registry_pb2.InboundNumber], str]:
        message = registry_pb2.ListInboundNumbersRequest(page_size=size, page_token=token)
        if identity_id is not None:
            message.assistant_id = identity_id
        page = await call(request, stub.ListInboundNumbers, message)
        return page.inbound_numbers, page.next_page_token

    return await collect_all(fetch)


async def identity_phone_numbers(
    request: Request, identity_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """identity id -> its (newest) number, for the nested ``phone_number`` of identity objects."""
    wanted = set(identity_ids)
    if not wanted:
        return {}
    single = next(iter(wanted)) if len(wanted) == 1 else None
    newest: dict[str, registry_pb2.InboundNumber] = {}
    for mapping in await identity_mappings(request, single):
        if mapping.assistant_id in wanted:
            newest.setdefault(mapping.assistant_id, mapping)
    shown = await phone_numbers_json(request, list(newest.values()))
    return {number["agent_identity_id"]: number for number in shown}


@router.get(
    "/phone/numbers",
    summary="List phone numbers",
    response_model=None,
    responses={200: {"model": list[PhoneNumberObject]}},
)
async def list_numbers(request: Request) -> list[dict[str, Any]]:
    """Every active mapping of the organization (a scoped key: its identity's), newest first."""
    return await phone_numbers_json(request, await identity_mappings(request))


@router.post(
    "/phone/numbers",
    summary="Provision a phone number (not supported)",
    status_code=405,
    response_model=None,
    responses={405: {"description": PROVISIONING_REFUSED}},
)
async def provision_number(request: Request) -> Response:
    """Always 405 (after the key is checked): Switchboard maps numbers you own, it does not
    buy them."""
    await check_credential(request)
    return JSONResponse({"detail": PROVISIONING_REFUSED}, status_code=405, headers={"Allow": "GET"})


@router.get(
    "/phone/numbers/{phone_number_id}",
    summary="Get phone number",
    response_model=None,
    responses={200: {"model": PhoneNumberObject}},
)
async def get_number(request: Request, phone_number_id: NumberId) -> dict[str, Any]:
    """One phone number with its identity's incoming-call action."""
    mapping = await _mapping(request, phone_number_id)
    [shown] = await phone_numbers_json(request, [mapping])
    return shown


@router.patch(
    "/phone/numbers/{phone_number_id}",
    summary="Update phone number",
    response_model=None,
    responses={
        200: {"model": PhoneNumberObject},
        409: {"description": NO_IDENTITY},
    },
)
async def update_number(
    request: Request, phone_number_id: NumberId, body: UpdatePhoneNumberBody
) -> dict[str, Any]:
    """Re-point, set the caller filter, and/or write the identity's incoming-call action.

    `agent_identity_id` and `filter_mode` change the mapping (the same one `/inbound/update`
    changes); the call-action fields go to the identity's action (shared by all of its
    numbers, as in Inkbox). Omitted fields are kept, `null` clears.
    """
    sent = body.model_fields_set
    mapping_paths = [name for name in ("agent_identity_id", "filter_mode") if name in sent]
    mapping = await _mapping(request, phone_number_id)
    if "filter_mode" in sent and body.filter_mode is None:
        raise DialectError(422, "filter_mode cannot be null")
    before_mode = enum_text(mapping, "filter_mode") or "blacklist"
    if mapping_paths:
        links = registry_pb2.InboundNumberLinks()
        if body.agent_identity_id is not None:
            links.assistant_id = str(body.agent_identity_id)
        if body.filter_mode is not None:
            links.filter_mode = enum_number(links, "filter_mode", body.filter_mode)
        message = registry_pb2.UpdateInboundNumberRequest(
            inbound_id=mapping.id,
            inbound_number=links,
            update_mask=FieldMask(
                paths=["assistant_id" if p == "agent_identity_id" else p for p in mapping_paths]
            ),
        )
        mapping = await call(request, numbers_stub(request).UpdateInboundNumber, message)
    action_paths = [name for name in _CALL_ACTION_FIELDS if name in sent]
    if action_paths:
        if not mapping.HasField("assistant_id"):
            raise DialectError(409, NO_IDENTITY)
        await _write_call_action(request, mapping.assistant_id, body, action_paths)
    [shown] = await phone_numbers_json(request, [mapping])
    if body.filter_mode is not None and body.filter_mode != before_mode:
        shown["filter_mode_change_notice"] = await _change_notice(
            request, mapping.id, body.filter_mode
        )
    return shown


@router.delete(
    "/phone/numbers/{phone_number_id}",
    status_code=204,
    summary="Release phone number",
    response_class=Response,
)
async def release_number(request: Request, phone_number_id: NumberId) -> Response:
    """End the number's mapping (the Vyom delete): calls to it stop routing at once."""
    mapping = await _mapping(request, phone_number_id)
    await _release(request, mapping.id)
    return Response(status_code=204)


@router.delete(
    "/identities/{agent_handle}/phone_number",
    status_code=204,
    summary="Release the identity's phone number",
    response_class=Response,
    responses={404: {"description": f"Unknown identity, or: {NO_PHONE_NUMBER}"}},
)
async def release_identity_number(
    request: Request,
    agent_handle: Annotated[Text, Path(description="The identity's handle.")],
) -> Response:
    """Release every number mapped to the identity (Switchboard allows several)."""
    identity = await call(
        request,
        config_stub(request).GetAgentIdentity,
        config_pb2.GetAgentIdentityRequest(agent_handle=agent_handle),
    )
    mappings = await identity_mappings(request, identity.id)
    if not mappings:
        raise DialectError(404, NO_PHONE_NUMBER)
    for mapping in mappings:
        await _release(request, mapping.id)
    return Response(status_code=204)


async def _mapping(request: Request, phone_number_id: str) -> registry_pb2.InboundNumber:
    message = registry_pb2.GetInboundNumberRequest(inbound_id=phone_number_id)
    found: registry_pb2.InboundNumber = await call(
        request, numbers_stub(request).GetInboundNumber, message
    )
    return found


async def _release(request: Request, inbound_id: str) -> None:
    message = registry_pb2.DeleteInboundNumberRequest(inbound_id=inbound_id)
    await call(request, numbers_stub(request).DeleteInboundNumber, message)


async def _call_actions(
    request: Request, identity_ids: set[str]
) -> dict[str, config_pb2.IncomingCallAction]:
    """identity id -> its incoming-call action (identities without one are absent)."""
    stub = config_stub(request)
    limit = asyncio.Semaphore(_LOOKUP_CONCURRENCY)

    async def read(identity_id: str) -> config_pb2.IncomingCallAction | None:
        message = config_pb2.GetIncomingCallActionRequest(agent_identity_id=identity_id)
        async with limit:
            try:
                found: config_pb2.IncomingCallAction = await call(
                    request, stub.GetIncomingCallAction, message
                )
            except UpstreamError as error:
                if error.code is grpc.StatusCode.NOT_FOUND:
                    return None
                raise
        return found

    ids = sorted(identity_ids)
    found = await asyncio.gather(*(read(identity_id) for identity_id in ids))
    return {i: action for i, action in zip(ids, found, strict=True) if action is not None}


async def _write_call_action(
    request: Request, identity_id: str, body: UpdatePhoneNumberBody, paths: Sequence[str]
) -> None:
    """Write the PATCH's call-action fields (listed = set or cleared) over the stored action."""
    action = config_pb2.IncomingCallAction(agent_identity_id=identity_id)
    if body.incoming_call_action is not None:
        action.incoming_call_action = enum_number(
            action, "incoming_call_action", body.incoming_call_action
        )
    if body.forwarding_target_type is not None:
        action.forwarding_target_type = enum_number(
            action, "forwarding_target_type", body.forwarding_target_type
        )
    elif "forwarding_target_type" in paths:
        # The SDK's contract: a null target type clears both saved forwarding targets.
        paths = [*paths, *(name for name in _FORWARDING_TARGETS if name not in paths)]
    paths = list(paths)
    for name in ("client_websocket_url", "incoming_call_webhook_url", *_FORWARDING_TARGETS):
        if (value := getattr(body, name)) is not None:
            setattr(action, name, value)
    message = config_pb2.UpdateIncomingCallActionRequest(
        incoming_call_action=action, update_mask=FieldMask(paths=paths)
    )
    await call(request, config_stub(request).UpdateIncomingCallAction, message)


async def _change_notice(request: Request, inbound_id: str, new_mode: str) -> dict[str, Any]:
    """Inkbox's ``filter_mode_change_notice``: how many active rules the new mode makes moot."""
    redundant = "block" if new_mode == "whitelist" else "allow"
    stub = upstreams(request).registry_stub(registry_pb2_grpc.ContactRuleServiceStub)
    filters = registry_pb2.ListContactRulesRequest(inbound_id=inbound_id)
    filters.action = enum_number(filters, "action", redundant)

    async def fetch(size: int, token: str) -> tuple[Sequence[registry_pb2.ContactRule], str]:
        message = registry_pb2.ListContactRulesRequest()
        message.CopyFrom(filters)
        message.page_size, message.page_token = size, token
        page = await call(request, stub.ListContactRules, message)
        return page.contact_rules, page.next_page_token

    rules = await collect_all(fetch)
    active = [rule for rule in rules if enum_text(rule, "status") == "active"]
    return {
        "new_filter_mode": new_mode,
        "redundant_rule_action": redundant,
        "redundant_rule_count": len(active),
    }


def _country(number: str) -> str | None:
    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None
