"""Domain exceptions shared by both services; they know nothing of gRPC or HTTP.

Every exception Switchboard raises on purpose, including the families defined next to
the code that raises them::

    SwitchboardError            every error a service reports to its callers (reason, message)
    ├── InvalidArgument         malformed request; carries FieldViolations
    ├── FailedPrecondition      well formed, but the state refuses it
    ├── OutOfRange
    ├── NotFound                absent, or another account's (existence never leaks)
    ├── AlreadyExists           a uniqueness rule refused it
    ├── Aborted
    ├── Unauthenticated         credential missing, unknown, expired or revoked
    ├── PermissionDenied        valid credential, not allowed
    ├── ResourceExhausted
    ├── Unavailable             a dependency is unreachable; retry
    ├── Cancelled               the serving process stopped the call (shutting down)
    ├── DeadlineExceeded        the caller's deadline passed
    ├── Unimplemented
    └── Internal                a failure of Switchboard itself (also gRPC UNKNOWN, DATA_LOSS)

    ValueError
    ├── UnsafeUrl               services/common/urls.py: a URL Switchboard must not contact
    │                           (services raise InvalidArgument from it)
    └── InvalidPhoneNumber      services/common/phone.py: unparseable or impossible number
                                (InvalidArgument on writes, a REJECT INVALID_NUMBER in routing)

    OutboundError               services/registry/routing/outbound_http.py: a webhook or
    ├── OutboundTimeout         context lookup failed; never leaves routing (the decision
    ├── OutboundBlocked         or the caller context says why)
    └── OutboundTooLarge
    InvalidCallContext          services/registry/routing/call_context_token.py: a call
                                context token that does not verify

    UpstreamError               gateway/rpc.py: a failed RPC as the gateway renders it (the
                                decoded SwitchboardError's message, reason and violations)
    DialectError                gateway/dialects.py: an error the gateway finds itself, with
                                its HTTP status

``services/common/rpc/error_codec.py`` maps each SwitchboardError to its gRPC code and
``google.rpc.Status`` and back; the gateway maps codes to HTTP statuses per dialect.
"""

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


class OutOfRange(SwitchboardError):
    """A value is outside the range the operation accepts."""

    reason = "OUT_OF_RANGE"


class Aborted(SwitchboardError):
    """A concurrent change won; the caller may retry the whole operation."""

    reason = "ABORTED"


class ResourceExhausted(SwitchboardError):
    """A size or rate limit refused the request."""

    reason = "RESOURCE_EXHAUSTED"


class Cancelled(SwitchboardError):
    """The call was cancelled before it finished (the serving process was stopping)."""

    reason = "CANCELLED"


class Unimplemented(SwitchboardError):
    """The operation does not exist on the called service."""

    reason = "UNIMPLEMENTED"


class Internal(SwitchboardError):
    """Switchboard itself failed; the message says nothing more."""

    reason = "INTERNAL"


class Unavailable(SwitchboardError):
    """A dependency could not be reached; the caller may retry."""

    reason = "UNAVAILABLE"


class DeadlineExceeded(SwitchboardError):
    """The caller's deadline passed before the answer was ready."""

    reason = "DEADLINE_EXCEEDED"
