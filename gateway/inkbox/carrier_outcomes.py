"""``/api/v1/phone/carrier-outcomes``: what carriers are told per reject reason (a Switchboard
extension in Inkbox's style), served by the registry's ``CarrierOutcomeService``.

The rules (defaults, which statuses each outcome allows, which reasons may be overridden)
live in the registry (``services/registry/routing/carrier_outcomes.py``); this module only
translates JSON to protobuf and back.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from switchboard.registry.v1 import carrier_pb2, carrier_pb2_grpc

from gateway.calls.routing import EdgeOutcomeName, RejectReasonName
from gateway.dialects import InkboxRoute
from gateway.messages import enum_text
from gateway.openapi import Responses
from gateway.rpc import call, upstreams

router = APIRouter(route_class=InkboxRoute, tags=["carrier outcomes"])

RefusalOutcomeName = Literal["temporarily_unavailable", "busy", "rejected"]
_ADMIN_ONLY: Final[Responses] = {403: {"description": "Needs an admin API key"}}


class CarrierOutcomeOverrideBody(BaseModel):
    """One reason's override: the SIP status names its outcome family."""

    sip_status: int = Field(
        ge=100,
        le=699,
        description="temporarily_unavailable: 480, 404, 410, 503; busy: 486, 600; "
        "rejected: 603, 403, 607.",
    )
    edge_outcome: RefusalOutcomeName | None = Field(
        default=None, description="Optional; must be the status's own family when given."
    )


class UpdateCarrierOutcomesBody(BaseModel):
    """Request body of ``PUT /api/v1/phone/carrier-outcomes``: replaces every override."""

    overrides: dict[RejectReasonName, CarrierOutcomeOverrideBody] = Field(
        description="Keyed by reject reason; reasons absent keep their default; `{}` restores "
        "every default. `invalid_number` and `no_active_mapping` cannot be overridden."
    )


class CarrierOutcomeObject(BaseModel):
    """What the carrier is told for one reject reason."""

    reason: RejectReasonName
    edge_outcome: EdgeOutcomeName
    sip_status: int
    sip_reason_phrase: str
    source: Literal["default", "account"]
    overridable: bool
    default_rationale: str


class CarrierOutcomesObject(BaseModel):
    """Every reject reason's answer for the caller's account."""

    outcomes: list[CarrierOutcomeObject]


def _stub(request: Request) -> carrier_pb2_grpc.CarrierOutcomeServiceStub:
    return upstreams(request).registry_stub(carrier_pb2_grpc.CarrierOutcomeServiceStub)


def _outcomes_json(message: carrier_pb2.CarrierOutcomes) -> dict[str, Any]:
    return {
        "outcomes": [
            {
                "reason": enum_text(outcome, "reason"),
                "edge_outcome": enum_text(outcome, "edge_outcome"),
                "sip_status": outcome.sip_status,
                "sip_reason_phrase": outcome.sip_reason_phrase,
                "source": "account" if outcome.overridden else "default",
                "overridable": outcome.overridable,
                "default_rationale": outcome.default_rationale,
            }
            for outcome in message.outcomes
        ]
    }


@router.get(
    "/phone/carrier-outcomes",
    summary="What carriers are told per reject reason",
    response_model=CarrierOutcomesObject,
    responses=_ADMIN_ONLY,
)
async def get_carrier_outcomes(request: Request) -> dict[str, Any]:
    """Each reject reason's edge outcome and SIP status for the caller's account (defaults
    unless overridden), with the rationale of each default. Admin API keys only."""
    request_message = carrier_pb2.GetCarrierOutcomesRequest()
    return _outcomes_json(await call(request, _stub(request).GetCarrierOutcomes, request_message))


@router.put(
    "/phone/carrier-outcomes",
    summary="Override what carriers are told per reject reason",
    response_model=CarrierOutcomesObject,
    responses=_ADMIN_ONLY,
)
async def update_carrier_outcomes(
    body: UpdateCarrierOutcomesBody, request: Request
) -> dict[str, Any]:
    """Replace the account's overrides; the answer is the whole table, as ``GET`` returns it.
    A status outside the reason's allowed families is 422 and nothing changes."""
    message = carrier_pb2.UpdateCarrierOutcomesRequest()
    for reason, override in body.overrides.items():
        outcome = override.edge_outcome or "unspecified"
        message.overrides.append(
            carrier_pb2.CarrierOutcomeOverride(
                reason="REJECT_REASON_" + reason.upper(),
                sip_status=override.sip_status,
                edge_outcome="EDGE_OUTCOME_" + outcome.upper(),
            )
        )
    return _outcomes_json(await call(request, _stub(request).UpdateCarrierOutcomes, message))
