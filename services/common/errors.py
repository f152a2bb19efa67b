"""Domain exceptions shared by both services; they know nothing of gRPC or HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request: its path and what is wrong with it."""

    field: str
    description: str


class SwitchboardError(Exception):
    """Base of every error a service reports to its callers.

    ``reason`` is a stable UPPER_SNAKE_CASE identifier (google.rpc.ErrorInfo.reason);
    the message is safe to show to the caller.
    """

    reason: str = "ERROR"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgument(SwitchboardError):
    """The request is malformed; nothing was changed."""

    reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        *,
        violations: Sequence[FieldViolation] = (),
        reason: str | None = None,
    ) -> None:
        super().__init__(message, reason=reason)
        self.violations = tuple(violations)

    @classmethod
    def for_field(
        cls, field: str, description: str, *, reason: str | None = None
    ) -> InvalidArgument:
        """An error about a single field, whose description is also the message."""
        return cls(description, violations=[FieldViolation(field, description)], reason=reason)


class FailedPrecondition(SwitchboardError):
    """The request is well formed but the system is not in a state to accept it."""

    reason = "FAILED_PRECONDITION"


class NotFound(SwitchboardError):
    """The resource does not exist or is not visible to the caller."""

    reason = "NOT_FOUND"


class AlreadyExists(SwitchboardError):
    """A uniqueness rule rejected the request."""

    reason = "ALREADY_EXISTS"


class Unauthenticated(SwitchboardError):
    """The credential is missing, malformed, unknown or revoked."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(SwitchboardError):
    """The credential is valid but may not do this."""

    reason = "PERMISSION_DENIED"


class Unavailable(SwitchboardError):
    """A dependency could not be reached; the caller may retry."""

    reason = "UNAVAILABLE"


class DeadlineExceeded(SwitchboardError):
    """The caller's deadline passed before the answer was ready."""

    reason = "DEADLINE_EXCEEDED"
