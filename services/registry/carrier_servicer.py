"""``CarrierOutcomeService``: an account's carrier outcomes, protobuf in and out."""

from __future__ import annotations

from typing import Any, Final

from switchboard.registry.v1 import carrier_pb2, carrier_pb2_grpc, registry_pb2

from services.common.errors import FieldViolation, InvalidArgument
from services.registry.carrier_settings import CarrierRow, CarrierSettings
from services.registry.config_client import ConfigClient
from services.registry.servicer import Context, RegistryServicerBase

_REASON_PREFIX: Final = "REJECT_REASON_"
_OUTCOME_PREFIX: Final = "EDGE_OUTCOME_"
_KNOWN_REASONS: Final = frozenset(registry_pb2.RejectReason.values()) - {
    registry_pb2.REJECT_REASON_UNSPECIFIED
}
_KNOWN_OUTCOMES: Final = frozenset(registry_pb2.EdgeOutcome.values())


class CarrierOutcomeServicer(RegistryServicerBase, carrier_pb2_grpc.CarrierOutcomeServiceServicer):
    """``switchboard.registry.v1.CarrierOutcomeService`` over :class:`CarrierSettings`."""

    def __init__(self, config: ConfigClient, carrier: CarrierSettings) -> None:
        self._config = config
        self._carrier = carrier

    async def GetCarrierOutcomes(
        self, request: carrier_pb2.GetCarrierOutcomesRequest, context: Context
    ) -> carrier_pb2.CarrierOutcomes:
        principal = await self._principal(context)
        return _to_proto(await self._carrier.table(principal))

    async def UpdateCarrierOutcomes(
        self, request: carrier_pb2.UpdateCarrierOutcomesRequest, context: Context
    ) -> carrier_pb2.CarrierOutcomes:
        principal = await self._principal(context)
        return _to_proto(await self._carrier.replace(principal, _overrides(request)))


def _overrides(request: carrier_pb2.UpdateCarrierOutcomesRequest) -> dict[str, Any]:
    """The request's overrides as ``{reason: {"sip_status", "edge_outcome"?}}``."""
    raw: dict[str, Any] = {}
    violations: list[FieldViolation] = []
    for index, override in enumerate(request.overrides):
        field = f"overrides[{index}]"
        if override.reason not in _KNOWN_REASONS:
            violations.append(FieldViolation(f"{field}.reason", "a known reason is required"))
            continue
        reason = registry_pb2.RejectReason.Name(override.reason).removeprefix(_REASON_PREFIX)
        reason = reason.lower()
        if reason in raw:
            violations.append(FieldViolation(f"{field}.reason", f"{reason} is overridden twice"))
            continue
        entry: dict[str, Any] = {"sip_status": override.sip_status}
        if override.edge_outcome not in _KNOWN_OUTCOMES:
            violations.append(FieldViolation(f"{field}.edge_outcome", "unknown edge_outcome"))
            continue
        if override.edge_outcome != registry_pb2.EDGE_OUTCOME_UNSPECIFIED:
            outcome = registry_pb2.EdgeOutcome.Name(override.edge_outcome)
            entry["edge_outcome"] = outcome.removeprefix(_OUTCOME_PREFIX).lower()
        raw[reason] = entry
    if violations:
        raise InvalidArgument(violations[0].description, violations=violations)
    return raw


def _to_proto(rows: list[CarrierRow]) -> carrier_pb2.CarrierOutcomes:
    return carrier_pb2.CarrierOutcomes(
        outcomes=[
            carrier_pb2.CarrierOutcome(
                reason=_REASON_PREFIX + row.reason.upper(),
                edge_outcome=_OUTCOME_PREFIX + row.answer.edge_outcome.upper(),
                sip_status=row.answer.sip_status,
                sip_reason_phrase=row.answer.sip_reason_phrase,
                overridden=row.answer.source == "account",
                overridable=row.overridable,
                default_rationale=row.why,
            )
            for row in rows
        ]
    )
