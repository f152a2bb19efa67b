"""``POST /v1/calls/{call_id}:release`` and ``:renew``: a routed call's capacity lease.

Same credentials as ``/v1/calls:route`` (the edge token, or an admin key for its own
account's calls). Release is idempotent (204 whether or not a lease was held).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Request, Response
from google.protobuf.duration_pb2 import Duration
from pydantic import BaseModel, Field, StrictInt
from switchboard.registry.v1 import registry_pb2, registry_pb2_grpc

from gateway.calls.convert import lease_json
from gateway.dialects import InkboxRoute
from gateway.openapi import Responses
from gateway.rest_text import Text
from gateway.rpc import call, upstreams

router = APIRouter(route_class=InkboxRoute, tags=["calls"])

_MAX_TTL_SECONDS: Final = 86_400
_LEASE_ERRORS: Final[Responses] = {
    401: {"description": "Missing or invalid credential"},
    403: {"description": "Identity-scoped API key"},
    422: {"description": "Malformed call id or ttl"},
}
CallIdPath = Annotated[Text, Path(description="The call id RouteCall answered with.")]


class RenewBody(BaseModel):
    """How long the lease should last from now."""

    ttl_seconds: StrictInt | None = Field(
        default=None,
        ge=1,
        le=_MAX_TTL_SECONDS,
        description="New lifetime from now; the registry's SWITCHBOARD_CALL_LEASE_SECONDS "
        "when null.",
    )


class CallLeaseResult(BaseModel):
    """A call's capacity lease (see ``CallLease`` in registry.proto)."""

    call_id: str
    expires_at: str = Field(description="When the slots become free unless renewed.")
    slots: list[str] = Field(description="`<scope>#<slot>`, e.g. `identity:<uuid>#0`.")


def _stub(request: Request) -> registry_pb2_grpc.CallRoutingServiceStub:
    return upstreams(request).registry_stub(registry_pb2_grpc.CallRoutingServiceStub)


@router.post(
    "/v1/calls/{call_id}:release",
    status_code=204,
    summary="Release a call's capacity lease",
    response_class=Response,
    responses=_LEASE_ERRORS,
)
async def release_call(call_id: CallIdPath, request: Request) -> Response:
    """End the call's lease so its slots take the next call at once. Idempotent: a call that
    holds no lease (released, expired, unknown) is answered 204 too."""
    await call(
        request, _stub(request).ReleaseCall, registry_pb2.ReleaseCallRequest(call_id=call_id)
    )
    return Response(status_code=204)


@router.post(
    "/v1/calls/{call_id}:renew",
    summary="Renew a call's capacity lease",
    response_model=CallLeaseResult,
    responses={**_LEASE_ERRORS, 404: {"description": "The call holds no live lease"}},
)
async def renew_call(
    call_id: CallIdPath, request: Request, body: RenewBody | None = None
) -> dict[str, Any]:
    """Extend the call's lease (a call longer than the lease TTL renews it before it expires)."""
    message = registry_pb2.RenewCallRequest(call_id=call_id)
    if body is not None and body.ttl_seconds is not None:
        message.ttl.CopyFrom(_duration(body.ttl_seconds))
    lease = await call(request, _stub(request).RenewCall, message)
    return lease_json(lease)


def _duration(seconds: int) -> Duration:
    duration = Duration()
    duration.FromTimedelta(timedelta(seconds=seconds))
    return duration
