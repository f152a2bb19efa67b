"""The error-mapping table: each domain error <-> gRPC code <-> HTTP status in each dialect."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2

from gateway.dialects import InkboxRoute, VyomRoute
from gateway.rpc import UpstreamError
from services.common import errors
from services.common.rpc.error_codec import (
    CODES,
    UNREACHABLE_MESSAGE,
    from_status,
    grpc_code,
    to_status,
)
from services.common.storage.idempotency import KEY_REUSED_REASON

TABLE: dict[type[errors.SwitchboardError], tuple[grpc.StatusCode, int, int]] = {
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, 422, 400),
    errors.FailedPrecondition: (grpc.StatusCode.FAILED_PRECONDITION, 422, 400),
    errors.OutOfRange: (grpc.StatusCode.OUT_OF_RANGE, 400, 400),
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, 404, 404),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, 409, 409),
    errors.Aborted: (grpc.StatusCode.ABORTED, 409, 409),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, 401, 401),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, 403, 403),
    errors.ResourceExhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, 429, 429),
    errors.Unavailable: (grpc.StatusCode.UNAVAILABLE, 503, 503),
    errors.Cancelled: (grpc.StatusCode.CANCELLED, 503, 503),
    errors.DeadlineExceeded: (grpc.StatusCode.DEADLINE_EXCEEDED, 504, 504),
    errors.Unimplemented: (grpc.StatusCode.UNIMPLEMENTED, 501, 501),
    errors.Internal: (grpc.StatusCode.INTERNAL, 502, 502),
}
"""Domain error -> (gRPC code, Inkbox HTTP status, Vyom HTTP status)."""


async def _endpoint() -> None:
    return None


ROUTES = (InkboxRoute("/x", _endpoint), VyomRoute("/x", _endpoint))


def http_statuses(code: grpc.StatusCode, reason: str) -> tuple[int, ...]:
    failure = UpstreamError(code, "m", reason)
    return tuple(route.status_for(failure) for route in ROUTES)


def test_every_domain_error_has_one_code_and_an_http_status_per_dialect() -> None:
    assert set(TABLE) == set(CODES)  # every class of the codec is in the table, and only those
    for kind, (code, inkbox, vyom) in TABLE.items():
        error = kind("it failed", reason="SOME_REASON")
        assert grpc_code(error) is code, kind
        back = from_status(to_status(error))
        assert (type(back), back.message, back.reason) == (kind, "it failed", "SOME_REASON")
        assert http_statuses(code, back.reason) == (inkbox, vyom), kind


def test_a_reused_idempotency_key_is_422_in_both_dialects() -> None:
    reused = errors.FailedPrecondition("reused", reason=KEY_REUSED_REASON)
    assert http_statuses(grpc_code(reused), reused.reason) == (422, 422)


def test_field_violations_survive_the_round_trip() -> None:
    error = errors.InvalidArgument(
        "bad",
        violations=[errors.FieldViolation("a.b", "too long"), errors.FieldViolation("c", "empty")],
    )
    back = from_status(to_status(error))
    assert isinstance(back, errors.InvalidArgument)
    assert back.violations == error.violations and back.reason == "INVALID_ARGUMENT"


def test_statuses_no_service_described() -> None:
    unknown = from_status(status_pb2.Status(code=code_pb2.DATA_LOSS, message="lost"))
    assert (type(unknown), unknown.message, unknown.reason) == (errors.Internal, "lost", "INTERNAL")
    # A transport failure (no ErrorInfo) never shows gRPC's own text, which names addresses.
    refused = status_pb2.Status(code=code_pb2.UNAVAILABLE, message="connect to 10.0.0.7:50051")
    assert from_status(refused).message == UNREACHABLE_MESSAGE
    # Details that are not ours are ignored; an empty message becomes the code's name.
    foreign: Any = any_pb2.Any(type_url="type.example.com/x", value=b"\x00")
    odd = from_status(status_pb2.Status(code=code_pb2.NOT_FOUND, details=[foreign]))
    assert (type(odd), odd.message) == (errors.NotFound, "not_found")
